//! Bearer tokens (spec section 6): verification into a [`Caller`], and minting
//! for development and tests.

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use meeting_core::{Caller, SCOPE_READ_WRITE};
use quick_cache::sync::Cache;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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
pub enum KeyError {
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
    Rs256 {
        by_kid: HashMap<String, DecodingKey>,
        unnamed: Vec<DecodingKey>,
    },
}

/// Verifies `Authorization: Bearer` tokens: signature (HS256 or RS256, only the
/// configured one), `exp` (required) and `nbf` with 60 s leeway, `aud`, `tid` and `oid`.
///
/// ```
/// use meeting_http::auth::{mint_hs256, TokenSpec, TokenVerifier};
///
/// let verifier = TokenVerifier::hs256(b"a development secret");
/// let token = mint_hs256(b"a development secret", &TokenSpec::delegated("tenant", "user")).unwrap();
/// let caller = verifier.verify(&token).unwrap();
/// assert_eq!(caller.user.as_str(), "user");
/// assert!(verifier.verify("not.a.token").is_err());
/// ```
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Keys,
    validation: Validation,
    /// Tokens already verified, with their `exp`: clients reuse a token for an
    /// hour, and a signature check costs more than the rest of a hit.
    verified: Arc<Cache<String, (Caller, u64)>>,
}

/// The most verified tokens remembered; past it the least useful are forgotten.
const VERIFIED_MAX: usize = 10_000;

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        let algorithm = match self.keys {
            Keys::Hs256(_) => "HS256",
            Keys::Rs256 { .. } => "RS256",
        };
        f.debug_struct("TokenVerifier")
            .field("algorithm", &algorithm)
            .field("audiences", &self.validation.aud)
            .finish_non_exhaustive()
    }
}

/// The claims read from a token.
#[derive(Deserialize)]
struct Claims {
    exp: f64,
    tid: Option<String>,
    oid: Option<String>,
    scp: Option<String>,
    roles: Option<Vec<String>>,
    idtyp: Option<String>,
    name: Option<String>,
    upn: Option<String>,
    preferred_username: Option<String>,
}

impl TokenVerifier {
    fn with_keys(keys: Keys) -> Self {
        let algorithm = match keys {
            Keys::Hs256(_) => Algorithm::HS256,
            Keys::Rs256 { .. } => Algorithm::RS256,
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.set_audience(&GRAPH_AUDIENCES);
        TokenVerifier {
            keys,
            validation,
            verified: Arc::new(Cache::new(VERIFIED_MAX)),
        }
    }

    /// Tokens signed with HS256 and this shared secret (development and tests).
    pub fn hs256(secret: impl AsRef<[u8]>) -> Self {
        Self::with_keys(Keys::Hs256(DecodingKey::from_secret(secret.as_ref())))
    }

    /// Tokens signed with RS256 by the key whose public half is this PEM
    /// (`PUBLIC KEY` or `RSA PUBLIC KEY`).
    pub fn rs256_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let key = DecodingKey::from_rsa_pem(pem).map_err(|e| KeyError::Invalid(e.to_string()))?;
        Ok(Self::with_keys(Keys::Rs256 {
            by_kid: HashMap::new(),
            unnamed: vec![key],
        }))
    }

    /// Tokens signed with RS256 by one of the RSA keys of this JWKS (as Microsoft
    /// Entra ID publishes them); a token picks its key by `kid`.
    pub fn rs256_jwks(json: &[u8]) -> Result<Self, KeyError> {
        let set: JwkSet =
            serde_json::from_slice(json).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let mut by_kid = HashMap::new();
        let mut unnamed = Vec::new();
        for jwk in &set.keys {
            if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) {
                continue;
            }
            let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Invalid(e.to_string()))?;
            match &jwk.common.key_id {
                Some(kid) => {
                    by_kid.insert(kid.clone(), key);
                }
                None => unnamed.push(key),
            }
        }
        if by_kid.is_empty() && unnamed.is_empty() {
            return Err(KeyError::Invalid("the JWKS holds no RSA key".into()));
        }
        Ok(Self::with_keys(Keys::Rs256 { by_kid, unnamed }))
    }

    /// RS256 keys from a file: a JWKS (JSON) or a PEM public key, told apart by content.
    pub fn rs256_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            Self::rs256_pem(&bytes)
        } else {
            Self::rs256_jwks(&bytes)
        }
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

    /// Verifies `token` (the text after `Bearer `) and reads its caller.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenError> {
        let now = unix_now();
        if let Some((caller, exp)) = self.verified.get(token) {
            if now <= exp.saturating_add(LEEWAY_SECONDS) {
                return Ok(caller);
            }
        }
        let (caller, exp) = self.verify_signed(token)?;
        self.verified
            .insert(token.to_owned(), (caller.clone(), exp));
        Ok(caller)
    }

    /// Checks the signature and claims of `token`; returns its caller and `exp`.
    fn verify_signed(&self, token: &str) -> Result<(Caller, u64), TokenError> {
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
        let key = match &self.keys {
            Keys::Hs256(key) => key,
            Keys::Rs256 { by_kid, unnamed } => {
                match header.kid.as_deref().and_then(|kid| by_kid.get(kid)) {
                    Some(key) => key,
                    None if by_kid.len() + unnamed.len() == 1 => by_kid
                        .values()
                        .chain(unnamed)
                        .next()
                        .ok_or_else(|| TokenError::new("no verification key is configured"))?,
                    None => {
                        return Err(TokenError::new(
                            "the access token's kid names no configured signing key",
                        ))
                    }
                }
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|error| TokenError::new(describe(error.kind())))?;
        // Saturating: a float exp is legal JSON; its whole seconds are what matter.
        let exp = data.claims.exp as u64;
        Ok((caller_of(data.claims)?, exp))
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
    let required = |value: Option<String>, claim: &str| {
        let value = value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| TokenError::new(format!("the access token has no {claim} claim")))?;
        // Ids become store keys; no store can be asked to hold a control character.
        if value.chars().any(char::is_control) {
            return Err(TokenError::new(format!(
                "the access token's {claim} claim contains a control character"
            )));
        }
        Ok(value)
    };
    let tenant = required(claims.tid, "tid")?;
    let user = required(claims.oid, "oid")?;
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
        Caller::application(tenant, user)
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
            user: user.into(),
            name: None,
            upn: None,
            scopes: vec![SCOPE_READ_WRITE.to_owned()],
            app: false,
            audience: GRAPH_AUDIENCES[0].to_owned(),
            lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    aud: &'a str,
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
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upn: Option<&'a str>,
}

/// Mints an HS256 token for `spec`, signed with `secret`.
pub fn mint_hs256(secret: &[u8], spec: &TokenSpec) -> Result<String, jsonwebtoken::errors::Error> {
    let now = unix_now();
    let claims = MintedClaims {
        aud: &spec.audience,
        iat: now,
        nbf: now,
        exp: now.saturating_add(spec.lifetime.as_secs()),
        tid: &spec.tenant,
        oid: &spec.user,
        scp: (!spec.app).then(|| spec.scopes.join(" ")),
        roles: spec.app.then_some(spec.scopes.as_slice()),
        idtyp: spec.app.then_some("app"),
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

    const SECRET: &[u8] = b"unit-test-secret";

    #[test]
    fn delegated_scopes_are_space_separated() {
        let mut spec = TokenSpec::delegated("t", "u");
        spec.scopes = vec!["User.Read".into(), SCOPE_READ_WRITE.into()];
        spec.upn = Some("u@contoso.com".into());
        let caller = TokenVerifier::hs256(SECRET)
            .verify(&mint_hs256(SECRET, &spec).unwrap())
            .unwrap();
        assert_eq!(
            caller.access,
            meeting_core::Access::Delegated {
                scopes: vec!["User.Read".into(), SCOPE_READ_WRITE.into()]
            }
        );
        assert_eq!(caller.upn.as_deref(), Some("u@contoso.com"));
    }

    #[test]
    fn an_app_only_token_becomes_an_application_caller() {
        let mut spec = TokenSpec::delegated("t", "app");
        spec.app = true;
        let caller = TokenVerifier::hs256(SECRET)
            .verify(&mint_hs256(SECRET, &spec).unwrap())
            .unwrap();
        assert_eq!(caller.access, meeting_core::Access::Application);
    }

    #[test]
    fn a_remembered_token_past_its_exp_is_verified_again() {
        let verifier = TokenVerifier::hs256(SECRET);
        let caller = Caller::delegated("t", "u", [SCOPE_READ_WRITE]);
        verifier.verified.insert(
            "forged.token.text".into(),
            (caller.clone(), unix_now() - 120),
        );
        assert!(verifier.verify("forged.token.text").is_err());
        verifier.verified.insert(
            "remembered.token.text".into(),
            (caller.clone(), unix_now() + 60),
        );
        assert_eq!(verifier.verify("remembered.token.text"), Ok(caller));
    }

    #[test]
    fn a_tenant_or_object_id_with_a_control_character_is_refused() {
        let verifier = TokenVerifier::hs256(SECRET);
        for (tenant, user) in [("t\u{0}", "u"), ("t", "u\n")] {
            let token = mint_hs256(SECRET, &TokenSpec::delegated(tenant, user)).unwrap();
            let error = verifier.verify(&token).unwrap_err();
            assert!(error.to_string().contains("control character"), "{error}");
        }
    }

    #[test]
    fn another_audience_is_refused() {
        let token = mint_hs256(SECRET, &TokenSpec::delegated("t", "u")).unwrap();
        let verifier = TokenVerifier::hs256(SECRET).with_audiences(["api://other"]);
        assert!(verifier.verify(&token).unwrap_err().0.contains("aud"));
    }
}
