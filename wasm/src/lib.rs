//! WebAssembly bindings (wasm-bindgen) of the incwo connector core.
//!
//! Two builds of one crate:
//! - **lean** (`--no-default-features`): `validate`, `map`, `mapBytes`,
//!   `mapMany`, `classify` and `version` ([`records`]), for a host that only
//!   checks and maps records and classifies incwo's answers;
//! - **full** (feature `full`, the default): all of the lean build, plus
//!   `parse`, `schema`, `checkProfile`, `call` and the `Flow` session
//!   ([`full`]), the same surface as the C ABI.
//!
//! Each export is a thin wrapper over the core's JSON façade
//! (`incwo_core::api`). Values cross the boundary as JSON text or its UTF-8
//! bytes (`serde_json` → text → `JSON.parse`, and `JSON.stringify` → text →
//! `serde_json`) so the core's exact numbers are never routed through an
//! intermediate representation. A result of the shape `{"error": {...}}` is
//! thrown as a JS `Error` carrying `class`, `code`, `message`, `hint`,
//! `violations`, `problems` and `details` as the core wrote them.
//!
//! Nothing here reads a clock or draws randomness: `now` and the seed are
//! arguments. Bindings marshal and nothing else; every rule lives in the core.

mod batch;
#[cfg(feature = "full")]
pub mod full;
mod marshal;
pub mod records;

#[cfg(feature = "full")]
pub use full::{call, check_profile, parse, schema, Flow};
pub use marshal::set_error_factory;
pub use records::{classify, map, map_bytes, map_many, validate, version};
