//! HTTPS for the simulator: at startup, a throw-away test CA and a server
//! certificate for `127.0.0.1` and `localhost` (rcgen, ring), the CA
//! certificate written to `DIR/ca.pem` for clients to trust, and a rustls
//! server configuration (ring provider, TLS 1.2 and 1.3, ALPN `http/1.1`).
//! Nothing is reused between runs: every start makes a new CA and key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// Name of the CA file written in the TLS directory.
pub const CA_FILE_NAME: &str = "ca.pem";

/// The server side of TLS: the acceptor and where the CA was written.
#[derive(Clone)]
pub(crate) struct TlsIdentity {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) ca_file: PathBuf,
}

fn err(what: &str) -> impl Fn(rcgen::Error) -> String + '_ {
    move |e| format!("cannot generate the {what}: {e}")
}

/// Generates the CA and the server certificate, writes `dir/ca.pem`
/// (creating `dir`; atomically, so a client never reads half a file) and
/// builds the acceptor.
pub(crate) fn generate(dir: &Path) -> Result<TlsIdentity, String> {
    let ca_key = KeyPair::generate().map_err(err("CA key"))?;
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "incwo-sim test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err("CA certificate"))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(err("server key"))?;
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(err("server certificate"))?;
    params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = params
        .signed_by(&server_key, &issuer)
        .map_err(err("server certificate"))?;

    std::fs::create_dir_all(dir).map_err(|e| format!("--tls-dir: cannot create {}: {e}", dir.display()))?;
    let ca_file = dir.join(CA_FILE_NAME);
    let tmp = dir.join(format!("{CA_FILE_NAME}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, ca_cert.pem()).map_err(|e| format!("--tls-dir: cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &ca_file).map_err(|e| format!("--tls-dir: cannot write {}: {e}", ca_file.display()))?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone()], key)
        .map_err(|e| format!("TLS configuration: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsIdentity {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_ca_and_builds_an_acceptor() {
        let dir = std::env::temp_dir().join(format!("incwo-sim-tls-unit-{}", std::process::id()));
        let id = generate(&dir).unwrap();
        let pem = std::fs::read_to_string(&id.ca_file).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert_eq!(id.ca_file, dir.join("ca.pem"));
        // A second start makes a new CA.
        let again = generate(&dir).unwrap();
        assert_ne!(std::fs::read_to_string(&again.ca_file).unwrap(), pem);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_dir_is_a_clear_error() {
        let e = generate(Path::new("/proc/incwo-sim-no/such")).err().unwrap();
        assert!(e.starts_with("--tls-dir: cannot create /proc/incwo-sim-no/such"), "{e}");
    }
}
