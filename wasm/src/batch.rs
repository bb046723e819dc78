//! The records of one `mapMany` buffer: a JSON array of records, or JSON
//! Lines (one record per line). Only the framing is read here; each record's
//! text goes to the core as it is, so its numbers stay exact.

use serde_json::value::RawValue;

/// The record texts of `text`: the elements of a JSON array when its first
/// non-blank character is `[`, else its non-blank lines (JSON Lines; a blank
/// line holds no record). The error is the message of a malformed array.
pub(crate) fn split(text: &str) -> Result<Vec<&str>, String> {
    if text.trim_start().starts_with('[') {
        let items: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|e| format!("records is not a valid JSON array: {e}"))?;
        return Ok(items.into_iter().map(RawValue::get).collect());
    }
    Ok(text.lines().filter(|line| !line.trim().is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn a_json_array_gives_its_elements_as_written() {
        let items = split(" [ {\"a\": 1.10}, {\"b\": [2, 3]} ]\n").unwrap();
        assert_eq!(items, vec!["{\"a\": 1.10}", "{\"b\": [2, 3]}"]);
        assert_eq!(split("[]").unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn json_lines_give_their_non_blank_lines() {
        let items = split("{\"a\": 1}\r\n\n  \n{\"b\": 2}").unwrap();
        assert_eq!(items, vec!["{\"a\": 1}", "{\"b\": 2}"]);
        // A malformed line is still a record: the core reports it.
        assert_eq!(split("{\"a\":\n").unwrap(), vec!["{\"a\":"]);
    }

    #[test]
    fn a_malformed_array_is_refused_with_its_position() {
        let error = split("[{\"a\": 1},").unwrap_err();
        assert!(error.starts_with("records is not a valid JSON array"), "{error}");
        assert!(error.contains("line 1"), "{error}");
    }
}
