//! The PostgreSQL store's own rules: configuration, migrations, refusals and error mapping.

use meeting_tests::errors::{assert_each_layer_says_only_its_own, chain};
use meeting_tests::postgres;

use meeting_core::conformance::{create, key, sample_meeting};
use meeting_core::{MeetingStore, StoreError};
use meeting_store_postgres::{Isolation, PostgresOptions, PostgresStore};
use std::sync::Arc;

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn sessions_run_at_the_configured_isolation_level() {
    for isolation in [Isolation::ReadCommitted, Isolation::Serializable] {
        let store = postgres::fresh_store(isolation).await;
        assert_eq!(store.session_isolation().await.unwrap(), isolation);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn url_parameters_set_pool_size_and_isolation_over_the_options() {
    let url = postgres::fresh_database().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}pool_size=3&isolation=serializable");
    let store = PostgresStore::connect_with(&url, PostgresOptions::default())
        .await
        .unwrap();
    assert_eq!(store.options().pool_size, 3);
    assert_eq!(store.options().isolation, Isolation::Serializable);
    assert_eq!(
        store.session_isolation().await.unwrap(),
        Isolation::Serializable
    );
    // Debug shows where the store is and how it is set, never the URL itself.
    let database = url
        .split(['/', '=', '?', '&'])
        .find(|part| part.starts_with("meeting_test_"))
        .expect("the test database's name");
    let shown = format!("{store:?}");
    assert!(
        shown.starts_with("PostgresStore { target: ")
            && shown.contains(&format!("/{database}\""))
            && shown.contains(&format!("{:?}", store.options()))
            && !shown.contains("pool_size=3"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_fresh_database_is_migrated_to_the_known_version() {
    let store = postgres::fresh_store(Isolation::ReadCommitted).await;
    assert_eq!(
        store.schema_version().await.unwrap(),
        PostgresStore::SCHEMA_VERSION
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn instances_starting_together_migrate_once() {
    let url = postgres::fresh_database().await;
    let connects: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    for connect in connects {
        connect
            .await
            .unwrap()
            .expect("every instance starts, whoever migrates");
    }
    let rows = admin(&url)
        .await
        .query("SELECT version FROM meeting_store_schema", &[])
        .await
        .unwrap();
    let mut versions: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    versions.sort_unstable();
    let each_once: Vec<i64> = (1..=PostgresStore::SCHEMA_VERSION).collect();
    assert_eq!(versions, each_once, "each version is recorded once");
}

/// A database holding another application's table of the store's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_foreign_table_of_the_stores_name_is_refused_and_left_untouched() {
    let url = postgres::fresh_database().await;
    let client = admin(&url).await;
    client
        .batch_execute(
            "CREATE TABLE online_meetings (invoice BIGINT); INSERT INTO online_meetings VALUES (7)",
        )
        .await
        .unwrap();
    // Each attempt fails as one that lost a race to another instance would, so
    // the migration retries it, a bounded number of times.
    let error = PostgresStore::connect(&url).await.unwrap_err();
    let message = chain(&error);
    assert!(
        matches!(error, StoreError::Incompatible { .. }),
        "{message}"
    );
    assert!(
        message.contains("\"online_meetings\" already exists"),
        "{message}"
    );
    let invoices: Vec<i64> = client
        .query("SELECT invoice FROM online_meetings", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(invoices, [7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_newer_schema_is_refused_and_left_untouched() {
    let url = postgres::fresh_database().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let k = key("t", "u", "kept");
    store
        .create_or_get(&k, &|| sample_meeting(&k, 1))
        .await
        .unwrap();
    drop(store);
    let client = admin(&url).await;
    client
        .execute(
            "INSERT INTO meeting_store_schema (version) VALUES (99)",
            &[],
        )
        .await
        .unwrap();

    let error = PostgresStore::connect(&url).await.unwrap_err();
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    let message = chain(&error);
    assert!(
        message.contains("99") && message.contains("newer"),
        "{message}"
    );

    let versions: i64 = client
        .query_one("SELECT count(*) FROM meeting_store_schema", &[])
        .await
        .unwrap()
        .get(0);
    let meetings: i64 = client
        .query_one("SELECT count(*) FROM online_meetings", &[])
        .await
        .unwrap()
        .get(0);
    // This build's versions and the newer one.
    assert_eq!((versions, meetings), (PostgresStore::SCHEMA_VERSION + 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_database_not_in_utf8_is_refused() {
    let server = postgres::server();
    let name = format!("meeting_ascii_{}", std::process::id());
    admin(&server.admin_url())
        .await
        .batch_execute(&format!(
            "CREATE DATABASE {name} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        ))
        .await
        .unwrap();
    let error = PostgresStore::connect(&server.url(&name))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    assert!(chain(&error).contains("UTF8"), "{}", chain(&error));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_missing_database_is_incompatible() {
    let url = postgres::server().url("meeting_no_such_database");
    let error = PostgresStore::connect(&url).await.unwrap_err();
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable() {
    // Bound but never listening, and held until the connect is refused: no other
    // socket can take the port meanwhile (as one could after a listener's drop).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let error = PostgresStore::connect(&format!("postgres://nobody@127.0.0.1:{port}/none"))
        .await
        .unwrap_err();
    drop(socket);
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error}");
}

/// A server that never completes the connect (its accept queue is full, so
/// the kernel drops the handshake): the driver gives up at the URL's
/// `connect_timeout` (1 s, before the pool's own wait, which says only that it
/// timed out), and the store answers unavailable (the server may answer
/// later), with the driver's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_that_times_out_is_unavailable() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let listener = socket.listen(1).unwrap();
    // Connections nobody accepts, until one no longer completes.
    let mut queued = Vec::new();
    loop {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
        match tokio::time::timeout(std::time::Duration::from_millis(200), connect).await {
            Ok(Ok(connection)) => queued.push(connection),
            _ => break,
        }
        assert!(queued.len() < 64, "the accept queue never filled");
    }
    let options = PostgresOptions {
        connect_timeout: std::time::Duration::from_secs(30),
        call_timeout: std::time::Duration::from_secs(60),
        ..PostgresOptions::default()
    };
    let error = PostgresStore::connect_with(
        &format!("postgres://nobody@127.0.0.1:{port}/none?sslmode=disable&connect_timeout=1"),
        options,
    )
    .await
    .unwrap_err();
    drop((listener, queued));
    let text = meeting_core::error_chain(&error);
    assert!(matches!(error, StoreError::Unavailable { .. }), "{text}");
    assert!(text.contains("connection timed out"), "{text}");
}

/// A server that breaks the protocol (it answers the startup message with
/// ReadyForQuery, skipping authentication) is no transport failure to wait
/// out: the driver's "unexpected message" is an internal failure, not an
/// unavailable server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_breaks_the_protocol_is_not_reported_unavailable() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut connection, _)) = listener.accept().await {
            // 'Z', a length of 5 that counts itself, and 'I' (idle).
            let _ = connection.write_all(b"Z\x00\x00\x00\x05I").await;
            held.push(connection);
        }
    });
    let error = PostgresStore::connect(&format!(
        "postgres://nobody@127.0.0.1:{port}/none?sslmode=disable"
    ))
    .await
    .unwrap_err();
    server.abort();
    let text = meeting_core::error_chain(&error);
    assert!(matches!(error, StoreError::Internal { .. }), "{text}");
    assert!(text.contains("unexpected message from server"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_configuration_is_incompatible_and_says_what_to_change() {
    let cases = [
        ("postgres://h/db?sslmode=allow", "sslmode"),
        ("postgres://h/db?sslrootcert=", "sslrootcert"),
        ("postgres://h/db?pool_size=0", "pool size"),
        ("postgres://h/db?pool_size=lots", "pool_size"),
        ("postgres://h/db?isolation=chaos", "isolation"),
        ("postgres://h/db?no_such_parameter=1", "postgres://"),
        ("postgres://h:notaport/db", "postgres://"),
    ];
    for (url, hint) in cases {
        let error = PostgresStore::connect(url).await.unwrap_err();
        assert!(
            matches!(error, StoreError::Incompatible { .. }),
            "{url}: {error}"
        );
        assert!(chain(&error).contains(hint), "{url}: {}", chain(&error));
        assert_each_layer_says_only_its_own(&error);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn unreadable_stored_json_is_corrupt_and_names_the_meeting() {
    let url = postgres::fresh_database().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let k = key("t", "u", "damaged");
    let id = create(&store, &k, 1).await.meeting().id.clone();
    admin(&url)
        .await
        .execute("UPDATE online_meetings SET meeting = '{\"id\": 7'", &[])
        .await
        .unwrap();
    for error in [
        store.get(&id).await.unwrap_err(),
        store.get_by_key(&k).await.unwrap_err(),
        store
            .create_or_get(&k, &|| sample_meeting(&k, 2))
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(&error, StoreError::Corrupt { what, .. } if what == id.as_str()),
            "{error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_corrupt_meeting_error_names_its_id_not_its_key_nor_what_is_stored() {
    let url = postgres::fresh_database().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let k = key("tenant-secret", "user-secret", "external-secret");
    let mut meeting = sample_meeting(&k, 1);
    // Graph's ids begin with the organizer's user id; this one does not, so that
    // the user id cannot be found in a message by way of the id.
    meeting.id = "meeting-17".into();
    store.create_or_get(&k, &|| meeting.clone()).await.unwrap();
    // JSON that serde_json's own message would quote.
    admin(&url)
        .await
        .execute(
            "UPDATE online_meetings SET meeting = '\"Alice Example, personal-secret\"'",
            &[],
        )
        .await
        .unwrap();
    for (call, error) in [
        ("get", store.get(&meeting.id).await.unwrap_err()),
        ("get_by_key", store.get_by_key(&k).await.unwrap_err()),
        (
            "create_or_get",
            store
                .create_or_get(&k, &|| sample_meeting(&k, 2))
                .await
                .unwrap_err(),
        ),
    ] {
        assert!(
            matches!(&error, StoreError::Corrupt { what, .. } if what == "meeting-17"),
            "{call}: {error}"
        );
        // Everything a log could show: the message, each cause's, and the Debug form.
        let mut texts = vec![error.to_string(), format!("{error:?}")];
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            texts.push(cause.to_string());
            source = cause.source();
        }
        for text in &texts {
            assert!(
                !text.contains("secret") && !text.contains("Alice"),
                "{call}: {text}"
            );
        }
        assert!(texts[0].contains("meeting-17"), "{call}: {}", texts[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn an_id_with_nul_is_never_stored_nor_found() {
    // PostgreSQL text cannot hold NUL; keys cannot either (TenantId and UserId refuse it).
    let store = postgres::fresh_store(Isolation::ReadCommitted).await;
    let k = key("tenant", "user", "x");
    let mut meeting = sample_meeting(&k, 1);
    meeting.id = "a\0b".into();
    let error = store
        .create_or_get(&k, &|| meeting.clone())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Internal { .. }), "{error}");
    assert_eq!(store.get_by_key(&k).await.unwrap(), None);
    assert_eq!(store.get(&"a\0b".into()).await.unwrap(), None);
    assert!(!store.delete(&"a\0b".into()).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_created_meeting_is_visible_to_another_instance_at_once() {
    let url = postgres::fresh_database().await;
    let (one, two) = (
        Arc::new(PostgresStore::connect(&url).await.unwrap()),
        Arc::new(PostgresStore::connect(&url).await.unwrap()),
    );
    let k = key("t", "u", "shared");
    let created = one
        .create_or_get(&k, &|| sample_meeting(&k, 1))
        .await
        .unwrap();
    let seen = two
        .create_or_get(&k, &|| sample_meeting(&k, 2))
        .await
        .unwrap();
    assert!(created.is_created() && !seen.is_created());
    assert_eq!(seen.meeting(), created.meeting());
    assert!(two.delete(&created.meeting().id).await.unwrap());
    assert_eq!(one.get_by_key(&k).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    no_postgres,
    ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
)]
async fn a_schema_named_in_the_url_options_holds_the_tables() {
    let url = postgres::fresh_database().await;
    let client = admin(&url).await;
    client
        .batch_execute("CREATE SCHEMA meetings")
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let store = PostgresStore::connect(&format!(
        "{url}{separator}options=-c%20search_path%3Dmeetings&isolation=serializable"
    ))
    .await
    .unwrap();
    let k = key("t", "u", "in-a-schema");
    store
        .create_or_get(&k, &|| sample_meeting(&k, 1))
        .await
        .unwrap();
    let schemas: Vec<String> = client
        .query(
            "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'online_meetings'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(schemas, vec!["meetings".to_owned()]);
    assert_eq!(
        store.session_isolation().await.unwrap(),
        Isolation::Serializable,
        "the URL's own options keep the isolation level"
    );
}
