//! Bearer tokens (spec section 6): verification into a [`Caller`], and minting
//! for development and tests.
//!
//! RS256 keys from a file or (feature `jwks-url`, on by default) a URL are
//! reloaded: when a token names a `kid` the keys lack (a signing-key rollover),
//! at most once per [`DEFAULT_JWKS_MIN_RELOAD_INTERVAL`] and one reload at a
//! time; and when they are older than [`DEFAULT_JWKS_REFRESH`]. A failed reload
//! keeps the current keys and logs a warning. When a reload changes the keys,
//! every remembered token is verified again, so a removed key stops being
//! trusted at once rather than when its tokens expire.

#[cfg(feature = "jwks-url")]
mod fetch;
mod keys;

#[cfg(feature = "jwks-url")]
pub use fetch::{JWKS_FETCH_TIMEOUT, JWKS_MAX_BYTES};

use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use keys::{KeySet, KeySource, ReloadPolicy, RsaKeys};
use meeting_core::{scopes, Caller, TenantId, UserId};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Graph's two audiences, accepted by default.
pub const GRAPH_AUDIENCES: [&str; 2] = [
    "https://graph.microsoft.com",
    "00000003-0000-0000-c000-000000000000",
];

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 60;

/// The shortest HS256 secret accepted: the hash's size (RFC 7518 section 3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Reloadable RS256 keys are reloaded once they are this old (on the next verification).
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(24 * 3600);

/// At most one reload attempt per this interval for a token naming an unknown
/// `kid`, and between attempts after a failed reload.
pub const DEFAULT_JWKS_MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(300);

/// Microsoft Entra ID's v1 issuer (`iss`) for `tenant`: `https://sts.windows.net/{tenant}/`.
pub fn issuer_v1(tenant: &str) -> String {
    format!("https://sts.windows.net/{tenant}/")
}

/// Microsoft Entra ID's v2 issuer (`iss`) for `tenant`:
/// `https://login.microsoftonline.com/{tenant}/v2.0`.
pub fn issuer_v2(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

/// Why a token was refused (HTTP 401). The message is safe to send to the
/// client and to log: it never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TokenError(String);

impl TokenError {
    fn new(message: impl Into<String>) -> Self {
        TokenError(message.into())
    }
}

/// Why a verification key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An HS256 secret shorter than [`MIN_HS256_SECRET_BYTES`]: anyone could guess it.
    #[error(
        "the HS256 secret is {length} bytes; it must be at least {MIN_HS256_SECRET_BYTES} \
         (RFC 7518 section 3.2): make one with `openssl rand -base64 48`"
    )]
    WeakSecret {
        /// The secret's length in bytes.
        length: usize,
    },
    /// A JWKS could not be fetched from its URL.
    #[error("cannot fetch the JWKS from {url}: {source}")]
    Fetch {
        /// The URL.
        url: String,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// JWKS URLs need meeting-http's `jwks-url` feature.
    #[error("the JWKS {0} is a URL, but this build has no jwks-url feature; give a file")]
    UrlUnsupported(String),
    /// The key file could not be read.
    #[error("cannot read the key file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is neither a JWKS with RSA keys nor an RSA public key in PEM.
    #[error("the key file is not a JWKS with RSA keys nor an RSA public key in PEM: {0}")]
    Invalid(String),
}

/// The keys a token may be signed with.
#[derive(Clone)]
enum Keys {
    /// One shared secret.
    Hs256(DecodingKey),
    /// RSA public keys; a token names one by `kid`, or there is only one.
    Rs256(Arc<RsaKeys>),
}

/// A remembered verified token: its caller, `exp`, and the key generation it was verified with.
type Remembered = (Caller, u64, u64);

/// Verifies `Authorization: Bearer` tokens: signature (HS256 or RS256, only the
/// configured one), `exp` (required) and `nbf` with 60 s leeway, `aud`, `tid`,
/// `oid`, `iss` (Entra ID's v1 or v2 issuer of the token's `tid`) and, if
/// restricted, the tenant.
///
/// ```
/// use meeting_http::auth::{mint_hs256, TokenSpec, TokenVerifier};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let secret = b"a development secret of 32 bytes or more";
/// let verifier = TokenVerifier::hs256(secret)?.with_tenants(["tenant"]);
/// let token = mint_hs256(secret, &TokenSpec::delegated("tenant", "user")).unwrap();
/// let caller = verifier.verify(&token).await.unwrap();
/// assert_eq!(caller.user.as_str(), "user");
/// assert!(verifier.verify("not.a.token").await.is_err());
/// let other = mint_hs256(secret, &TokenSpec::delegated("another-tenant", "user")).unwrap();
/// assert!(verifier.verify(&other).await.is_err());
/// # Ok::<(), meeting_http::auth::KeyError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Keys,
    validation: Validation,
    /// The tenants whose tokens are accepted, lowercase; empty: any.
    tenants: Arc<[String]>,
    reload: ReloadPolicy,
    /// Tokens already verified: clients reuse a token for an hour, and a
    /// signature check costs more than the rest of a hit.
    verified: Arc<Cache<String, Remembered>>,
}

/// The most verified tokens remembered; past it the least useful are forgotten.
const VERIFIED_MAX: usize = 10_000;

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        let (algorithm, source) = match &self.keys {
            Keys::Hs256(_) => ("HS256", None),
            Keys::Rs256(keys) => ("RS256", keys.source()),
        };
        f.debug_struct("TokenVerifier")
            .field("algorithm", &algorithm)
            .field("audiences", &self.validation.aud)
            .field("tenants", &self.tenants)
            .field("key_source", &source)
            .field("reload", &self.reload)
            .finish_non_exhaustive()
    }
}

/// The claims read from a token.
#[derive(Deserialize)]
struct Claims {
    exp: f64,
    iss: Option<String>,
    tid: Option<String>,
    oid: Option<String>,
    scp: Option<String>,
    roles: Option<Vec<String>>,
    idtyp: Option<String>,
    /// The calling application: `azp` in v2 tokens, `appid` in v1.
    azp: Option<String>,
    appid: Option<String>,
    name: Option<String>,
    upn: Option<String>,
    preferred_username: Option<String>,
}

impl TokenVerifier {
    fn with_keys(keys: Keys) -> Self {
        let algorithm = match keys {
            Keys::Hs256(_) => Algorithm::HS256,
            Keys::Rs256(_) => Algorithm::RS256,
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);
        validation.set_audience(&GRAPH_AUDIENCES);
        TokenVerifier {
            keys,
            validation,
            tenants: Arc::from([]),
            reload: ReloadPolicy {
                refresh: DEFAULT_JWKS_REFRESH,
                min_interval: DEFAULT_JWKS_MIN_RELOAD_INTERVAL,
            },
            verified: Arc::new(Cache::new(VERIFIED_MAX)),
        }
    }

    fn rs256(keys: KeySet, source: Option<KeySource>) -> Self {
        Self::with_keys(Keys::Rs256(Arc::new(RsaKeys::new(keys, source))))
    }

    /// Tokens signed with HS256 and this shared secret (development and tests);
    /// a secret under [`MIN_HS256_SECRET_BYTES`] is refused.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_HS256_SECRET_BYTES {
            return Err(KeyError::WeakSecret {
                length: secret.len(),
            });
        }
        Ok(Self::with_keys(Keys::Hs256(DecodingKey::from_secret(
            secret,
        ))))
    }

    /// Tokens signed with RS256 by the key whose public half is this PEM
    /// (`PUBLIC KEY` or `RSA PUBLIC KEY`).
    pub fn rs256_pem(pem: &[u8]) -> Result<Self, KeyError> {
        Ok(Self::rs256(KeySet::pem(pem)?, None))
    }

    /// Tokens signed with RS256 by one of the RSA keys of this JWKS (as Microsoft
    /// Entra ID publishes them); a token picks its key by `kid`. Never reloaded.
    pub fn rs256_jwks(json: &[u8]) -> Result<Self, KeyError> {
        Ok(Self::rs256(KeySet::jwks(json)?, None))
    }

    /// RS256 keys from a file: a JWKS (JSON) or a PEM public key, told apart by
    /// content. The file is read again on an unknown `kid` and periodically.
    pub fn rs256_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self::rs256(
            KeySet::parse(&bytes)?,
            Some(KeySource::File(path.to_owned())),
        ))
    }

    /// RS256 keys from the JWKS at this `http://` or `https://` URL, such as
    /// Entra ID's `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`.
    /// Fetched now (an error if that fails), again on an unknown `kid` and
    /// periodically; each fetch is bounded by [`JWKS_FETCH_TIMEOUT`] and
    /// [`JWKS_MAX_BYTES`]. Redirects are not followed.
    #[cfg(feature = "jwks-url")]
    pub async fn rs256_url(url: &str) -> Result<Self, KeyError> {
        let source = fetch::JwksUrl::new(url)?;
        let keys = KeySet::parse(&source.fetch().await?)?;
        Ok(Self::rs256(keys, Some(KeySource::Url(Box::new(source)))))
    }

    /// RS256 keys from `location`: a URL if it starts with `http://` or
    /// `https://` ([`rs256_url`](Self::rs256_url)), else a file
    /// ([`rs256_file`](Self::rs256_file)).
    pub async fn rs256_from(location: &str) -> Result<Self, KeyError> {
        if location.starts_with("http://") || location.starts_with("https://") {
            #[cfg(feature = "jwks-url")]
            return Self::rs256_url(location).await;
            #[cfg(not(feature = "jwks-url"))]
            return Err(KeyError::UrlUnsupported(location.to_owned()));
        }
        Self::rs256_file(location)
    }

    /// Accepts only tokens of these tenants (`tid`, compared ignoring ASCII
    /// case); an empty list (the default) accepts any tenant.
    pub fn with_tenants<S: AsRef<str>>(mut self, tenants: impl IntoIterator<Item = S>) -> Self {
        self.tenants = tenants
            .into_iter()
            .map(|t| t.as_ref().trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        self.verified = Arc::new(Cache::new(VERIFIED_MAX));
        self
    }

    /// The accepted tenants, lowercase; empty: any.
    pub fn tenants(&self) -> &[String] {
        &self.tenants
    }

    /// Reloads file or URL keys once they are this old ([`DEFAULT_JWKS_REFRESH`]).
    pub fn with_jwks_refresh(mut self, refresh: Duration) -> Self {
        self.reload.refresh = refresh;
        self
    }

    /// Reloads file or URL keys for an unknown `kid`, or after a failed reload,
    /// at most once per `interval` ([`DEFAULT_JWKS_MIN_RELOAD_INTERVAL`]).
    pub fn with_jwks_min_reload_interval(mut self, interval: Duration) -> Self {
        self.reload.min_interval = interval;
        self
    }

    /// Accepts these audiences instead of Graph's two.
    pub fn with_audiences<S: AsRef<str>>(mut self, audiences: impl IntoIterator<Item = S>) -> Self {
        let audiences: Vec<String> = audiences
            .into_iter()
            .map(|a| a.as_ref().to_owned())
            .collect();
        if !audiences.is_empty() {
            self.validation.set_audience(&audiences);
            self.verified = Arc::new(Cache::new(VERIFIED_MAX));
        }
        self
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> Vec<String> {
        let mut audiences: Vec<String> = self.validation.aud.iter().flatten().cloned().collect();
        audiences.sort();
        audiences
    }

    /// Verifies `token` (the text after `Bearer `) and reads its caller. With
    /// reloadable keys this may first reload them (see the [module](self) docs).
    pub async fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let keys = match &self.keys {
            Keys::Hs256(_) => None,
            Keys::Rs256(keys) => Some(keys.fresh(self.reload).await),
        };
        let generation = keys.as_ref().map_or(0, |keys| keys.generation);
        if let Some((caller, exp, verified_with)) = self.verified.get(token) {
            if verified_with == generation && unix_now() <= exp.saturating_add(LEEWAY_SECONDS) {
                return Ok(caller);
            }
        }
        let (caller, exp, generation) = self.verify_signed(token, keys).await?;
        self.verified
            .insert(token.to_owned(), (caller.clone(), exp, generation));
        Ok(caller)
    }

    /// Checks the signature and claims of `token` with `keys` (RS256), reloaded
    /// if the token's `kid` is unknown; returns its caller, `exp` and the key generation.
    async fn verify_signed(
        &self,
        token: &str,
        keys: Option<Arc<KeySet>>,
    ) -> Result<(Caller, u64, u64), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|error| match error.kind() {
            ErrorKind::Json(_) | ErrorKind::InvalidAlgorithmName => TokenError::new(
                "the access token's header names no algorithm this server accepts (alg \"none\" is never accepted)",
            ),
            _ => TokenError::new("the access token is malformed; expected a signed JWT"),
        })?;
        let expected = self.validation.algorithms[0];
        if header.alg != expected {
            return Err(TokenError::new(format!(
                "the access token is signed with {:?}; this server accepts only {expected:?}",
                header.alg
            )));
        }
        let kid = header.kid.as_deref();
        let (claims, generation) = match (&self.keys, keys) {
            (Keys::Hs256(key), _) => (self.decode(token, key)?, 0),
            (Keys::Rs256(rsa), keys) => {
                let mut keys = keys.unwrap_or_else(|| rsa.current());
                if let (None, Some(kid)) = (keys.key_for(kid), kid) {
                    keys = rsa.reload_for(kid, &keys, self.reload).await;
                }
                let key = keys.key_for(kid).ok_or_else(|| {
                    TokenError::new(match kid {
                        Some(_) => "the access token's kid names no configured signing key",
                        None => {
                            "the access token names no signing key (kid) and several are configured"
                        }
                    })
                })?;
                (self.decode(token, key)?, keys.generation)
            }
        };
        // Saturating: a float exp is legal JSON; its whole seconds are what matter.
        let exp = claims.exp as u64;
        let caller = caller_of(claims)?;
        self.check_tenant(caller.tenant.as_str())?;
        Ok((caller, exp, generation))
    }

    fn decode(&self, token: &str, key: &DecodingKey) -> Result<Claims, TokenError> {
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|error| TokenError::new(describe(error.kind())))?
            .claims;
        // Entra ID names the token's tenant in its issuer; another form, or
        // another tenant, is a token this server cannot vouch for.
        let tenant = claims.tid.as_deref().unwrap_or_default();
        let issuer = claims.iss.as_deref().unwrap_or_default();
        if !tenant.is_empty() && issuer != issuer_v1(tenant) && issuer != issuer_v2(tenant) {
            return Err(TokenError::new(format!(
                "the access token's issuer (iss) is not Microsoft Entra ID's for its tenant (tid); \
                 expected {} or {}",
                issuer_v1(tenant),
                issuer_v2(tenant)
            )));
        }
        Ok(claims)
    }

    fn check_tenant(&self, tenant: &str) -> Result<(), TokenError> {
        if self.tenants.is_empty() || self.tenants.iter().any(|t| t.eq_ignore_ascii_case(tenant)) {
            return Ok(());
        }
        Err(TokenError::new(format!(
            "the access token's tenant (tid {tenant}) is not allowed on this server"
        )))
    }
}

/// A client-safe description of why a token failed.
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the access token has expired".into(),
        ErrorKind::ImmatureSignature => "the access token is not valid yet (nbf)".into(),
        ErrorKind::InvalidSignature => "the access token's signature is invalid".into(),
        ErrorKind::InvalidAudience => "the access token is not meant for this API (aud)".into(),
        ErrorKind::InvalidAlgorithm => {
            "the access token is signed with an algorithm this server does not accept".into()
        }
        ErrorKind::MissingRequiredClaim(claim) => {
            format!("the access token has no {claim} claim")
        }
        ErrorKind::Json(error) => format!("the access token's claims are malformed: {error}"),
        _ => "the access token is malformed or wrongly signed".into(),
    }
}

/// The caller a verified token describes.
fn caller_of(claims: Claims) -> Result<Caller, TokenError> {
    // Ids become store keys: `TenantId` and `UserId` refuse what no store may hold.
    let tenant = claims
        .tid
        .ok_or_else(|| TokenError::new("the access token has no tid claim"))?;
    let tenant = TenantId::new(tenant)
        .map_err(|error| TokenError::new(format!("the access token's tid claim: {error}")))?;
    let user = claims
        .oid
        .ok_or_else(|| TokenError::new("the access token has no oid claim"))?;
    let user = UserId::new(user)
        .map_err(|error| TokenError::new(format!("the access token's oid claim: {error}")))?;
    let scopes: Vec<String> = claims
        .scp
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let app_only = claims.idtyp.as_deref() == Some("app")
        || (claims.roles.as_ref().is_some_and(|r| !r.is_empty()) && scopes.is_empty());
    let mut caller = if app_only {
        // Without either, no access policy can name the application: 403 later.
        let app = claims.azp.or(claims.appid).unwrap_or_default();
        Caller::application(tenant, user, app, claims.roles.unwrap_or_default())
    } else {
        Caller::delegated(tenant, user, scopes)
    };
    caller.display_name = claims.name;
    caller.upn = claims.upn.or(claims.preferred_username);
    Ok(caller)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// What a minted token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSpec {
    /// `tid`.
    pub tenant: String,
    /// `iss`; `None`: Entra ID's v2 issuer of `tenant` ([`issuer_v2`]).
    pub issuer: Option<String>,
    /// `oid`.
    pub user: String,
    /// `name`.
    pub name: Option<String>,
    /// `upn`.
    pub upn: Option<String>,
    /// `scp` (delegated) or `roles` (app-only).
    pub scopes: Vec<String>,
    /// An app-only token (`idtyp: app`, `roles`, no `scp`).
    pub app: bool,
    /// `azp`: the calling application's id (for app-only tokens).
    pub app_id: Option<String>,
    /// `aud`.
    pub audience: String,
    /// From now to `exp`.
    pub lifetime: Duration,
}

impl TokenSpec {
    /// A delegated token with `OnlineMeetings.ReadWrite`, for Graph's audience, valid for a day.
    pub fn delegated(tenant: impl Into<String>, user: impl Into<String>) -> Self {
        TokenSpec {
            tenant: tenant.into(),
            issuer: None,
            user: user.into(),
            name: None,
            upn: None,
            scopes: vec![scopes::READ_WRITE.to_owned()],
            app: false,
            app_id: None,
            audience: GRAPH_AUDIENCES[0].to_owned(),
            lifetime: Duration::from_secs(24 * 3600),
        }
    }

    /// An app-only token of application `app_id` with `OnlineMeetings.ReadWrite.All`;
    /// its `oid` (the application's service principal) is `app_id` too.
    pub fn application(tenant: impl Into<String>, app_id: impl Into<String>) -> Self {
        let app_id = app_id.into();
        TokenSpec {
            scopes: vec![scopes::READ_WRITE_ALL.to_owned()],
            app: true,
            app_id: Some(app_id.clone()),
            ..TokenSpec::delegated(tenant, app_id)
        }
    }
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    aud: &'a str,
    iss: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    tid: &'a str,
    oid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idtyp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    azp: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upn: Option<&'a str>,
}

/// Mints an HS256 token for `spec`, signed with `secret`.
pub fn mint_hs256(secret: &[u8], spec: &TokenSpec) -> Result<String, jsonwebtoken::errors::Error> {
    let now = unix_now();
    let claims = MintedClaims {
        aud: &spec.audience,
        iss: spec
            .issuer
            .clone()
            .unwrap_or_else(|| issuer_v2(&spec.tenant)),
        iat: now,
        nbf: now,
        exp: now.saturating_add(spec.lifetime.as_secs()),
        tid: &spec.tenant,
        oid: &spec.user,
        scp: (!spec.app).then(|| spec.scopes.join(" ")),
        roles: spec.app.then_some(spec.scopes.as_slice()),
        idtyp: spec.app.then_some("app"),
        azp: spec.app_id.as_deref(),
        name: spec.name.as_deref(),
        upn: spec.upn.as_deref(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"unit-test-secret-of-at-least-32-bytes";

    fn verifier() -> TokenVerifier {
        TokenVerifier::hs256(SECRET).unwrap()
    }

    /// An HS256 token with these claims over valid defaults for tenant `t`.
    fn token_with(claims: serde_json::Value) -> String {
        let mut all = json!({
            "aud": GRAPH_AUDIENCES[0],
            "exp": unix_now() + 3600,
            "tid": "t",
            "oid": "u",
            "iss": issuer_v2("t"),
            "scp": scopes::READ_WRITE,
        });
        for (name, value) in claims.as_object().unwrap() {
            match value {
                serde_json::Value::Null => all.as_object_mut().unwrap().remove(name),
                value => all
                    .as_object_mut()
                    .unwrap()
                    .insert(name.clone(), value.clone()),
            };
        }
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &all,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn delegated_scopes_are_space_separated() {
        let mut spec = TokenSpec::delegated("t", "u");
        spec.scopes = vec!["User.Read".into(), scopes::READ_WRITE.into()];
        spec.upn = Some("u@contoso.com".into());
        let caller = verifier()
            .verify(&mint_hs256(SECRET, &spec).unwrap())
            .await
            .unwrap();
        assert_eq!(
            caller.access,
            meeting_core::Access::Delegated {
                scopes: vec!["User.Read".into(), scopes::READ_WRITE.into()]
            }
        );
        assert_eq!(caller.upn.as_deref(), Some("u@contoso.com"));
    }

    #[tokio::test]
    async fn an_app_only_token_becomes_an_application_caller_named_by_azp_or_appid() {
        let spec = TokenSpec::application("t", "app-1");
        let caller = verifier()
            .verify(&mint_hs256(SECRET, &spec).unwrap())
            .await
            .unwrap();
        assert_eq!(
            caller.access,
            meeting_core::Access::Application {
                app_id: "app-1".into(),
                roles: vec![scopes::READ_WRITE_ALL.into()]
            }
        );
        // A v1 token names its application by `appid`.
        let v1 = token_with(json!({"idtyp": "app", "roles": ["r"], "appid": "app-2", "scp": null}));
        let caller = verifier().verify(&v1).await.unwrap();
        assert!(
            matches!(&caller.access, meeting_core::Access::Application { app_id, .. } if app_id == "app-2"),
            "{caller:?}"
        );
        // Neither: an application no policy can name.
        let none = token_with(json!({"idtyp": "app", "roles": ["r"], "scp": null}));
        let caller = verifier().verify(&none).await.unwrap();
        assert!(
            matches!(&caller.access, meeting_core::Access::Application { app_id, .. } if app_id.is_empty()),
            "{caller:?}"
        );
    }

    #[tokio::test]
    async fn a_remembered_token_past_its_exp_is_verified_again() {
        let verifier = verifier();
        let caller = Caller::delegated(
            "t".parse().unwrap(),
            "u".parse().unwrap(),
            [scopes::READ_WRITE],
        );
        verifier.verified.insert(
            "forged.token.text".into(),
            (caller.clone(), unix_now() - 120, 0),
        );
        assert!(verifier.verify("forged.token.text").await.is_err());
        verifier.verified.insert(
            "remembered.token.text".into(),
            (caller.clone(), unix_now() + 60, 0),
        );
        assert_eq!(verifier.verify("remembered.token.text").await, Ok(caller));
    }

    #[tokio::test]
    async fn a_tenant_or_object_id_with_a_control_character_is_refused() {
        let verifier = verifier();
        for (tenant, user) in [("t\u{0}", "u"), ("t", "u\n")] {
            let token = mint_hs256(SECRET, &TokenSpec::delegated(tenant, user)).unwrap();
            let error = verifier.verify(&token).await.unwrap_err();
            assert!(error.to_string().contains("control character"), "{error}");
        }
    }

    #[tokio::test]
    async fn another_audience_is_refused() {
        let token = mint_hs256(SECRET, &TokenSpec::delegated("t", "u")).unwrap();
        let verifier = verifier().with_audiences(["api://other"]);
        assert!(verifier.verify(&token).await.unwrap_err().0.contains("aud"));
    }

    #[test]
    fn an_hs256_secret_under_32_bytes_is_refused() {
        for secret in [&b""[..], b"short", &[b'x'; 31]] {
            let error = TokenVerifier::hs256(secret).unwrap_err();
            assert!(
                matches!(error, KeyError::WeakSecret { length } if length == secret.len()),
                "{error}"
            );
            assert!(error.to_string().contains("at least 32"), "{error}");
        }
        assert!(TokenVerifier::hs256([b'x'; 32]).is_ok());
    }

    #[tokio::test]
    async fn iss_must_be_entra_ids_v1_or_v2_issuer_of_the_tokens_tenant() {
        let verifier = verifier();
        for issuer in [issuer_v1("t"), issuer_v2("t")] {
            let token = token_with(json!({"iss": issuer}));
            assert!(verifier.verify(&token).await.is_ok(), "{issuer}");
        }
        for issuer in [
            issuer_v2("another-tenant"),
            issuer_v1("another-tenant"),
            "https://sts.windows.net/t".into(),
            "https://login.microsoftonline.com/t/v2.0/".into(),
            "https://evil.example/t/v2.0".into(),
            "".into(),
        ] {
            let token = token_with(json!({"iss": issuer}));
            let error = verifier.verify(&token).await.unwrap_err();
            assert!(error.0.contains("iss"), "{issuer}: {error}");
        }
        let error = verifier
            .verify(&token_with(json!({"iss": null})))
            .await
            .unwrap_err();
        assert!(error.0.contains("no iss claim"), "{error}");
    }

    #[tokio::test]
    async fn a_tenant_not_allowed_is_refused_and_any_tenant_by_default() {
        let other = mint_hs256(SECRET, &TokenSpec::delegated("other", "u")).unwrap();
        assert!(verifier().verify(&other).await.is_ok());
        let restricted = verifier().with_tenants(["T", "third"]);
        let error = restricted.verify(&other).await.unwrap_err();
        assert!(
            error.0.contains("tenant") && error.0.contains("not allowed"),
            "{error}"
        );
        let allowed = mint_hs256(SECRET, &TokenSpec::delegated("t", "u")).unwrap();
        assert!(restricted.verify(&allowed).await.is_ok());
    }

    #[tokio::test]
    async fn minted_tokens_carry_the_v2_issuer_unless_told_otherwise() {
        let mut spec = TokenSpec::delegated("t", "u");
        let claims = |token: &str| -> serde_json::Value {
            let mut validation = Validation::new(Algorithm::HS256);
            validation.set_audience(&GRAPH_AUDIENCES);
            jsonwebtoken::decode::<serde_json::Value>(
                token,
                &DecodingKey::from_secret(SECRET),
                &validation,
            )
            .unwrap()
            .claims
        };
        let token = mint_hs256(SECRET, &spec).unwrap();
        assert_eq!(claims(&token)["iss"], issuer_v2("t"));
        spec.issuer = Some(issuer_v1("t"));
        let token = mint_hs256(SECRET, &spec).unwrap();
        assert_eq!(claims(&token)["iss"], issuer_v1("t"));
        assert!(verifier().verify(&token).await.is_ok());
    }
}
