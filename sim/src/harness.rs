//! Shared pieces of the verification tests and the bench: SA descriptions with
//! their `esp` oracle, side-band encoding from `regmap`, random SAs and packets.

use driver::{poll_until, DriverError, RegIo};
use esp::{InboundSa, OutboundSa, SaConfig, SeqNum, Spi, Transform};
use rand::Rng;
use regmap::regs::off;
use regmap::sideband::{Descriptor, ResultInfo};
use regmap::{SaCmdStatus, SaFlags, SaOp};

use crate::ffi::TUSER_WORDS;
use crate::stream::InPacket;

/// The ESP transforms the card's datapath is built for (AES-GCM and AES-GMAC,
/// 128- and 256-bit keys, 16-byte ICV).
pub const CARD_TRANSFORMS: [Transform; 4] = [
    Transform::AesGcm128,
    Transform::AesGcm256,
    Transform::AesGmac128,
    Transform::AesGmac256,
];

/// One direction of an SA as the tests use it: where it sits on the card and
/// the parameters both the card and the `esp` oracle get.
#[derive(Clone, PartialEq, Eq)]
pub struct TestSa {
    /// SA-table index on the card.
    pub index: u16,
    /// SPI.
    pub spi: u32,
    /// Transform (one of [`CARD_TRANSFORMS`]).
    pub transform: Transform,
    /// Key followed by the 4-byte salt (RFC 4106 / RFC 4543 key material).
    pub key_material: Vec<u8>,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Inbound (decap) rather than outbound (encap).
    pub inbound: bool,
    /// Outbound: the sequence number of the next packet.
    pub next_seq: u64,
}

impl std::fmt::Debug for TestSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSa")
            .field("index", &self.index)
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("transform", &self.transform)
            .field("key_material", &"<redacted>")
            .field("esn", &self.esn)
            .field("inbound", &self.inbound)
            .field("next_seq", &self.next_seq)
            .finish()
    }
}

impl TestSa {
    /// A random SA of `transform` at `index`.
    pub fn random(
        rng: &mut impl Rng,
        index: u16,
        transform: Transform,
        esn: bool,
        inbound: bool,
    ) -> Self {
        let mut key_material = vec![0u8; transform.key_material_len()];
        rng.fill(&mut key_material[..]);
        Self {
            index,
            // SPIs 0..=255 are reserved (RFC 4303 2.1).
            spi: rng.gen_range(256..=u32::MAX),
            transform,
            key_material,
            esn,
            inbound,
            next_seq: 1,
        }
    }

    /// The `esp` configuration of this SA.
    pub fn esp_config(&self) -> SaConfig {
        let mut cfg = SaConfig::new(Spi(self.spi), self.transform, &self.key_material)
            .expect("test SAs use the transform's key-material length");
        cfg.esn = self.esn;
        cfg
    }

    /// The `esp` outbound SA (the oracle for encap).
    pub fn oracle_out(&self) -> OutboundSa {
        OutboundSa::new(&self.esp_config()).expect("valid SA configuration")
    }

    /// The `esp` inbound SA (the oracle for decap).
    pub fn oracle_in(&self) -> InboundSa {
        InboundSa::new(&self.esp_config()).expect("valid SA configuration")
    }

    /// The ESP datagram `esp` makes for `payload` at sequence number `seq`.
    pub fn seal(&self, seq: u64, payload: &[u8], next_header: u8) -> Vec<u8> {
        let sa = self.oracle_out();
        let mut out = vec![0u8; sa.datagram_len(payload.len())];
        let n = sa
            .seal_at(SeqNum(seq), None, payload, next_header, &mut out)
            .expect("oracle seals");
        out.truncate(n);
        out
    }

    /// The driver's view of this SA (`seq` = the last number used).
    pub fn card_sa(&self) -> driver::CardSa {
        let direction = if self.inbound {
            driver::Direction::Inbound
        } else {
            driver::Direction::Outbound
        };
        driver::CardSa::from_config(&self.esp_config(), direction, self.next_seq.wrapping_sub(1))
    }

    /// The stream input for an outbound packet on this SA.
    pub fn outbound_packet(&self, payload: &[u8], next_header: u8) -> InPacket {
        InPacket {
            data: payload.to_vec(),
            tuser: descriptor(Descriptor {
                sa_index: self.index,
                inbound: false,
                next_header,
                seq_hi: 0,
            }),
        }
    }

    /// The stream input for an inbound datagram on this SA whose sequence
    /// number is `seq` (its high half goes in the descriptor when ESN is on).
    pub fn inbound_packet(&self, datagram: &[u8], seq: u64) -> InPacket {
        let seq_hi = if self.esn { (seq >> 32) as u32 } else { 0 };
        InPacket {
            data: datagram.to_vec(),
            tuser: descriptor(Descriptor {
                sa_index: self.index,
                inbound: true,
                next_header: 0,
                seq_hi,
            }),
        }
    }
}

/// `s_axis_tuser` words for a descriptor (layout from `regmap::sideband`).
pub fn descriptor(d: Descriptor) -> [u32; TUSER_WORDS] {
    let v = d.to_tuser();
    let mut w = [0u32; TUSER_WORDS];
    w[0] = v as u32;
    w[1] = (v >> 32) as u32;
    w
}

/// Decodes `m_axis_tuser` words (layout from `regmap::sideband`).
pub fn result_info(tuser: &[u32; TUSER_WORDS]) -> ResultInfo {
    let v = u128::from(tuser[0]) | (u128::from(tuser[1]) << 32) | (u128::from(tuser[2]) << 64);
    ResultInfo::from_tuser(v)
}

/// A packet length for random traffic: a third tiny (0..=64), a third up to
/// an Ethernet MTU, a third up to 9000 bytes, plus the edges.
pub fn random_len(rng: &mut impl Rng) -> usize {
    match rng.gen_range(0..20) {
        0 => 0,
        1 => 9000,
        2 => rng.gen_range(1..=17),
        3..=8 => rng.gen_range(0..=64),
        9..=14 => rng.gen_range(0..=1500),
        _ => rng.gen_range(0..=9000),
    }
}

/// Random bytes.
pub fn random_bytes(rng: &mut impl Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill(&mut v[..]);
    v
}

/// Hex of the first differing region, for assertion messages.
pub fn first_difference(got: &[u8], want: &[u8]) -> String {
    match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(i) => format!(
            "first difference at byte {i} of {} (got {:02x?}, want {:02x?})",
            want.len(),
            &got[i..(i + 8).min(got.len())],
            &want[i..(i + 8).min(want.len())]
        ),
        None if got.len() != want.len() => {
            format!("length {} instead of {}", got.len(), want.len())
        }
        None => "equal".to_string(),
    }
}

/// Register reads an SA command may take before it is a timeout.
pub const SA_CMD_POLLS: u32 = 10_000;

fn key_word(bytes: &[u8], i: usize) -> u32 {
    let mut w = [0u8; 4];
    for (k, b) in w.iter_mut().enumerate() {
        *b = bytes.get(4 * i + k).copied().unwrap_or(0);
    }
    u32::from_le_bytes(w)
}

/// Runs SA command `op` on entry `index` and waits for it (bounded poll).
pub fn sa_command(io: &mut impl RegIo, index: u16, op: SaOp) -> Result<(), DriverError> {
    io.write32(off::SA_INDEX, index.into())?;
    io.write32(off::SA_CMD, op as u32)?;
    let st = poll_until(io, off::SA_CMD_STATUS, SA_CMD_POLLS, "SA command", |v| {
        let s = SaCmdStatus::from_bits_retain(v);
        s.contains(SaCmdStatus::DONE) && !s.contains(SaCmdStatus::BUSY)
    })?;
    if SaCmdStatus::from_bits_retain(st).contains(SaCmdStatus::ERROR) {
        return Err(DriverError::CardStatus {
            what: "SA command",
            status: st,
        });
    }
    Ok(())
}

/// Programs `sa` through the register map: staging registers (SPI, salt,
/// flags, last sequence number used, key), then the install command.
pub fn program_sa(io: &mut impl RegIo, sa: &TestSa) -> Result<(), DriverError> {
    let t = sa.transform;
    let key_len = t.cipher_key_len();
    let (key, salt) = sa.key_material.split_at(key_len.min(sa.key_material.len()));
    let mut flags = SaFlags::empty();
    if key_len == 32 {
        flags |= SaFlags::AES256;
    }
    if matches!(t, Transform::AesGmac128 | Transform::AesGmac256) {
        flags |= SaFlags::GMAC;
    }
    if sa.esn {
        flags |= SaFlags::ESN;
    }
    if sa.inbound {
        flags |= SaFlags::INBOUND;
    }
    io.write32(off::SA_INDEX, sa.index.into())?;
    io.write32(off::SA_SPI, sa.spi)?;
    io.write32(off::SA_SALT, key_word(salt, 0))?;
    io.write32(off::SA_FLAGS, flags.bits())?;
    let last = sa.next_seq.wrapping_sub(1);
    io.write32(off::SA_SEQ_LO, last as u32)?;
    io.write32(off::SA_SEQ_HI, (last >> 32) as u32)?;
    for i in 0..off::SA_KEY_WORDS as usize {
        io.write32(off::SA_KEY0 + 4 * i as u32, key_word(key, i))?;
    }
    sa_command(io, sa.index, SaOp::Install)
}

/// Removes the SA at `index`.
pub fn remove_sa(io: &mut impl RegIo, index: u16) -> Result<(), DriverError> {
    sa_command(io, index, SaOp::Remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_band_words_follow_regmap() {
        let d = Descriptor {
            sa_index: 1023,
            inbound: true,
            next_header: 4,
            seq_hi: 0xdead_beef,
        };
        let w = descriptor(d);
        assert_eq!((w[0], w[1]), (0x0401_03ff, 0xdead_beef));
        assert!(w[2..].iter().all(|&x| x == 0));
        let r = ResultInfo {
            verdict: regmap::Verdict::BadSpi,
            inbound: true,
            next_header: 41,
            sa_index: 9,
            seq: 0x1_0000_0002,
        };
        let v = r.to_tuser();
        let mut t = [0u32; TUSER_WORDS];
        t[0] = v as u32;
        t[1] = (v >> 32) as u32;
        t[2] = (v >> 64) as u32;
        assert_eq!(result_info(&t), r);
    }

    #[test]
    fn first_difference_names_the_byte() {
        assert_eq!(first_difference(b"abc", b"abc"), "equal");
        assert!(first_difference(b"abd", b"abc").starts_with("first difference at byte 2"));
        assert_eq!(first_difference(b"ab", b"abc"), "length 2 instead of 3");
    }

    #[test]
    fn test_sa_debug_redacts_the_key() {
        let mut rng = rand::rngs::mock::StepRng::new(0x4242_4242, 1);
        let sa = TestSa::random(&mut rng, 3, Transform::AesGcm128, false, false);
        let s = format!("{sa:?}");
        let key = format!("{:?}", sa.key_material);
        assert!(s.contains("redacted") && !s.contains(&key[1..12]), "{s}");
    }
}
