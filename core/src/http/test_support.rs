//! Fixtures shared by the http modules' unit tests: a correlation id (upper
//! case, to check it is normalised), a Basic password and its token, and a
//! valid config for `https://www.incwo.com`, business file 123456.

use super::{Auth, ConnectionConfig};

/// A correlation id in upper case (the builder lower-cases it).
pub(super) const CID: &str = "0F8FAD5B-D9CB-469F-A165-70867728950E";
/// The Basic password of [`config`].
pub(super) const PASSWORD: &str = "s3cret-pass";
/// base64("api@example.fr:s3cret-pass"), the Basic token of [`config`].
pub(super) const TOKEN: &str = "YXBpQGV4YW1wbGUuZnI6czNjcmV0LXBhc3M=";

/// A valid config: `https://www.incwo.com`, business file 123456, Basic auth.
pub(super) fn config() -> ConnectionConfig {
    ConnectionConfig::new(
        "https://www.incwo.com",
        "123456",
        Auth::basic("api@example.fr", PASSWORD),
        false,
    )
    .unwrap()
}
