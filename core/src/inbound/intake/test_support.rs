//! Fixtures shared by the intake modules' unit tests: a request holding only
//! a body, the code of a refusal, and settings that opted out of the secret
//! so the other checks can be tested alone.

use super::{intake, InboundError, Intake, IntakeSettings, WebhookRequest};

/// A request with only this body.
pub(super) fn req(body: &str) -> WebhookRequest<'_> {
    WebhookRequest {
        body: body.as_bytes(),
        ..Default::default()
    }
}

/// The code of a refusal (panics on an accepted webhook).
pub(super) fn code(r: Result<Intake, InboundError>) -> String {
    r.unwrap_err().code
}

/// Settings that opted in to no secret, to test the body checks alone.
pub(super) fn open() -> IntakeSettings {
    IntakeSettings {
        insecure_no_secret: true,
        ..Default::default()
    }
}

/// Runs the whole intake on a body alone under [`open`] settings.
pub(super) fn intake_body(body: &str) -> Result<Intake, InboundError> {
    intake(&req(body), &open())
}
