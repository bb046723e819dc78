//! Reading incwo's error bodies. Their format is not documented, so every
//! plausible Rails form is accepted: `<errors><error>…</error></errors>`
//! (with or without a field attribute or `<field>`/`<message>` children), a
//! single `<error>`, Rails' `<hash><error>…</error></hash>`, a JSON object
//! from a gateway, an HTML error page (its `<title>`/`<h1>`) or plain text.
//! The raw body is kept too, size-capped and scrubbed of credentials and
//! e-mail addresses.

use serde::{Deserialize, Serialize};

use crate::xml::{parse_document, Element, XmlLimits};

/// Most messages kept from one body.
pub const MAX_MESSAGES: usize = 50;
/// Longest message text kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Largest raw body kept for the operator, in bytes.
pub const RAW_BODY_LIMIT: usize = 4 * 1024;
/// Largest body parsed for messages, in bytes.
const PARSE_LIMIT: usize = 1024 * 1024;

/// One message incwo put in an error body, with the field it names when the
/// body says so. JSON: `{"field": "name" | null, "text": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncwoMessage {
    /// The field the message is about, when the body names one.
    #[serde(default)]
    pub field: Option<String>,
    /// The message text (capped, e-mail addresses masked).
    pub text: String,
}

/// Extracts incwo's messages from an error body, whatever its form.
pub fn extract_messages(body: &[u8]) -> Vec<IncwoMessage> {
    if body.len() > PARSE_LIMIT {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let lower_head: String = text.chars().take(512).collect::<String>().to_ascii_lowercase();
    if lower_head.starts_with('<') {
        if lower_head.contains("<!doctype html") || lower_head.contains("<html") {
            from_html(text, &mut out);
        } else {
            let limits = XmlLimits {
                max_bytes: PARSE_LIMIT,
                max_depth: 32,
            };
            match parse_document(text.as_bytes(), limits) {
                Ok(root) => from_xml_root(&root, &mut out),
                Err(_) => push(&mut out, None, &strip_tags(text)),
            }
        }
    } else if text.starts_with('{') || text.starts_with('[') {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) => from_json(&value, &mut out),
            Err(_) => push(&mut out, None, text),
        }
    } else {
        push(&mut out, None, text);
    }
    out
}

fn push(out: &mut Vec<IncwoMessage>, field: Option<&str>, text: &str) {
    if out.len() >= MAX_MESSAGES {
        return;
    }
    let text = collapse_whitespace(text);
    if text.is_empty() {
        return;
    }
    let field = field
        .map(collapse_whitespace)
        .filter(|f| !f.is_empty())
        .map(|f| truncate_chars(&f, 100));
    out.push(IncwoMessage {
        field,
        text: truncate_chars(&mask_emails(&text), MAX_MESSAGE_CHARS),
    });
}

fn from_xml_root(root: &Element, out: &mut Vec<IncwoMessage>) {
    match root.name.as_str() {
        "errors" => from_errors_element(root, out),
        "error" => from_error_element(root, out),
        _ => {
            // `<hash><error>…</error></hash>`, `<response><errors>…</errors></response>`, …
            for child in &root.children {
                match child.name.as_str() {
                    "errors" => from_errors_element(child, out),
                    "error" | "message" => from_error_element(child, out),
                    _ => {}
                }
            }
        }
    }
}

fn from_errors_element(errors: &Element, out: &mut Vec<IncwoMessage>) {
    if errors.children.is_empty() {
        push(out, None, &errors.text);
        return;
    }
    for child in &errors.children {
        from_error_element(child, out);
    }
}

fn from_error_element(error: &Element, out: &mut Vec<IncwoMessage>) {
    let field = ["field", "attribute", "name"]
        .iter()
        .find_map(|a| error.attribute(a))
        .or_else(|| error.child_text("field"))
        .or_else(|| error.child_text("attribute"));
    if !error.text.is_empty() {
        push(out, field, &error.text);
        return;
    }
    let text = ["message", "full_message", "text", "description"]
        .iter()
        .find_map(|n| error.child_text(n).filter(|t| !t.is_empty()));
    match text {
        Some(text) => push(out, field, text),
        None => {
            // `<error><error>…</error></error>` or similar nesting.
            for child in error.children.iter().filter(|c| c.name == "error") {
                from_error_element(child, out);
            }
        }
    }
}

fn from_json(value: &serde_json::Value, out: &mut Vec<IncwoMessage>) {
    use serde_json::Value;
    match value {
        Value::String(s) => push(out, None, s),
        Value::Array(items) => {
            for item in items {
                from_json(item, out);
            }
        }
        Value::Object(map) => {
            let mut found = false;
            for key in ["errors", "error", "message", "messages"] {
                if let Some(inner) = map.get(key) {
                    found = true;
                    match inner {
                        Value::Object(fields) => {
                            for (field, messages) in fields {
                                from_json_field(field, messages, out);
                            }
                        }
                        other => from_json(other, out),
                    }
                }
            }
            if !found {
                // Rails' `render json: record.errors`: {"name": ["can't be blank"]}
                for (field, messages) in map {
                    from_json_field(field, messages, out);
                }
            }
        }
        _ => {}
    }
}

fn from_json_field(field: &str, messages: &serde_json::Value, out: &mut Vec<IncwoMessage>) {
    match messages {
        serde_json::Value::String(s) => push(out, Some(field), s),
        serde_json::Value::Array(items) => {
            for item in items {
                if let serde_json::Value::String(s) = item {
                    push(out, Some(field), s);
                }
            }
        }
        _ => {}
    }
}

fn from_html(text: &str, out: &mut Vec<IncwoMessage>) {
    let title = inner_of(text, "title");
    let heading = inner_of(text, "h1");
    if let Some(title) = &title {
        push(out, None, &strip_tags(title));
    }
    if let Some(heading) = heading {
        let heading = strip_tags(&heading);
        if title.as_deref().map(|t| collapse_whitespace(&strip_tags(t))) != Some(collapse_whitespace(&heading)) {
            push(out, None, &heading);
        }
    }
}

/// The text between `<tag …>` and `</tag>`, case-insensitively.
fn inner_of(text: &str, tag: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let open = format!("<{tag}");
    let mut search = 0;
    while let Some(pos) = lower.get(search..)?.find(&open) {
        let start = search + pos;
        let after = lower.as_bytes().get(start + open.len()).copied();
        if matches!(after, Some(b'>') | Some(b' ') | Some(b'\t') | Some(b'\n') | Some(b'\r')) {
            let content_start = start + lower[start..].find('>')? + 1;
            let close = format!("</{tag}");
            let end = content_start + lower[content_start..].find(&close)?;
            return text.get(content_start..end).map(str::to_owned);
        }
        search = start + open.len();
    }
    None
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((i, _)) => format!("{}…", &text[..i]),
    }
}

/// Replaces e-mail addresses with `[email]`: personal data never travels in
/// an error message.
pub fn mask_emails(text: &str) -> String {
    if !text.contains('@') {
        return text.to_owned();
    }
    let is_local = |c: char| c.is_alphanumeric() || "._%+-'".contains(c);
    let is_domain = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            let mut start = out.len();
            while start > 0 && is_local(out[start - 1]) {
                start -= 1;
            }
            let mut end = i + 1;
            while end < chars.len() && is_domain(chars[end]) {
                end += 1;
            }
            while end > i + 1 && matches!(chars[end - 1], '.' | '-') {
                end -= 1;
            }
            let domain = &chars[i + 1..end];
            if start < out.len() && domain.contains(&'.') && domain[0] != '.' {
                out.truncate(start);
                out.extend("[email]".chars());
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out.into_iter().collect()
}

/// Replaces the credential after `Basic ` / `Bearer ` (any case) with
/// `[redacted]`, in case an error page echoes the request headers.
pub fn scrub_credentials(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let rest = &lower[i..];
        let prefix_len = if rest.starts_with("basic ") {
            6
        } else if rest.starts_with("bearer ") {
            7
        } else {
            0
        };
        if prefix_len > 0 {
            let token_start = i + prefix_len;
            let mut end = token_start;
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || b"+/=-._~".contains(&bytes[end])) {
                end += 1;
            }
            if end - token_start >= 8 {
                out.push_str(&text[i..token_start]);
                out.push_str("[redacted]");
                i = end;
                continue;
            }
        }
        // Copy one whole character.
        let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// The raw body for the operator: lossy UTF-8, credentials and e-mail
/// addresses scrubbed, capped at [`RAW_BODY_LIMIT`] bytes. `None` when empty.
pub fn raw_body_for_operator(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let window = &body[..body.len().min(RAW_BODY_LIMIT + 256)];
    let text = String::from_utf8_lossy(window);
    let text = mask_emails(&scrub_credentials(&text));
    if text.len() <= RAW_BODY_LIMIT && body.len() <= RAW_BODY_LIMIT + 256 {
        return Some(text);
    }
    let mut cut = RAW_BODY_LIMIT.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(format!("{}…[truncated]", &text[..cut]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Vec<(Option<String>, String)> {
        extract_messages(body.as_bytes())
            .into_iter()
            .map(|m| (m.field, m.text))
            .collect()
    }

    #[test]
    fn reads_rails_error_lists() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
            <errors><error>Name can't be blank</error><error field="email">is invalid</error></errors>"#;
        assert_eq!(
            texts(body),
            vec![
                (None, "Name can't be blank".to_owned()),
                (Some("email".to_owned()), "is invalid".to_owned())
            ]
        );
        let nested = "<errors><error><field>qty</field><message>must be positive</message></error></errors>";
        assert_eq!(
            texts(nested),
            vec![(Some("qty".to_owned()), "must be positive".to_owned())]
        );
        assert_eq!(
            texts("<hash><error>Access denied</error></hash>"),
            vec![(None, "Access denied".to_owned())]
        );
        assert_eq!(
            texts("<error>Record not found</error>"),
            vec![(None, "Record not found".to_owned())]
        );
    }

    #[test]
    fn reads_html_text_and_json() {
        let html = "<!DOCTYPE html><html><head><title>We're sorry, but something went wrong (500)</title></head><body><h1>We're sorry, but something went wrong.</h1></body></html>";
        assert_eq!(texts(html).len(), 2);
        assert_eq!(texts(html)[0].1, "We're sorry, but something went wrong (500)");
        assert_eq!(texts("  Bad request\n"), vec![(None, "Bad request".to_owned())]);
        assert_eq!(
            texts(r#"{"errors":{"name":["can't be blank"]}}"#),
            vec![(Some("name".to_owned()), "can't be blank".to_owned())]
        );
        assert_eq!(
            texts(r#"{"error":"rate limited"}"#),
            vec![(None, "rate limited".to_owned())]
        );
        assert_eq!(texts(""), vec![]);
        assert_eq!(texts("<errors><error>oops</errors>").len(), 1);
    }

    #[test]
    fn masks_emails_and_credentials() {
        assert_eq!(
            mask_emails("Email jean.dupont@example.fr is taken"),
            "Email [email] is taken"
        );
        assert_eq!(mask_emails("a @ b and x@y"), "a @ b and x@y");
        assert_eq!(
            scrub_credentials("HTTP_AUTHORIZATION: Basic dXNlcjpzM2NyZXQtcGFzcw== end"),
            "HTTP_AUTHORIZATION: Basic [redacted] end"
        );
        assert_eq!(scrub_credentials("a basic idea"), "a basic idea");
        let long = "é".repeat(5000);
        let raw = raw_body_for_operator(long.as_bytes()).unwrap();
        assert!(raw.ends_with("…[truncated]"));
        assert!(raw.len() <= RAW_BODY_LIMIT + 20);
    }
}
