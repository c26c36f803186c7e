//! Register access: the one trait every backend implements.

use crate::DriverError;

/// One register window (BAR0 of a real card, the simulator's AXI4-Lite port, the Rust
/// model). Accesses may have side effects (a read can pop a FIFO), so every method takes
/// `&mut self`. Offsets are byte offsets; 32-bit accesses are naturally aligned.
pub trait RegIo {
    /// Reads the 32-bit register at byte `offset`.
    fn read32(&mut self, offset: u32) -> Result<u32, DriverError>;

    /// Writes the 32-bit register at byte `offset`.
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError>;

    /// Reads a 64-bit register as two 32-bit reads, low word (at `offset`) first.
    fn read64(&mut self, offset: u32) -> Result<u64, DriverError> {
        let lo = self.read32(offset)?;
        let hi = self.read32(offset.checked_add(4).ok_or(DriverError::OutOfBounds {
            offset: u64::from(offset),
            width: 8,
            len: u32::MAX as usize,
        })?)?;
        Ok(u64::from(lo) | (u64::from(hi) << 32))
    }

    /// Writes a 64-bit register as two 32-bit writes, low word (at `offset`) first.
    fn write64(&mut self, offset: u32, value: u64) -> Result<(), DriverError> {
        let hi_off = offset.checked_add(4).ok_or(DriverError::OutOfBounds {
            offset: u64::from(offset),
            width: 8,
            len: u32::MAX as usize,
        })?;
        self.write32(offset, value as u32)?;
        self.write32(hi_off, (value >> 32) as u32)
    }
}

/// `RegIo` for pointer types to a `RegIo` (every access goes to the pointee, so a
/// backend's own 64-bit accesses are kept).
macro_rules! regio_through_pointer {
    ($($ptr:ty),*) => {$(
        impl<R: RegIo + ?Sized> RegIo for $ptr {
            fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
                (**self).read32(offset)
            }
            fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
                (**self).write32(offset, value)
            }
            fn read64(&mut self, offset: u32) -> Result<u64, DriverError> {
                (**self).read64(offset)
            }
            fn write64(&mut self, offset: u32, value: u64) -> Result<(), DriverError> {
                (**self).write64(offset, value)
            }
        }
    )*};
}

regio_through_pointer!(&mut R, Box<R>);

/// One device's registers shared by several owners: the engine's control path (SA
/// table, recovery) and the lanes that each drive their own DMA queue pair's
/// registers from a worker thread ([`crate::offload::Lane`]). Every access takes the
/// device's lock for that one access, as a bus would serialize them; a clone is
/// another handle on the same device. A poisoned lock is
/// [`DriverError::Capability`] (a thread panicked in the middle of an access).
pub struct SharedRegs<T>(std::sync::Arc<std::sync::Mutex<T>>);

impl<T> Clone for SharedRegs<T> {
    fn clone(&self) -> Self {
        SharedRegs(self.0.clone())
    }
}

impl<T> std::fmt::Debug for SharedRegs<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRegs")
    }
}

impl<T> SharedRegs<T> {
    /// Shares `device`.
    pub fn new(device: T) -> Self {
        SharedRegs(std::sync::Arc::new(std::sync::Mutex::new(device)))
    }

    /// Runs `f` on the device under its lock (backend controls such as fault
    /// injection; not for register traffic, which goes through [`RegIo`]).
    pub fn with<X>(&self, f: impl FnOnce(&mut T) -> X) -> Result<X, DriverError> {
        let mut g = self.0.lock().map_err(|_| poisoned())?;
        Ok(f(&mut g))
    }
}

fn poisoned() -> DriverError {
    DriverError::Capability("the shared register handle's lock is poisoned".into())
}

impl<T: RegIo> RegIo for SharedRegs<T> {
    fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
        self.0.lock().map_err(|_| poisoned())?.read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
        self.0
            .lock()
            .map_err(|_| poisoned())?
            .write32(offset, value)
    }
    fn read64(&mut self, offset: u32) -> Result<u64, DriverError> {
        self.0.lock().map_err(|_| poisoned())?.read64(offset)
    }
    fn write64(&mut self, offset: u32, value: u64) -> Result<(), DriverError> {
        self.0
            .lock()
            .map_err(|_| poisoned())?
            .write64(offset, value)
    }
}

impl<T: crate::dma::DmaWiring> crate::dma::DmaWiring for SharedRegs<T> {
    fn host_memory(&self) -> crate::dma::IovaTable {
        match self.0.lock() {
            Ok(g) => g.host_memory(),
            Err(p) => p.into_inner().host_memory(),
        }
    }
    fn connect_irq(&mut self, vector: u32, signal: crate::dma::IrqSignal) -> bool {
        match self.0.lock() {
            Ok(mut g) => g.connect_irq(vector, signal),
            Err(_) => false,
        }
    }
}

/// A backend that can reset the card (a reset pulse, a PCI function-level reset).
/// After it, the card is in its reset state: no SAs, counters zero.
pub trait HardReset {
    /// Resets the card.
    fn hard_reset(&mut self) -> Result<(), DriverError>;
}

/// Polls `read` until `done` holds, at most `max_polls` reads; running out is
/// [`DriverError::Timeout`], never a hang.
pub fn poll_until<R: RegIo + ?Sized>(
    io: &mut R,
    offset: u32,
    max_polls: u32,
    what: &'static str,
    mut done: impl FnMut(u32) -> bool,
) -> Result<u32, DriverError> {
    for _ in 0..max_polls {
        let v = io.read32(offset)?;
        if done(v) {
            return Ok(v);
        }
    }
    Err(DriverError::Timeout {
        what,
        polls: max_polls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Regs([u32; 4]);
    impl RegIo for Regs {
        fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
            self.0
                .get(offset as usize / 4)
                .copied()
                .ok_or(DriverError::OutOfBounds {
                    offset: offset.into(),
                    width: 4,
                    len: 16,
                })
        }
        fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
            let slot = self
                .0
                .get_mut(offset as usize / 4)
                .ok_or(DriverError::OutOfBounds {
                    offset: offset.into(),
                    width: 4,
                    len: 16,
                })?;
            *slot = value;
            Ok(())
        }
    }

    #[test]
    fn sixty_four_bit_access_is_low_word_first() {
        let mut r = Regs([0; 4]);
        r.write64(8, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(r.0, [0, 0, 0x5566_7788, 0x1122_3344]);
        assert_eq!(r.read64(8).unwrap(), 0x1122_3344_5566_7788);
        assert!(matches!(r.read64(12), Err(DriverError::OutOfBounds { .. })));
    }

    #[test]
    fn poll_times_out_with_error() {
        let mut r = Regs([0; 4]);
        let e = poll_until(&mut r, 0, 5, "bit", |v| v & 1 == 1).unwrap_err();
        assert!(matches!(e, DriverError::Timeout { polls: 5, .. }), "{e}");
        r.0[0] = 1;
        assert_eq!(poll_until(&mut r, 0, 5, "bit", |v| v & 1 == 1).unwrap(), 1);
    }
}
