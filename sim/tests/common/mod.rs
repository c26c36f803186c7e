//! Shared set-up of the verification tests: a reset simulated card, SA
//! programming through the driver, counter reads, result checks.
#![allow(dead_code)]

use driver::RegIo;
use regmap::regs::off;
use regmap::sideband::ResultInfo;
use regmap::Verdict;
use sim::harness::{first_difference, result_info, TestSa};
use sim::stream::OutPacket;
use sim::SimCard;

/// Why a test needing the generated core is skipped on the stand-in.
pub const NEEDS_CORE: &str = "needs the generated core (bitstreams/esp-engine-v*/top.v)";

/// A freshly reset simulated card.
pub fn card() -> SimCard {
    SimCard::new().expect("create the Verilated model")
}

/// Programs `sa` into the card's SA table (install, or rewrite of a valid entry).
pub fn install(card: &mut SimCard, sa: &TestSa) {
    sim::harness::program_sa(card, sa).unwrap_or_else(|e| panic!("install {sa:?}: {e}"));
}

/// Removes the SA at `index`.
pub fn remove(card: &mut SimCard, index: u16) {
    sim::harness::remove_sa(card, index).unwrap_or_else(|e| panic!("remove SA {index}: {e}"));
}

/// A 64-bit global counter (`CNT_*_LO` offset).
pub fn counter(card: &mut SimCard, lo: u32) -> u64 {
    card.read64(lo).expect("counter read")
}

/// Every global counter, in register order.
pub fn counters(card: &mut SimCard) -> Counters {
    Counters {
        out_pkts: counter(card, off::CNT_OUT_PKTS_LO),
        out_bytes: counter(card, off::CNT_OUT_BYTES_LO),
        in_pkts: counter(card, off::CNT_IN_PKTS_LO),
        in_bytes: counter(card, off::CNT_IN_BYTES_LO),
        auth_fail: counter(card, off::CNT_AUTH_FAIL_LO),
        bad_desc: counter(card, off::CNT_BAD_DESC_LO),
    }
}

/// The card's global counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub out_pkts: u64,
    pub out_bytes: u64,
    pub in_pkts: u64,
    pub in_bytes: u64,
    pub auth_fail: u64,
    pub bad_desc: u64,
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

/// Reads a register (for tests that look at one directly).
pub fn reg(card: &mut SimCard, offset: u32) -> u32 {
    card.read32(offset).expect("register read")
}
