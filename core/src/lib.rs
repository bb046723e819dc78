//! # incwo-core
//!
//! The sans-IO core of the incwo connector. It validates canonical records
//! (the JSON contract hosts hand in), maps them to incwo's XML through
//! versioned mappers driven by a mapping profile, and reads incwo's XML back
//! into typed views. It never opens a socket, reads a clock, draws randomness
//! or touches a disk: hosts do the IO and pass time and seeds in.
//!
//! Modules, one concern each:
//! - [`model`]: the canonical records (contract version 1).
//! - [`contract`]: validation into actionable violations, and JSON Schema export.
//! - [`mapping`]: the mapping profile, totals, and the versioned mappers.
//! - [`views`]: typed views of incwo's XML resources and list pages.
//! - [`xml`]: the hardened XML reader/writer and incwo's value formats.
//! - [`discover`]: proposes a mapping profile from an account's data.
//! - [`codes`]: every stable code, for operators (docs/RUNBOOK.md).
//! - [`inbound`]: changes made in incwo (webhooks, polling) brought back as events.

pub mod views;
pub mod xml;

pub mod errors;
pub mod http;
pub mod retry;
pub mod telemetry;

pub mod adapters;
pub mod api;
pub mod codes;
pub mod contract;
pub mod discover;
pub mod flow;
pub mod inbound;
pub mod mapping;
pub mod model;
pub mod partition;
pub mod usage;
