//! Host memory the card reaches by DMA: [`DmaRegion`], an anonymous mapping (2 MiB
//! huge pages where the host has them, else 4 KiB pages) touched only through
//! bounds-checked copies, never through Rust references.
#![allow(unsafe_code)]

use std::sync::atomic::{fence, AtomicU64, AtomicU8, Ordering};

use crate::DriverError;

/// Bytes of a huge page (`MAP_HUGETLB` with 2 MiB pages).
pub const HUGE_PAGE_BYTES: usize = 2 << 20;
/// Bytes of a base page.
pub const BASE_PAGE_BYTES: usize = 4096;

/// Which pages back a [`DmaRegion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PageKind {
    /// 2 MiB huge pages (`MAP_HUGETLB`): one IOMMU entry per 2 MiB.
    Huge2M,
    /// 4 KiB pages (no huge pages reserved on the host, or not asked for).
    Base4K,
}

/// Whether to try huge pages for a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HugePages {
    /// Try `MAP_HUGETLB` with 2 MiB pages (length rounded up to 2 MiB); fall back to
    /// 4 KiB pages when the host has none free.
    Try,
    /// 4 KiB pages only.
    Never,
}

/// An anonymous, page-aligned, zero-filled memory region for rings and packet
/// buffers.
///
/// DMA safety contract: the device (or a simulator thread) may read or write the
/// region at any time while it is mapped for it, so the region is only touched
/// through [`read`](Self::read), [`write`](Self::write), [`fill`](Self::fill) and
/// [`read_u8`](Self::read_u8): relaxed atomic accesses (8 bytes at a time where
/// aligned) with fences around them, so concurrent use is never a data race; no
/// plain reference to its bytes is ever handed out. Keep it alive (an `Arc`) for as long as any device mapping of it
/// exists; the mappers in [`super::map`] hold such an `Arc` until they unmap.
pub struct DmaRegion {
    map: memmap2::MmapRaw,
    pages: PageKind,
}

impl std::fmt::Debug for DmaRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmaRegion")
            .field("len", &self.map.len())
            .field("pages", &self.pages)
            .finish()
    }
}

impl DmaRegion {
    /// Allocates at least `len` bytes (rounded up to whole pages), zero-filled.
    pub fn new(len: usize, huge: HugePages) -> Result<Self, DriverError> {
        let len = len.max(1);
        if huge == HugePages::Try {
            let hlen = len.div_ceil(HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
            if let Ok(m) = memmap2::MmapOptions::new()
                .len(hlen)
                .huge(Some(21))
                .map_anon()
            {
                return Ok(DmaRegion {
                    map: memmap2::MmapRaw::from(m),
                    pages: PageKind::Huge2M,
                });
            }
            tracing::debug!(len = hlen, "no 2 MiB huge pages free; using 4 KiB pages");
        }
        let blen = len.div_ceil(BASE_PAGE_BYTES) * BASE_PAGE_BYTES;
        let m = memmap2::MmapOptions::new()
            .len(blen)
            .map_anon()
            .map_err(|e| DriverError::io(format!("allocating a {blen}-byte DMA region"), e))?;
        Ok(DmaRegion {
            map: memmap2::MmapRaw::from(m),
            pages: PageKind::Base4K,
        })
    }

    /// Length in bytes (a whole number of pages).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the region is empty (never, for a constructed region).
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// Which pages back the region.
    pub fn pages(&self) -> PageKind {
        self.pages
    }

    /// The region's host virtual address (for an IOMMU mapping; never dereferenced
    /// outside this type).
    pub fn host_addr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
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

    /// Copies `data` into the region at `offset`. The copy is complete (release
    /// fence) before any later store, such as a doorbell write, is seen.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), DriverError> {
        self.check(offset, data.len())?;
        let base = self.map.as_mut_ptr();
        let mut i = 0;
        while i < data.len() {
            // SAFETY: `offset + i < len` (checked above) and the mapping lives as long
            // as `self`; the region is only accessed atomically (never through a plain
            // reference), so these accesses race with nothing; the 8-byte store is
            // made only at an 8-byte aligned address with 8 bytes left.
            unsafe {
                let at = base.add(offset + i);
                if (at as usize).is_multiple_of(8) && i + 8 <= data.len() {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&data[i..i + 8]);
                    AtomicU64::from_ptr(at.cast()).store(u64::from_ne_bytes(w), Ordering::Relaxed);
                    i += 8;
                } else {
                    AtomicU8::from_ptr(at).store(data[i], Ordering::Relaxed);
                    i += 1;
                }
            }
        }
        fence(Ordering::Release);
        Ok(())
    }

    /// Copies bytes from the region at `offset` into `out` (after an acquire fence,
    /// so a record seen complete by its phase bit is read whole).
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), DriverError> {
        self.check(offset, out.len())?;
        fence(Ordering::Acquire);
        let base = self.map.as_mut_ptr();
        let n = out.len();
        let mut i = 0;
        while i < n {
            // SAFETY: as in `write`: in bounds, mapped, accessed only atomically, the
            // 8-byte load only at an aligned address with 8 bytes left.
            unsafe {
                let at = base.add(offset + i);
                if (at as usize).is_multiple_of(8) && i + 8 <= n {
                    let w = AtomicU64::from_ptr(at.cast()).load(Ordering::Relaxed);
                    out[i..i + 8].copy_from_slice(&w.to_ne_bytes());
                    i += 8;
                } else {
                    out[i] = AtomicU8::from_ptr(at).load(Ordering::Relaxed);
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Reads one byte with an acquire load (for a flag byte the device may be
    /// writing right now).
    pub fn read_u8(&self, offset: usize) -> Result<u8, DriverError> {
        self.check(offset, 1)?;
        // SAFETY: in bounds (checked above), mapped for the lifetime of `self`, only
        // ever accessed atomically.
        let b = unsafe { AtomicU8::from_ptr(self.map.as_mut_ptr().add(offset)) }
            .load(Ordering::Acquire);
        Ok(b)
    }

    /// Sets `n` bytes from `offset` to `value`.
    pub fn fill(&self, offset: usize, n: usize, value: u8) -> Result<(), DriverError> {
        self.check(offset, n)?;
        for i in 0..n {
            // SAFETY: in bounds (checked above), mapped for the lifetime of `self`,
            // only ever accessed atomically.
            unsafe { AtomicU8::from_ptr(self.map.as_mut_ptr().add(offset + i)) }
                .store(value, Ordering::Relaxed);
        }
        fence(Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_is_page_rounded_zeroed_and_bounds_checked() {
        for huge in [HugePages::Never, HugePages::Try] {
            let r = DmaRegion::new(5000, huge).unwrap();
            let page = match r.pages() {
                PageKind::Huge2M => HUGE_PAGE_BYTES,
                PageKind::Base4K => BASE_PAGE_BYTES,
            };
            assert_eq!(r.len() % page, 0);
            assert!(r.len() >= 5000);
            assert_eq!(r.host_addr() as usize % page, 0, "page aligned");
            if huge == HugePages::Never {
                assert_eq!(r.pages(), PageKind::Base4K);
            }
            let mut b = [0xffu8; 16];
            r.read(r.len() - 16, &mut b).unwrap();
            assert_eq!(b, [0; 16]);
            r.write(100, b"abcdef").unwrap();
            let mut c = [0u8; 6];
            r.read(100, &mut c).unwrap();
            assert_eq!(&c, b"abcdef");
            assert_eq!(r.read_u8(101).unwrap(), b'b');
            r.fill(100, 3, 0).unwrap();
            r.read(100, &mut c).unwrap();
            assert_eq!(&c, b"\0\0\0def");
            assert!(matches!(
                r.write(r.len() - 2, b"abc"),
                Err(DriverError::OutOfBounds { .. })
            ));
            assert!(r.read(usize::MAX, &mut c).is_err());
            assert!(r.read_u8(r.len()).is_err());
            assert!(r.fill(r.len(), 1, 0).is_err());
        }
    }
}
