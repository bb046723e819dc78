//! The batch input format shared by every host: JSON Lines, one
//! `{"kind": "order", "record": {...}}` per line. Each line is read and
//! validated on its own: a bad line becomes a rejected item with its line
//! number and never stops the others.

use crate::contract::{self, Violation};
use crate::mapping::Profile;
use crate::model::{Kind, Record};
use serde::Serialize;
use serde_json::Value;

/// Why a batch line cannot be processed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    /// `usage.malformed_line` (not JSON, not an envelope) or `contract.invalid`.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// The contract's violations, for `contract.invalid`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
}

/// One line of a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItem {
    /// 1-based line number in the input.
    pub line: usize,
    /// The kind named by the line, when readable.
    pub kind: Option<Kind>,
    /// The record's external id, when readable (for reports and queues).
    pub external_id: Option<String>,
    /// The validated record (with its warnings) or why the line is refused.
    pub record: Result<Record, Rejection>,
    /// Warnings of a valid record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Violation>,
    /// Raw fields kept for naming queues of refused records (`currency`).
    #[serde(skip)]
    pub raw_currency: Option<String>,
    /// A refused line as received (the record, or the line's text when it is
    /// not JSON), for its quarantine entry; `None` for valid records.
    #[serde(skip)]
    pub raw: Option<Value>,
}

fn malformed(line: usize, text: &str, message: String) -> BatchItem {
    BatchItem {
        line,
        kind: None,
        external_id: None,
        record: Err(Rejection {
            code: "usage.malformed_line".into(),
            message,
            violations: Vec::new(),
        }),
        warnings: Vec::new(),
        raw_currency: None,
        raw: Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))),
    }
}

/// Reads one line (1-based `line`).
pub fn parse_line(line: usize, text: &str, profile: &Profile) -> BatchItem {
    let value = match contract::parse_input(text, profile) {
        Ok(Ok(value)) => value,
        Ok(Err(violation)) => return malformed(line, text, format!("line {line}: {}", violation.message)),
        Err(e) => return malformed(line, text, format!("line {line}: {}", e.message)),
    };
    let Some(envelope) = value.as_object() else {
        return malformed(
            line,
            text,
            format!("line {line}: expected {{\"kind\": …, \"record\": {{…}}}}"),
        );
    };
    if let Some(extra) = envelope.keys().find(|k| *k != "kind" && *k != "record") {
        return malformed(
            line,
            text,
            format!("line {line}: unknown envelope field {extra:?}; a line is {{\"kind\": …, \"record\": {{…}}}}"),
        );
    }
    let kind = match envelope.get("kind").and_then(Value::as_str).map(str::parse::<Kind>) {
        Some(Ok(kind)) => kind,
        Some(Err(e)) => return malformed(line, text, format!("line {line}: {e}")),
        None => return malformed(line, text, format!("line {line}: \"kind\" is required")),
    };
    let Some(record) = envelope.get("record") else {
        return malformed(line, text, format!("line {line}: \"record\" is required"));
    };
    let report = contract::validate_value(kind, record, profile);
    let external_id = crate::model::external_id(kind, record).map(str::to_string);
    let raw_currency = record.get("currency").and_then(Value::as_str).map(str::to_string);
    match report.record {
        Some(r) => BatchItem {
            line,
            kind: Some(kind),
            external_id,
            record: Ok(r),
            warnings: report.violations,
            raw_currency,
            raw: None,
        },
        None => BatchItem {
            line,
            kind: Some(kind),
            external_id,
            record: Err(Rejection {
                code: "contract.invalid".into(),
                message: format!("line {line}: the {kind} breaks the contract"),
                violations: report.violations,
            }),
            warnings: Vec::new(),
            raw_currency,
            raw: Some(record.clone()),
        },
    }
}

/// Reads a whole JSON Lines text; blank lines are skipped.
pub fn parse_jsonl(text: &str, profile: &Profile) -> Vec<BatchItem> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(i + 1, l, profile))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_with_their_number_and_do_not_stop_others() {
        let order = include_str!("../../../examples/data/order.json").replace('\n', "");
        let text = format!(
            "{{\"kind\": \"order\", \"record\": {order}}}\n\nnot json\n{{\"kind\": \"orders\", \"record\": {{}}}}\n{{\"kind\": \"order\", \"record\": {{}}}}\n"
        );
        let items = parse_jsonl(&text, &Profile::default());
        assert_eq!(items.len(), 4);
        assert!(items[0].record.is_ok());
        assert_eq!(items[1].line, 3);
        assert_eq!(items[1].record.as_ref().unwrap_err().code, "usage.malformed_line");
        assert!(items[2].record.as_ref().unwrap_err().message.contains("unknown kind"));
        let invalid = items[3].record.as_ref().unwrap_err();
        assert_eq!(invalid.code, "contract.invalid");
        assert_eq!(invalid.violations.len(), 5);
    }
}
