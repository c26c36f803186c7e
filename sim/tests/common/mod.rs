//! Shared set-up of the verification tests: a reset simulated card probed by
//! the driver's `Card`, SA programming through it, counters, result checks.
#![allow(dead_code)]

use driver::{Card, CardConfig, CardCounters, SaIndex};
use regmap::sideband::ResultInfo;
use regmap::Verdict;
use sim::harness::{first_difference, result_info, TestSa};
use sim::stream::InPacket;
use sim::stream::{OutPacket, Shaping, StreamRun};
use sim::SimCard;

/// The simulated card under the driver.
pub type DrvCard = Card<SimCard>;

/// A freshly reset simulated card, probed by the driver (identity, layout
/// version and capabilities checked against `regmap`).
pub fn card() -> DrvCard {
    let sim = SimCard::new().expect("create the Verilated model");
    Card::probe(sim, CardConfig::default()).expect("driver probes the simulated card")
}

/// Installs `sa` through the driver; the driver picks the entry and `sa.index` is set to it.
pub fn install(card: &mut DrvCard, sa: &mut TestSa) {
    let idx = card
        .install_sa(sa.card_sa())
        .unwrap_or_else(|e| panic!("install {sa:?}: {e}"));
    sa.index = idx.0;
}

/// Removes the SA at `index` through the driver.
pub fn remove(card: &mut DrvCard, index: u16) {
    card.remove_sa(SaIndex(index))
        .unwrap_or_else(|e| panic!("remove SA {index}: {e}"));
}

/// The card's global counters, read by the driver.
pub fn counters(card: &mut DrvCard) -> CardCounters {
    card.counters().expect("counter read")
}

/// Packets through the stream ports of the card under the driver.
pub fn stream(card: &mut DrvCard, packets: &[InPacket], shaping: Shaping) -> StreamRun {
    card.regs_mut()
        .stream(packets, shaping)
        .expect("stream run")
}

/// What one packet should come out as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub verdict: Verdict,
    pub data: Vec<u8>,
    pub sa_index: u16,
    pub inbound: bool,
    /// Checked when the verdict is OK.
    pub seq: u64,
    /// Checked for OK inbound results.
    pub next_header: u8,
}

impl Expect {
    /// A refused or failed packet: the verdict, no data.
    pub fn refused(verdict: Verdict, sa_index: u16, inbound: bool) -> Self {
        Self {
            verdict,
            data: Vec::new(),
            sa_index,
            inbound,
            seq: 0,
            next_header: 0,
        }
    }

    /// An outbound packet of `sa` at `seq`: the datagram `esp` makes.
    pub fn sealed(sa: &TestSa, seq: u64, payload: &[u8], next_header: u8) -> Self {
        Self {
            verdict: Verdict::Ok,
            data: sa.seal(seq, payload, next_header),
            sa_index: sa.index,
            inbound: false,
            seq,
            next_header,
        }
    }

    /// An inbound packet of `sa` at `seq` that opens to `payload`.
    pub fn opened(sa: &TestSa, seq: u64, payload: &[u8], next_header: u8) -> Self {
        Self {
            verdict: Verdict::Ok,
            data: payload.to_vec(),
            sa_index: sa.index,
            inbound: true,
            seq,
            next_header,
        }
    }
}

/// Checks one output packet against its expectation; `what` names it in failures.
pub fn check(out: &OutPacket, want: &Expect, what: &str) {
    let info: ResultInfo = result_info(&out.tuser);
    assert_eq!(
        info.verdict,
        want.verdict,
        "{what}: verdict (tuser {:08x?})",
        &out.tuser[..3]
    );
    assert_eq!(info.sa_index, want.sa_index, "{what}: SA index echoed");
    assert_eq!(info.inbound, want.inbound, "{what}: direction echoed");
    if want.verdict == Verdict::Ok {
        assert_eq!(info.seq, want.seq, "{what}: sequence number reported");
        if want.inbound {
            assert_eq!(info.next_header, want.next_header, "{what}: next header");
        }
    }
    assert!(
        out.data == want.data,
        "{what}: {}",
        first_difference(&out.data, &want.data)
    );
}

/// Checks a whole run: one output per input, each as expected.
pub fn check_run(run: &StreamRun, expect: &[Expect], what: &str) {
    assert_eq!(
        run.outputs.len(),
        expect.len(),
        "{what}: one output per input"
    );
    for (i, (o, e)) in run.outputs.iter().zip(expect).enumerate() {
        check(o, e, &format!("{what} packet {i}"));
    }
}
