//! A small, defensive XML tree reader and the escaping used by the writer.
//!
//! Request bodies are parsed into a plain element tree: element names, the
//! text of leaf elements and child elements. Attributes, comments, processing
//! instructions and the declaration are ignored; a DOCTYPE is refused (no
//! entity tricks), and so are deep trees and several root elements.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Deepest element nesting accepted in a request body.
const MAX_DEPTH: usize = 32;
/// Most elements accepted in one request body.
const MAX_ELEMENTS: usize = 20_000;

/// One parsed XML element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Element name, as written (prefix included if any).
    pub name: String,
    /// Concatenated text and CDATA directly inside the element.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses a whole document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the body is not valid UTF-8".to_string())?;
    if text.trim().is_empty() {
        return Err("the body is empty".into());
    }
    let mut reader = Reader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.expand_empty_elements = true;
        cfg.check_end_names = true;
        cfg.trim_text_start = false;
        cfg.trim_text_end = false;
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err("more than one root element".into());
                }
                count += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                if count > MAX_ELEMENTS {
                    return Err(format!("more than {MAX_ELEMENTS} elements"));
                }
                let name = std::str::from_utf8(start.name().as_ref())
                    .map_err(|_| "element name is not UTF-8".to_string())?
                    .to_string();
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("unexpected closing tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Empty(_) => {
                // expand_empty_elements turns these into Start + End.
                return Err("unexpected empty element event".into());
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| format!("malformed XML text: {e}"))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err("text outside the root element".into()),
                }
            }
            Event::CData(c) => {
                let raw = c.into_inner();
                let s = std::str::from_utf8(&raw).map_err(|_| "CDATA is not UTF-8".to_string())?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(s),
                    None => return Err("CDATA outside the root element".into()),
                }
            }
            Event::DocType(_) => return Err("DOCTYPE declarations are not accepted".into()),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("unexpected end of document (unclosed element)".into());
    }
    root.ok_or_else(|| "no root element".into())
}

/// Escapes text for an XML element body or attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The XML declaration every response starts with.
pub const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// Renders `<errors><error field="...">message</error>...</errors>`.
pub fn errors_document(errors: &[(String, String)]) -> String {
    let mut out = String::from(DECLARATION);
    out.push_str("<errors>\n");
    for (field, message) in errors {
        if field.is_empty() {
            out.push_str(&format!("  <error>{}</error>\n", escape(message)));
        } else {
            out.push_str(&format!(
                "  <error field=\"{}\">{}</error>\n",
                escape(field),
                escape(message)
            ));
        }
    }
    out.push_str("</errors>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested() {
        let e = parse(b"<?xml version=\"1.0\"?>\n<firm><name>A &amp; B</name><!-- c --><contact_items><contact_item><value><![CDATA[x<y]]></value></contact_item></contact_items><empty/></firm>").unwrap();
        assert_eq!(e.name, "firm");
        assert_eq!(e.child("name").unwrap().text, "A & B");
        let item = &e.child("contact_items").unwrap().children[0];
        assert_eq!(item.child("value").unwrap().text, "x<y");
        assert_eq!(e.child("empty").unwrap().text, "");
    }

    #[test]
    fn refuses_bad_documents() {
        for bad in [
            &b""[..],
            b"   ",
            b"<firm>",
            b"<firm></frim>",
            b"<a/><b/>",
            b"<!DOCTYPE x [<!ENTITY e \"e\">]><x>&e;</x>",
            b"<x>&nbsp;</x>",
            b"text",
            b"\xff\xfe",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(escape("a<&>\"'"), "a&lt;&amp;&gt;&quot;&apos;");
    }
}
