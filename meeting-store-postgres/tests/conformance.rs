//! The store conformance suite, once per isolation level, each test on a fresh database.

mod read_committed {
    meeting_core::store_conformance!(
        #[cfg_attr(
            no_postgres,
            ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
        )]
        fixture = async {
            meeting_tests::postgres::fresh_store(meeting_store_postgres::Isolation::ReadCommitted)
                .await
        }
    );
}

mod serializable {
    meeting_core::store_conformance!(
        #[cfg_attr(
            no_postgres,
            ignore = "no PostgreSQL: install postgresql-15 or set MEETING_PG_URL"
        )]
        fixture = async {
            meeting_tests::postgres::fresh_store(meeting_store_postgres::Isolation::Serializable)
                .await
        }
    );
}
