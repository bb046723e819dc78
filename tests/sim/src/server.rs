//! The accept loop. `axum::serve` hides the connections, so the simulator
//! drives hyper itself: each connection runs in its own task next to a
//! [`ConnCtl`] that a handler can trigger to close the socket without any
//! response (optionally with `SO_LINGER` 0, so the peer sees a reset).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::faults::DropMode;

/// Per-connection control handed to handlers through request extensions.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnCtl {
    notify: Arc<Notify>,
    reset: Arc<AtomicBool>,
}

impl ConnCtl {
    /// Asks the connection task to drop the connection now.
    pub(crate) fn abort(&self, mode: DropMode) {
        self.reset.store(mode == DropMode::Reset, Ordering::SeqCst);
        self.notify.notify_one();
    }
}

async fn serve_connection(stream: TcpStream, router: Router) {
    let _ = stream.set_nodelay(true);
    // A second descriptor on the same socket, kept to set SO_LINGER after
    // hyper has taken the stream. Declared first, so it is closed last.
    let dup = socket2::SockRef::from(&stream).try_clone().ok();
    let ctl = ConnCtl::default();
    let svc_ctl = ctl.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(svc_ctl.clone());
        router.clone().oneshot(req)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = ctl.notify.notified() => {
            if ctl.reset.load(Ordering::SeqCst) {
                if let Some(sock) = &dup {
                    let _ = sock.set_linger(Some(Duration::ZERO));
                }
            }
            // Leaving the scope drops the connection (and the pending
            // handler) without writing anything, then the duplicate
            // descriptor: the last close sends FIN, or RST with linger 0.
        }
    }
}

/// Accepts connections until `shutdown` completes, then aborts them all.
pub(crate) async fn run(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()> + Send) {
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
                conns.spawn(serve_connection(stream, router.clone()));
            }
            Err(_) => {
                // e.g. too many open files: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    conns.shutdown().await;
}
