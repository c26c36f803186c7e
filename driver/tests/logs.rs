//! The offload layer's log lines, checked in their own test binary (a scoped
//! subscriber is reliable only without other test threads logging at the same time).

use driver::model::ModelCard;
use driver::offload::{OffloadConfig, OutPacket};
use driver::{Card, CardConfig, Direction, Offload, OffloadPolicy};
use esp::{SaConfig, Spi, Transform};

fn cfg(spi: u32) -> SaConfig {
    let key: Vec<u8> = (0..20u8).map(|b| b.wrapping_mul(29) ^ 0x17).collect();
    SaConfig::new(Spi(spi), Transform::AesGcm128, &key).unwrap()
}

#[test]
fn logs_say_what_happened() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let w = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || w.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(sub, || {
        let m = ModelCard::new();
        let f = m.faults();
        let card = Card::probe(m, CardConfig { poll_limit: 200 }).unwrap();
        let mut off = Offload::new(
            Some(card),
            OffloadConfig {
                verify_every: 0,
                ..OffloadConfig::default()
            },
        );
        f.reject_spi(0xa1);
        off.add_sa(&cfg(0xa1), Direction::Outbound, OffloadPolicy::Auto)
            .unwrap();
        let sa = off
            .add_sa(&cfg(0xa2), Direction::Outbound, OffloadPolicy::Auto)
            .unwrap();
        off.add_sa(&cfg(0xa3), Direction::Outbound, OffloadPolicy::Card)
            .unwrap();
        f.hang_after(0);
        let p = [0u8; 10];
        let r = off.seal_batch(&[OutPacket {
            sa,
            payload: &p,
            next_header: 4,
        }]);
        assert!(r[0].is_ok());
        f.heal();
        off.recover_card().unwrap();
    });
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    for needle in [
        "card probed",
        "SA runs in software",
        "card fault: SAs moved to software",
        "SA with offload = card failed (not moved to software)",
        "SAs returned to the card",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    // No key bytes in any form (hex run or a Debug list).
    let key = cfg(0).key.as_bytes().to_vec();
    let hex: String = key[..6].iter().map(|b| format!("{b:02x}")).collect();
    let list = format!("{:?}", &key[..4]).trim_end_matches(']').to_owned();
    assert!(
        !log.contains(&hex) && !log.contains(&list),
        "key material in logs:\n{log}"
    );
}
