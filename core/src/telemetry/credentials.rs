//! Credentials in free text: the values of sensitive keys in every form a log
//! line carries them (`password=x`, `password: x`, `"password":"x"`,
//! `?a=1&token=x&b=2`), the token after `Basic`/`Bearer`, and the webhook
//! secret carried as the path segment after [`WEBHOOK_PATH`].

use super::redaction::is_sensitive_key;
use crate::base::WEBHOOK_PATH;

const HIDDEN: &str = "[redacted]";

/// Characters of a key (`password`, `api_key`, `X-Auth-Token`).
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Where an unquoted value stops (a query string's `&`, a quote, a space).
fn ends_value(c: char) -> bool {
    c.is_whitespace() || c == '&' || c == '"' || c == '\''
}

/// Punctuation that closes the text around a value rather than belonging to it.
fn is_trailing_punctuation(c: char) -> bool {
    ",;)]}".contains(c)
}

/// Replaces credentials with `[redacted]`, keeping the keys, quotes and
/// separators around them so the line stays readable.
pub(super) fn redact_credentials(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if let Some(end) = webhook_secret(&chars, i) {
            out.push_str(WEBHOOK_PATH);
            out.push('/');
            out.push_str(HIDDEN);
            i = end;
            continue;
        }
        let c = chars[i];
        let starts_word = is_key_char(c) && (i == 0 || !is_key_char(chars[i - 1]));
        if !starts_word {
            out.push(c);
            i += 1;
            continue;
        }
        let mut end = i;
        while end < chars.len() && is_key_char(chars[end]) {
            end += 1;
        }
        let word: String = chars[i..end].iter().collect();
        out.push_str(&word);
        i = end;
        if is_scheme(&word) {
            i = hide_scheme_token(&chars, i, &mut out);
        } else if is_sensitive_key(&word) {
            i = hide_pair_value(&chars, i, &mut out);
        }
    }
    out
}

fn is_scheme(word: &str) -> bool {
    word.eq_ignore_ascii_case("basic") || word.eq_ignore_ascii_case("bearer")
}

/// `/incwo/webhook/<secret>` at `i`: the index after the secret segment.
fn webhook_secret(chars: &[char], i: usize) -> Option<usize> {
    let prefix: Vec<char> = WEBHOOK_PATH.chars().collect();
    let after = i + prefix.len();
    if chars.get(i..after)? != prefix.as_slice() || chars.get(after) != Some(&'/') {
        return None;
    }
    let mut end = after + 1;
    while end < chars.len()
        && !matches!(chars[end], '/' | '?' | '#' | '"' | '\'' | '<' | '>')
        && !chars[end].is_whitespace()
    {
        end += 1;
    }
    (end > after + 1).then_some(end)
}

/// After `Basic`/`Bearer` and spaces: hides the next token.
fn hide_scheme_token(chars: &[char], mut i: usize, out: &mut String) -> usize {
    let spaces = i;
    while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
        i += 1;
    }
    if i == spaces || i >= chars.len() || ends_value(chars[i]) {
        out.extend(&chars[spaces..i]);
        return i;
    }
    out.extend(&chars[spaces..i]);
    hide_unquoted(chars, i, out)
}

/// After a sensitive key: an optional closing quote, `=` or `:`, spaces,
/// then the value (quoted or not) is hidden. Anything else is left as is.
fn hide_pair_value(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut i = start;
    if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
        i += 1;
    }
    if i >= chars.len() || !(chars[i] == '=' || chars[i] == ':') {
        return start;
    }
    i += 1;
    while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
        i += 1;
    }
    out.extend(&chars[start..i]);
    match chars.get(i) {
        None => i,
        Some(&q) if q == '"' || q == '\'' => hide_quoted(chars, i, q, out),
        Some(&c) if ends_value(c) => i,
        Some(_) => {
            // `Authorization: Basic xyz`: keep the scheme, hide its token.
            let mut word_end = i;
            while word_end < chars.len() && is_key_char(chars[word_end]) {
                word_end += 1;
            }
            let word: String = chars[i..word_end].iter().collect();
            if is_scheme(&word) && chars.get(word_end).is_some_and(|c| *c == ' ' || *c == '\t') {
                out.push_str(&word);
                hide_scheme_token(chars, word_end, out)
            } else {
                hide_unquoted(chars, i, out)
            }
        }
    }
}

/// A quoted value at `i` (opening quote `q`, backslash escapes honoured):
/// the quotes stay, the content goes.
fn hide_quoted(chars: &[char], i: usize, q: char, out: &mut String) -> usize {
    let mut end = i + 1;
    while end < chars.len() && chars[end] != q {
        end += if chars[end] == '\\' { 2 } else { 1 };
    }
    out.push(q);
    out.push_str(HIDDEN);
    if end < chars.len() {
        out.push(q);
        end + 1
    } else {
        chars.len()
    }
}

/// An unquoted value at `i`, up to a space, `&` or quote; punctuation that
/// closes the surrounding text (`,` `;` `)` `]` `}`) is given back.
fn hide_unquoted(chars: &[char], i: usize, out: &mut String) -> usize {
    let hidden: Vec<char> = HIDDEN.chars().collect();
    if chars[i..].starts_with(&hidden) {
        out.push_str(HIDDEN); // already redacted: redaction is idempotent
        return i + hidden.len();
    }
    let mut end = i;
    while end < chars.len() && !ends_value(chars[end]) {
        end += 1;
    }
    let mut value_end = end;
    while value_end > i && is_trailing_punctuation(chars[value_end - 1]) {
        value_end -= 1;
    }
    if value_end == i {
        out.extend(&chars[i..end]);
    } else {
        out.push_str(HIDDEN);
        out.extend(&chars[value_end..end]);
    }
    end
}

#[cfg(test)]
mod tests {
    use super::redact_credentials as r;

    #[test]
    fn every_form_of_a_credential_is_hidden() {
        assert_eq!(r("password: hunter2 next"), "password: [redacted] next");
        assert_eq!(r("password=hunter2 user=x"), "password=[redacted] user=x");
        assert_eq!(
            r(r#"{"password":"hun\"ter2","user":"x"}"#),
            r#"{"password":"[redacted]","user":"x"}"#
        );
        assert_eq!(r(r#"{'secret': 'abc', 'n': 1}"#), r#"{'secret': '[redacted]', 'n': 1}"#);
        assert_eq!(r("GET /x?a=1&token=abc&b=2"), "GET /x?a=1&token=[redacted]&b=2");
        assert_eq!(r("/x?token=abc"), "/x?token=[redacted]");
        assert_eq!(r("access_token=abc"), "access_token=[redacted]");
        assert_eq!(
            r("Authorization: Basic dXNlcjpwYXNz= end"),
            "Authorization: Basic [redacted] end"
        );
        assert_eq!(r("authorization=Bearer abc.def"), "authorization=Bearer [redacted]");
        assert_eq!(r("bearer abc.def"), "bearer [redacted]");
        assert_eq!(r("(password: x), y"), "(password: [redacted]), y");
        assert_eq!(
            r("POST http://h/incwo/webhook/s3cr3t?x=1 done"),
            "POST http://h/incwo/webhook/[redacted]?x=1 done"
        );
        assert_eq!(r(r#"uri":"/incwo/webhook/abc""#), r#"uri":"/incwo/webhook/[redacted]""#);
    }

    #[test]
    fn the_rest_is_kept() {
        for kept in [
            "/incwo/webhook",
            "/incwo/webhook/",
            "/incwo/webhook?zid=1",
            "password",
            "password:",
            "the token is fine",
            "basic",
            "a=1&b=2",
            "mypasswordfile.txt",
            "é password: ü",
        ] {
            let expected = if kept == "é password: ü" {
                "é password: [redacted]"
            } else {
                kept
            };
            assert_eq!(r(kept), expected);
        }
        let once = r("password=x /incwo/webhook/abc Basic y");
        assert_eq!(r(&once), once);
    }
}
