//! Webhooks: a JSON POST with `zname` / `zid` after every create, update and
//! delete (API or admin "UI" change), retried while the receiver fails.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A receiver answering `fail_first` times 503, then 202; keeps the bodies.
fn receiver(fail_first: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        let mut calls = 0;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            calls += 1;
            let text = String::from_utf8_lossy(&buf).to_string();
            let status = if calls <= fail_first {
                "503 Unavailable"
            } else {
                "202 Accepted"
            };
            if calls > fail_first {
                if let Some((_, body)) = text.split_once("\r\n\r\n") {
                    seen.lock().unwrap().push(body.to_string());
                }
            }
            let _ = stream
                .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
        }
    });
    (port, bodies)
}

fn admin(sim: &Sim, method: &str, path: &str, body: &str) -> Resp {
    Req::new(method, path)
        .no_auth()
        .body(body)
        .send(sim.port())
        .expect("admin")
}

fn wait_delivered(sim: &Sim, n: usize) -> Json {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = admin(sim, "GET", "/_sim/webhooks", "").json();
        let done = v["deliveries"]
            .as_array()
            .map_or(0, |d| d.iter().filter(|d| d["state"] != "pending").count());
        if done >= n || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn changes_are_notified_and_retried_until_the_receiver_answers() {
    let sim = Sim::start();
    let (port, bodies) = receiver(2);
    let url = format!("{{\"url\": \"http://127.0.0.1:{port}/incwo/webhook/s3cret\", \"retryMs\": 10}}");
    let r = admin(&sim, "PUT", "/_sim/webhooks", &url);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body.contains("s3cret"),
        "the url's path may carry a secret: {}",
        r.body
    );
    let (firm, product) = sim.referentials();
    let id = sim.create("proposal_sheets", &order_xml(&firm, &product, "CMD-1"));
    let r = admin(
        &sim,
        "PUT",
        &format!("/_sim/documents/proposal_sheets/{id}/progress"),
        "{\"progress_id\": 557}",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin(
        &sim,
        "PUT",
        &format!("/_sim/objects/proposal_sheets/{id}"),
        "<proposal_sheet><comment>by hand</comment></proposal_sheet>",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin(&sim, "DELETE", &format!("/_sim/objects/proposal_sheets/{id}"), "");
    assert_eq!(r.status, 200, "{}", r.body);
    let log = wait_delivered(&sim, 6);
    let deliveries = log["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 6, "{log}");
    assert!(deliveries.iter().all(|d| d["state"] == "delivered"), "{log}");
    assert_eq!(
        deliveries.iter().map(|d| d["attempts"].as_u64().unwrap()).sum::<u64>(),
        8,
        "{log}"
    );
    let actions: Vec<&str> = deliveries.iter().map(|d| d["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "create", "create", "update", "update", "delete"]);
    let bodies = bodies.lock().unwrap();
    let sheet: Vec<Json> = bodies
        .iter()
        .map(|b| serde_json::from_str::<Json>(b).unwrap())
        .filter(|v| v["zname"] == "proposal_sheets")
        .collect();
    assert_eq!(sheet.len(), 4);
    assert!(
        sheet
            .iter()
            .all(|v| v["zid"].as_u64().map(|z| z.to_string()) == Some(id.clone())),
        "{sheet:?}"
    );
    // Admin edits are not API requests; reset turns webhooks off.
    assert_eq!(sim.state()["counters"]["updates"], json!({}));
    sim.handle.reset();
    assert_eq!(admin(&sim, "GET", "/_sim/webhooks", "").json()["url"], Json::Null);
}

#[test]
fn a_receiver_that_never_answers_ends_as_failed_and_bad_urls_are_refused() {
    let sim = Sim::start();
    let (port, _) = receiver(usize::MAX);
    let body = format!("{{\"url\": \"http://127.0.0.1:{port}/x\", \"retryMs\": 1, \"maxAttempts\": 3}}");
    assert_eq!(admin(&sim, "PUT", "/_sim/webhooks", &body).status, 200);
    sim.create("firms", "<firm><name>F</name></firm>");
    let log = wait_delivered(&sim, 1);
    assert_eq!(log["deliveries"][0]["state"], "failed", "{log}");
    assert_eq!(log["deliveries"][0]["attempts"], 3, "{log}");
    assert_eq!(log["deliveries"][0]["lastStatus"], 503, "{log}");
    for bad in [r#"{"url": "http://example.com:80/"}"#, r#"{"url": 1}"#, "{"] {
        assert_eq!(admin(&sim, "PUT", "/_sim/webhooks", bad).status, 400, "{bad}");
    }
}
