// The PostgreSQL probe of meeting-store-postgres, for meetingd's own PostgreSQL tests.
include!("../meeting-store-postgres/build.rs");
