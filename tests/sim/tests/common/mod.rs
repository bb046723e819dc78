//! A tiny blocking HTTP/1.1 client over `std::net::TcpStream`, so the tests
//! see exactly what a client sees on the wire (including resets and EOFs).

#![allow(dead_code, unused_imports)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub use incwo_sim::{spawn, SimConfig, SimHandle};
pub use serde_json::{json, Value as Json};

pub const LOGIN: &str = "api@example.fr";
pub const PASSWORD: &str = "secret";

/// One HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Text of the first `<name>…</name>` element.
    pub fn tag(&self, name: &str) -> String {
        tag(&self.body, name).unwrap_or_else(|| panic!("no <{name}> in {}", self.body))
    }

    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Text of the first `<name>…</name>` element of an XML string.
pub fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].to_string())
}

/// Texts of every `<name>…</name>` element.
pub fn tags(xml: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

pub fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A request to send.
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub auth: Option<(&'a str, &'a str)>,
    pub body: Option<&'a str>,
    pub headers: Vec<(&'a str, &'a str)>,
    pub timeout: Duration,
}

impl<'a> Req<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Req {
            method,
            path,
            auth: Some((LOGIN, PASSWORD)),
            body: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
    pub fn body(mut self, b: &'a str) -> Self {
        self.body = Some(b);
        self
    }
    pub fn no_auth(mut self) -> Self {
        self.auth = None;
        self
    }
    pub fn auth(mut self, login: &'a str, password: &'a str) -> Self {
        self.auth = Some((login, password));
        self
    }
    pub fn header(mut self, k: &'a str, v: &'a str) -> Self {
        self.headers.push((k, v));
        self
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Sends the request on a fresh connection (`Connection: close`) and
    /// reads the whole response. A connection closed or reset before any
    /// response byte is an `Err`.
    pub fn send(self, port: u16) -> io::Result<Resp> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(self.timeout))?;
        let body = self.body.unwrap_or("");
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.method,
            self.path,
            body.len()
        );
        if self.body.is_some() {
            head.push_str("Content-Type: application/xml\r\n");
        }
        if let Some((l, p)) = self.auth {
            head.push_str(&format!(
                "Authorization: Basic {}\r\n",
                base64(format!("{l}:{p}").as_bytes())
            ));
        }
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())?;
        s.write_all(body.as_bytes())?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        if raw.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed without a response",
            ));
        }
        parse(&raw)
    }
}

fn parse(raw: &[u8]) -> io::Result<Resp> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let text = String::from_utf8(raw.to_vec()).map_err(|_| bad("response is not UTF-8"))?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| bad("no header end"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Resp {
        status,
        headers,
        body: body.to_string(),
    })
}

/// A running simulator plus helpers bound to its port.
pub struct Sim {
    pub handle: SimHandle,
    pub bfid: u64,
}

impl Sim {
    pub fn start() -> Sim {
        Sim::with(SimConfig::default())
    }

    pub fn with(config: SimConfig) -> Sim {
        let bfid = config.business_file_id;
        Sim {
            handle: spawn(config),
            bfid,
        }
    }

    pub fn port(&self) -> u16 {
        self.handle.port()
    }

    /// Path of a resource collection, e.g. `/123456/firms.xml`.
    pub fn coll(&self, res: &str) -> String {
        format!("/{}/{res}.xml", self.bfid)
    }

    /// Path of one object, e.g. `/123456/firms/100001.xml`.
    pub fn one(&self, res: &str, id: &str) -> String {
        format!("/{}/{res}/{id}.xml", self.bfid)
    }

    pub fn get(&self, path: &str) -> Resp {
        Req::new("GET", path).send(self.port()).expect("GET")
    }

    pub fn post(&self, path: &str, body: &str) -> Resp {
        Req::new("POST", path).body(body).send(self.port()).expect("POST")
    }

    pub fn put(&self, path: &str, body: &str) -> Resp {
        Req::new("PUT", path).body(body).send(self.port()).expect("PUT")
    }

    pub fn delete(&self, path: &str) -> Resp {
        Req::new("DELETE", path).send(self.port()).expect("DELETE")
    }

    /// Creates an object and returns its id (asserting 201).
    pub fn create(&self, res: &str, body: &str) -> String {
        let r = self.post(&self.coll(res), body);
        assert_eq!(r.status, 201, "{}", r.body);
        r.tag("id")
    }

    /// `GET /_sim/state` over HTTP.
    pub fn state(&self) -> Json {
        let r = Req::new("GET", "/_sim/state")
            .no_auth()
            .send(self.port())
            .expect("state");
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    /// `POST /_sim/faults` over HTTP.
    pub fn fault(&self, rules: Json) {
        let body = rules.to_string();
        let r = Req::new("POST", "/_sim/faults")
            .no_auth()
            .body(&body)
            .send(self.port())
            .expect("faults");
        assert_eq!(r.status, 201, "{}", r.body);
    }

    /// The brief's customer, product and the firm/product ids.
    pub fn referentials(&self) -> (String, String) {
        let firm = self.create(
            "firms",
            "<firm><name>Atelier Horizon</name><firm_type>client</firm_type><accounting_ref>CLI-INC-8872</accounting_ref></firm>",
        );
        let product = self.create(
            "customer_products",
            "<customer_product><reference>KIT-API-01</reference><name>Kit API</name><price>49.90</price><vat_id>607</vat_id><unit>u</unit><is_active>1</is_active><currency_id>58</currency_id></customer_product>",
        );
        (firm, product)
    }
}

/// The brief's order body: 10 × KIT-API-01 at 49.90, VAT 20 %.
pub fn order_xml(firm: &str, product: &str, title: &str) -> String {
    format!(
        "<proposal_sheet><sheet_type>order</sheet_type><firm_id>{firm}</firm_id><title>{title}</title><billing_date>05-03-2026</billing_date><currency_id>58</currency_id><proposal_lines><proposal_line><customer_product_id>{product}</customer_product_id><description>Kit API</description><quantity>10</quantity><unit_price>49.90</unit_price><vat_value_id>607</vat_value_id><ordering>1</ordering></proposal_line></proposal_lines></proposal_sheet>"
    )
}

/// Starts the `incwo-sim` binary with `args` and `envs` (stdout piped, as a
/// non-Rust suite would) and reads the port from its first line, which must
/// be `listening on {scheme}://127.0.0.1:PORT`.
pub fn start_binary(args: &[&str], envs: &[(&str, &str)], scheme: &str) -> (std::process::Child, u16) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_incwo-sim"))
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start incwo-sim");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("read the first line");
    let port = line
        .trim()
        .strip_prefix(&format!("listening on {scheme}://127.0.0.1:"))
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("port in {line:?}: {e}"));
    (child, port)
}
