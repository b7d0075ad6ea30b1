//! The store conformance suite, once per isolation level, each test on a fresh database.

mod read_committed {
    meeting_core::store_conformance!(async {
        meeting_tests::postgres::fresh_store(meeting_store_postgres::Isolation::ReadCommitted).await
    });
}

mod serializable {
    meeting_core::store_conformance!(async {
        meeting_tests::postgres::fresh_store(meeting_store_postgres::Isolation::Serializable).await
    });
}
