//! TLS to a real server started with `ssl = on` and a certificate from a CA
//! made for the test: the URL's sslmode and sslrootcert, and proof from the
//! server (`pg_stat_ssl`) of which sessions are encrypted.

use meeting_core::conformance::{key, sample_meeting};
use meeting_core::{MeetingStore, Outcome, StoreError};
use meeting_store_postgres::PostgresStore;
use meeting_tests::errors::{assert_each_layer_says_only_its_own, chain};
use meeting_tests::postgres::{self, Cluster, ClusterOptions, Server};
use std::sync::OnceLock;

/// One TLS cluster for this binary, stopped by its watcher when the process ends.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        match Cluster::start(ClusterOptions {
            ssl: true,
            ..ClusterOptions::for_tests()
        }) {
            Ok(cluster) => Server::Local(cluster),
            Err(why) => postgres::no_postgres(&why),
        }
    })
}

fn ca() -> String {
    let cluster = server().cluster().expect("a local cluster");
    cluster
        .ca()
        .expect("the cluster's CA")
        .display()
        .to_string()
}

/// A fresh database's URL with `query` appended.
async fn url(query: &str) -> String {
    let url = postgres::fresh_database_on(server()).await;
    format!("{url}?{query}")
}

/// Whether the server says each of the sessions named `application` is
/// encrypted; asked over a plain-text connection of its own.
async fn sessions_encrypted(application: &str) -> Vec<bool> {
    let admin = format!("{}?sslmode=disable", server().admin_url());
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .expect("connect to the maintenance database");
    tokio::spawn(connection);
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    assert_eq!(ssl, "on", "the test server runs with ssl = on");
    let rows = client
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid \
             WHERE a.application_name = $1",
            &[&application],
        )
        .await
        .unwrap();
    let encrypted: Vec<bool> = rows.iter().map(|row| row.get(0)).collect();
    assert!(!encrypted.is_empty(), "no session named {application}");
    encrypted
}

/// A create, then a get of the same key: one meeting.
async fn round_trip(store: &PostgresStore, external_id: &str) {
    let k = key("tenant", "user", external_id);
    let created = store
        .create_or_get(&k, &|| sample_meeting(&k, 1))
        .await
        .unwrap();
    let Outcome::Created(meeting) = created else {
        panic!("a fresh database has no meeting yet");
    };
    let again = store
        .create_or_get(&k, &|| sample_meeting(&k, 2))
        .await
        .unwrap();
    assert!(matches!(again, Outcome::Existing(ref m) if m.id == meeting.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn require_with_the_servers_ca_encrypts_every_session() {
    let url = url(&format!(
        "sslmode=require&sslrootcert={}&application_name=tls_require",
        ca()
    ))
    .await;
    let store = PostgresStore::connect(&url).await.unwrap();
    round_trip(&store, "a").await;
    assert!(sessions_encrypted("tls_require")
        .await
        .iter()
        .all(|&ssl| ssl));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn verify_full_checks_the_name_and_verify_ca_does_not() {
    let port = server().cluster().unwrap().port();
    // The certificate names 127.0.0.1 and localhost; the host name given is
    // neither, and hostaddr takes the connection to the server all the same.
    let database = postgres::fresh_database_on(server()).await;
    let name = database.rsplit('/').next().unwrap().to_owned();
    let other_name = |mode: &str| {
        format!(
            "postgres://postgres@db.invalid:{port}/{name}?hostaddr=127.0.0.1&sslmode={mode}&sslrootcert={}&application_name=tls_{}",
            ca(),
            mode.replace('-', "_")
        )
    };
    let store = PostgresStore::connect(&other_name("verify-ca"))
        .await
        .unwrap();
    round_trip(&store, "a").await;
    assert!(sessions_encrypted("tls_verify_ca")
        .await
        .iter()
        .all(|&ssl| ssl));

    let error = PostgresStore::connect(&other_name("verify-full"))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    assert!(chain(&error).contains("sslrootcert"), "{}", chain(&error));

    // The right name passes verify-full.
    let url = url(&format!("sslmode=verify-full&sslrootcert={}", ca())).await;
    let store = PostgresStore::connect(&url).await.unwrap();
    round_trip(&store, "a").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_certificate_from_another_ca_is_refused_as_incompatible() {
    let other = tempfile::tempdir().unwrap();
    let wrong_ca = postgres::make_ca(other.path(), "another-ca").unwrap();
    let url = url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        wrong_ca.display()
    ))
    .await;
    let error = PostgresStore::connect(&url).await.unwrap_err();
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    assert_each_layer_says_only_its_own(&error);
    let text = chain(&error);
    assert!(text.contains("TLS"), "{text}");
    assert!(text.contains("certificate"), "{text}");
    assert!(text.contains("sslrootcert"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn require_without_a_root_file_trusts_only_the_platforms_roots() {
    let error = PostgresStore::connect(&url("sslmode=require").await)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_missing_root_file_is_refused_by_name() {
    let error = PostgresStore::connect(&url("sslmode=verify-ca&sslrootcert=/no/such/ca.pem").await)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    assert!(
        chain(&error).contains("/no/such/ca.pem"),
        "{}",
        chain(&error)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn disable_stays_in_plain_text_on_a_tls_server() {
    let store = PostgresStore::connect(&url("sslmode=disable&application_name=tls_disable").await)
        .await
        .unwrap();
    round_trip(&store, "a").await;
    assert!(sessions_encrypted("tls_disable")
        .await
        .iter()
        .all(|&ssl| !ssl));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn prefer_the_default_encrypts_when_the_server_offers_tls() {
    let store = PostgresStore::connect(&url("application_name=tls_prefer").await)
        .await
        .unwrap();
    round_trip(&store, "a").await;
    assert!(sessions_encrypted("tls_prefer")
        .await
        .iter()
        .all(|&ssl| ssl));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn sslrootcert_system_alone_checks_the_certificate_against_the_platforms_roots() {
    // The server's certificate comes from the test's own CA, which no platform
    // trusts: a checked connection must fail (sslmode=prefer would encrypt and
    // connect without looking at the certificate).
    let error = PostgresStore::connect(&url("sslrootcert=system").await)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn sslrootcert_system_with_a_weak_sslmode_is_refused_before_connecting() {
    for weak in ["disable", "prefer", "require"] {
        let error =
            PostgresStore::connect(&url(&format!("sslmode={weak}&sslrootcert=system")).await)
                .await
                .unwrap_err();
        assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
        let text = chain(&error);
        assert!(
            text.contains(&format!("weak sslmode \"{weak}\"")) && text.contains("verify-full"),
            "{text}"
        );
    }
}

/// A host name that is no DNS name (TLS cannot check a certificate against
/// it), reached through `hostaddr`: refused as the configuration's fault,
/// not as a server that may come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_host_name_tls_cannot_check_is_refused_as_incompatible() {
    let url = url(&format!(
        "sslmode=verify-ca&sslrootcert={}&hostaddr=127.0.0.1",
        ca()
    ))
    .await
    .replace("@127.0.0.1:", "@not..a..name:");
    let error = PostgresStore::connect(&url).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Incompatible { .. }),
        "{}",
        chain(&error)
    );
}

/// The sslmode of a key=value connection string, which the driver parses:
/// `disable` stays in plain text, `require` without a root file checks the
/// certificate against the platform's roots (and so refuses the test's CA),
/// as the URL forms do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres_binaries,
    ignore = "no PostgreSQL server binaries (the test starts its own cluster): install postgresql-15 or set MEETING_PG_BIN"
)]
async fn a_key_value_connection_strings_sslmode_is_honoured() {
    let url = postgres::fresh_database_on(server()).await;
    let database = url.rsplit('/').next().expect("a database name");
    let port = server().cluster().expect("a local cluster").port();
    let settings = |sslmode: &str, application: &str| {
        format!(
            "host=127.0.0.1 port={port} user=postgres dbname={database} sslmode={sslmode} application_name={application}"
        )
    };
    let store = PostgresStore::connect(&settings("disable", "kv_disable"))
        .await
        .unwrap();
    round_trip(&store, "a").await;
    assert!(sessions_encrypted("kv_disable")
        .await
        .iter()
        .all(|&ssl| !ssl));

    let error = PostgresStore::connect(&settings("require", "kv_require"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Incompatible { .. }),
        "{}",
        chain(&error)
    );
}
