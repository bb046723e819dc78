//! Redaction of free text (log messages, error strings, label values):
//! credentials, e-mail addresses and phone numbers never leave the core.

use super::credentials::redact_credentials;

const SENSITIVE_KEYS: [&str; 14] = [
    "authorization",
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "cookie",
    "credential",
    "api_key",
    "apikey",
    "email",
    "mail",
    "phone",
    "login",
];

/// Whether a field name names sensitive data (password, token, e-mail, phone…).
pub fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SENSITIVE_KEYS.iter().any(|s| key.contains(s)) || key.contains("mobile")
}

/// Removes credentials, e-mail addresses and phone numbers from free text:
/// the token after `Basic`/`Bearer`, the values of sensitive keys
/// (`password=x`, `password: x`, `"password":"x"`, `?a=1&token=x`) and the
/// webhook secret segment (`/incwo/webhook/<secret>`) become `[redacted]`,
/// e-mails `[email]`, phone numbers `[phone]`.
/// Heuristic and deliberately eager: it may hide a harmless number, never
/// the other way round on the forms it knows (dates and decimals are kept).
pub fn redact(text: &str) -> String {
    redact_phones(&redact_emails(&redact_credentials(text)))
}

fn redact_emails(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let local = |c: char| c.is_alphanumeric() || "._%+-'".contains(c);
    let domain = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut emitted = 0; // chars[..emitted] are in `out`
    while i < chars.len() {
        if chars[i] == '@' {
            let mut start = i;
            while start > emitted && local(chars[start - 1]) {
                start -= 1;
            }
            let mut end = i + 1;
            while end < chars.len() && domain(chars[end]) {
                end += 1;
            }
            while end > i + 1 && chars[end - 1] == '.' {
                end -= 1;
            }
            let host: String = chars[i + 1..end].iter().collect();
            if start < i && host.contains('.') && !host.starts_with('.') {
                out.extend(&chars[emitted..start]);
                out.push_str("[email]");
                emitted = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.extend(&chars[emitted..]);
    out
}

fn redact_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts =
            c.is_ascii_digit() || ((c == '+' || c == '(') && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if starts && boundary {
            let mut end = i + 1;
            while end < chars.len() {
                let ch = chars[end];
                let next_digit = chars.get(end + 1).is_some_and(char::is_ascii_digit);
                if ch.is_ascii_digit() || ch == ')' || (" .-(".contains(ch) && next_digit) {
                    end += 1;
                } else {
                    break;
                }
            }
            let run: String = chars[i..end].iter().collect();
            let glued = chars.get(end).is_some_and(|c| c.is_alphanumeric());
            if !glued && is_phone(&run) {
                out.push_str("[phone]");
            } else {
                out.push_str(&run);
            }
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_phone(run: &str) -> bool {
    let digits = run.chars().filter(char::is_ascii_digit).count();
    if !(8..=15).contains(&digits) {
        return false;
    }
    let run = run.trim();
    let separators: Vec<char> = run.chars().filter(|c| !c.is_ascii_digit() && *c != '+').collect();
    if separators.is_empty() {
        // Bare digits: incwo ids are long too, so only `+…` or `0…` numbers count.
        return run.starts_with('+') || (run.starts_with('0') && digits >= 9);
    }
    if separators.iter().all(|&c| c == '.') && separators.len() == 1 {
        return false; // a decimal number
    }
    let groups: Vec<usize> = run.split('-').map(str::len).collect();
    let date_like =
        separators.iter().all(|&c| c == '-') && matches!(groups.as_slice(), [2, 2, 4] | [2, 2, 4, 2, 2] | [4, 2, 2]);
    !date_like
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_of_free_text() {
        assert_eq!(
            redact("sent to ann.smith@acme.com, cc job.less@acme.com."),
            "sent to [email], cc [email]."
        );
        assert_eq!(
            redact("tel 01 23 45 67 89 or +33 6 78 90 12 34"),
            "tel [phone] or [phone]"
        );
        assert_eq!(redact("mobile 0678901234"), "mobile [phone]");
        assert_eq!(
            redact("Authorization: Basic dXNlcjpwYXNz end"),
            "Authorization: Basic [redacted] end"
        );
        assert_eq!(redact("bearer abc.def"), "bearer [redacted]");
        assert_eq!(redact("password=hunter2 user=x"), "password=[redacted] user=x");
        // Kept: ids, dates, timestamps, amounts, references.
        let kept = "bill 11497502 on 22-12-2014 at 17-01-2012-15-14 for 49749.99999 ref D1234-56789";
        assert_eq!(redact(kept), kept);
        assert_eq!(redact(&redact("x@y.fr 0612345678")), "[email] [phone]");
    }
}
