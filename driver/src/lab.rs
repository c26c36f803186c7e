//! Lab reporting: what `cardctl probe` prints, as a library so that other front ends
//! (the daemon's `ipsecctl`, which may link the simulator) print the same report for
//! any backend.
//!
//! ```
//! use driver::{lab::ProbeReport, model::ModelCard, Card, CardConfig};
//! let mut card = Card::probe(ModelCard::new(), CardConfig::default()).unwrap();
//! let report = ProbeReport::collect(&mut card, "model").unwrap();
//! assert!(report.to_table().contains("layout version"));
//! ```

use std::fmt::Write as _;

use regmap::regs::off;

use crate::card::{Card, CardCounters, Identity, SaIndex, SaReadback};
use crate::port::PacketPort;
use crate::{DriverError, RegIo};

/// One valid SA-table entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SaEntry {
    /// Entry index.
    pub index: SaIndex,
    /// Read-back state.
    #[serde(flatten)]
    pub state: SaReadback,
}

/// Everything `cardctl probe` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProbeReport {
    /// Backend description (`model`, `vfio:0000:03:00.0`, `sim`, ...).
    pub backend: String,
    /// Identity block.
    pub identity: Identity,
    /// Capability names.
    pub capabilities: Vec<&'static str>,
    /// Valid entries (scanned with SA read commands).
    pub sa_valid: usize,
    /// Table size.
    pub sa_capacity: u32,
    /// The valid entries.
    pub sas: Vec<SaEntry>,
    /// Card counters.
    pub counters: CardCounters,
    /// `STATUS` register.
    pub status: u32,
    /// `ERROR_EVENTS` register (sticky).
    pub error_events: u32,
}

impl ProbeReport {
    /// Reads the report from a probed card (one SA read command per table entry).
    pub fn collect<R: RegIo, P: PacketPort<R>>(
        card: &mut Card<R, P>,
        backend: &str,
    ) -> Result<Self, DriverError> {
        let identity = *card.identity();
        let mut sas = Vec::new();
        for i in 0..identity.num_sas {
            let index = SaIndex(i as u16);
            let state = card.read_sa(index)?;
            if state.flags & regmap::SaFlags::VALID.bits() != 0 {
                sas.push(SaEntry { index, state });
            }
        }
        let counters = card.counters()?;
        let status = card.regs_mut().read32(off::STATUS)?;
        let error_events = card.regs_mut().read32(off::ERROR_EVENTS)?;
        Ok(ProbeReport {
            backend: backend.to_owned(),
            capabilities: identity.capability_names(),
            sa_valid: sas.len(),
            sa_capacity: identity.num_sas,
            identity,
            sas,
            counters,
            status,
            error_events,
        })
    }

    /// The report as an aligned text table.
    pub fn to_table(&self) -> String {
        let id = &self.identity;
        let mut s = String::new();
        let rows: Vec<(&str, String)> = vec![
            ("backend", self.backend.clone()),
            ("magic", format!("{:#010x}", id.magic)),
            ("layout version", id.layout_version.to_string()),
            ("capabilities", self.capabilities.join(" ")),
            (
                "datapath",
                format!("{} lane(s), {}-bit stream", id.lanes, id.stream_bits),
            ),
            ("max packet", format!("{} bytes", id.max_packet)),
            (
                "SA table",
                format!("{} / {} valid", self.sa_valid, self.sa_capacity),
            ),
            ("status", format!("{:#x}", self.status)),
            ("error events", format!("{:#x}", self.error_events)),
            ("out packets", self.counters.out_pkts.to_string()),
            ("out bytes", self.counters.out_bytes.to_string()),
            ("in packets", self.counters.in_pkts.to_string()),
            ("in bytes", self.counters.in_bytes.to_string()),
            ("auth failures", self.counters.auth_fail.to_string()),
            ("bad descriptors", self.counters.bad_desc.to_string()),
        ];
        for (k, v) in rows {
            let _ = writeln!(s, "{k:<16} {v}");
        }
        if !self.sas.is_empty() {
            let _ = writeln!(
                s,
                "\n{:>5}  {:>10}  {:>10}  {:>12}  {:>10}  {:>12}  {:>9}",
                "index", "spi", "flags", "seq", "packets", "bytes", "auth fail"
            );
            for e in &self.sas {
                let _ = writeln!(
                    s,
                    "{:>5}  {:#010x}  {:#010x}  {:>12}  {:>10}  {:>12}  {:>9}",
                    e.index.0,
                    e.state.spi,
                    e.state.flags,
                    e.state.seq,
                    e.state.packets,
                    e.state.bytes,
                    e.state.auth_fail
                );
            }
        }
        s
    }
}

/// A backend named on a command line: `model`, `vfio:<pci address or sysfs path>`, or
/// `sim` (which only front ends linking the `sim` crate can open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSpec {
    /// The Rust register model.
    Model,
    /// A real card through VFIO.
    Vfio(String),
    /// The Verilator model of the generated RTL.
    Sim,
}

impl std::str::FromStr for BackendSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "model" => Ok(BackendSpec::Model),
            "sim" => Ok(BackendSpec::Sim),
            _ => match s.strip_prefix("vfio:") {
                Some(dev) if !dev.is_empty() => Ok(BackendSpec::Vfio(dev.to_owned())),
                _ => Err(format!(
                    "unknown backend {s:?} (expected model, sim or vfio:<pci address>)"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelCard;
    use crate::{CardConfig, CardSa, Direction, PacketRequest};

    #[test]
    fn report_shows_installed_sas_and_counters() {
        let mut card = Card::probe(ModelCard::new(), CardConfig::default()).unwrap();
        let cfg =
            esp::SaConfig::new(esp::Spi(0xabc), esp::Transform::AesGcm128, &[7u8; 20]).unwrap();
        let ix = card
            .install_sa(CardSa::from_config(&cfg, Direction::Outbound, 0))
            .unwrap();
        let data = [1u8; 100];
        let req = PacketRequest::outbound(ix.0, 4, &data);
        card.process(&[req, req], &mut Vec::new()).unwrap();
        let r = ProbeReport::collect(&mut card, "model").unwrap();
        assert_eq!(r.sa_valid, 1);
        assert_eq!(r.sas[0].state.spi, 0xabc);
        assert_eq!(r.sas[0].state.seq, 2);
        assert_eq!(r.counters.out_pkts, 2);
        assert_eq!(r.counters.out_bytes, 200);
        let t = r.to_table();
        assert!(t.contains("1 / 1024 valid"), "{t}");
        assert!(t.contains("0x00000abc"), "{t}");
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["identity"]["layout_version"], regmap::LAYOUT_VERSION);
        assert_eq!(j["sas"][0]["spi"], 0xabc);
    }

    #[test]
    fn backend_names_parse() {
        assert_eq!("model".parse::<BackendSpec>(), Ok(BackendSpec::Model));
        assert_eq!(
            "vfio:0000:03:00.0".parse::<BackendSpec>(),
            Ok(BackendSpec::Vfio("0000:03:00.0".into()))
        );
        assert!("vfio:".parse::<BackendSpec>().is_err());
        assert!("pcie".parse::<BackendSpec>().is_err());
    }
}
