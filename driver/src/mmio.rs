//! A bounds-checked MMIO register window over mapped device memory.
//!
//! One of the driver's modules that use `unsafe` (with `dma::mem`, `dma::map` and
//! `vfio`). Device memory is touched only through raw
//! pointers with volatile accesses; no Rust reference to it is ever created (a reference
//! would let the compiler assume the memory does not change under it, which a device
//! does; see rust-embedded/volatile-register issue 10).

#![allow(unsafe_code)]

use std::ptr::NonNull;

use crate::{DriverError, RegIo};

/// A mapped register window (for example a PCI BAR mapped with `mmap`), accessed with
/// bounds- and alignment-checked volatile reads and writes.
#[derive(Debug)]
pub struct MmioRegion {
    base: NonNull<u8>,
    len: usize,
    /// The mapping `base` points into, when this region owns it.
    _map: Option<memmap2::MmapRaw>,
}

// SAFETY: the region is a plain address range; `MmioRegion` is its only user in this
// process (the contract of `MmioRegion::new`), so moving it to another thread moves all
// access with it.
unsafe impl Send for MmioRegion {}

impl MmioRegion {
    /// Wraps `len` bytes of mapped device memory starting at `base`.
    ///
    /// # Safety
    /// `base..base+len` must stay mapped, readable and writable for the lifetime of the
    /// returned value, must not be accessed through Rust references anywhere, and must
    /// tolerate 32-bit volatile accesses at every 4-byte aligned offset in it.
    pub unsafe fn new(base: NonNull<u8>, len: usize) -> Self {
        MmioRegion {
            base,
            len,
            _map: None,
        }
    }

    /// Takes ownership of a raw mapping (for example a BAR mapped from a VFIO device
    /// file with `memmap2::MmapOptions::map_raw`) and uses all of it as the window.
    /// The mapping is only ever accessed through this region's volatile accessors.
    pub fn from_mapping(map: memmap2::MmapRaw) -> Result<Self, DriverError> {
        let len = map.len();
        let base = NonNull::new(map.as_mut_ptr()).ok_or(DriverError::OutOfBounds {
            offset: 0,
            width: 0,
            len,
        })?;
        Ok(MmioRegion {
            base,
            len,
            _map: Some(map),
        })
    }

    /// Size of the window in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the window is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn check(&self, offset: u32, width: usize) -> Result<usize, DriverError> {
        let off = offset as usize;
        if !off.is_multiple_of(width) {
            return Err(DriverError::Misaligned {
                offset: offset.into(),
                width,
            });
        }
        match off.checked_add(width) {
            Some(end) if end <= self.len => Ok(off),
            _ => Err(DriverError::OutOfBounds {
                offset: offset.into(),
                width,
                len: self.len,
            }),
        }
    }
}

impl RegIo for MmioRegion {
    fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
        let off = self.check(offset, 4)?;
        // SAFETY: `off + 4 <= len` and `off` is 4-aligned (checked above); the base is
        // mapped for `len` bytes and volatile 32-bit accesses are allowed (contract of
        // `new`). The page-aligned base makes the pointer 4-aligned.
        Ok(unsafe { self.base.as_ptr().add(off).cast::<u32>().read_volatile() })
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
        let off = self.check(offset, 4)?;
        // SAFETY: as in `read32`: in bounds, aligned, mapped writable (contract of `new`).
        unsafe {
            self.base
                .as_ptr()
                .add(off)
                .cast::<u32>()
                .write_volatile(value)
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_is_bounds_and_alignment_checked() {
        // A page of ordinary memory stands in for a BAR.
        let map = memmap2::MmapRaw::from(memmap2::MmapOptions::new().len(64).map_anon().unwrap());
        let mut r = MmioRegion::from_mapping(map).unwrap();
        r.write32(0, 0xdead_beef).unwrap();
        r.write64(56, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(r.read32(0).unwrap(), 0xdead_beef);
        assert_eq!(r.read32(56).unwrap(), 0x0506_0708);
        assert_eq!(r.read64(56).unwrap(), 0x0102_0304_0506_0708);
        assert!(matches!(r.read32(64), Err(DriverError::OutOfBounds { .. })));
        assert!(matches!(r.read32(62), Err(DriverError::Misaligned { .. })));
        assert!(matches!(
            r.write32(u32::MAX - 3, 0),
            Err(DriverError::OutOfBounds { .. })
        ));
        assert!(matches!(r.read64(60), Err(DriverError::OutOfBounds { .. })));
    }
}
