//! Webhooks, as incwo's "Webhooks" app sends them: after every create,
//! update and delete (API or admin "UI" change), a JSON `POST` carrying
//! `zname` (the resource) and `zid` (the id) to a configured URL, retried
//! when the receiver fails. Configured over the admin API
//! (`PUT /_sim/webhooks`); off by default.
//!
//! Deliveries run in their own tasks, outside the simulator's lock, over a
//! minimal HTTP/1.1 client (loopback `http://` URLs only: the simulator never
//! reaches out of the machine).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value as Json};
use tokio::net::TcpStream;

/// Attempts per delivery unless configured.
const DEFAULT_ATTEMPTS: u32 = 5;
/// First retry delay unless configured (doubles each time).
const DEFAULT_RETRY_MS: u64 = 100;
/// Per-attempt timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where deliveries go.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or("the webhook url must be http://127.0.0.1:PORT/path (loopback only)")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or("the webhook url needs an explicit port")?;
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err("the webhook url must be on loopback (127.0.0.1, localhost, [::1])".into());
        }
        if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err("the webhook url path has spaces or control characters".into());
        }
        let port = port
            .parse::<u16>()
            .map_err(|_| "the webhook url port is not a number")?;
        Ok(Target {
            host: host.trim_matches(|c| c == '[' || c == ']').to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// The URL without its path (which may carry a secret).
    fn redacted(&self) -> String {
        format!("http://{}:{}/…", self.host, self.port)
    }
}

/// One delivery and how it went.
#[derive(Debug, Clone)]
struct Delivery {
    zname: &'static str,
    zid: u64,
    action: &'static str,
    attempts: u32,
    state: &'static str,
    last_status: Option<u16>,
}

#[derive(Debug, Default)]
struct Log {
    deliveries: Vec<Delivery>,
}

/// The webhook settings, the deliveries waiting to be started, and the log.
#[derive(Debug, Default)]
pub(crate) struct Webhooks {
    target: Option<Target>,
    attempts: u32,
    retry_ms: u64,
    outbox: Vec<usize>,
    log: Arc<Mutex<Log>>,
}

fn lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

impl Webhooks {
    /// Turns webhooks off and forgets every delivery.
    pub(crate) fn reset(&mut self) {
        *self = Webhooks::default();
    }

    /// `{"url": "...", "maxAttempts"?: 5, "retryMs"?: 100}`; `{"url": null}` turns them off.
    pub(crate) fn configure(&mut self, v: &Json) -> Result<Json, String> {
        let target = match v.get("url") {
            None | Some(Json::Null) => None,
            Some(Json::String(url)) => Some(Target::parse(url)?),
            Some(_) => return Err("`url` must be a string or null".into()),
        };
        let num = |k: &str, default: u64| -> Result<u64, String> {
            match v.get(k) {
                None | Some(Json::Null) => Ok(default),
                Some(n) => n.as_u64().ok_or(format!("`{k}` must be a non-negative integer")),
            }
        };
        self.attempts = num("maxAttempts", u64::from(DEFAULT_ATTEMPTS))?.clamp(1, 20) as u32;
        self.retry_ms = num("retryMs", DEFAULT_RETRY_MS)?.min(60_000);
        self.target = target;
        Ok(self.to_json())
    }

    /// Queues a delivery for a committed change (no-op when off).
    pub(crate) fn record(&mut self, zname: &'static str, zid: u64, action: &'static str) {
        if self.target.is_none() {
            return;
        }
        let mut log = lock(&self.log);
        log.deliveries.push(Delivery {
            zname,
            zid,
            action,
            attempts: 0,
            state: "pending",
            last_status: None,
        });
        self.outbox.push(log.deliveries.len() - 1);
    }

    /// Starts the queued deliveries, each in its own task (call outside the lock
    /// is not needed: starting only spawns). Needs a Tokio runtime.
    pub(crate) fn flush(&mut self, business_file_id: u64) {
        let Some(target) = self.target.clone() else {
            self.outbox.clear();
            return;
        };
        for index in std::mem::take(&mut self.outbox) {
            let log = self.log.clone();
            let target = target.clone();
            let (attempts, retry_ms) = (self.attempts.max(1), self.retry_ms);
            let Some(body) = lock(&log).deliveries.get(index).map(|d| {
                json!({"zname": d.zname, "zid": d.zid, "action": d.action, "business_file_id": business_file_id})
                    .to_string()
            }) else {
                continue;
            };
            if tokio::runtime::Handle::try_current().is_err() {
                continue;
            }
            tokio::spawn(async move {
                for attempt in 1..=attempts {
                    let status = post(&target, &body).await;
                    {
                        let mut l = lock(&log);
                        if let Some(d) = l.deliveries.get_mut(index) {
                            d.attempts = attempt;
                            d.last_status = status;
                            let ok = status.is_some_and(|s| (200..300).contains(&s));
                            d.state = match (ok, attempt == attempts) {
                                (true, _) => "delivered",
                                (false, true) => "failed",
                                (false, false) => "pending",
                            };
                            if d.state != "pending" {
                                return;
                            }
                        }
                    }
                    let delay = retry_ms.saturating_mul(1u64 << (attempt - 1).min(10));
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
            });
        }
    }

    /// `{"url", "maxAttempts", "retryMs", "pending", "deliveries": [...]}` (the
    /// URL's path is not shown: it may carry the receiver's secret).
    pub(crate) fn to_json(&self) -> Json {
        let log = lock(&self.log);
        let deliveries: Vec<Json> = log
            .deliveries
            .iter()
            .map(|d| {
                json!({"zname": d.zname, "zid": d.zid, "action": d.action, "attempts": d.attempts,
                       "state": d.state, "lastStatus": d.last_status})
            })
            .collect();
        json!({
            "url": self.target.as_ref().map(Target::redacted),
            "maxAttempts": if self.attempts == 0 { DEFAULT_ATTEMPTS } else { self.attempts },
            "retryMs": self.retry_ms,
            "pending": log.deliveries.iter().filter(|d| d.state == "pending").count(),
            "deliveries": deliveries,
        })
    }
}

/// One POST; the status, or `None` when the receiver could not be reached
/// or did not answer in time.
async fn post(target: &Target, body: &str) -> Option<u16> {
    let attempt = async {
        let stream = TcpStream::connect((target.host.as_str(), target.port)).await.ok()?;
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: incwo-sim-webhooks\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            target.path,
            target.host,
            target.port,
            body.len()
        );
        // Readiness + try_* keep the dependency's feature set as it is (no io-util).
        let mut sent = 0;
        let bytes = request.as_bytes();
        while sent < bytes.len() {
            stream.writable().await.ok()?;
            match stream.try_write(&bytes[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
        }
        let mut head = Vec::new();
        let mut buf = [0u8; 512];
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
            stream.readable().await.ok()?;
            match stream.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return None,
            }
        }
        let line = String::from_utf8_lossy(&head);
        line.split_whitespace().nth(1)?.parse::<u16>().ok()
    };
    tokio::time::timeout(ATTEMPT_TIMEOUT, attempt).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_loopback_http_with_a_port() {
        let t = Target::parse("http://127.0.0.1:8080/hooks/s3cret?x=1").unwrap();
        assert_eq!((t.port, t.path.as_str()), (8080, "/hooks/s3cret?x=1"));
        assert!(!t.redacted().contains("s3cret"));
        assert!(Target::parse("https://127.0.0.1:1/").is_err());
        assert!(Target::parse("http://example.com:80/").is_err());
        assert!(Target::parse("http://127.0.0.1/").is_err());
        assert!(Target::parse("http://127.0.0.1:1/a b").is_err());
    }

    #[test]
    fn nothing_is_queued_when_off() {
        let mut w = Webhooks::default();
        w.record("bill_sheets", 1, "create");
        assert_eq!(w.to_json()["deliveries"], json!([]));
        w.configure(&json!({"url": "http://127.0.0.1:9/x"})).unwrap();
        w.record("bill_sheets", 1, "create");
        assert_eq!(w.to_json()["pending"], 1);
        assert!(w.configure(&json!({"url": 3})).is_err());
    }
}
