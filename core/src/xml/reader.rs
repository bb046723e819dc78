//! A hardened XML reader: bytes → [`Element`] tree.
//!
//! Responses from incwo are small documents whose element order is not
//! guaranteed (the `<pagination>` child may come before or after the items),
//! so a tree is easier to map than a pull parser and costs little here.
//! A DOCTYPE is refused outright: nothing declared in it is ever expanded.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Caps applied while reading untrusted XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Largest document accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting accepted.
    pub max_depth: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// Why a document could not be read. Messages never quote the document's
/// content beyond an element name, so no personal data leaks through them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The document is larger than [`XmlLimits::max_bytes`].
    #[error("XML document of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The document's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Elements nest deeper than [`XmlLimits::max_depth`].
    #[error("XML nesting deeper than {limit} levels")]
    TooDeep {
        /// The deepest nesting allowed.
        limit: usize,
    },
    /// The document declares a DOCTYPE (and possibly entities); refused, never expanded.
    #[error("XML with a DOCTYPE or entity declaration is refused")]
    Doctype,
    /// The bytes are not UTF-8.
    #[error("XML is not valid UTF-8")]
    NotUtf8,
    /// The document has no root element.
    #[error("XML document has no root element")]
    Empty,
    /// The document is not well-formed.
    #[error("malformed XML at byte {position}: {reason}")]
    Malformed {
        /// Byte offset of the error.
        position: u64,
        /// What the parser found wrong.
        reason: String,
    },
}

/// One element: its name, attributes, text content (concatenated, trimmed)
/// and child elements in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name as written (incwo uses no namespaces).
    pub name: String,
    /// Attributes in document order, values unescaped.
    pub attributes: Vec<(String, String)>,
    /// Text content directly inside this element, unescaped and trimmed.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// First child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children with this name, in document order.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Text of the first child with this name, `None` when the child is absent.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Value of an attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn malformed(reader: &Reader<&[u8]>, reason: impl ToString) -> XmlError {
    XmlError::Malformed {
        position: reader.buffer_position(),
        reason: reason.to_string(),
    }
}

/// Parses a whole XML document into its root [`Element`].
///
/// Refuses documents over the size or depth limits, with a DOCTYPE, with
/// undeclared entity references, that are not UTF-8 or not well-formed.
pub fn parse_document(bytes: &[u8], limits: XmlLimits) -> Result<Element, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(XmlError::NotUtf8);
    }
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(|e| malformed(&reader, e))?;
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(ref start) | Event::Empty(ref start) => {
                let is_empty = matches!(event, Event::Empty(_));
                if root.is_some() {
                    return Err(malformed(&reader, "content after the root element"));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                let mut attributes = Vec::new();
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(|e| malformed(&reader, e))?;
                    let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
                    let value = attribute
                        .unescape_value()
                        .map_err(|e| malformed(&reader, e))?
                        .into_owned();
                    attributes.push((key, value));
                }
                let element = Element {
                    name,
                    attributes,
                    ..Element::default()
                };
                if is_empty {
                    attach(&mut stack, &mut root, element);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| malformed(&reader, "unexpected closing tag"))?;
                attach(&mut stack, &mut root, element);
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(|e| malformed(&reader, e))?;
                push_text(&mut stack, &reader, &text)?;
            }
            Event::CData(data) => {
                let data = std::str::from_utf8(&data).map_err(|_| XmlError::NotUtf8)?;
                push_text(&mut stack, &reader, data)?;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(&reader, "unclosed element at end of document"));
    }
    root.ok_or(XmlError::Empty)
}

fn push_text(stack: &mut [Element], reader: &Reader<&[u8]>, text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(current) => {
            current.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(malformed(reader, "text outside the root element")),
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Element, XmlError> {
        parse_document(s.as_bytes(), XmlLimits::default())
    }

    #[test]
    fn reads_a_tree_with_attributes_and_escaped_text() {
        let root = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <firms type="array"><firm><id>1</id><name>A &amp; B</name></firm><pagination/></firms>"#,
        )
        .unwrap();
        assert_eq!(root.name, "firms");
        assert_eq!(root.attribute("type"), Some("array"));
        assert_eq!(root.child("firm").unwrap().child_text("name"), Some("A & B"));
        assert!(root.child("pagination").unwrap().children.is_empty());
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>"#;
        assert_eq!(parse(laughs), Err(XmlError::Doctype));
        assert!(matches!(parse("<a>&lol;</a>"), Err(XmlError::Malformed { .. })));
    }

    #[test]
    fn refuses_oversize_deep_and_broken_documents() {
        let limits = XmlLimits {
            max_bytes: 10,
            max_depth: 2,
        };
        assert!(matches!(
            parse_document(b"<a>0123456789</a>", limits),
            Err(XmlError::TooLarge { .. })
        ));
        assert_eq!(
            parse_document(
                b"<a><b><c/></b></a>",
                XmlLimits {
                    max_bytes: 100,
                    ..limits
                }
            ),
            Err(XmlError::TooDeep { limit: 2 })
        );
        assert!(matches!(parse("<a><b></a>"), Err(XmlError::Malformed { .. })));
        assert!(matches!(parse("<a></a><b/>"), Err(XmlError::Malformed { .. })));
        assert_eq!(parse(""), Err(XmlError::Empty));
        assert_eq!(
            parse_document(&[0x3c, 0xff, 0x3e], XmlLimits::default()),
            Err(XmlError::NotUtf8)
        );
    }
}
