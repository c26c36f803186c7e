//! Anti-replay window (RFC 4303 section 3.4.3 and appendix A) kept as an
//! RFC 6479 style ring of 64-bit words, ESN-aware.
//!
//! It is used in two halves so that the card path can share it:
//! 1. [`ReplayWindow::check`] before the ICV is verified: rejects replays and
//!    packets left of the window and, with ESN, infers the high 32 bits of the
//!    sequence number (RFC 4303 appendix A2.2). It changes nothing.
//! 2. [`ReplayWindow::update`] after the ICV checked out: records the packet
//!    (and re-checks, since another packet may have been accepted in between).

use crate::types::SeqNum;

/// Window size used when an SA does not say otherwise.
pub const DEFAULT_WINDOW: u32 = 1024;
/// Smallest window accepted (RFC 4303 section 3.4.3 asks for at least 32).
pub const MIN_WINDOW: u32 = 32;
/// Largest window accepted.
pub const MAX_WINDOW: u32 = 65536;

/// Why a sequence number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// This sequence number was already received.
    #[error("sequence number {0} replayed")]
    Replayed(SeqNum),
    /// The sequence number lies left of the window.
    #[error("sequence number {0} is older than the replay window")]
    TooOld(SeqNum),
    /// Sequence number zero is never sent (RFC 4303 section 3.3.3).
    #[error("sequence number zero")]
    Zero,
}

/// Window sizes outside [`MIN_WINDOW`]..=[`MAX_WINDOW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("replay window size {0} outside {min}..={max}", min = MIN_WINDOW, max = MAX_WINDOW)]
pub struct WindowSizeError(pub u32);

/// A sliding anti-replay window.
#[derive(Clone, Debug)]
pub struct ReplayWindow {
    /// Ring of bitmap words; bit (s mod (64 * len)) is packet s.
    bits: Vec<u64>,
    /// Configured window size W.
    size: u32,
    /// Highest authenticated sequence number so far (0 = none yet).
    top: u64,
    esn: bool,
}

impl ReplayWindow {
    /// A window of `size` packets. With `esn` the 64-bit sequence number is
    /// inferred from the low 32 bits carried on the wire.
    pub fn new(size: u32, esn: bool) -> Result<Self, WindowSizeError> {
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&size) {
            return Err(WindowSizeError(size));
        }
        // One spare word so that advancing never clears bits still inside the
        // window (RFC 6479 section 2); power of two for cheap indexing.
        let words = ((size as usize).div_ceil(64) + 1).next_power_of_two();
        Ok(ReplayWindow {
            bits: vec![0; words],
            size,
            top: 0,
            esn,
        })
    }

    /// The configured window size.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The highest sequence number accepted so far (0 before the first packet).
    pub fn top(&self) -> SeqNum {
        SeqNum(self.top)
    }

    /// Whether ESN inference is on.
    pub fn esn(&self) -> bool {
        self.esn
    }

    /// Infers the full sequence number from the low half (RFC 4303 appendix
    /// A2.2). Without ESN the high half is zero.
    pub fn infer(&self, seq_lo: u32) -> Result<SeqNum, ReplayError> {
        if !self.esn {
            return Ok(SeqNum(seq_lo as u64));
        }
        let w = self.size;
        let tl = self.top as u32;
        let th = (self.top >> 32) as u32;
        let hi = if tl >= w - 1 {
            if seq_lo >= tl - (w - 1) {
                Some(th)
            } else {
                th.checked_add(1)
            }
        } else if seq_lo >= tl.wrapping_sub(w - 1) {
            // The low half wrapped behind us: it belongs to the previous epoch.
            th.checked_sub(1)
        } else {
            Some(th)
        };
        match hi {
            Some(h) => Ok(SeqNum::from_parts(h, seq_lo)),
            // Th == 0 and the number lies "before" the start: left of the window.
            None if tl < w - 1 => Err(ReplayError::TooOld(SeqNum(seq_lo as u64))),
            None => Err(ReplayError::TooOld(SeqNum::from_parts(th, seq_lo))),
        }
    }

    fn word_and_bit(&self, seq: u64) -> (usize, u64) {
        let nbits = (self.bits.len() as u64) * 64;
        let pos = seq % nbits;
        ((pos / 64) as usize, 1u64 << (pos % 64))
    }

    fn check_full(&self, seq: u64) -> Result<(), ReplayError> {
        if seq == 0 {
            return Err(ReplayError::Zero);
        }
        if seq > self.top {
            return Ok(());
        }
        if self.top - seq >= self.size as u64 {
            return Err(ReplayError::TooOld(SeqNum(seq)));
        }
        let (w, b) = self.word_and_bit(seq);
        match self.bits.get(w) {
            Some(word) if word & b != 0 => Err(ReplayError::Replayed(SeqNum(seq))),
            _ => Ok(()),
        }
    }

    /// The pre-check, before the ICV: infers the 64-bit sequence number (with
    /// ESN) and refuses replays and too-old packets. Changes nothing.
    pub fn check(&self, seq_lo: u32) -> Result<SeqNum, ReplayError> {
        let seq = self.infer(seq_lo)?;
        self.check_full(seq.0)?;
        Ok(seq)
    }

    /// Records `seq` after its ICV checked out. Re-checks first, so two copies
    /// that passed [`check`](Self::check) concurrently are accepted only once.
    pub fn update(&mut self, seq: SeqNum) -> Result<(), ReplayError> {
        self.check_full(seq.0)?;
        let s = seq.0;
        if s > self.top {
            // Clear the words between the old top's word and the new one.
            let nwords = self.bits.len() as u64;
            let old_word = self.top / 64;
            let new_word = s / 64;
            let diff = new_word - old_word;
            if diff >= nwords {
                self.bits.iter_mut().for_each(|w| *w = 0);
            } else {
                for i in 1..=diff {
                    let idx = ((old_word + i) % nwords) as usize;
                    if let Some(w) = self.bits.get_mut(idx) {
                        *w = 0;
                    }
                }
            }
            self.top = s;
        }
        let (w, b) = self.word_and_bit(s);
        if let Some(word) = self.bits.get_mut(w) {
            *word |= b;
        }
        Ok(())
    }

    /// Forgets everything (a new SA).
    pub fn reset(&mut self) {
        self.bits.iter_mut().for_each(|w| *w = 0);
        self.top = 0;
    }

    /// Places an empty window so that `next` is the next number expected: the top
    /// becomes `next - 1` (nothing marked received), so with ESN the high half is
    /// inferred around `next`. For an SA taken up in the middle of its life (a lab
    /// tool decapsulating a capture, an SA moved from another node); numbers more
    /// than a window below `next` are too old.
    pub fn start_at(&mut self, next: SeqNum) {
        self.bits.iter_mut().for_each(|w| *w = 0);
        self.top = next.0.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(w: &mut ReplayWindow, lo: u32) -> Result<SeqNum, ReplayError> {
        let s = w.check(lo)?;
        w.update(s)?;
        Ok(s)
    }

    #[test]
    fn a_window_started_mid_life_infers_the_high_half_around_its_start() {
        // RFC 4303 appendix A2.2 with the window placed at 0x1_0000_0005: a low
        // half just below it (0xffff_fffe) belongs to the previous epoch, one at
        // or above it to the current.
        let mut w = ReplayWindow::new(64, true).unwrap();
        w.start_at(SeqNum(0x1_0000_0005));
        assert_eq!(w.top(), SeqNum(0x1_0000_0004));
        assert_eq!(w.check(5).unwrap(), SeqNum(0x1_0000_0005));
        assert_eq!(w.check(0xffff_fffe).unwrap(), SeqNum(0xffff_fffe));
        assert_eq!(w.check(4).unwrap(), SeqNum(0x1_0000_0004));
        // nothing marked received yet
        assert_eq!(accept(&mut w, 7).unwrap(), SeqNum(0x1_0000_0007));
        assert!(matches!(w.check(7), Err(ReplayError::Replayed(_))));
        // a start at 1 is a new SA's window
        w.start_at(SeqNum(1));
        assert_eq!(w.top(), SeqNum(0));
        assert_eq!(w.check(1).unwrap(), SeqNum(1));
    }

    #[test]
    fn sizes() {
        assert!(ReplayWindow::new(31, false).is_err());
        assert!(ReplayWindow::new(MAX_WINDOW + 1, false).is_err());
        assert!(ReplayWindow::new(4096, true).is_ok());
        assert_eq!(
            ReplayWindow::new(DEFAULT_WINDOW, false).unwrap().size(),
            1024
        );
    }

    #[test]
    fn basic_window() {
        let mut w = ReplayWindow::new(64, false).unwrap();
        assert_eq!(w.check(0), Err(ReplayError::Zero));
        assert_eq!(accept(&mut w, 1), Ok(SeqNum(1)));
        assert_eq!(accept(&mut w, 1), Err(ReplayError::Replayed(SeqNum(1))));
        assert_eq!(accept(&mut w, 100), Ok(SeqNum(100)));
        // 100 - 64 = 36 is the first out of the window; 37 is the last in.
        assert_eq!(accept(&mut w, 36), Err(ReplayError::TooOld(SeqNum(36))));
        assert_eq!(accept(&mut w, 37), Ok(SeqNum(37)));
        assert_eq!(accept(&mut w, 37), Err(ReplayError::Replayed(SeqNum(37))));
        assert_eq!(accept(&mut w, 99), Ok(SeqNum(99)));
        // A jump far ahead clears the old bits.
        assert_eq!(accept(&mut w, 100_000), Ok(SeqNum(100_000)));
        assert_eq!(accept(&mut w, 99_999), Ok(SeqNum(99_999)));
        assert_eq!(accept(&mut w, 100), Err(ReplayError::TooOld(SeqNum(100))));
    }

    #[test]
    fn check_does_not_modify_and_update_rechecks() {
        let mut w = ReplayWindow::new(1024, false).unwrap();
        let a = w.check(5).unwrap();
        let b = w.check(5).unwrap();
        assert_eq!(w.top(), SeqNum(0));
        assert!(w.update(a).is_ok());
        assert_eq!(w.update(b), Err(ReplayError::Replayed(SeqNum(5))));
    }

    #[test]
    fn every_position_in_a_large_window() {
        // Out-of-order arrival over several ring turns: each accepted exactly once.
        let mut w = ReplayWindow::new(4096, false).unwrap();
        for base in (0u32..20_000).step_by(1000) {
            for off in (0..1000).rev() {
                let s = base + off + 1;
                assert_eq!(accept(&mut w, s), Ok(SeqNum(s as u64)), "seq {s}");
            }
            for off in 0..1000 {
                let s = base + off + 1;
                assert!(accept(&mut w, s).is_err());
            }
        }
    }

    #[test]
    fn esn_inference_across_the_32_bit_boundary() {
        let mut w = ReplayWindow::new(128, true).unwrap();
        // Right after the start, a huge low half reads as "before sequence 1".
        assert!(matches!(w.check(0xffff_fff0), Err(ReplayError::TooOld(_))));
        // Move the window near the top of epoch 0.
        w.update(SeqNum(0xffff_fff0)).unwrap();
        // Low half wraps: 5 is epoch 1.
        assert_eq!(accept(&mut w, 5), Ok(SeqNum::from_parts(1, 5)));
        // A late packet from the end of epoch 0 is still inside the window.
        assert_eq!(accept(&mut w, 0xffff_fff8), Ok(SeqNum(0xffff_fff8)));
        assert_eq!(
            accept(&mut w, 0xffff_fff8),
            Err(ReplayError::Replayed(SeqNum(0xffff_fff8)))
        );
        // 0xffff_ff00 with top (1, 5) lies left of the window in epoch 0, so
        // RFC 4303 appendix A2.2 reads it as epoch 1 (far ahead); only the ICV
        // can then accept it.
        assert_eq!(w.check(0xffff_ff00), Ok(SeqNum::from_parts(1, 0xffff_ff00)));
        // Without ESN the high half is always zero.
        let w2 = ReplayWindow::new(128, false).unwrap();
        assert_eq!(w2.check(5), Ok(SeqNum(5)));
    }

    #[test]
    fn esn_first_epoch_lower_bound() {
        // Th = 0 and Tl small: a huge low half cannot be from epoch -1.
        let mut w = ReplayWindow::new(64, true).unwrap();
        assert_eq!(accept(&mut w, 10), Ok(SeqNum(10)));
        assert!(matches!(w.check(0xffff_fff0), Err(ReplayError::TooOld(_))));
        // Large jump within epoch 0 is fine.
        assert_eq!(accept(&mut w, 1_000_000), Ok(SeqNum(1_000_000)));
    }
}
