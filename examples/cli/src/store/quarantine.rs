//! The quarantine table: the core's entries, stored by id per business file
//! (the core merges a record quarantined again into its entry, filters,
//! settles and drops; this file only reads and writes rows).

use super::Store;
use incwo_core::flow::quarantine::{self, Entry};
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Stores a quarantine entry, merged into the record's previous one.
    pub fn put_quarantine(&mut self, business_file: &str, entry: &Entry) -> Result<(), String> {
        let previous = self.quarantine_entry(business_file, &entry.id)?;
        self.write_quarantine(business_file, &quarantine::merge(previous.as_ref(), entry.clone()))
    }

    /// Writes an entry as it is (after a replay or a drop).
    pub fn write_quarantine(&mut self, business_file: &str, entry: &Entry) -> Result<(), String> {
        let text = serde_json::to_string(entry).map_err(|e| e.to_string())?;
        let state = serde_json::to_value(entry.state).map_err(|e| e.to_string())?;
        self.conn
            .execute(
                "INSERT INTO quarantine (business_file, id, state, code, class, kind, external_id, first_seen, last_seen, entry)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (business_file, id) DO UPDATE SET state = ?3, code = ?4, class = ?5, kind = ?6,
                   external_id = ?7, first_seen = ?8, last_seen = ?9, entry = ?10",
                params![
                    business_file,
                    entry.id,
                    state.as_str().unwrap_or_default(),
                    entry.error.code,
                    entry.error.class,
                    entry.kind,
                    entry.external_id,
                    i64::try_from(entry.first_seen).unwrap_or(i64::MAX),
                    i64::try_from(entry.last_seen).unwrap_or(i64::MAX),
                    text
                ],
            )
            .map(|_| ())
            .map_err(self.fail("store a quarantine entry"))
    }

    /// One entry by id.
    pub fn quarantine_entry(&self, business_file: &str, id: &str) -> Result<Option<Entry>, String> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT entry FROM quarantine WHERE business_file = ?1 AND id = ?2",
                params![business_file, id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.fail("read a quarantine entry"))?;
        text.map(|t| parse(&t)).transpose()
    }

    /// Every entry of a business file.
    pub fn quarantine_entries(&self, business_file: &str) -> Result<Vec<Entry>, String> {
        let fail = self.fail("read the quarantine");
        let mut statement = self
            .conn
            .prepare("SELECT entry FROM quarantine WHERE business_file = ?1 ORDER BY first_seen, id")
            .map_err(&fail)?;
        let rows = statement
            .query_map([business_file], |r| r.get::<_, String>(0))
            .map_err(&fail)?;
        rows.map(|r| r.map_err(&fail).and_then(|t| parse(&t))).collect()
    }

    /// Deletes entries past their retention (ids the core named).
    pub fn delete_quarantine(&mut self, business_file: &str, ids: &[String]) -> Result<(), String> {
        for id in ids {
            self.conn
                .execute(
                    "DELETE FROM quarantine WHERE business_file = ?1 AND id = ?2",
                    params![business_file, id],
                )
                .map_err(self.fail("delete an expired quarantine entry"))?;
        }
        Ok(())
    }
}

fn parse(text: &str) -> Result<Entry, String> {
    serde_json::from_str(text).map_err(|e| format!("a quarantine entry of the state store cannot be read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use incwo_core::flow::{batch, ErrorInfo};

    #[test]
    fn an_entry_quarantined_twice_is_one_row_with_two_attempts() {
        let dir = std::env::temp_dir().join(format!("incwo-q-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = Store::open(&dir.join("state.db"), "1").unwrap();
        let line = r#"{"kind": "order", "record": {"orderNumber": "CMD-1"}}"#;
        let item = batch::parse_line(1, line, &incwo_core::mapping::Profile::default());
        let error = ErrorInfo::business("contract.invalid", "bad");
        let entry = quarantine::new_entry(&item, "b", &error, Vec::new(), 10);
        store.put_quarantine("1", &entry).unwrap();
        store
            .put_quarantine("1", &quarantine::new_entry(&item, "b", &error, Vec::new(), 20))
            .unwrap();
        let all = store.quarantine_entries("1").unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].first_seen, all[0].last_seen, all[0].attempts), (10, 20, 2));
        assert!(store.quarantine_entries("2").unwrap().is_empty());
        store.delete_quarantine("1", std::slice::from_ref(&entry.id)).unwrap();
        assert!(store.quarantine_entry("1", &entry.id).unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
