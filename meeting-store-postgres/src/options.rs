//! Settings of a [`PostgresStore`](crate::PostgresStore), and the ones read from its URL.

use crate::error::Error;
use crate::tls::{RootCert, TlsMode, TlsSettings};
use std::str::FromStr;
use std::time::Duration;

/// How a [`PostgresStore`](crate::PostgresStore) connects and retries.
///
/// The connection URL may set `pool_size` and `isolation` too
/// (`postgres://app@db/meetings?pool_size=32&isolation=serializable`); the URL's
/// values win over these, so that an operator can tune a deployment without a rebuild.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// The most connections the pool keeps open (default 16). URL: `pool_size=N`.
    pub pool_size: usize,
    /// The isolation level of every statement (default READ COMMITTED). URL:
    /// `isolation=read_committed` or `isolation=serializable`.
    pub isolation: Isolation,
    /// How long to wait for the server to accept a new connection, unless the
    /// URL sets `connect_timeout` (default 5 s).
    pub connect_timeout: Duration,
    /// How long a call waits for a free pooled connection before it fails as
    /// unavailable (default 5 s).
    pub wait_timeout: Duration,
    /// How often one call retries after a serialization failure or a deadlock
    /// (SQLSTATE 40001, 40P01), with jittered exponential backoff, before it
    /// fails as unavailable (default 10).
    pub max_retries: u32,
    /// How long one call may take in all, retries included, before it fails
    /// as unavailable (default 10 s). Unless the URL sets `tcp_user_timeout`,
    /// it is also the time after which the kernel drops a connection whose
    /// sent data goes unacknowledged, so that a vanished server frees the pool.
    pub call_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 16,
            isolation: Isolation::default(),
            connect_timeout: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(5),
            max_retries: 10,
            call_timeout: Duration::from_secs(10),
        }
    }
}

/// The transaction isolation level the store's sessions run at.
///
/// Create-or-get is correct under both: READ COMMITTED is PostgreSQL's
/// default, SERIALIZABLE is CockroachDB's (and YugabyteDB's strictest).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Isolation {
    /// `READ COMMITTED`: each statement sees what was committed before it began.
    #[default]
    ReadCommitted,
    /// `SERIALIZABLE`: transactions behave as if run one at a time; the
    /// server may abort one (SQLSTATE 40001), and the store retries it.
    Serializable,
}

impl Isolation {
    /// The level's name in SQL, as `SHOW transaction_isolation` reports it.
    pub fn as_sql(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read committed",
            Isolation::Serializable => "serializable",
        }
    }

    /// The startup option that makes it every transaction's default; the
    /// backslash keeps "read committed" one word for the server's option parser.
    pub(crate) fn startup_option(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => r"-c default_transaction_isolation=read\ committed",
            Isolation::Serializable => "-c default_transaction_isolation=serializable",
        }
    }
}

/// Why a string names no [`Isolation`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown isolation level {0:?}: use read_committed or serializable")]
pub struct UnknownIsolation(String);

impl FromStr for Isolation {
    type Err = UnknownIsolation;

    /// `read_committed` (or `read committed`) and `serializable`, any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text
            .to_ascii_lowercase()
            .replace(['_', '-', '+'], " ")
            .as_str()
        {
            "read committed" => Ok(Isolation::ReadCommitted),
            "serializable" => Ok(Isolation::Serializable),
            _ => Err(UnknownIsolation(text.to_owned())),
        }
    }
}

/// Takes this crate's own parameters (`pool_size`, `isolation`) out of a
/// `postgres://` URL into `options`, and the TLS ones (`sslmode`, which the
/// driver knows only up to `require`, and `sslrootcert`, which it does not
/// know) into the returned [`TlsSettings`]; returns the rest for the driver,
/// which refuses parameters it does not know.
pub(crate) fn take_store_parameters(
    url: &str,
    options: &mut PostgresOptions,
) -> Result<(String, TlsSettings), Error> {
    let mut tls = TlsSettings::default();
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
        return Ok((url.to_owned(), tls));
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "sslmode" => tls.mode = Some(TlsMode::parse(&decode(value))?),
            "sslrootcert" => {
                let value = decode(value);
                tls.root_cert = Some(match value.as_str() {
                    "" => {
                        return Err(Error::BadParameter {
                            name: "sslrootcert",
                            value,
                            expected: "the path of a PEM file of CA certificates, or system",
                        })
                    }
                    "system" => RootCert::System,
                    _ => RootCert::File(value.into()),
                });
            }
            "pool_size" => {
                options.pool_size = value.parse().map_err(|_| Error::BadParameter {
                    name: "pool_size",
                    value: value.to_owned(),
                    expected: "a whole number of connections, at least 1",
                })?;
            }
            "isolation" => {
                options.isolation = value.parse().map_err(|_| Error::BadParameter {
                    name: "isolation",
                    value: value.to_owned(),
                    expected: "read_committed or serializable",
                })?;
            }
            _ => kept.push(pair),
        }
    }
    tls.mode = tls_mode_for_root(&tls)?;
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, tls))
}

/// The mode in force for the URL's roots: as in libpq 16, `sslrootcert=system`
/// means verify-full when no mode is given, and refuses the modes that would not
/// check the server's certificate: any public CA can vouch for an impostor.
fn tls_mode_for_root(tls: &TlsSettings) -> Result<Option<TlsMode>, Error> {
    if tls.root_cert != Some(RootCert::System) {
        return Ok(tls.mode);
    }
    match tls.mode {
        None => Ok(Some(TlsMode::VerifyFull)),
        Some(mode @ (TlsMode::VerifyCa | TlsMode::VerifyFull)) => Ok(Some(mode)),
        Some(weak @ (TlsMode::Disable | TlsMode::Prefer | TlsMode::Require)) => {
            Err(Error::WeakSslMode(weak.name()))
        }
    }
}

/// A URL query value, percent-decoded (`%20` for a space in a path).
fn decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each level's SQL name is the one `SHOW transaction_isolation` reports,
    /// and parses back to the level.
    #[test]
    fn each_isolation_level_has_its_sql_name() {
        for (level, sql) in [
            (Isolation::ReadCommitted, "read committed"),
            (Isolation::Serializable, "serializable"),
        ] {
            assert_eq!(level.as_sql(), sql);
            assert_eq!(sql.parse::<Isolation>().unwrap(), level);
        }
    }

    #[test]
    fn url_parameters_of_the_store_are_taken_and_the_rest_kept() {
        let mut options = PostgresOptions::default();
        let (rest, tls) = take_store_parameters(
            "postgres://u@h:5432/db?pool_size=3&connect_timeout=2&sslmode=disable&isolation=serializable",
            &mut options,
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@h:5432/db?connect_timeout=2");
        assert_eq!(options.pool_size, 3);
        assert_eq!(options.isolation, Isolation::Serializable);
        assert_eq!(tls.mode, Some(TlsMode::Disable));
    }

    #[test]
    fn tls_parameters_are_taken_for_the_connector() {
        let mut options = PostgresOptions::default();
        let (rest, tls) = take_store_parameters(
            "postgres://h/db?sslmode=verify-full&sslrootcert=/etc/my%20ca.pem",
            &mut options,
        )
        .unwrap();
        assert_eq!(rest, "postgres://h/db");
        assert_eq!(tls.mode, Some(TlsMode::VerifyFull));
        assert_eq!(tls.root_cert, Some(RootCert::File("/etc/my ca.pem".into())));
        for url in [
            "postgres://h/db?sslmode=allow",
            "postgres://h/db?sslrootcert=",
        ] {
            let error = take_store_parameters(url, &mut options).unwrap_err();
            assert!(matches!(error, Error::BadParameter { .. }), "{url}");
        }
    }

    #[test]
    fn sslrootcert_system_without_sslmode_verifies_the_full_certificate() {
        let (rest, tls) = take_store_parameters(
            "postgres://h/db?sslrootcert=system&connect_timeout=2",
            &mut PostgresOptions::default(),
        )
        .unwrap();
        assert_eq!(rest, "postgres://h/db?connect_timeout=2");
        assert_eq!(tls.root_cert, Some(RootCert::System));
        assert_eq!(tls.mode, Some(TlsMode::VerifyFull));
        // Whatever the driver would read from the rest, the URL's mode is the one in force.
        assert_eq!(
            tls.effective_mode(tokio_postgres::config::SslMode::Prefer),
            TlsMode::VerifyFull
        );
    }

    #[test]
    fn sslrootcert_system_keeps_the_verifying_modes() {
        for (query, mode) in [
            (
                "sslmode=verify-full&sslrootcert=system",
                TlsMode::VerifyFull,
            ),
            ("sslrootcert=system&sslmode=verify-ca", TlsMode::VerifyCa),
        ] {
            let (_, tls) = take_store_parameters(
                &format!("postgres://h/db?{query}"),
                &mut PostgresOptions::default(),
            )
            .unwrap();
            assert_eq!(tls.mode, Some(mode), "{query}");
        }
    }

    #[test]
    fn sslrootcert_system_with_a_weak_sslmode_is_refused() {
        for weak in ["disable", "prefer", "require"] {
            // In either order: the check is made once the whole query is read.
            for query in [
                format!("sslmode={weak}&sslrootcert=system"),
                format!("sslrootcert=system&sslmode={weak}"),
            ] {
                let error = take_store_parameters(
                    &format!("postgres://h/db?{query}"),
                    &mut PostgresOptions::default(),
                )
                .unwrap_err();
                assert!(
                    matches!(error, Error::WeakSslMode(mode) if mode == weak),
                    "{query}"
                );
                assert_eq!(
                    error.to_string().split(':').next().unwrap(),
                    format!(
                        "weak sslmode \"{weak}\" may not be used with sslrootcert=system (use \"verify-full\")"
                    )
                );
            }
        }
    }

    #[test]
    fn a_url_with_only_store_parameters_loses_its_query() {
        let mut options = PostgresOptions::default();
        let (rest, _) =
            take_store_parameters("postgresql://h/db?isolation=read_committed", &mut options)
                .unwrap();
        assert_eq!(rest, "postgresql://h/db");
        assert_eq!(options.isolation, Isolation::ReadCommitted);
    }

    #[test]
    fn a_key_value_string_is_left_to_the_driver() {
        let mut options = PostgresOptions::default();
        let text = "host=/tmp dbname=x";
        assert_eq!(take_store_parameters(text, &mut options).unwrap().0, text);
    }

    #[test]
    fn bad_store_parameters_are_refused_by_name() {
        for url in [
            "postgres://h/db?pool_size=many",
            "postgres://h/db?pool_size=-1",
            "postgres://h/db?isolation=snapshot",
        ] {
            let error = take_store_parameters(url, &mut PostgresOptions::default()).unwrap_err();
            assert!(matches!(error, Error::BadParameter { .. }), "{url}");
        }
    }

    #[test]
    fn isolation_names_parse_in_any_case() {
        assert_eq!("SERIALIZABLE".parse(), Ok(Isolation::Serializable));
        assert_eq!("read committed".parse(), Ok(Isolation::ReadCommitted));
        assert_eq!("Read-Committed".parse(), Ok(Isolation::ReadCommitted));
        assert!("repeatable read".parse::<Isolation>().is_err());
    }
}
