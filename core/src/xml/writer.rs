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

    /// Writes `<name>amount</name>` with exactly `digits` decimals, rounded
    /// half away from zero (as [`super::format::format_money`], without the
    /// intermediate `String`).
    pub fn element_money(&mut self, name: &str, value: rust_decimal::Decimal, digits: u32) {
        let mut rounded = super::format::round_money(value, digits);
        rounded.rescale(digits);
        self.element_display(name, rounded);
    }

    /// Writes `<name>quantity</name>` without trailing zeros (as
    /// [`super::format::format_quantity`]).
    pub fn element_quantity(&mut self, name: &str, value: rust_decimal::Decimal) {
        self.element_display(name, value.normalize());
    }

    /// Writes `<name>DD-MM-YYYY</name>` (as [`super::format::format_date`]).
    pub fn element_date(&mut self, name: &str, date: chrono::NaiveDate) {
        use chrono::Datelike;
        use std::fmt::Write;
        if !(0..=9999).contains(&date.year()) {
            return self.element(name, &super::format::format_date(date));
        }
        self.open(name);
        let _ = write!(self.out, "{:02}-{:02}-{:04}", date.day(), date.month(), date.year());
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

    #[test]
    fn typed_elements_write_what_the_format_functions_write() {
        use crate::xml::format::{format_date, format_money, format_quantity};
        use std::str::FromStr;
        for (text, digits) in [
            ("49.9", 2),
            ("0.125", 2),
            ("-0.125", 2),
            ("10.000", 2),
            ("7", 0),
            ("1.23456", 3),
        ] {
            let d = rust_decimal::Decimal::from_str(text).unwrap();
            let mut w = XmlWriter::default();
            w.element_money("m", d, digits);
            w.element_quantity("q", d);
            assert_eq!(
                w.finish(),
                format!("<m>{}</m><q>{}</q>", format_money(d, digits), format_quantity(d))
            );
        }
        for (y, m, d) in [(2026, 4, 11), (2000, 1, 1), (999, 12, 31), (10_000, 1, 2), (-5, 3, 4)] {
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let mut w = XmlWriter::default();
            w.element_date("d", date);
            assert_eq!(w.finish(), format!("<d>{}</d>", format_date(date)));
        }
    }
}
