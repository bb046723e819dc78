//! The accept loop. `axum::serve` hides the connections, so the simulator
//! drives hyper itself: each connection (plain TCP, or TLS over it) runs in
//! its own task next to a [`ConnCtl`] that a handler can trigger to end the
//! connection without (the rest of) a response: a reset (`SO_LINGER` 0), a
//! plain close, or, over TLS, a close_notify then close. In TLS mode a
//! handshake rule may refuse a new connection's handshake first.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::faults::{DropMode, HandshakeRefusal};
use crate::tls::TlsIdentity;

/// How a handler asks its connection to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abort {
    /// `SO_LINGER` 0, then close: the peer sees a reset (no close_notify).
    Reset,
    /// Close (FIN), without a TLS close_notify.
    Close,
    /// A TLS close_notify, then close (a plain close over plain HTTP).
    CloseNotify,
}

impl From<DropMode> for Abort {
    fn from(mode: DropMode) -> Abort {
        match mode {
            DropMode::Reset => Abort::Reset,
            DropMode::Close => Abort::Close,
        }
    }
}

/// Per-connection control handed to handlers through request extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnCtl {
    notify: Arc<Notify>,
    abort: Arc<Mutex<Option<Abort>>>,
}

impl ConnCtl {
    /// Asks the connection task to end the connection now.
    pub(crate) fn abort(&self, how: Abort) {
        *self.abort.lock().unwrap_or_else(|e| e.into_inner()) = Some(how);
        self.notify.notify_one();
    }

    fn requested(&self) -> Abort {
        self.abort
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(Abort::Close)
    }
}

/// What a TLS listener needs: the acceptor, and the handshake fault rules
/// (asked once per new connection).
#[derive(Clone)]
pub(crate) struct TlsServe {
    pub(crate) identity: TlsIdentity,
    pub(crate) decide: Arc<dyn Fn() -> Option<HandshakeRefusal> + Send + Sync>,
}

/// A handshake that does not complete in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A fatal `handshake_failure` alert record (TLS 1.2 record version, which
/// TLS 1.3 peers accept for alerts).
const HANDSHAKE_FAILURE_ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

async fn serve_connection<S>(stream: S, dup: Option<socket2::Socket>, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ctl = ConnCtl::default();
    let svc_ctl = ctl.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(svc_ctl.clone());
        router.clone().oneshot(req)
    });
    let mut conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = &mut conn => {}
        () = ctl.notify.notified() => match ctl.requested() {
            Abort::Reset => {
                if let Some(sock) = &dup {
                    let _ = sock.set_linger(Some(Duration::ZERO));
                }
                // Dropping the connection (and the pending handler) writes
                // nothing more; the last descriptor's close sends RST.
            }
            Abort::Close => {}
            Abort::CloseNotify => {
                // Take the stream back from hyper (the pending handler is
                // dropped) and shut it down: close_notify, then FIN.
                let mut io = conn.into_parts().io.into_inner();
                let _ = tokio::time::timeout(Duration::from_secs(2), io.shutdown()).await;
            }
        }
    }
}

/// Reads the ClientHello record (so the close that follows is orderly),
/// then refuses: a fatal alert and close, or a reset.
async fn refuse_handshake(mut tcp: TcpStream, dup: Option<socket2::Socket>, how: HandshakeRefusal) {
    let read_hello = async {
        let mut header = [0u8; 5];
        tcp.read_exact(&mut header).await?;
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let mut body = vec![0u8; len];
        tcp.read_exact(&mut body).await.map(|_| ())
    };
    let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_hello).await;
    match how {
        HandshakeRefusal::Alert => {
            let _ = tcp.write_all(&HANDSHAKE_FAILURE_ALERT).await;
            let _ = tcp.shutdown().await;
            // Wait for the client to close, so ours is not a reset.
            let mut sink = [0u8; 1024];
            let drain = async { while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        }
        HandshakeRefusal::Reset => {
            if let Some(sock) = &dup {
                let _ = sock.set_linger(Some(Duration::ZERO));
            }
        }
    }
    drop(tcp);
    drop(dup);
}

async fn handle(tcp: TcpStream, router: Router, tls: Option<(TlsServe, Option<HandshakeRefusal>)>) {
    let _ = tcp.set_nodelay(true);
    // A second descriptor on the same socket, kept to set SO_LINGER after
    // hyper has taken the stream. Declared first, so it is closed last.
    let dup = socket2::SockRef::from(&tcp).try_clone().ok();
    match tls {
        None => serve_connection(tcp, dup, router).await,
        Some((_, Some(refusal))) => refuse_handshake(tcp, dup, refusal).await,
        Some((tls, None)) => {
            if let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.identity.acceptor.accept(tcp)).await {
                serve_connection(stream, dup, router).await;
            }
        }
    }
}

/// Accepts connections until `shutdown` completes, then aborts them all.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsServe>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => r,
        };
        while conns.try_join_next().is_some() {}
        match accepted {
            Ok((stream, _)) => {
                // Decided here, in accept order, so `skip` counts connections.
                let tls = tls.as_ref().map(|t| (t.clone(), (t.decide)()));
                conns.spawn(handle(stream, router.clone(), tls));
            }
            Err(_) => {
                // e.g. too many open files: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    conns.shutdown().await;
}
