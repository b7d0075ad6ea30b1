//! RS256 signing keys: a set parsed from a JWKS or a PEM key, where it comes
//! from, and its reloads (periodic, and on an unknown `kid`, rate-limited and
//! single-flight).

use super::KeyError;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::DecodingKey;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// One loaded generation of keys.
pub(super) struct KeySet {
    by_kid: HashMap<String, DecodingKey>,
    unnamed: Vec<DecodingKey>,
    /// The document the keys were parsed from: an identical reload changes nothing.
    document: Vec<u8>,
    /// Bumped whenever a reload changes the document; remembered tokens of an
    /// older generation are verified again.
    pub(super) generation: u64,
}

impl KeySet {
    /// A JWKS (JSON) or a PEM public key, told apart by content.
    pub(super) fn parse(bytes: &[u8]) -> Result<KeySet, KeyError> {
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            Self::pem(bytes)
        } else {
            Self::jwks(bytes)
        }
    }

    pub(super) fn pem(pem: &[u8]) -> Result<KeySet, KeyError> {
        let key = DecodingKey::from_rsa_pem(pem).map_err(|e| KeyError::Invalid(e.to_string()))?;
        Ok(KeySet {
            by_kid: HashMap::new(),
            unnamed: vec![key],
            document: pem.to_vec(),
            generation: 0,
        })
    }

    pub(super) fn jwks(json: &[u8]) -> Result<KeySet, KeyError> {
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
        Ok(KeySet {
            by_kid,
            unnamed,
            document: json.to_vec(),
            generation: 0,
        })
    }

    /// The key a token names by `kid`; without a match, the only key of the set
    /// if it is unnamed or the token names none.
    pub(super) fn key_for(&self, kid: Option<&str>) -> Option<&DecodingKey> {
        if let Some(key) = kid.and_then(|kid| self.by_kid.get(kid)) {
            return Some(key);
        }
        match (self.by_kid.len(), self.unnamed.as_slice(), kid) {
            (0, [only], _) => Some(only),
            (1, [], None) => self.by_kid.values().next(),
            _ => None,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.by_kid.len() + self.unnamed.len()
    }
}

/// Where keys are (re)loaded from.
pub(super) enum KeySource {
    File(PathBuf),
    #[cfg(feature = "jwks-url")]
    Url(Box<super::fetch::JwksUrl>),
}

impl KeySource {
    async fn load(&self) -> Result<KeySet, KeyError> {
        let bytes = match self {
            KeySource::File(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    std::fs::read(&path).map_err(|source| KeyError::Read {
                        path: path.display().to_string(),
                        source,
                    })
                })
                .await
                .map_err(|e| KeyError::Invalid(format!("the key file reader failed: {e}")))??
            }
            #[cfg(feature = "jwks-url")]
            KeySource::Url(url) => url.fetch().await?,
        };
        KeySet::parse(&bytes)
    }

    fn describe(&self) -> String {
        match self {
            KeySource::File(path) => path.display().to_string(),
            #[cfg(feature = "jwks-url")]
            KeySource::Url(url) => url.as_str(),
        }
    }
}

/// How often keys are reloaded.
#[derive(Clone, Copy, Debug)]
pub(super) struct ReloadPolicy {
    /// A reload once the keys are this old, on the next verification.
    pub(super) refresh: Duration,
    /// At most one reload attempt per this interval for an unknown `kid`, or
    /// after a failed reload.
    pub(super) min_interval: Duration,
}

/// Not yet attempted.
const NEVER: u64 = u64::MAX;

/// The current keys, shared by every clone of a verifier.
pub(super) struct RsaKeys {
    current: RwLock<Arc<KeySet>>,
    source: Option<KeySource>,
    /// Held while reloading: one reload at a time, the others wait for its keys.
    reload: tokio::sync::Mutex<()>,
    /// Times in milliseconds since `epoch`: lock-free reads on every verification.
    epoch: Instant,
    last_success: AtomicU64,
    last_attempt: AtomicU64,
}

impl RsaKeys {
    pub(super) fn new(keys: KeySet, source: Option<KeySource>) -> Self {
        RsaKeys {
            current: RwLock::new(Arc::new(keys)),
            source,
            reload: tokio::sync::Mutex::new(()),
            epoch: Instant::now(),
            last_success: AtomicU64::new(0),
            // The first load is not an attempt: a kid unknown right after start may reload.
            last_attempt: AtomicU64::new(NEVER),
        }
    }

    pub(super) fn current(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) fn source(&self) -> Option<String> {
        self.source.as_ref().map(KeySource::describe)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn attempt_allowed(&self, policy: ReloadPolicy) -> bool {
        let last = self.last_attempt.load(Ordering::Acquire);
        last == NEVER || self.now().saturating_sub(last) >= millis(policy.min_interval)
    }

    fn refresh_due(&self, policy: ReloadPolicy) -> bool {
        self.source.is_some()
            && self
                .now()
                .saturating_sub(self.last_success.load(Ordering::Acquire))
                >= millis(policy.refresh)
            && self.attempt_allowed(policy)
    }

    /// The keys to verify with: reloaded first if they are older than the
    /// refresh period and no other reload is running (which would keep this
    /// request waiting for nothing it needs).
    pub(super) async fn fresh(&self, policy: ReloadPolicy) -> Arc<KeySet> {
        if !self.refresh_due(policy) {
            return self.current();
        }
        let Ok(_reloading) = self.reload.try_lock() else {
            return self.current();
        };
        if self.refresh_due(policy) {
            self.reload_now().await
        } else {
            self.current()
        }
    }

    /// The keys after a reload for `kid`, unknown in `seen`; without a reload
    /// (not reloadable, or one was attempted within the interval) the current ones.
    pub(super) async fn reload_for(
        &self,
        kid: &str,
        seen: &Arc<KeySet>,
        policy: ReloadPolicy,
    ) -> Arc<KeySet> {
        if self.source.is_none() {
            return seen.clone();
        }
        let _reloading = self.reload.lock().await;
        let current = self.current();
        // Another request may have loaded the key while this one waited.
        if current.generation != seen.generation || current.by_kid.contains_key(kid) {
            return current;
        }
        if !self.attempt_allowed(policy) {
            return current;
        }
        self.reload_now().await
    }

    /// Reloads from the source; a failure keeps the current keys. The caller
    /// holds `reload`.
    async fn reload_now(&self) -> Arc<KeySet> {
        let Some(source) = &self.source else {
            return self.current();
        };
        self.last_attempt.store(self.now(), Ordering::Release);
        let loaded = source.load().await;
        let current = self.current();
        match loaded {
            Ok(mut keys) => {
                self.last_success.store(self.now(), Ordering::Release);
                if keys.document == current.document {
                    return current;
                }
                keys.generation = current.generation + 1;
                let keys = Arc::new(keys);
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = keys.clone();
                tracing::info!(source = %source.describe(), keys = keys.len(), generation = keys.generation, "signing keys reloaded");
                keys
            }
            Err(error) => {
                tracing::warn!(source = %source.describe(), %error, "cannot reload the signing keys; keeping the current ones");
                current
            }
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
