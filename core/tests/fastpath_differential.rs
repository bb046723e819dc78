//! The fast path against the walker (issue #20): on every golden vector of
//! `validate` and `map`, on the fuzz seed corpus (`fuzz/seed.sh` builds the
//! `validate_map` seeds from `examples/data/*.json`, one per kind) and on
//! deterministic mutations of those inputs, validation gives the same report
//! and mapping the same bytes and totals whichever route runs, under several
//! profiles (`fastpath/check.rs`). The `fastpath_differential` fuzz target
//! runs the same check on arbitrary input.

#[path = "fastpath/check.rs"]
mod check;

use incwo_core::mapping::Profile;
use incwo_core::model::Kind;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// `(kind, input, profile text)` of every `validate` and `map` vector.
fn vector_inputs() -> Vec<(Kind, String, Option<String>)> {
    let base = root().join("tests/vectors");
    let mut files = Vec::new();
    for call in ["validate", "map"] {
        collect(&base.join(call), &mut files);
    }
    files.sort();
    let mut inputs = Vec::new();
    for file in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        if !matches!(v["call"].as_str(), Some("validate" | "map")) {
            continue;
        }
        let Ok(kind) = v["args"]["kind"].as_str().unwrap_or_default().parse::<Kind>() else {
            continue;
        };
        let text = if let Some(text) = v["inputText"].as_str() {
            text.to_string()
        } else if let Some(name) = v["inputFile"].as_str() {
            std::fs::read_to_string(base.join(name)).unwrap()
        } else {
            serde_json::to_string(&v["input"]).unwrap()
        };
        let profile = v["profileFile"]
            .as_str()
            .map(|f| std::fs::read_to_string(base.join(f)).unwrap());
        inputs.push((kind, text, profile));
    }
    inputs
}

/// The `validate_map` fuzz seeds: every example record.
fn seed_inputs() -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples/data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect()
}

/// Values and keys the mutations put in place of an input's values and keys.
const VALUES: &[&str] = &[
    "-0",
    "\"-0\"",
    "-0.00",
    "1e2",
    "1E-2",
    "0.001",
    "1.230",
    "\"49.90\"",
    "\" 1\"",
    "\"1.\"",
    "\".5\"",
    "null",
    "true",
    "[]",
    "{}",
    "\"\"",
    "\"  \"",
    "0",
    "-1",
    "1000001",
    "1000000",
    "0.0001",
    "0.00001",
    "999999999.99",
    "999999999.999",
    "1000000000",
    "12345678901234567890123456789",
    "0.10000000000000000000000000001",
    "1.2300000000000000000000",
    "\"2026-02-30\"",
    "\"2024-02-29\"",
    "\"2026-04-10\"",
    "\"2026-04-12\"",
    "\"1999-12-31\"",
    "\"2101-01-01\"",
    "\"EUR\"",
    "\"JPY\"",
    "\"BHD\"",
    "\"USD\"",
    "\"eur\"",
    "\"TVA20\"",
    "\"TVA0\"",
    "\"TVA5_5\"",
    "\"NOPE\"",
    "\"A&B <c>\"",
    "\"a b\"",
    "\" text \"",
    "\"tab\\there\"",
    "\"line\\nbreak\"",
    "\"\\u0041\\u00e9\"",
    "\"é\"",
    "1",
    "2",
    "\"1\"",
    "{\"$serde_json::private::Number\":\"1.5\"}",
    "[1,2]",
    "\"KIT-API-01\"",
];
const KEYS: &[&str] = &[
    "contract",
    "extra",
    "description",
    "qty",
    "currency",
    "dueDate",
    "validUntil",
    "sourceQuote",
    "sourceOrder",
    "lines",
    "orderNumber",
    "sku",
    "taxCode",
];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Byte ranges `(start, end)` in a text.
type Spans = Vec<(usize, usize)>;

/// Byte spans of the JSON values after each `:` and of each key.
fn spans(text: &str) -> (Spans, Spans) {
    let b = text.as_bytes();
    let (mut values, mut keys) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            let end = (i + 1).min(b.len());
            let mut j = end;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if b.get(j) == Some(&b':') {
                keys.push((start, end));
                j += 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && b[j] != b'{' && b[j] != b'[' {
                    let mut k = j;
                    if b[j] == b'"' {
                        k += 1;
                        while k < b.len() && b[k] != b'"' {
                            k += if b[k] == b'\\' { 2 } else { 1 };
                        }
                        k = (k + 1).min(b.len());
                    } else {
                        while k < b.len() && !matches!(b[k], b',' | b'}' | b']') && !b[k].is_ascii_whitespace() {
                            k += 1;
                        }
                    }
                    values.push((j, k));
                }
            }
            i = end;
        } else {
            i += 1;
        }
    }
    (values, keys)
}

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s = text.to_string();
    for _ in 0..1 + rng.below(3) {
        let (values, keys) = spans(&s);
        match rng.below(10) {
            0..=5 if !values.is_empty() => {
                let (a, b) = values[rng.below(values.len())];
                s.replace_range(a..b, VALUES[rng.below(VALUES.len())]);
            }
            6 | 7 if !keys.is_empty() => {
                let (a, b) = keys[rng.below(keys.len())];
                s.replace_range(a..b, &format!("\"{}\"", KEYS[rng.below(KEYS.len())]));
            }
            8 if !s.is_empty() => {
                let at = rng.below(s.len());
                if s.is_char_boundary(at) && s.is_char_boundary(at + 1) {
                    s.remove(at);
                }
            }
            _ => {
                let at = rng.below(s.len() + 1);
                if s.is_char_boundary(at) {
                    s.insert(at, b"{}[],:\"0.-a \\"[rng.below(13)] as char);
                }
            }
        }
    }
    s
}

fn run(kind: Kind, text: &str, profiles: &[Profile], taken: &mut usize, checked: &mut usize) {
    let links = check::links();
    for (p, profile) in profiles.iter().enumerate() {
        for l in links.iter().take(if p == 0 { 2 } else { 1 }) {
            *checked += 1;
            match check::check(kind, text, profile, l) {
                Ok(fast) => *taken += usize::from(fast),
                Err(diff) => panic!("{kind} under profile #{p}: {diff}\n  input: {text}"),
            }
        }
    }
}

#[test]
fn the_vectors_give_the_same_results_on_both_routes() {
    let (mut taken, mut checked) = (0, 0);
    let inputs = vector_inputs();
    assert!(inputs.len() >= 20, "only {} validate/map vectors", inputs.len());
    for (kind, text, profile) in &inputs {
        let mut profiles = check::profiles();
        if let Some(p) = profile {
            profiles.insert(0, Profile::from_json(p).expect("the vector's profile"));
        }
        run(*kind, text, &profiles, &mut taken, &mut checked);
    }
    eprintln!(
        "{} vectors, {checked} checks, {taken} through the fast path",
        inputs.len()
    );
    assert!(taken >= 10, "the fast path took only {taken} of {checked}");
}

#[test]
fn the_seed_corpus_and_its_mutations_give_the_same_results_on_both_routes() {
    let profiles = check::profiles();
    let (mut taken, mut checked) = (0, 0);
    let seeds = seed_inputs();
    for text in &seeds {
        for kind in check::KINDS {
            run(kind, text, &profiles, &mut taken, &mut checked);
        }
    }
    let documents: Vec<(Kind, &String)> = seeds
        .iter()
        .filter_map(|t| {
            let kind = ["quoteNumber", "orderNumber", "invoiceNumber"]
                .iter()
                .zip([Kind::Quote, Kind::Order, Kind::Invoice])
                .find(|(key, _)| t.contains(*key))?
                .1;
            Some((kind, t))
        })
        .collect();
    assert!(documents.len() >= 3, "the seeds hold a quote, an order and an invoice");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (kind, text) in &documents {
        for _ in 0..1000 {
            let mutant = mutate(text, &mut rng);
            run(*kind, &mutant, &profiles, &mut taken, &mut checked);
        }
    }
    eprintln!("{} seeds, {checked} checks, {taken} through the fast path", seeds.len());
    assert!(taken >= 100, "the fast path took only {taken} of {checked}");
}
