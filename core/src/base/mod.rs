//! The base layer: shared vocabulary below every other module but the
//! model, so that `contract`, `mapping`, `http` and `errors` can all use it
//! without reaching sideways or up (see docs/ARCHITECTURE.md, "Layers").
//!
//! - [`profile`]: the mapping profile (re-exported as `crate::mapping::Profile`…);
//! - [`iso`]: the ISO 3166 and ISO 4217 tables (re-exported as `crate::contract::iso`);
//! - [`classification`]: the status → class table of error classification
//!   (re-exported by `crate::errors`);
//! - [`codes`]: the table of every stable code (re-exported by `crate::codes`);
//! - [`MapperVersion`] (re-exported by `crate::mapping`) and
//!   [`WEBHOOK_PATH`], which several layers read.

pub mod classification;
pub mod codes;
pub mod iso;
pub mod profile;

/// The path a host serves incwo's webhooks on: the intake accepts it (and a
/// secret as the next segment), telemetry redacts that secret from logs.
pub const WEBHOOK_PATH: &str = "/incwo/webhook";

/// A mapper version. Version 1 is the only one so far; a change to what a
/// version emits adds a variant instead of editing an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MapperVersion {
    /// The first mapper: see `mapping::v1`.
    V1,
}

impl MapperVersion {
    /// The version named by a profile's `mapperVersion`.
    pub fn from_number(n: u32) -> Option<Self> {
        match n {
            1 => Some(MapperVersion::V1),
            _ => None,
        }
    }

    /// The version's number, as written in profiles and idempotency keys.
    pub fn number(self) -> u32 {
        match self {
            MapperVersion::V1 => 1,
        }
    }
}
