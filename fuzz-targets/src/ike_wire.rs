//! Target `ike_wire`: the IKE message decoder (`ikev2::wire`): header, payload
//! chain, every payload body, and the chain inside an SK payload (parsed as if it
//! were the decrypted content, so the inner decoder sees arbitrary bytes too).
//! Invariants: the header emits back to the bytes it was read from; a decoded
//! chain emits to bytes that decode to the same payloads.

use ikev2::wire::{self, Header, HEADER_LEN};

/// Runs one input.
pub fn run(data: &[u8]) {
    let Ok(h) = Header::parse(data) else {
        return;
    };
    let mut out = Vec::new();
    h.emit(&mut out);
    assert_eq!(out, data[..HEADER_LEN], "header does not emit back");
    let body = &data[HEADER_LEN..h.length as usize];
    let Ok(chain) = wire::parse_chain(h.next_payload, body) else {
        return;
    };
    let mut again = Vec::new();
    let first = wire::emit_chain(&chain.payloads, &mut again);
    let reparsed = wire::parse_chain(first, &again).expect("an emitted chain parses");
    assert_eq!(
        reparsed.payloads, chain.payloads,
        "chain does not round-trip"
    );
    assert!(reparsed.sk.is_none());
    if let Some((at, inner_first)) = chain.sk {
        // The SK payload's body after its 4-byte generic header, taken as plaintext.
        if let Some(inner) = body.get(at + 4..) {
            let _ = wire::parse_chain(inner_first, inner);
        }
    }
}
