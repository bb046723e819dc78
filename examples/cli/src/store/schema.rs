//! The store's tables, created and upgraded by numbered migrations
//! (`PRAGMA user_version` is the number applied).
//!
//! Every table is keyed by business file first: one state file may hold
//! several business files, each with its own writer lock. The marker index
//! (migration 4) lives beside the ledger and is written in the same
//! transactions, under the same lock.

use rusqlite::Connection;

/// `PRAGMA application_id` of an incwo state store ("incw").
pub const APPLICATION_ID: i64 = 0x696e_6377;

/// The migrations, in order; migration `n` (1-based) brings `user_version` to `n`.
const MIGRATIONS: &[&str] = &[
    // 1: the ledger (one row per entry, its JSON beside the columns a
    // person or a later index wants), the run of each business file (its
    // progress and one row per record outcome) and the polling cursor.
    "CREATE TABLE ledger (
        business_file TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        domain TEXT NOT NULL,
        external_id TEXT NOT NULL,
        step TEXT NOT NULL,
        state TEXT NOT NULL,
        incwo_id INTEGER,
        entry TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (business_file, idempotency_key)
    ) WITHOUT ROWID;
    CREATE TABLE run (
        business_file TEXT NOT NULL PRIMARY KEY,
        progress TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE outcome (
        business_file TEXT NOT NULL,
        record_index INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        PRIMARY KEY (business_file, record_index)
    ) WITHOUT ROWID;
    CREATE TABLE poll_cursor (
        business_file TEXT NOT NULL PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 2: empty (it was reserved for the marker index, which came after the
    // quarantine as migration 4; stores already at 2 or 3 exist).
    "",
    // 3: the quarantine: one row per quarantined record (the core's entry
    // as JSON, redacted, beside the columns operators filter on).
    "CREATE TABLE quarantine (
        business_file TEXT NOT NULL,
        id TEXT NOT NULL,
        state TEXT NOT NULL,
        code TEXT NOT NULL,
        class TEXT NOT NULL,
        kind TEXT,
        external_id TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        entry TEXT NOT NULL,
        PRIMARY KEY (business_file, id)
    ) WITHOUT ROWID;",
    // 4: the marker index (the core's `flow::index`): one row per resource
    // and marker (the objects carrying it, as JSON), and each resource's
    // coverage (watermark, list order, pass in progress).
    "CREATE TABLE marker_index (
        business_file TEXT NOT NULL,
        resource TEXT NOT NULL,
        marker TEXT NOT NULL,
        found TEXT NOT NULL,
        PRIMARY KEY (business_file, resource, marker)
    ) WITHOUT ROWID;
    CREATE TABLE marker_coverage (
        business_file TEXT NOT NULL,
        resource TEXT NOT NULL,
        coverage TEXT NOT NULL,
        PRIMARY KEY (business_file, resource)
    ) WITHOUT ROWID;",
];

/// Brings the schema up to date (in one immediate transaction, so two
/// processes opening a new store do not both migrate it).
pub fn migrate(conn: &mut Connection, path: &std::path::Path) -> Result<(), String> {
    let fail = |e: rusqlite::Error| format!("cannot prepare the state store {}: {e}", path.display());
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(fail)?;
    let version: usize = tx
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(fail)?
        .try_into()
        .unwrap_or(usize::MAX);
    let app: i64 = tx.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(fail)?;
    let tables: i64 = tx
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(fail)?;
    if app != APPLICATION_ID && (app != 0 || tables > 0) {
        return Err(format!(
            "{} is an SQLite database but not an incwo state store; pass another --state path",
            path.display()
        ));
    }
    if version > MIGRATIONS.len() {
        return Err(format!(
            "the state store {} has schema {version}, written by a newer incwo (this one reads up to {}); \
             use that version, or `incwo state export` with it",
            path.display(),
            MIGRATIONS.len()
        ));
    }
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", n as i64 + 1).map_err(fail)?;
    }
    if app != APPLICATION_ID {
        tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(fail)?;
    }
    tx.commit().map_err(fail)
}
