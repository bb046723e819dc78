//! A minimal XML writer for incwo request bodies: no declaration, no
//! whitespace, text escaped for `& < >`.

use quick_xml::escape::partial_escape;

/// Builds an XML document into a `String`. Elements are opened and closed
/// explicitly; text is always escaped.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// A writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
        }
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Writes `<name>text</name>` with the text escaped.
    pub fn element(&mut self, name: &str, text: &str) {
        self.open(name);
        self.out.push_str(&partial_escape(text));
        self.close(name);
    }

    /// Writes `<name>value</name>` for any displayable value (numbers, ids).
    pub fn element_display(&mut self, name: &str, value: impl std::fmt::Display) {
        use std::fmt::Write;
        self.open(name);
        let _ = write!(self.out, "{value}");
        self.close(name);
    }

    /// The document written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_writes_no_whitespace() {
        let mut w = XmlWriter::default();
        w.open("firm");
        w.element("name", "A & <B>");
        w.element_display("id", 12);
        w.close("firm");
        assert_eq!(w.finish(), "<firm><name>A &amp; &lt;B&gt;</name><id>12</id></firm>");
    }
}
