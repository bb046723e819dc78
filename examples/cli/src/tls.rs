//! TLS for the CLI's HTTP client (ureq 2 over rustls 0.23, the copy ureq
//! itself uses, through `ureq::rustls`): which CAs are trusted (the webpki
//! roots, plus `--ca-file`), and a TLS connector that records how far the
//! current request got on its connection (handshake started, finished,
//! first request byte written), so a failure's phase comes from what
//! happened, never from an error's wording.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use ureq::rustls::pki_types::pem::PemObject;
use ureq::rustls::pki_types::{CertificateDer, ServerName};
use ureq::rustls::{self, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use ureq::ReadWrite;

/// The rustls client configuration: the webpki roots (Mozilla's CA list,
/// as ureq's default), plus every certificate of `ca_file` (PEM) when
/// given, e.g. the simulator's `DIR/ca.pem` or a company proxy's CA.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        add_ca_file(&mut roots, path)?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), String> {
    let text = std::fs::read(path).map_err(|e| format!("--ca-file {}: cannot read: {e}", path.display()))?;
    let mut added = 0;
    for (n, cert) in CertificateDer::pem_slice_iter(&text).enumerate() {
        let cert = cert.map_err(|e| {
            format!(
                "--ca-file {}: certificate {}: not valid PEM: {e}",
                path.display(),
                n + 1
            )
        })?;
        roots.add(cert).map_err(|e| {
            format!(
                "--ca-file {}: certificate {} cannot be a trust anchor: {e}",
                path.display(),
                n + 1
            )
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(format!(
            "--ca-file {}: no certificate found (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(())
}

/// How far a request got on its TLS connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The TLS connector was not reached: resolving or TCP connecting, or
    /// a plain-http request (whose writes this connector cannot see).
    Idle,
    /// The TLS handshake started and has not finished.
    Handshaking,
    /// The handshake finished; no byte of the request was written yet.
    Established,
    /// The request's first byte was handed to TLS: it may have left.
    Written,
}

/// The stage of one request, shared by its connector and stream.
#[derive(Debug, Default)]
pub struct Progress(AtomicU8);

impl Progress {
    /// The stage reached.
    pub fn stage(&self) -> Stage {
        match self.0.load(Ordering::SeqCst) {
            0 => Stage::Idle,
            1 => Stage::Handshaking,
            2 => Stage::Established,
            _ => Stage::Written,
        }
    }

    fn set(&self, stage: Stage) {
        let n = match stage {
            Stage::Idle => 0,
            Stage::Handshaking => 1,
            Stage::Established => 2,
            Stage::Written => 3,
        };
        self.0.store(n, Ordering::SeqCst);
    }
}

/// A ureq TLS connector for one request: the rustls handshake as ureq's own
/// connector does it, recording the stages in `progress`.
pub struct Connector {
    config: Arc<ClientConfig>,
    progress: Arc<Progress>,
}

impl Connector {
    /// A connector trusting `config`'s roots, reporting to `progress`.
    pub fn new(config: Arc<ClientConfig>, progress: Arc<Progress>) -> Self {
        Connector { config, progress }
    }
}

impl ureq::TlsConnector for Connector {
    fn connect(&self, dns_name: &str, mut io: Box<dyn ReadWrite>) -> Result<Box<dyn ReadWrite>, ureq::Error> {
        self.progress.set(Stage::Handshaking);
        // rustls wants IPv6 addresses without brackets.
        let host = dns_name
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(dns_name);
        let name =
            ServerName::try_from(host.to_string()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut conn = ClientConnection::new(self.config.clone(), name).map_err(io::Error::other)?;
        conn.complete_io(&mut io)?;
        self.progress.set(Stage::Established);
        Ok(Box::new(TlsStream {
            inner: StreamOwned::new(conn, io),
            progress: self.progress.clone(),
        }))
    }
}

/// The TLS stream handed to ureq; its first write marks the request sent.
struct TlsStream {
    inner: StreamOwned<ClientConnection, Box<dyn ReadWrite>>,
    progress: Arc<Progress>,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream").finish_non_exhaustive()
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // rustls 0.23 reads a close_notify as Ok(0) and a TCP end without
        // it as UnexpectedEof: no special case needed.
        self.inner.read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Marked before the bytes go, so a failing write counts as sent.
        self.progress.set(Stage::Written);
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl ReadWrite for TlsStream {
    fn socket(&self) -> Option<&TcpStream> {
        // ureq sets the read/write timeouts through it.
        self.inner.get_ref().socket()
    }
}

/// The rustls error behind an I/O error (through ureq's wrappers), if any.
pub fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    let mut current: &(dyn std::error::Error + 'static) = e;
    loop {
        if let Some(found) = current.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        current = match current.downcast_ref::<io::Error>() {
            // `io::Error::source` skips the wrapped error itself.
            Some(io) => io.get_ref()?,
            None => current.source()?,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("incwo-cli-tls-{name}-{}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn ca_file_errors_name_the_file() {
        let missing = Path::new("/nonexistent/ca.pem");
        let e = client_config(Some(missing)).err().unwrap();
        assert!(e.starts_with("--ca-file /nonexistent/ca.pem: cannot read"), "{e}");
        let empty = temp("empty", "not a certificate\n");
        let e = client_config(Some(&empty)).err().unwrap();
        assert!(e.contains("no certificate found"), "{e}");
        let junk = temp("junk", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let e = client_config(Some(&junk)).err().unwrap();
        assert!(e.contains("certificate 1 cannot be a trust anchor"), "{e}");
        assert!(client_config(None).is_ok());
    }

    #[test]
    fn finds_the_rustls_error_through_wrappers() {
        let tls = rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
        let direct = io::Error::new(io::ErrorKind::InvalidData, tls.clone());
        assert_eq!(rustls_error(&direct), Some(&tls));
        // ureq wraps a line-reading error as io::Error(ureq::Error(io::Error)).
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            ureq::Error::from(io::Error::new(io::ErrorKind::InvalidData, tls.clone())),
        );
        assert_eq!(rustls_error(&wrapped), Some(&tls));
        assert_eq!(rustls_error(&io::Error::from(io::ErrorKind::ConnectionReset)), None);
        let text = io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify",
        );
        assert_eq!(rustls_error(&text), None, "a message is not a signal");
    }

    #[test]
    fn progress_stages() {
        let p = Progress::default();
        assert_eq!(p.stage(), Stage::Idle);
        for s in [Stage::Handshaking, Stage::Established, Stage::Written] {
            p.set(s);
            assert_eq!(p.stage(), s);
        }
    }
}
