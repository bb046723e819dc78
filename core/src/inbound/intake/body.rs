//! Reading the webhook body: a JSON object or a form carrying `zname` (the
//! object type), `zid` (its id) and optionally the business file, and the
//! mapping of a `zname` to the document resource it names. Every refusal is
//! a 400 `inbound.bad_body` saying what was expected.

use super::InboundError;

/// The resource a `zname` names, in any plausible spelling (`bill_sheets`,
/// `bill_sheet`, `BillSheet`); `None` when it is not a document.
pub fn tracked_resource(zname: &str) -> Option<&'static str> {
    let mut snake = String::new();
    for (i, c) in zname.trim().chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    match snake.trim_end_matches('s') {
        "proposal_sheet" => Some("proposal_sheets"),
        "bill_sheet" => Some("bill_sheets"),
        _ => None,
    }
}

pub(super) fn bad_body(message: &str) -> InboundError {
    InboundError::new(
        "inbound.bad_body",
        400,
        message,
        "an incwo webhook is a JSON object (or a form) carrying zname and zid, e.g. {\"zname\": \"bill_sheets\", \"zid\": 123}",
    )
}

#[derive(Default)]
pub(super) struct Fields {
    pub(super) zname: Option<String>,
    pub(super) zid: Option<String>,
    pub(super) business_file: Option<String>,
}

const BUSINESS_FILE_KEYS: [&str; 4] = ["business_file_id", "businessFileId", "bfid", "business_file"];

pub(super) fn read_fields(body: &[u8], content_type: Option<&str>) -> Result<Fields, InboundError> {
    let text = std::str::from_utf8(body).map_err(|_| bad_body("the body is not UTF-8"))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(bad_body("the body is empty"));
    }
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    let json = match media.as_deref() {
        Some(m) if m.ends_with("json") => true,
        Some("application/x-www-form-urlencoded") => false,
        _ => text.starts_with('{') || text.starts_with('['),
    };
    if json {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad_body(&format!("the body is not JSON ({e})")))?;
        let map = value
            .as_object()
            .ok_or_else(|| bad_body("the body is JSON but not an object"))?;
        let scalar = |key: &str| -> Result<Option<String>, InboundError> {
            match map.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.trim().to_string())),
                Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(bad_body(&format!("{key} must be a string or a number"))),
            }
        };
        let mut fields = Fields {
            zname: scalar("zname")?,
            zid: scalar("zid")?,
            business_file: None,
        };
        for key in BUSINESS_FILE_KEYS {
            if let Some(v) = scalar(key)? {
                fields.business_file = Some(v);
                break;
            }
        }
        Ok(fields)
    } else {
        let mut fields = Fields::default();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = form_decode(key).ok_or_else(|| bad_body("the form body is not valid percent-encoding"))?;
            let value = form_decode(value).ok_or_else(|| bad_body("the form body is not valid percent-encoding"))?;
            let value = value.trim().to_string();
            match key.as_str() {
                "zname" => fields.zname = Some(value),
                "zid" => fields.zid = Some(value),
                k if BUSINESS_FILE_KEYS.contains(&k) => fields.business_file = Some(value),
                _ => {}
            }
        }
        if fields.zname.is_none() && fields.zid.is_none() {
            return Err(bad_body(
                "the body is neither a JSON object nor a form carrying zname and zid",
            ));
        }
        Ok(fields)
    }
}

fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

pub(super) fn parse_id(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<u64>().ok().filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{code, intake_body, open, req};
    use super::super::{intake, Intake, Target, MAX_WEBHOOK_BODY};
    use super::*;

    #[test]
    fn json_and_form_bodies_name_the_object() {
        let s = open();
        let want = Intake::Fetch {
            target: Target {
                resource: "bill_sheets".into(),
                id: 500001,
            },
        };
        assert_eq!(
            intake(&req(r#"{"zname":"bill_sheets","zid":500001,"x":[1]}"#), &s).unwrap(),
            want
        );
        assert_eq!(
            intake(&req(r#"{"zname":"BillSheet","zid":"500001"}"#), &s).unwrap(),
            want
        );
        assert_eq!(intake(&req("zname=bill_sheet&zid=500001&other=1"), &s).unwrap(), want);
        assert!(matches!(
            intake(&req(r#"{"zname":"contacts","zid":3}"#), &s).unwrap(),
            Intake::Ignored { .. }
        ));
    }

    #[test]
    fn anything_else_is_refused_clearly() {
        let s = open();
        for body in [
            "",
            "[]",
            "{",
            r#"{"zname":"bill_sheets"}"#,
            r#"{"zid":1}"#,
            r#"{"zname":"bill_sheets","zid":0}"#,
            r#"{"zname":"bill_sheets","zid":-1}"#,
            r#"{"zname":"bill_sheets","zid":"1; DROP"}"#,
            r#"{"zname":"../x","zid":1}"#,
            r#"{"zname":{"a":1},"zid":1}"#,
            "hello",
            "zname=%ZZ&zid=1",
        ] {
            let e = intake(&req(body), &s).unwrap_err();
            assert_eq!((e.code.as_str(), e.http_status), ("inbound.bad_body", 400), "{body}");
        }
        let big = "x".repeat(MAX_WEBHOOK_BODY + 1);
        assert_eq!(code(intake(&req(&big), &s)), "inbound.too_large");
    }

    #[test]
    fn fields_are_read_from_json_and_forms_by_content_type() {
        let f = read_fields(br#"{"zname":" bill_sheets ","zid":7,"businessFileId":12}"#, None).unwrap();
        assert_eq!(
            (f.zname.as_deref(), f.zid.as_deref(), f.business_file.as_deref()),
            (Some("bill_sheets"), Some("7"), Some("12"))
        );
        // The first business-file key present wins; null is absent.
        let f = read_fields(
            br#"{"zname":"x","zid":1,"business_file_id":null,"bfid":"5","business_file":"6"}"#,
            None,
        )
        .unwrap();
        assert_eq!(f.business_file.as_deref(), Some("5"));
        // A BOM and surrounding space are tolerated; the content type decides.
        let f = read_fields(
            "\u{feff} zname=proposal+sheets&zid=%31%32 ".as_bytes(),
            Some("application/x-www-form-urlencoded; charset=utf-8"),
        )
        .unwrap();
        assert_eq!(
            (f.zname.as_deref(), f.zid.as_deref()),
            (Some("proposal sheets"), Some("12"))
        );
        let e = read_fields(b"zname=a&zid=1", Some("application/json"))
            .err()
            .expect("a refusal");
        assert_eq!(e.code, "inbound.bad_body");
        assert!(read_fields(&[0xff, 0xfe], None).is_err());
        assert!(read_fields(b"other=1", None).is_err());
    }

    #[test]
    fn ids_and_form_escapes_are_strict() {
        assert_eq!(parse_id(" 42 "), Some(42));
        assert_eq!(parse_id("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "0",
            "-1",
            "1.5",
            "18446744073709551616",
            "123456789012345678901",
            "1e3",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
        assert_eq!(form_decode("a+b%2Fc%C3%A9").as_deref(), Some("a b/cé"));
        assert_eq!(form_decode("%"), None);
        assert_eq!(form_decode("%4"), None);
        assert_eq!(form_decode("%ZZ"), None);
        assert_eq!(form_decode("%FF"), None);
        assert_eq!(tracked_resource(" proposal_sheets "), Some("proposal_sheets"));
        assert_eq!(tracked_resource("ProposalSheet"), Some("proposal_sheets"));
        assert_eq!(tracked_resource("bill_sheetss"), Some("bill_sheets"));
        assert_eq!(tracked_resource("firms"), None);
        assert_eq!(tracked_resource(""), None);
        assert_eq!(
            code(intake_body(r#"{"zname":"bill_sheets","zid":1.5}"#)),
            "inbound.bad_body"
        );
    }
}
