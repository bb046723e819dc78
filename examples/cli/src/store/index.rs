//! The marker index's rows (see `incwo_core::flow::index`): one per resource
//! and marker, and one coverage row per resource, upserted with the ledger.

use incwo_core::flow::index::{IndexChanges, IndexEntry};
use rusqlite::{params, Connection};

/// Upserts the index's changes (inside the caller's transaction).
pub(super) fn write(conn: &Connection, business_file: &str, changes: &IndexChanges) -> rusqlite::Result<()> {
    let mut entry = conn.prepare_cached(
        "INSERT INTO marker_index (business_file, resource, marker, found) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (business_file, resource, marker) DO UPDATE SET found = excluded.found",
    )?;
    for e in &changes.entries {
        let found = serde_json::to_string(&e.found).unwrap_or_default();
        entry.execute(params![business_file, e.resource, e.marker, found])?;
    }
    let mut coverage = conn.prepare_cached(
        "INSERT INTO marker_coverage (business_file, resource, coverage) VALUES (?1, ?2, ?3)
         ON CONFLICT (business_file, resource) DO UPDATE SET coverage = excluded.coverage",
    )?;
    for (resource, c) in &changes.coverage {
        coverage.execute(params![
            business_file,
            resource,
            serde_json::to_string(c).unwrap_or_default()
        ])?;
    }
    Ok(())
}

/// Reads a business file's whole index. A row that no longer parses is
/// left out: the index is a cache, the next pass reads it again.
pub(super) fn read(conn: &Connection, business_file: &str) -> rusqlite::Result<IndexChanges> {
    let mut all = IndexChanges::default();
    let mut rows = conn.prepare_cached("SELECT resource, marker, found FROM marker_index WHERE business_file = ?1")?;
    let entries = rows.query_map([business_file], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })?;
    for row in entries {
        let (resource, marker, found) = row?;
        if let Ok(found) = serde_json::from_str(&found) {
            all.entries.push(IndexEntry {
                resource,
                marker,
                found,
            });
        }
    }
    let mut rows = conn.prepare_cached("SELECT resource, coverage FROM marker_coverage WHERE business_file = ?1")?;
    let coverage = rows.query_map([business_file], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in coverage {
        let (resource, text) = row?;
        if let Ok(c) = serde_json::from_str(&text) {
            all.coverage.insert(resource, c);
        }
    }
    Ok(all)
}
