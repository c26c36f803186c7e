//! Target `control`: the daemon's control-socket request parser
//! (`host_ipsec::control::parse_request`, one JSON line). Invariant: a request
//! that parses serialises to JSON that parses to the same request.

use host_ipsec::control::{self, Request};

/// Runs one input (capped at the socket's [`control::MAX_REQUEST`], as the daemon
/// reads no more).
pub fn run(data: &[u8]) {
    let line = &data[..data.len().min(control::MAX_REQUEST as usize)];
    let Ok(req) = control::parse_request(line) else {
        return;
    };
    let json = serde_json::to_vec(&req).expect("a request serialises");
    let back: Request = control::parse_request(&json).expect("a serialised request parses");
    assert_eq!(back, req, "request does not round-trip");
}

/// Seed inputs: one line of each command, and a few refused ones.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    [
        ("status", r#"{"cmd":"status"}"#),
        ("list-sas", r#"{"cmd": "list-sas"}"#),
        ("stats", "{\"cmd\":\"stats\"}\n"),
        ("reload", r#"{"cmd":"reload"}"#),
        ("initiate", r#"{"cmd":"initiate","conn":"to-b"}"#),
        ("terminate", r#"{"cmd":"terminate","target":"7"}"#),
        ("unknown-field", r#"{"cmd":"status","x":1}"#),
        ("unknown-cmd", r#"{"cmd":"shutdown"}"#),
    ]
    .into_iter()
    .map(|(n, s)| (format!("seed-{n}"), s.as_bytes().to_vec()))
    .collect()
}
