//! Mapping host memory for the device: the [`DmaMapper`] trait (driver side: give a
//! region an I/O virtual address), the [`HostMemory`] trait (device side: read and
//! write host bytes by IOVA), and two implementations: [`IovaTable`] (an in-process
//! IOMMU: the model card, and any simulator, reach host memory through it) and
//! [`VfioMapper`] (`VFIO_IOMMU_MAP_DMA` through a VFIO container).
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::mem::{DmaRegion, HUGE_PAGE_BYTES};
use crate::DriverError;

/// Gives host memory an I/O virtual address the device can use.
pub trait DmaMapper {
    /// Maps all of `region` for the device and returns the IOVA of its byte 0
    /// (aligned to at least 4 KiB). The mapper keeps `region` alive until
    /// [`unmap`](Self::unmap).
    fn map(&mut self, region: &Arc<DmaRegion>) -> Result<u64, DriverError>;
    /// Removes the mapping that starts at `iova`.
    fn unmap(&mut self, iova: u64) -> Result<(), DriverError>;
}

/// A bus access the device could not make (no mapping covers the range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusError {
    /// First IOVA of the access.
    pub iova: u64,
    /// Bytes of the access.
    pub len: usize,
}

/// The device's view of host memory: what a bus master reaches by IOVA.
pub trait HostMemory {
    /// Reads `out.len()` bytes at `iova`.
    fn read(&self, iova: u64, out: &mut [u8]) -> Result<(), BusError>;
    /// Writes `data` at `iova`.
    fn write(&self, iova: u64, data: &[u8]) -> Result<(), BusError>;
}

#[derive(Debug, Default)]
struct Table {
    regions: BTreeMap<u64, Arc<DmaRegion>>,
    next: u64,
}

/// An in-process IOMMU: a table of mapped regions by IOVA. Clones share the table,
/// so the driver maps through one clone ([`DmaMapper`]) and the device reads and
/// writes through another ([`HostMemory`]).
///
/// IOVAs are handed out from `2^32` upwards (so the high halves of the base
/// registers are exercised), each region on a 2 MiB boundary with a 2 MiB unmapped
/// gap after it (an access running past a region is a bus error, not another
/// region's bytes).
#[derive(Debug, Clone)]
pub struct IovaTable(Arc<Mutex<Table>>);

/// First IOVA [`IovaTable`] hands out.
pub const MODEL_IOVA_BASE: u64 = 1 << 32;

impl Default for IovaTable {
    fn default() -> Self {
        IovaTable(Arc::new(Mutex::new(Table {
            regions: BTreeMap::new(),
            next: MODEL_IOVA_BASE,
        })))
    }
}

impl IovaTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The region and offset holding `iova..iova+len`, if one mapping covers it
    /// whole: the safe way for a device model or simulator to reach host bytes.
    pub fn resolve(&self, iova: u64, len: usize) -> Option<(Arc<DmaRegion>, usize)> {
        let t = self.lock();
        let (&base, r) = t.regions.range(..=iova).next_back()?;
        let off = usize::try_from(iova - base).ok()?;
        (off.checked_add(len)? <= r.len()).then(|| (r.clone(), off))
    }

    /// Number of regions mapped.
    pub fn mapped(&self) -> usize {
        self.lock().regions.len()
    }
}

impl DmaMapper for IovaTable {
    fn map(&mut self, region: &Arc<DmaRegion>) -> Result<u64, DriverError> {
        let mut t = self.lock();
        let iova = t.next;
        let span = region.len().div_ceil(HUGE_PAGE_BYTES) as u64 * HUGE_PAGE_BYTES as u64;
        t.next = iova + span + HUGE_PAGE_BYTES as u64;
        t.regions.insert(iova, region.clone());
        Ok(iova)
    }

    fn unmap(&mut self, iova: u64) -> Result<(), DriverError> {
        match self.lock().regions.remove(&iova) {
            Some(_) => Ok(()),
            None => Err(DriverError::BadResult {
                what: format!("unmap of IOVA {iova:#x}: not mapped"),
            }),
        }
    }
}

impl HostMemory for IovaTable {
    fn read(&self, iova: u64, out: &mut [u8]) -> Result<(), BusError> {
        let err = BusError {
            iova,
            len: out.len(),
        };
        let (r, off) = self.resolve(iova, out.len()).ok_or(err)?;
        r.read(off, out).map_err(|_| err)
    }

    fn write(&self, iova: u64, data: &[u8]) -> Result<(), BusError> {
        let err = BusError {
            iova,
            len: data.len(),
        };
        let (r, off) = self.resolve(iova, data.len()).ok_or(err)?;
        r.write(off, data).map_err(|_| err)
    }
}

/// Maps regions into a VFIO container's IOMMU (`VFIO_IOMMU_MAP_DMA`) at IOVAs it
/// hands out from `base` upwards (2 MiB aligned). Unmaps everything still mapped
/// when dropped.
pub struct VfioMapper {
    container: Arc<vfio_ioctls::VfioContainer>,
    next: u64,
    regions: BTreeMap<u64, Arc<DmaRegion>>,
}

impl std::fmt::Debug for VfioMapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VfioMapper")
            .field("next", &format_args!("{:#x}", self.next))
            .field("mapped", &self.regions.len())
            .finish()
    }
}

impl VfioMapper {
    /// A mapper over `container`, handing out IOVAs from `base` (rounded up to 2 MiB).
    pub fn new(container: Arc<vfio_ioctls::VfioContainer>, base: u64) -> Self {
        let h = HUGE_PAGE_BYTES as u64;
        VfioMapper {
            container,
            next: base.div_ceil(h) * h,
            regions: BTreeMap::new(),
        }
    }
}

impl DmaMapper for VfioMapper {
    fn map(&mut self, region: &Arc<DmaRegion>) -> Result<u64, DriverError> {
        let iova = self.next;
        let len = region.len();
        // SAFETY: `region` is page aligned and `len` bytes long; this mapper keeps an
        // `Arc` to it until the IOMMU mapping is removed (`unmap` or drop), so the
        // memory the device may reach is never given back while mapped, and the
        // region is only touched through its raw-pointer copies.
        unsafe { self.container.vfio_dma_map(iova, len, region.host_addr()) }
            .map_err(|e| DriverError::vfio(format!("mapping {len} bytes at IOVA {iova:#x}"), e))?;
        let h = HUGE_PAGE_BYTES as u64;
        self.next = iova + (len as u64).div_ceil(h) * h;
        self.regions.insert(iova, region.clone());
        Ok(iova)
    }

    fn unmap(&mut self, iova: u64) -> Result<(), DriverError> {
        let Some(r) = self.regions.get(&iova) else {
            return Err(DriverError::BadResult {
                what: format!("unmap of IOVA {iova:#x}: not mapped"),
            });
        };
        self.container
            .vfio_dma_unmap(iova, r.len())
            .map_err(|e| DriverError::vfio(format!("unmapping IOVA {iova:#x}"), e))?;
        self.regions.remove(&iova);
        Ok(())
    }
}

impl Drop for VfioMapper {
    fn drop(&mut self) {
        let iovas: Vec<u64> = self.regions.keys().copied().collect();
        for iova in iovas {
            if let Err(e) = self.unmap(iova) {
                // The device may still reach the region: keep it allocated.
                tracing::error!(iova, error = %e, "DMA unmap failed; leaking the region");
                if let Some(r) = self.regions.remove(&iova) {
                    std::mem::forget(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dma::mem::HugePages;

    #[test]
    fn iova_table_maps_resolves_and_refuses_unmapped_ranges() {
        let mut t = IovaTable::new();
        let a = Arc::new(DmaRegion::new(8192, HugePages::Never).unwrap());
        let b = Arc::new(DmaRegion::new(4096, HugePages::Never).unwrap());
        let ia = t.map(&a).unwrap();
        let ib = t.map(&b).unwrap();
        assert_eq!(ia, MODEL_IOVA_BASE);
        assert!(ib >= ia + a.len() as u64 + HUGE_PAGE_BYTES as u64);
        assert_eq!(ib % HUGE_PAGE_BYTES as u64, 0);
        let dev = t.clone();
        dev.write(ia + 8190, b"host bytes").unwrap_err(); // runs past the region
        dev.write(ia + 4000, b"host bytes").unwrap();
        let mut out = [0u8; 10];
        a.read(4000, &mut out).unwrap();
        assert_eq!(&out, b"host bytes");
        b.write(0, b"second").unwrap();
        let mut o6 = [0u8; 6];
        dev.read(ib, &mut o6).unwrap();
        assert_eq!(&o6, b"second");
        assert_eq!(
            dev.read(ia - 1, &mut o6),
            Err(BusError {
                iova: ia - 1,
                len: 6
            })
        );
        assert!(dev.read(ib + 4096, &mut o6).is_err());
        assert_eq!(t.mapped(), 2);
        t.unmap(ia).unwrap();
        assert!(dev.read(ia + 4000, &mut out).is_err());
        assert!(t.unmap(ia).is_err());
        assert_eq!(t.mapped(), 1);
    }
}
