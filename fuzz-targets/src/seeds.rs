//! The seed inputs of every target, and the folder they are kept in.

use std::path::PathBuf;

/// `fuzz/corpus` of the repository: one folder per target.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

/// The seeds of target `name` (file name, content); empty for an unknown name.
pub fn for_target(name: &str) -> Vec<(String, Vec<u8>)> {
    match name {
        "esp_decap" => crate::esp_decap::seeds(),
        "ike_wire" => ike_wire(),
        "ike_engine" => crate::ike_engine::seeds(),
        "cert" => crate::cert::seeds(),
        "config" => crate::config::seeds(),
        "control" => crate::control::seeds(),
        _ => Vec::new(),
    }
}

/// The decoder's seeds: the messages of an IKE_SA_INIT and the IKE_AUTH request.
fn ike_wire() -> Vec<(String, Vec<u8>)> {
    let p = crate::ike_engine::pair();
    vec![
        ("seed-sa-init-request".into(), p.sa_init_request),
        ("seed-sa-init-response".into(), p.sa_init_response),
        ("seed-auth-request".into(), p.auth_request),
    ]
}
