//! Who calls, and what they may do (spec section 1.2).

use crate::ids::{TenantId, UserId};

/// The tenant of personal Microsoft accounts.
pub const PERSONAL_ACCOUNT_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The delegated scopes of the permission table (spec section 1.2).
pub mod scopes {
    /// What createOrGet and delete need.
    pub const READ_WRITE: &str = "OnlineMeetings.ReadWrite";
    /// Enough to read a meeting.
    pub const READ: &str = "OnlineMeetings.Read";
}

/// The authenticated principal behind a call, as its token describes it.
///
/// Cheap to clone: the tenant and user ids are shared by reference count, so
/// a clone bumps a counter (threads cloning one `Caller` share that counter's
/// cache line; build one per request on hot paths).
///
/// What a caller may do is decided in one place, [`MeetingService::authorize`](crate::MeetingService::authorize).
///
/// ```
/// use meeting_core::{scopes, Caller, TenantId, UserId};
///
/// let tenant: TenantId = "72f988bf-86f1-41af-91ab-2d7cd0110000".parse()?;
/// let user: UserId = "D4A060B5-A8FC-450C-837B-750B2C280000".parse()?;
/// let caller = Caller::delegated(tenant, user, [scopes::READ_WRITE]).with_display_name("Tyler Stein");
/// assert_eq!(caller.user.as_str(), "d4a060b5-a8fc-450c-837b-750b2c280000");
/// # Ok::<(), meeting_core::IdError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's `tid`.
    pub tenant: TenantId,
    /// The token's `oid`: the user, or for an app-only token the application's principal.
    pub user: UserId,
    /// The token's `name`, when present.
    pub display_name: Option<String>,
    /// The token's `upn` or `preferred_username`, when present.
    pub upn: Option<String>,
    /// Delegated (with scopes) or application.
    pub access: Access,
}

/// How a token grants access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// A user signed in; the app acts for them with these scopes (`scp`).
    Delegated {
        /// The granted scopes.
        scopes: Vec<String>,
    },
    /// The app acts as itself (app-only token, `roles`).
    Application,
}

/// What a caller asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// createOrGet.
    CreateOrGet,
    /// Read one meeting.
    Get,
    /// Delete one meeting.
    Delete,
}

/// Why a caller may not do what it asked (HTTP 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Forbidden {
    /// A personal Microsoft account.
    #[error("personal Microsoft accounts are not supported by this API; sign in with a work or school account")]
    PersonalAccount,
    /// An app-only token.
    #[error("application permissions are not supported by this API; call it with a delegated (user) token")]
    ApplicationPermissions,
    /// A delegated token without the needed scope.
    #[error("the token lacks the scope {required}; request it when signing the user in")]
    MissingScope {
        /// The scope the operation needs.
        required: &'static str,
    },
    /// A call on behalf of a user who is not the caller.
    #[error("a caller may only manage their own online meetings")]
    OtherUser,
    /// An [`Authorized`](crate::Authorized) used for another operation than
    /// the one it was granted for: a bug in the calling code.
    #[error("the caller was authorized to {authorized:?}, not to {requested:?}")]
    NotAuthorized {
        /// What was authorized.
        authorized: Operation,
        /// What was attempted.
        requested: Operation,
    },
}

impl Caller {
    /// A delegated work or school caller with the given scopes.
    pub fn delegated<S: Into<String>>(
        tenant: TenantId,
        user: UserId,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Caller {
            tenant,
            user,
            display_name: None,
            upn: None,
            access: Access::Delegated {
                scopes: scopes.into_iter().map(Into::into).collect(),
            },
        }
    }

    /// An app-only caller.
    pub fn application(tenant: TenantId, principal: UserId) -> Self {
        Caller {
            tenant,
            user: principal,
            display_name: None,
            upn: None,
            access: Access::Application,
        }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the user principal name.
    pub fn with_upn(mut self, upn: impl Into<String>) -> Self {
        self.upn = Some(upn.into());
        self
    }

    /// Whether the caller signed in with a personal Microsoft account.
    pub fn is_personal_account(&self) -> bool {
        self.tenant
            .as_str()
            .eq_ignore_ascii_case(PERSONAL_ACCOUNT_TENANT)
    }

    /// The permission table of spec 1.2 for `operation`.
    pub(crate) fn permission(&self, operation: Operation) -> Result<(), Forbidden> {
        let scopes = match &self.access {
            Access::Application => return Err(Forbidden::ApplicationPermissions),
            Access::Delegated { .. } if self.is_personal_account() => {
                return Err(Forbidden::PersonalAccount)
            }
            Access::Delegated { scopes } => scopes,
        };
        let has = |wanted: &str| scopes.iter().any(|s| s.eq_ignore_ascii_case(wanted));
        let allowed = match operation {
            Operation::CreateOrGet | Operation::Delete => has(scopes::READ_WRITE),
            Operation::Get => has(scopes::READ_WRITE) || has(scopes::READ),
        };
        if allowed {
            Ok(())
        } else {
            Err(Forbidden::MissingScope {
                required: scopes::READ_WRITE,
            })
        }
    }

    /// Whether the `{userId}` of a path names this caller: its object id
    /// (compared as [`UserId`]s) or its UPN (case-insensitive, as Entra ID does).
    pub(crate) fn is_named_by(&self, user: &str) -> bool {
        UserId::new(user).is_ok_and(|id| id == self.user)
            || self
                .upn
                .as_deref()
                .is_some_and(|upn| upn.eq_ignore_ascii_case(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id<T: std::str::FromStr>(text: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        text.parse().unwrap()
    }

    fn delegated(scopes: &[&str]) -> Caller {
        Caller::delegated(id("tenant"), id("user"), scopes.iter().copied())
    }

    #[test]
    fn delegated_work_account_with_read_write_may_create_or_get() {
        assert_eq!(
            delegated(&[scopes::READ_WRITE]).permission(Operation::CreateOrGet),
            Ok(())
        );
        assert_eq!(
            delegated(&["User.Read", scopes::READ_WRITE]).permission(Operation::Delete),
            Ok(())
        );
    }

    #[test]
    fn delegated_work_account_without_the_scope_is_forbidden() {
        for scopes in [&[][..], &["User.Read"], &[scopes::READ]] {
            assert_eq!(
                delegated(scopes).permission(Operation::CreateOrGet),
                Err(Forbidden::MissingScope {
                    required: scopes::READ_WRITE
                })
            );
        }
    }

    #[test]
    fn reading_needs_read_or_read_write() {
        assert_eq!(
            delegated(&[scopes::READ]).permission(Operation::Get),
            Ok(())
        );
        assert_eq!(
            delegated(&[scopes::READ_WRITE]).permission(Operation::Get),
            Ok(())
        );
        assert!(delegated(&["User.Read"])
            .permission(Operation::Get)
            .is_err());
        assert!(delegated(&[scopes::READ])
            .permission(Operation::Delete)
            .is_err());
    }

    #[test]
    fn personal_account_is_forbidden_and_told_so() {
        let caller = Caller::delegated(
            id(PERSONAL_ACCOUNT_TENANT),
            id("user"),
            [scopes::READ_WRITE],
        );
        let error = caller.permission(Operation::CreateOrGet).unwrap_err();
        assert_eq!(error, Forbidden::PersonalAccount);
        assert!(error.to_string().contains("personal"));
    }

    #[test]
    fn application_token_is_forbidden_and_told_so() {
        let error = Caller::application(id("tenant"), id("app"))
            .permission(Operation::CreateOrGet)
            .unwrap_err();
        assert_eq!(error, Forbidden::ApplicationPermissions);
        assert!(error.to_string().contains("application permissions"));
    }

    #[test]
    fn a_user_is_named_by_object_id_or_upn_case_insensitively() {
        let caller = Caller::delegated(
            id("t"),
            id("D4A060B5-A8FC-450C-837B-750B2C28AAAA"),
            [scopes::READ_WRITE],
        )
        .with_upn("Test1@Contoso.com");
        assert!(caller.is_named_by("d4a060b5-a8fc-450c-837b-750B2C28aaaa"));
        assert!(caller.is_named_by("test1@contoso.com"));
        assert!(!caller.is_named_by("someone-else"));
        assert!(!caller.is_named_by(""));
    }
}
