//! Memory shared with a device: a bounds-checked MMIO register window and DMA buffers.
//!
//! This is the only module that uses `unsafe`. Device memory is touched only through raw
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

/// An anonymous memory buffer that a device reads and writes by DMA, mapped into the
/// IOMMU through a VFIO container at a fixed I/O virtual address.
///
/// DMA safety contract: the device may change the buffer at any time while it is
/// mapped, so the buffer is only read and written through [`DmaBuffer::read`] and
/// [`DmaBuffer::write`] (volatile byte copies); no reference to its memory is handed out.
/// The IOMMU mapping is removed before the memory is unmapped (on drop).
pub struct DmaBuffer {
    map: std::mem::ManuallyDrop<memmap2::MmapRaw>,
    iova: u64,
    container: std::sync::Arc<vfio_ioctls::VfioContainer>,
}

impl std::fmt::Debug for DmaBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmaBuffer")
            .field("iova", &format_args!("{:#x}", self.iova))
            .field("len", &self.map.len())
            .finish()
    }
}

impl DmaBuffer {
    /// Allocates `len` bytes (rounded up to whole pages) and maps them for device access
    /// at `iova` through `container`.
    pub fn new(
        container: std::sync::Arc<vfio_ioctls::VfioContainer>,
        iova: u64,
        len: usize,
    ) -> Result<Self, DriverError> {
        let len = len.max(1).div_ceil(4096) * 4096;
        let anon = memmap2::MmapOptions::new()
            .len(len)
            .map_anon()
            .map_err(|e| DriverError::io(format!("allocating a {len}-byte DMA buffer"), e))?;
        let map = memmap2::MmapRaw::from(anon);
        // SAFETY: the range `map.as_mut_ptr()..+len` is owned by this `DmaBuffer` and is
        // only ever accessed through volatile raw-pointer copies (`read`/`write`); it is
        // unmapped from the IOMMU in `drop` before `map` itself is unmapped.
        unsafe { container.vfio_dma_map(iova, len, map.as_mut_ptr()) }
            .map_err(|e| DriverError::vfio(format!("mapping {len} bytes at IOVA {iova:#x}"), e))?;
        Ok(DmaBuffer {
            map: std::mem::ManuallyDrop::new(map),
            iova,
            container,
        })
    }

    /// The I/O virtual address the device uses for byte 0 of the buffer.
    pub fn iova(&self) -> u64 {
        self.iova
    }

    /// Length of the buffer in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the buffer is empty (never, for a constructed buffer).
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    fn check(&self, offset: usize, n: usize) -> Result<(), DriverError> {
        match offset.checked_add(n) {
            Some(end) if end <= self.map.len() => Ok(()),
            _ => Err(DriverError::OutOfBounds {
                offset: offset as u64,
                width: n,
                len: self.map.len(),
            }),
        }
    }

    /// Copies `data` into the buffer at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), DriverError> {
        self.check(offset, data.len())?;
        let base = self.map.as_mut_ptr();
        for (i, b) in data.iter().enumerate() {
            // SAFETY: `offset + i < len` (checked above); the mapping lives as long as
            // `self`; volatile access is the only kind allowed on DMA memory.
            unsafe { base.add(offset + i).write_volatile(*b) };
        }
        Ok(())
    }

    /// Copies bytes from the buffer at `offset` into `out`.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), DriverError> {
        self.check(offset, out.len())?;
        let base = self.map.as_mut_ptr();
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: as in `write`: in bounds, mapped, volatile.
            *b = unsafe { base.add(offset + i).read_volatile() };
        }
        Ok(())
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        match self.container.vfio_dma_unmap(self.iova, self.map.len()) {
            // SAFETY: the device can no longer reach the memory (IOMMU mapping removed)
            // and `self.map` is not used after this point.
            Ok(()) => unsafe { std::mem::ManuallyDrop::drop(&mut self.map) },
            // The device may still reach this memory: leave it mapped rather than give
            // it back to the allocator.
            Err(e) => {
                tracing::error!(iova = self.iova, error = %e, "DMA unmap failed; leaking the buffer")
            }
        }
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
