//! Who calls, and what they may do (spec section 1.2).

use crate::ids::{TenantId, UserId};

/// The tenant of personal Microsoft accounts.
pub const PERSONAL_ACCOUNT_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The scopes (delegated) and roles (application) of the permission table.
pub mod scopes {
    /// What createOrGet, create, update and delete need, delegated.
    pub const READ_WRITE: &str = "OnlineMeetings.ReadWrite";
    /// Enough to read or find a meeting, delegated.
    pub const READ: &str = "OnlineMeetings.Read";
    /// What createOrGet, create, update and delete need, for an application (v1.0).
    pub const READ_WRITE_ALL: &str = "OnlineMeetings.ReadWrite.All";
    /// Enough to read or find a meeting, for an application (v1.0).
    pub const READ_ALL: &str = "OnlineMeetings.Read.All";
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
    Application {
        /// The application's id: the token's `azp` (v2) or `appid` (v1).
        app_id: String,
        /// The granted application roles.
        roles: Vec<String>,
    },
}

/// What a caller asks to do. Graph's permission table, for each:
///
/// | operation | delegated (work or school) | application (v1.0, under an access policy) |
/// |---|---|---|
/// | `CreateOrGet`, `Create`, `Update`, `Delete` | `OnlineMeetings.ReadWrite` | `OnlineMeetings.ReadWrite.All` |
/// | `Get`, `Find` | `OnlineMeetings.Read` or `.ReadWrite` | `OnlineMeetings.Read.All` or `.ReadWrite.All` |
///
/// Personal accounts may do none of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// createOrGet.
    CreateOrGet,
    /// Read one meeting.
    Get,
    /// Delete one meeting.
    Delete,
    /// Create a meeting without a key (`POST …/onlineMeetings`).
    Create,
    /// Change a meeting's updatable members (`PATCH …/onlineMeetings/{id}`).
    Update,
    /// Find meetings by join link or join id (`GET …/onlineMeetings?$filter=…`).
    Find,
}

impl Operation {
    /// Whether the operation only reads.
    pub fn reads_only(self) -> bool {
        matches!(self, Operation::Get | Operation::Find)
    }
}

/// Why a caller may not do what it asked (HTTP 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Forbidden {
    /// A personal Microsoft account.
    #[error("personal Microsoft accounts are not supported by this API; sign in with a work or school account")]
    PersonalAccount,
    /// An app-only token where only delegated ones are (`beta`, as the seed).
    #[error("application permissions are not supported by this API; call it with a delegated (user) token")]
    ApplicationPermissions,
    /// An app-only token on `/me`: an application has no "me".
    #[error(
        "an application token acts for a user: call /users/{{userId}}/onlineMeetings, not /me"
    )]
    ApplicationOnMe,
    /// An app-only token without the needed role.
    #[error("the application token lacks the role {required}; grant it to the application")]
    MissingRole {
        /// The role the operation needs.
        required: &'static str,
    },
    /// No application access policy lets this application act for the user.
    #[error("No Application Access Policy found for this app.")]
    NoAccessPolicy,
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

    /// An app-only caller: `principal` is the application's service principal
    /// (the token's `oid`), `app_id` its `azp` or `appid`.
    pub fn application<S: Into<String>>(
        tenant: TenantId,
        principal: UserId,
        app_id: impl Into<String>,
        roles: impl IntoIterator<Item = S>,
    ) -> Self {
        Caller {
            tenant,
            user: principal,
            display_name: None,
            upn: None,
            access: Access::Application {
                app_id: app_id.into(),
                roles: roles.into_iter().map(Into::into).collect(),
            },
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

    /// The delegated rows of the permission table (spec 1.2) for `operation`.
    pub(crate) fn delegated_permission(&self, operation: Operation) -> Result<(), Forbidden> {
        let scopes = match &self.access {
            Access::Application { .. } => return Err(Forbidden::ApplicationPermissions),
            Access::Delegated { .. } if self.is_personal_account() => {
                return Err(Forbidden::PersonalAccount)
            }
            Access::Delegated { scopes } => scopes,
        };
        let has = |wanted: &str| scopes.iter().any(|s| s.eq_ignore_ascii_case(wanted));
        let allowed = has(scopes::READ_WRITE) || (operation.reads_only() && has(scopes::READ));
        if allowed {
            Ok(())
        } else {
            Err(Forbidden::MissingScope {
                required: scopes::READ_WRITE,
            })
        }
    }

    /// The application rows (v1.0) for `operation`: the role it needs.
    pub(crate) fn application_permission(
        roles: &[String],
        operation: Operation,
    ) -> Result<(), Forbidden> {
        let has = |wanted: &str| roles.iter().any(|r| r.eq_ignore_ascii_case(wanted));
        let allowed =
            has(scopes::READ_WRITE_ALL) || (operation.reads_only() && has(scopes::READ_ALL));
        if allowed {
            Ok(())
        } else {
            Err(Forbidden::MissingRole {
                required: if operation.reads_only() {
                    scopes::READ_ALL
                } else {
                    scopes::READ_WRITE_ALL
                },
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
            delegated(&[scopes::READ_WRITE]).delegated_permission(Operation::CreateOrGet),
            Ok(())
        );
        assert_eq!(
            delegated(&["User.Read", scopes::READ_WRITE]).delegated_permission(Operation::Delete),
            Ok(())
        );
    }

    #[test]
    fn delegated_work_account_without_the_scope_is_forbidden() {
        for scopes in [&[][..], &["User.Read"], &[scopes::READ]] {
            assert_eq!(
                delegated(scopes).delegated_permission(Operation::CreateOrGet),
                Err(Forbidden::MissingScope {
                    required: scopes::READ_WRITE
                })
            );
        }
    }

    #[test]
    fn reading_needs_read_or_read_write() {
        assert_eq!(
            delegated(&[scopes::READ]).delegated_permission(Operation::Get),
            Ok(())
        );
        assert_eq!(
            delegated(&[scopes::READ_WRITE]).delegated_permission(Operation::Get),
            Ok(())
        );
        assert!(delegated(&["User.Read"])
            .delegated_permission(Operation::Get)
            .is_err());
        assert!(delegated(&[scopes::READ])
            .delegated_permission(Operation::Delete)
            .is_err());
    }

    #[test]
    fn create_and_update_need_read_write_and_find_needs_read() {
        for operation in [Operation::Create, Operation::Update] {
            assert_eq!(
                delegated(&[scopes::READ_WRITE]).delegated_permission(operation),
                Ok(())
            );
            assert_eq!(
                delegated(&[scopes::READ]).delegated_permission(operation),
                Err(Forbidden::MissingScope {
                    required: scopes::READ_WRITE
                })
            );
            assert_eq!(
                Caller::application_permission(&[scopes::READ_ALL.into()], operation),
                Err(Forbidden::MissingRole {
                    required: scopes::READ_WRITE_ALL
                })
            );
            assert_eq!(
                Caller::application_permission(&[scopes::READ_WRITE_ALL.into()], operation),
                Ok(())
            );
        }
        assert_eq!(
            delegated(&[scopes::READ]).delegated_permission(Operation::Find),
            Ok(())
        );
        assert_eq!(
            Caller::application_permission(&[scopes::READ_ALL.into()], Operation::Find),
            Ok(())
        );
        assert_eq!(
            Caller::application_permission(&[], Operation::Find),
            Err(Forbidden::MissingRole {
                required: scopes::READ_ALL
            })
        );
    }

    #[test]
    fn personal_account_is_forbidden_and_told_so() {
        let caller = Caller::delegated(
            id(PERSONAL_ACCOUNT_TENANT),
            id("user"),
            [scopes::READ_WRITE],
        );
        let error = caller
            .delegated_permission(Operation::CreateOrGet)
            .unwrap_err();
        assert_eq!(error, Forbidden::PersonalAccount);
        assert!(error.to_string().contains("personal"));
    }

    #[test]
    fn application_token_is_forbidden_and_told_so() {
        let error = Caller::application(id("tenant"), id("app"), "app", [scopes::READ_WRITE_ALL])
            .delegated_permission(Operation::CreateOrGet)
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
