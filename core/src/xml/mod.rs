//! The small XML layer the mappers and adapters share: a hardened reader that
//! builds an element tree, a writer that escapes text, and incwo's value formats.
//!
//! incwo speaks XML over HTTP. Everything that turns bytes into elements or
//! elements into bytes goes through here, so the safety rules (no DOCTYPE, no
//! entity expansion, size and depth caps) hold for every resource at once.

pub mod format;
mod reader;
mod writer;

pub use reader::{parse_document, Element, XmlError, XmlLimits};
pub use writer::XmlWriter;
