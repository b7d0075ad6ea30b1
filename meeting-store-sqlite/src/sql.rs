//! The statements on the `meetings` table, one copy each: the reader, the
//! writer and the benchmark's raw baseline (which must run exactly what the
//! store runs) all take them from here.

/// Stores a meeting unless its key has one:
/// `(id, tenant_id, user_id, external_id, meeting, join_meeting_id, join_web_url)`.
/// An id or a join id that another key's meeting holds fails the statement.
pub const INSERT: &str =
    "INSERT INTO meetings (id, tenant_id, user_id, external_id, meeting, join_meeting_id, join_web_url)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    ON CONFLICT (tenant_id, user_id, external_id) DO NOTHING";

/// Replaces the meeting with id `?1` by `?3` if it is still stored as `?2`
/// (the text the change was computed from): a compare-and-set that loses no
/// update, whichever connection or process wrote in between.
pub const UPDATE_IF_UNCHANGED: &str =
    "UPDATE meetings SET meeting = ?3 WHERE id = ?1 AND meeting = ?2";

/// `(id, meeting)` of the meetings whose join link is `?1` but for ASCII case
/// (one probe of `meetings_join_web_url`).
pub const SELECT_BY_JOIN_WEB_URL: &str =
    "SELECT id, meeting FROM meetings WHERE join_web_url = ?1 COLLATE NOCASE";

/// `(id, meeting)` of the meeting with this join id (one probe of `meetings_join_meeting_id`).
pub const SELECT_BY_JOIN_MEETING_ID: &str =
    "SELECT id, meeting FROM meetings WHERE join_meeting_id = ?1";

/// Whether a meeting with this id is stored.
pub const ID_IS_STORED: &str = "SELECT 1 FROM meetings WHERE id = ?1";

/// `(id, meeting)` of the meeting stored under `(tenant_id, user_id, external_id)`.
pub const SELECT_BY_KEY: &str =
    "SELECT id, meeting FROM meetings WHERE tenant_id = ?1 AND user_id = ?2 AND external_id = ?3";

/// `(id, meeting)` of the meeting with this id.
pub const SELECT_BY_ID: &str = "SELECT id, meeting FROM meetings WHERE id = ?1";

/// Deletes the meeting with this id.
pub const DELETE: &str = "DELETE FROM meetings WHERE id = ?1";

/// `(id, meeting)` of up to `?2` meetings with ids after `?1`, in id order
/// (SQLite's BINARY collation: UTF-8 byte order).
pub const SELECT_PAGE: &str = "SELECT id, meeting FROM meetings WHERE id > ?1 ORDER BY id LIMIT ?2";

/// How many meetings are stored.
pub const COUNT: &str = "SELECT count(*) FROM meetings";

/// Deletes every meeting.
pub const DELETE_ALL: &str = "DELETE FROM meetings";

/// Reads the table without returning a row: whether a connection can read it.
pub const READ_PROBE: &str = "SELECT count(*) FROM meetings WHERE 0";

/// Inserts the write probe's row `(id, meeting)` under an empty key.
pub const PROBE_INSERT: &str = "INSERT INTO meetings (id, tenant_id, user_id, external_id, meeting)
    VALUES (?1, '', '', '', ?2)";
