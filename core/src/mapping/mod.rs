//! Mapping between canonical records and incwo's XML, driven by a
//! [`Profile`]. Mappers are versioned: changing what a version emits means a
//! new version, and older versions stay selectable through the profile's
//! `mapperVersion`. Golden vectors pin each version's output.

pub mod fast;
pub mod totals;
pub mod v1;

pub use crate::base::MapperVersion;

pub use crate::base::profile::{unknown_values, UNKNOWN};
pub use crate::base::profile::{
    ContactItemTypes, CurrencyEntry, InvoiceMode, Limits, Profile, ProfileError, ProfileProblem, SheetTypes, Statuses,
    TaxEntry, VatRounding, DEFAULT_PROFILE_JSON, PROFILE_VERSION,
};

/// Why a record could not be mapped (a record that passed validation under
/// the same profile always maps; this guards direct callers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{message} ({code})")]
pub struct MapError {
    /// Stable code, e.g. `mapping.unknown_tax_code`.
    pub code: String,
    /// What is wrong.
    pub message: String,
}

impl MapError {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A mapped request body: the incwo resource it is for, the XML, and the
/// totals the mapper expects incwo to compute (for documents).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mapped {
    /// incwo resource (plural path segment), e.g. `proposal_sheets`.
    pub resource: &'static str,
    /// The XML body.
    pub xml: String,
    /// Expected totals, for documents with lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals: Option<totals::Totals>,
}

/// incwo ids the mapper needs that only the flow knows (resolved from the
/// ledger or from incwo). Absent ids are left out of the body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The customer's firm id.
    pub firm_id: Option<u64>,
    /// Product ids by SKU.
    pub product_ids: std::collections::BTreeMap<String, u64>,
}

/// Maps a validated record with the profile's mapper version.
pub fn map_record(record: &crate::model::Record, profile: &Profile, links: &Links) -> Result<Mapped, MapError> {
    match MapperVersion::from_number(profile.mapper_version) {
        Some(MapperVersion::V1) => v1::map_record(record, profile, links),
        None => Err(MapError::new(
            "mapping.unknown_version",
            format!("unknown mapper version {}; known versions: 1", profile.mapper_version),
        )),
    }
}
