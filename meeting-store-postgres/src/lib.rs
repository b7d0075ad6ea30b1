//! A [`MeetingStore`] on PostgreSQL, for several server instances sharing one
//! database.
//!
//! - **Plain SQL** that PostgreSQL-compatible distributed engines (CockroachDB,
//!   YugabyteDB) run too: no advisory locks, no PL/pgSQL, no JSONB.
//! - **Create-or-get** is a `SELECT` by key (a hit is that one round trip);
//!   only on a miss is the meeting built and offered with
//!   `INSERT … ON CONFLICT (key) DO NOTHING RETURNING`; a caller that loses the
//!   race reads the winner with a fresh statement. Correct under READ COMMITTED
//!   and SERIALIZABLE ([`Isolation`]); serialization failures and deadlocks
//!   (SQLSTATE 40001, 40P01) are retried with bounded, jittered backoff.
//! - **Outages**: a lost connection, a restarting or overloaded server, or no
//!   answer within [`PostgresOptions::call_timeout`] is
//!   [`StoreError::Unavailable`]; the pool drops dead connections and opens
//!   new ones by itself once the server is back.
//! - **Lost answers**: a call whose connection is lost after its statement was
//!   sent is retried once on a new connection. Create-or-get then finds its
//!   own meeting and reports it created; a delete that finds no row reports
//!   the meeting deleted (`true`), since the lost attempt most likely deleted
//!   it and the meeting is gone either way.
//! - **Migrations** are recorded by version in `meeting_store_schema`; a
//!   database with a newer version is refused ([`StoreError::Incompatible`])
//!   and left untouched.
//! - **Configuration** comes from the URL (`postgres://user:password@host:port/db?…`,
//!   every libpq-style parameter that tokio-postgres knows, plus this crate's
//!   `pool_size` and `isolation`, and `sslmode`/`sslrootcert` as below).
//!   `options=-c search_path=…` picks a schema.
//!
//! ```no_run
//! use meeting_store_postgres::PostgresStore;
//! use meeting_core::{MeetingService, MeetingStore};
//! use std::sync::Arc;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), meeting_core::StoreError> {
//! let store = PostgresStore::connect("postgres://meetings@127.0.0.1/meetings?pool_size=32").await?;
//! store.ping().await?;
//! let service = MeetingService::new(Arc::new(store));
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! Statements are prepared once per connection and cached, so a pooler in
//! transaction mode (PgBouncer's `pool_mode=transaction` before 1.21) does not fit.
//!
//! # TLS
//!
//! With the cargo feature `tls` (on by default: rustls, ring provider), the
//! URL's `sslmode` follows libpq, except that `require` never skips verification:
//!
//! | `sslmode` | encryption | certificate check |
//! | --- | --- | --- |
//! | `disable` | none | none |
//! | `prefer` (default) | TLS if the server offers it, else plain text | none (as libpq: an attacker who can intercept could as well refuse TLS) |
//! | `require` | TLS, or no connection | with `sslrootcert=FILE`: the chain to FILE's CAs, not the name (libpq's behaviour when a root file exists); without it: the chain to the platform's trusted roots **and** the host name (libpq would check nothing) |
//! | `verify-ca` | TLS | as `require` |
//! | `verify-full` | TLS | the chain (to FILE, else the platform's roots) and the host name (or IP address) in the URL |
//!
//! `sslrootcert` is the path of a PEM file of CA certificates (percent-encoded
//! in the URL where needed), or `system` for the platform's trusted roots. As in
//! libpq 16, `sslrootcert=system` makes `verify-full` the default and refuses
//! `disable`, `prefer` and `require` ([`StoreError::Incompatible`]): a public CA
//! signs certificates for anybody, so only the name check proves the server is
//! yours (which is why `verify-ca` checks the name too with these roots). Unix
//! sockets never use TLS (PostgreSQL offers none there). A certificate that
//! fails verification, or a server that refuses TLS under `require`, is
//! [`StoreError::Incompatible`]: retrying will not help, the URL or the server
//! must change. Unlike libpq, `prefer` does not retry in plain text after a
//! failed TLS handshake (only after the server declines TLS); use `disable`
//! for such a server.
//!
//! Without the feature, `prefer` connects in plain text and `require`,
//! `verify-ca` and `verify-full` are refused ([`StoreError::Incompatible`])
//! with a message saying to enable `tls`.

#![warn(missing_docs)]

mod error;
mod options;
mod schema;
mod tls;

pub use options::{Isolation, PostgresOptions, UnknownIsolation};

use async_trait::async_trait;
use deadpool_postgres::{ManagerConfig, Pool, QueueMode, RecyclingMethod, Runtime};
use error::{classify, Class, Error, Unreadable};
use meeting_core::{
    check_update_keeps_identity, join_web_url_key, Change, MeetingId, MeetingKey, MeetingStore,
    NewMeeting, OnlineMeeting, Outcome, StoreError, Updated,
};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, Row};

// The id beside the JSON: an error names a meeting by its id, never by its key.
const SELECT_BY_KEY: &str =
    "SELECT id, meeting FROM online_meetings WHERE tenant_id = $1 AND user_id = $2 AND external_id = $3";
const SELECT_BY_ID: &str = "SELECT id, meeting FROM online_meetings WHERE id = $1";
const INSERT: &str = "INSERT INTO online_meetings \
     (tenant_id, user_id, external_id, id, meeting, join_meeting_id, join_web_url) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (tenant_id, user_id, external_id) DO NOTHING RETURNING id";
/// Replaces the meeting `$1` by `$3` if it is still stored as `$2`, the text
/// the change was computed from: a compare-and-set that loses no update,
/// whichever instance wrote in between.
#[doc(hidden)] // for the benchmark's raw baseline; not an API
pub const UPDATE_IF_UNCHANGED: &str =
    "UPDATE online_meetings SET meeting = $3 WHERE id = $1 AND meeting = $2";
/// The meetings whose join link is `$1` but for case (one probe of
/// `online_meetings_join_web_url`); candidates are compared in canonical form.
#[doc(hidden)]
pub const SELECT_BY_JOIN_WEB_URL: &str =
    "SELECT id, meeting FROM online_meetings WHERE lower(join_web_url) = lower($1)";
/// The meeting with this join id (one probe of its unique index).
#[doc(hidden)]
pub const SELECT_BY_JOIN_MEETING_ID: &str =
    "SELECT id, meeting FROM online_meetings WHERE join_meeting_id = $1";
const DELETE: &str = "DELETE FROM online_meetings WHERE id = $1";
// COLLATE "C": ids in UTF-8 byte order, whatever the database's collation.
const SELECT_PAGE: &str = "SELECT id, meeting FROM online_meetings \
     WHERE id COLLATE \"C\" > $1 ORDER BY id COLLATE \"C\" LIMIT $2";
const COUNT: &str = "SELECT count(*) FROM online_meetings";
const DELETE_ALL: &str = "DELETE FROM online_meetings";

/// How often one call offers its meeting again when the key's meeting is
/// deleted between a lost insert and the read of the winner.
const KEY_ROUNDS: u32 = 8;

/// Meetings in a PostgreSQL database, through a pool of connections.
///
/// Cheap to share behind an `Arc`; any number of stores, in any number of
/// processes or hosts, may use one database at once.
pub struct PostgresStore {
    pool: Pool,
    options: PostgresOptions,
    /// `host:port/database` for `Debug`, without credentials.
    target: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` with the default [`PostgresOptions`]
    /// (the URL's `pool_size` and `isolation` parameters apply), and migrates
    /// its schema to this build's version.
    ///
    /// # Errors
    ///
    /// [`StoreError::Incompatible`] for a URL, database, credentials or schema
    /// this store cannot use (the message says what to change);
    /// [`StoreError::Unavailable`] when the server cannot be reached now.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Like [`connect`](Self::connect), with `options`; parameters in the URL
    /// win over them.
    ///
    /// # Errors
    ///
    /// As for [`connect`](Self::connect).
    pub async fn connect_with(
        url: &str,
        options: PostgresOptions,
    ) -> Result<PostgresStore, StoreError> {
        Ok(Self::open(url, options).await?)
    }

    async fn open(url: &str, mut options: PostgresOptions) -> Result<PostgresStore, Error> {
        let (url, tls) = options::take_store_parameters(url, &mut options)?;
        if options.pool_size == 0 {
            return Err(Error::EmptyPool);
        }
        let mut config: Config = url.parse().map_err(Error::BadUrl)?;
        let tls_mode = tls.effective_mode(config.get_ssl_mode());
        config.ssl_mode(tls_mode.driver_mode());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(options.call_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("meeting-store-postgres");
        }
        // A startup option rather than a SET: no extra round trip, and in force on every connection.
        let startup = match config.get_options() {
            Some(given) if !given.trim().is_empty() => {
                format!("{given} {}", options.isolation.startup_option())
            }
            _ => options.isolation.startup_option().to_owned(),
        };
        config.options(startup);
        let target = describe_target(&config);

        let manager = tls::manager(
            config,
            tls_mode,
            tls.root_cert.as_ref(),
            // Fast: a dead connection is noticed by its closed socket, not by a test query per call.
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        )?;
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(Runtime::Tokio1)
            // Last in, first out: the busiest connections stay warm, idle ones stay idle.
            .queue_mode(QueueMode::Lifo)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(Error::PoolBuild)?;
        let store = PostgresStore {
            pool,
            options,
            target,
        };
        let mut client = store.pool.get().await?;
        schema::migrate(&mut client).await?;
        Ok(store)
    }

    /// The options in force, with the URL's parameters applied.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    /// The isolation level the store's sessions run at, as the server reports
    /// it (`SHOW transaction_isolation`); for checks and diagnostics.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the server cannot be reached;
    /// [`StoreError::Internal`] for a level this crate does not use.
    pub async fn session_isolation(&self) -> Result<Isolation, StoreError> {
        let level = self
            .within_call_timeout(async {
                let client = self.pool.get().await?;
                let row = client.query_one("SHOW transaction_isolation", &[]).await?;
                Ok(row.try_get::<_, String>(0)?)
            })
            .await?;
        level.parse().map_err(StoreError::internal)
    }

    /// The schema version recorded in the database.
    ///
    /// # Errors
    ///
    /// [`StoreError::Unavailable`] when the server cannot be reached.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.within_call_timeout(async {
            let client = self.pool.get().await?;
            schema::current_version(&client).await
        })
        .await
    }

    /// The newest schema version this build knows and migrates to.
    pub const SCHEMA_VERSION: i64 = schema::VERSION;

    /// One attempt at create-or-get; `offered` keeps the meeting built by an
    /// earlier attempt, so that a retry offers the same one.
    async fn try_create_or_get(
        &self,
        key: &MeetingKey,
        new_meeting: NewMeeting<'_>,
        offered: &OnceLock<Offer>,
    ) -> Result<Outcome, Error> {
        let client = self.pool.get().await?;
        let select = client.prepare_cached(SELECT_BY_KEY).await?;
        let (tenant, user, external_id) = (
            key.tenant.as_str(),
            key.user.as_str(),
            key.external_id.as_str(),
        );
        let key_params: [&(dyn ToSql + Sync); 3] = [&tenant, &user, &external_id];
        if let Some(row) = client.query_opt(&select, &key_params).await? {
            return found(&row, offered);
        }
        let offer = match offered.get() {
            Some(offer) => offer,
            // Only this call's attempts, one after another, ever fill it.
            None => {
                let built = Offer::build(new_meeting)?;
                offered.get_or_init(|| built)
            }
        };
        let insert = client.prepare_cached(INSERT).await?;
        for _ in 0..KEY_ROUNDS {
            let inserted = match client
                .query_opt(
                    &insert,
                    &[
                        &tenant,
                        &user,
                        &external_id,
                        &offer.meeting.id.as_str(),
                        &offer.json,
                        &offer.meeting.join_meeting_id(),
                        &join_web_url_key(&offer.meeting.join_web_url).as_ref(),
                    ],
                )
                .await
            {
                Ok(inserted) => inserted,
                Err(error) if classify(&error) == Class::Conflict => {
                    // PostgreSQL checks the id and join id indexes as it inserts,
                    // so racing a create of this very key can fail on them
                    // rather than meet `ON CONFLICT`: the key's meeting first.
                    if let Some(row) = client.query_opt(&select, &key_params).await? {
                        return found(&row, offered);
                    }
                    return Err(taken(error, &offer.meeting.id));
                }
                Err(error) => return Err(error.into()),
            };
            if inserted.is_some() {
                return Ok(Outcome::Created(Arc::clone(&offer.meeting)));
            }
            // Lost the race: a new statement takes a new snapshot, which sees the winner.
            if let Some(row) = client.query_opt(&select, &key_params).await? {
                return found(&row, offered);
            }
        }
        Err(Error::KeyChurn(KEY_ROUNDS))
    }

    /// One read-modify-write: reads the meeting, applies `change`, and
    /// stores the result if the row still holds the text read. `Ok(None)`:
    /// another write came between, try again. `written` keeps the text an
    /// attempt may have stored without its answer reaching us, so that a retry
    /// finding it reports it stored rather than apply the change twice.
    async fn try_update(
        &self,
        id: &MeetingId,
        change: Change<'_>,
        written: &std::sync::Mutex<Option<(Arc<OnlineMeeting>, String)>>,
    ) -> Result<Option<Updated>, Error> {
        let client = self.pool.get().await?;
        let select = client.prepare_cached(SELECT_BY_ID).await?;
        let Some(row) = client.query_opt(&select, &[&id.as_str()]).await? else {
            return Ok(Some(Updated::Missing));
        };
        let text: &str = row.try_get(1)?;
        if let Some((meeting, json)) = lock(written).as_ref() {
            if json == text {
                return Ok(Some(Updated::Stored(Arc::clone(meeting))));
            }
        }
        let current = decode(&row)?;
        let changed = match change(&current) {
            Ok(changed) => changed,
            Err(refusal) => return Ok(Some(Updated::Refused(refusal))),
        };
        check_update_keeps_identity(&current, &changed).map_err(Error::Refused)?;
        let json = serde_json::to_string(&changed).map_err(Error::Serialize)?;
        let changed = Arc::new(changed);
        let update = client.prepare_cached(UPDATE_IF_UNCHANGED).await?;
        match client
            .execute(&update, &[&id.as_str(), &text, &json.as_str()])
            .await
        {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(Updated::Stored(changed))),
            Err(error) => {
                if outcome_unknown(&error) {
                    *lock(written) = Some((changed, json));
                }
                Err(error.into())
            }
        }
    }

    /// One attempt at a delete; `maybe_deleted` is set once an attempt's
    /// DELETE may have run without its answer reaching us.
    ///
    /// A retry that then finds no row reports the meeting deleted: most likely
    /// that attempt deleted it, and either way the meeting is gone, which is what
    /// the caller asked for; answering "not found" would tell it that a delete
    /// which succeeded had not. (The one cost: a delete of an id that never
    /// existed, whose first answer is lost, also reports deleted.)
    async fn try_delete(&self, id: &MeetingId, maybe_deleted: &AtomicBool) -> Result<bool, Error> {
        let client = self.pool.get().await?;
        let delete = client.prepare_cached(DELETE).await?;
        match client.execute(&delete, &[&id.as_str()]).await {
            Ok(deleted) => Ok(deleted > 0 || maybe_deleted.load(Ordering::SeqCst)),
            Err(error) => {
                if outcome_unknown(&error) {
                    maybe_deleted.store(true, Ordering::SeqCst);
                }
                Err(error.into())
            }
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or runs out of retries.
    async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        self.within_call_timeout(async {
            let mut tries = 0;
            loop {
                match attempt().await {
                    Ok(value) => return Ok(value),
                    Err(error) => {
                        tries += 1;
                        match retry_delay(&error, tries, self.options.max_retries) {
                            Some(delay) => tokio::time::sleep(delay).await,
                            None => return Err(error),
                        }
                    }
                }
            }
        })
        .await
    }

    /// Bounds a whole call, retries included; a call cut short drops its
    /// connection's pending answer, which the driver then discards.
    async fn within_call_timeout<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.options.call_timeout, call).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(Error::NoAnswer(self.options.call_timeout).into()),
        }
    }
}

/// The value behind `mutex`, even if a panic poisoned it.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A meeting built for insertion, with its JSON.
struct Offer {
    meeting: Arc<OnlineMeeting>,
    json: String,
}

impl Offer {
    fn build(new_meeting: NewMeeting<'_>) -> Result<Offer, Error> {
        let meeting = new_meeting();
        let json = serde_json::to_string(&meeting).map_err(Error::Serialize)?;
        if meeting.id.as_str().contains('\0') {
            return Err(Error::Nul("meeting id"));
        }
        if meeting
            .join_meeting_id()
            .is_some_and(|id| id.contains('\0'))
        {
            return Err(Error::Nul("joinMeetingId"));
        }
        Ok(Offer {
            meeting: Arc::new(meeting),
            json,
        })
    }
}

/// The meeting found under `key`: our own offer when an earlier attempt
/// inserted it but lost its answer with the connection.
fn found(row: &Row, offered: &OnceLock<Offer>) -> Result<Outcome, Error> {
    let meeting = decode(row)?;
    Ok(match offered.get() {
        Some(offer) if offer.meeting.id == meeting.id => {
            Outcome::Created(Arc::clone(&offer.meeting))
        }
        _ => Outcome::Existing(meeting),
    })
}

/// The meeting of an `(id, meeting)` row, read as every store reads stored
/// meetings (to the nesting the service accepts); unreadable JSON is
/// [`Error::Corrupt`] naming the row's id (a key would put personal data in logs).
fn decode(row: &Row) -> Result<Arc<OnlineMeeting>, Error> {
    let text: &str = row.try_get(1)?;
    OnlineMeeting::from_stored_json(text)
        .map(Arc::new)
        .map_err(|source| {
            let id: Result<&str, _> = row.try_get(0);
            Error::Corrupt {
                id: id.unwrap_or("(unreadable id)").to_owned(),
                source: Unreadable::from(&source),
            }
        })
}

/// Whether a statement that failed with `error` may have run all the same: the
/// server's answer never came (the connection ended after the statement was
/// sent), or the server says it cannot tell (SQLSTATE 40003). A server error
/// is an answer: the statement failed and its transaction rolled back.
fn outcome_unknown(error: &tokio_postgres::Error) -> bool {
    match error.code() {
        None => true,
        Some(code) => *code == SqlState::T_R_STATEMENT_COMPLETION_UNKNOWN,
    }
}

/// What a unique violation on insert of the meeting `id` under a free key
/// means, by the constraint it names: the id or the join id is another key's.
fn taken(error: tokio_postgres::Error, id: &MeetingId) -> Error {
    let constraint = error.as_db_error().and_then(|db| db.constraint());
    match constraint {
        Some(schema::ID_CONSTRAINT) => Error::IdTaken(id.to_string()),
        Some(schema::JOIN_MEETING_ID_INDEX) => Error::JoinMeetingIdTaken(id.to_string()),
        // An engine that names no constraint: still a conflict, by its SQLSTATE.
        _ => Error::Postgres(error),
    }
}

/// How long to wait before attempt `tries + 1`, or `None` to give up.
///
/// Serialization failures back off exponentially with full jitter, so that
/// racers spread out; a lost connection is retried once at once, because the
/// pool hands out a fresh one (a stale one is common right after a server restart).
fn retry_delay(error: &Error, tries: u32, max_retries: u32) -> Option<Duration> {
    match error.class() {
        Class::Serialization if tries <= max_retries => {
            Some(Duration::from_micros(jitter(backoff_ceiling_micros(tries))))
        }
        Class::Unavailable if tries == 1 && !matches!(error, Error::PoolTimeout(_)) => {
            Some(Duration::ZERO)
        }
        _ => None,
    }
}

/// The longest wait, in microseconds, after serialization failure `tries`:
/// 1 ms after the first, doubling up to 64 ms from the seventh on.
fn backoff_ceiling_micros(tries: u32) -> u64 {
    500 << tries.min(7)
}

/// A random number in `0..=ceiling`, from the standard library's randomly keyed hasher.
fn jitter(ceiling: u64) -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(ceiling);
    hasher.finish() % (ceiling + 1)
}

fn describe_target(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{database}")
}

#[async_trait]
impl MeetingStore for PostgresStore {
    async fn create_or_get(
        &self,
        key: &MeetingKey,
        new_meeting: NewMeeting<'_>,
    ) -> Result<Outcome, StoreError> {
        // No NUL to refuse in a key (PostgreSQL text cannot hold one): its
        // ids refuse every control character.
        let offered = OnceLock::new();
        self.with_retries(|| self.try_create_or_get(key, new_meeting, &offered))
            .await
    }

    async fn get_by_key(&self, key: &MeetingKey) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        self.with_retries(|| async {
            let client = self.pool.get().await?;
            let select = client.prepare_cached(SELECT_BY_KEY).await?;
            let row = client
                .query_opt(
                    &select,
                    &[
                        &key.tenant.as_str(),
                        &key.user.as_str(),
                        &key.external_id.as_str(),
                    ],
                )
                .await?;
            row.map(|row| decode(&row)).transpose()
        })
        .await
    }

    async fn get(&self, id: &MeetingId) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        if id.as_str().contains('\0') {
            return Ok(None);
        }
        self.with_retries(|| async {
            let client = self.pool.get().await?;
            let select = client.prepare_cached(SELECT_BY_ID).await?;
            let row = client.query_opt(&select, &[&id.as_str()]).await?;
            row.map(|row| decode(&row)).transpose()
        })
        .await
    }

    async fn delete(&self, id: &MeetingId) -> Result<bool, StoreError> {
        if id.as_str().contains('\0') {
            return Ok(false);
        }
        let maybe_deleted = AtomicBool::new(false);
        self.with_retries(|| self.try_delete(id, &maybe_deleted))
            .await
    }

    /// A compare-and-set on the stored text (`UPDATE … WHERE id = $1 AND
    /// meeting = $2`), read again and retried when another instance wrote
    /// between: no row lock is held while the change runs, and no update is lost.
    async fn update(&self, id: &MeetingId, change: Change<'_>) -> Result<Updated, StoreError> {
        if id.as_str().contains('\0') {
            return Ok(Updated::Missing);
        }
        let written = std::sync::Mutex::new(None);
        self.within_call_timeout(async {
            loop {
                let mut tries = 0;
                let attempt = loop {
                    match self.try_update(id, change, &written).await {
                        Err(error) => {
                            tries += 1;
                            match retry_delay(&error, tries, self.options.max_retries) {
                                Some(delay) => tokio::time::sleep(delay).await,
                                None => return Err(error),
                            }
                        }
                        Ok(attempt) => break attempt,
                    }
                };
                if let Some(updated) = attempt {
                    return Ok(updated);
                }
            }
        })
        .await
    }

    async fn find_by_join_web_url(
        &self,
        link: &str,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        if link.contains('\0') {
            return Ok(Vec::new());
        }
        self.with_retries(|| async {
            let client = self.pool.get().await?;
            let select = client.prepare_cached(SELECT_BY_JOIN_WEB_URL).await?;
            let rows = client.query(&select, &[&link]).await?;
            let mut found = Vec::with_capacity(rows.len());
            for row in &rows {
                let meeting = decode(row)?;
                if join_web_url_key(&meeting.join_web_url) == link {
                    found.push(meeting);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn find_by_join_meeting_id(
        &self,
        join_meeting_id: &str,
    ) -> Result<Option<Arc<OnlineMeeting>>, StoreError> {
        if join_meeting_id.contains('\0') {
            return Ok(None);
        }
        self.with_retries(|| async {
            let client = self.pool.get().await?;
            let select = client.prepare_cached(SELECT_BY_JOIN_MEETING_ID).await?;
            let row = client.query_opt(&select, &[&join_meeting_id]).await?;
            row.map(|row| decode(&row)).transpose()
        })
        .await
    }

    async fn list(
        &self,
        after: Option<&MeetingId>,
        limit: usize,
    ) -> Result<Vec<Arc<OnlineMeeting>>, StoreError> {
        // Every stored id sorts after ''.
        let after = after.map_or("", |id| id.as_str());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_retries(|| async {
            let client = self.pool.get().await?;
            let select = client.prepare_cached(SELECT_PAGE).await?;
            let rows = client.query(&select, &[&after, &limit]).await?;
            rows.iter().map(decode).collect()
        })
        .await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.with_retries(|| async {
            let client = self.pool.get().await?;
            let count = client.prepare_cached(COUNT).await?;
            let count: i64 = client.query_one(&count, &[]).await?.try_get(0)?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
        .await
    }

    /// Deletes every meeting in one statement. If its answer is lost with its
    /// connection, the retry deletes what is left and reports only that.
    async fn clear(&self) -> Result<u64, StoreError> {
        self.with_retries(|| async {
            let client = self.pool.get().await?;
            let delete = client.prepare_cached(DELETE_ALL).await?;
            Ok(client.execute(&delete, &[]).await?)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_retries(|| async {
            let client = self.pool.get().await?;
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_ceiling_doubles_from_1_ms_to_64_ms() {
        let ceilings: Vec<u64> = (1..=8).map(backoff_ceiling_micros).collect();
        assert_eq!(
            ceilings,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 64_000]
        );
    }

    #[test]
    fn jitter_reaches_both_ends_of_its_range() {
        assert_eq!(jitter(0), 0);
        let draws: std::collections::BTreeSet<u64> = (0..64).map(|_| jitter(1)).collect();
        assert_eq!(draws, [0, 1].into(), "64 draws of 0..=1");
    }

    #[test]
    fn jitter_stays_within_its_ceiling_and_varies() {
        let draws: Vec<u64> = (0..64).map(|_| jitter(1_000)).collect();
        assert!(draws.iter().all(|&d| d <= 1_000));
        assert!(draws.iter().any(|&d| d != draws[0]), "{draws:?}");
    }

    #[test]
    fn a_bug_is_not_retried() {
        let error = Error::Serialize(serde_json::from_str::<u8>("x").unwrap_err());
        assert_eq!(retry_delay(&error, 1, 10), None);
    }

    #[test]
    fn the_debug_target_never_shows_the_password() {
        let config: Config = "postgres://app:secret@db.example:6543/meetings"
            .parse()
            .unwrap();
        assert_eq!(describe_target(&config), "db.example:6543/meetings");
    }

    #[test]
    fn a_pool_timeout_is_not_retried_at_once() {
        let error = Error::PoolTimeout("waiting");
        assert_eq!(retry_delay(&error, 1, 10), None);
    }
}
