//! # incwo-core
//!
//! The sans-IO core of the incwo connector. It validates canonical records
//! (the JSON contract hosts hand in), maps them to incwo's XML through
//! versioned mappers driven by a mapping profile, and reads incwo's XML back
//! into typed views. It never opens a socket, reads a clock, draws randomness
//! or touches a disk: hosts do the IO and pass time and seeds in.
//!
//! Modules, one concern each, lowest layer first (a module never imports
//! from a layer above it; `core/tests/layers.rs` enforces it, and
//! docs/ARCHITECTURE.md holds the module map):
//! 1. [`model`], [`base`], [`usage`]: the canonical records, the shared
//!    vocabulary (profile, ISO tables, status classes), usage errors;
//! 2. [`xml`]; 3. [`contract`]; 4. [`mapping`], [`views`];
//! 5. [`http`]; 6. [`errors`], [`retry`], [`telemetry`];
//! 7. [`adapters`], [`discover`]; 8. [`flow`];
//! 9. [`inbound`], [`partition`]; 10. [`api`] (the JSON façade), [`codes`].
//!
//! # Example
//!
//! Validate and map a record, then take the first step of a flow (the host
//! would send the request and answer with the response or the transport
//! failure, with its phase):
//!
//! ```
//! use incwo_core::errors::{TransportFailure, TransportKind, TransportPhase};
//! use incwo_core::flow::{batch, Action, Flow, FlowOptions};
//! use incwo_core::http::{Auth, ConnectionConfig};
//! use incwo_core::mapping::Profile;
//!
//! let order = r#"{"orderNumber": "CMD-1", "customerExternalId": "CLI-1", "currency": "EUR",
//!   "orderDate": "2026-04-14",
//!   "lines": [{"sku": "KIT-1", "qty": 2, "unitPriceExclTax": 10, "taxCode": "TVA20"}]}"#;
//! assert_eq!(incwo_core::api::validate("order", order, None)["valid"], true);
//! let mapped = incwo_core::api::map("order", order, None);
//! assert_eq!(mapped["totals"]["inclTax"], "24.00");
//!
//! let profile = Profile::default();
//! let items = batch::parse_jsonl(&format!("{{\"kind\": \"order\", \"record\": {}}}\n", order.replace('\n', "")), &profile);
//! let config = ConnectionConfig::new("https://www.incwo.com", "123456", Auth::basic("api@example.fr", "secret"), false)
//!     .expect("a valid connection");
//! let now = 1_776_000_000_000;
//! let mut flow = Flow::start(items, profile, config, FlowOptions::default(), now, 42);
//! let Action::Send { request_id, request } = flow.poll(now).expect("an action") else { panic!() };
//! assert!(request.url().starts_with("https://www.incwo.com/123456/"));
//! // The connection was refused: nothing left, the flow retries later.
//! let failure = TransportFailure { kind: TransportKind::ConnectRefused, phase: TransportPhase::Connect };
//! flow.on_transport_error(request_id, failure, now).expect("accepted");
//! assert!(matches!(flow.poll(now), Ok(Action::Wait { .. })));
//! ```

#![deny(missing_docs)]

pub mod views;
pub mod xml;

pub mod errors;
pub mod http;
pub mod retry;
pub mod telemetry;

pub mod adapters;
pub mod api;
pub mod base;
pub mod codes;
pub mod contract;
pub mod discover;
pub mod flow;
pub mod inbound;
pub mod mapping;
pub mod model;
pub mod partition;
pub mod usage;
