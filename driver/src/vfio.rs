//! The VFIO backend: a PCI device bound to `vfio-pci`, its BAR0 as a [`RegIo`] window,
//! DMA buffers mapped through the container's IOMMU domain, and the device's MSI-X (or
//! MSI) vectors delivered to one eventfd each ([`VfioCard::enable_irqs`],
//! [`IrqEvent`](crate::dma::IrqEvent)).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_INFO_EVENTFD, VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
    VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_REGION_INFO_FLAG_MMAP,
};
use vfio_ioctls::{VfioContainer, VfioDevice, VfioError, VfioOps};

use crate::dma::IrqEvent;
use crate::dma::VfioMapper;
use crate::mmio::MmioRegion;
use crate::{DriverError, HardReset, RegIo};

/// The VFIO container node; its absence means "no VFIO on this host".
pub const VFIO_CONTAINER_PATH: &str = "/dev/vfio/vfio";

/// PCI command register offset in configuration space and its bus-master bit
/// (PCI Local Bus Specification 3.0, section 6.2.2).
const PCI_COMMAND: u64 = 0x04;
const PCI_COMMAND_MEMORY: u16 = 1 << 1;
const PCI_COMMAND_BUS_MASTER: u16 = 1 << 2;

/// Turns a PCI address (`0000:00:03.0` or `00:03.0`) or a sysfs device path into the
/// sysfs path VFIO wants.
pub fn sysfs_path(device: &str) -> PathBuf {
    if device.starts_with('/') {
        PathBuf::from(device)
    } else if device.matches(':').count() == 1 {
        Path::new("/sys/bus/pci/devices").join(format!("0000:{device}"))
    } else {
        Path::new("/sys/bus/pci/devices").join(device)
    }
}

/// The PCI interrupt mechanism a set of vectors uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IrqKind {
    /// MSI-X (PCI Local Bus 3.0, section 6.8.2): the preferred kind, up to 2048 vectors.
    MsiX,
    /// MSI (section 6.8.1): the fallback, up to 32 vectors.
    Msi,
}

impl IrqKind {
    /// The VFIO interrupt index of this kind on a PCI device.
    pub fn vfio_index(self) -> u32 {
        match self {
            IrqKind::MsiX => VFIO_PCI_MSIX_IRQ_INDEX,
            IrqKind::Msi => VFIO_PCI_MSI_IRQ_INDEX,
        }
    }
}

impl std::fmt::Display for IrqKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IrqKind::MsiX => "MSI-X",
            IrqKind::Msi => "MSI",
        })
    }
}

/// Picks the interrupt kind for `wanted` vectors given how many vectors the device
/// offers as MSI-X and as MSI (0 where it has none, or where VFIO cannot signal that
/// kind through an eventfd): MSI-X when it has enough, else MSI when it has enough.
/// The error says what the device has.
pub fn choose_irq_kind(wanted: u32, msix: u32, msi: u32) -> Result<IrqKind, String> {
    if wanted == 0 {
        return Err("asked for 0 interrupt vectors".into());
    }
    if msix >= wanted {
        Ok(IrqKind::MsiX)
    } else if msi >= wanted {
        Ok(IrqKind::Msi)
    } else {
        Err(format!(
            "{wanted} interrupt vectors wanted, the device offers {msix} MSI-X and {msi} MSI"
        ))
    }
}

/// A PCI device opened through VFIO (container, group, device) with BAR0 mapped.
///
/// Field order matters: `bar0` (which owns the BAR mapping) is dropped before `device`
/// and `container`.
pub struct VfioCard {
    bar0: MmioRegion,
    device: VfioDevice,
    container: Arc<VfioContainer>,
    name: String,
    /// The interrupt kind currently routed to eventfds, if any.
    irqs: Option<IrqKind>,
}

impl std::fmt::Debug for VfioCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VfioCard")
            .field("device", &self.name)
            .field("bar0_len", &self.bar0.len())
            .field("irqs", &self.irqs)
            .finish()
    }
}

fn no_vfio(source: std::io::Error) -> DriverError {
    DriverError::NoVfio {
        path: PathBuf::from(VFIO_CONTAINER_PATH),
        source,
    }
}

impl VfioCard {
    /// Opens `device` (PCI address or sysfs path): checks for VFIO, opens the container,
    /// the device's IOMMU group and the device, maps BAR0 and enables memory decoding
    /// and bus mastering.
    ///
    /// Without `/dev/vfio/vfio` this returns [`DriverError::NoVfio`].
    pub fn open(device: &str) -> Result<Self, DriverError> {
        Self::open_with_container_path(device, Path::new(VFIO_CONTAINER_PATH))
    }

    fn open_with_container_path(device: &str, container_path: &Path) -> Result<Self, DriverError> {
        // Checked first so that "no VFIO here" is recognisable before any other error.
        if let Err(e) = std::fs::metadata(container_path) {
            return Err(DriverError::NoVfio {
                path: container_path.to_path_buf(),
                source: e,
            });
        }
        let sysfs = sysfs_path(device);
        if !sysfs.exists() {
            return Err(DriverError::BadDevice {
                device: device.to_owned(),
                reason: format!("{} does not exist", sysfs.display()),
            });
        }
        let group_link = sysfs.join("iommu_group");
        if !group_link.exists() {
            return Err(DriverError::BadDevice {
                device: device.to_owned(),
                reason: "no IOMMU group (is the IOMMU enabled, e.g. intel_iommu=on?)".into(),
            });
        }
        let container = match VfioContainer::new(None) {
            Ok(c) => Arc::new(c),
            Err(VfioError::OpenContainer(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(no_vfio(e))
            }
            Err(e) => return Err(DriverError::vfio("opening the VFIO container", e)),
        };
        let ops: Arc<dyn VfioOps> = container.clone();
        let dev = VfioDevice::new(&sysfs, ops, false).map_err(|e| {
            DriverError::vfio(
                format!(
                    "opening {} through its IOMMU group (is it bound to vfio-pci?)",
                    sysfs.display()
                ),
                e,
            )
        })?;

        let flags = dev.get_region_flags(VFIO_PCI_BAR0_REGION_INDEX);
        let size = dev.get_region_size(VFIO_PCI_BAR0_REGION_INDEX);
        let offset = dev.get_region_offset(VFIO_PCI_BAR0_REGION_INDEX);
        if size == 0 || flags & VFIO_REGION_INFO_FLAG_MMAP == 0 {
            return Err(DriverError::BadDevice {
                device: device.to_owned(),
                reason: format!("BAR0 is not mappable (size {size:#x}, flags {flags:#x})"),
            });
        }
        let len = usize::try_from(size).map_err(|_| DriverError::BadDevice {
            device: device.to_owned(),
            reason: format!("BAR0 size {size:#x} does not fit in memory"),
        })?;
        let map = memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map_raw(&dev)
            .map_err(|e| DriverError::io(format!("mapping BAR0 of {}", sysfs.display()), e))?;
        let bar0 = MmioRegion::from_mapping(map)?;

        let card = VfioCard {
            bar0,
            device: dev,
            container,
            name: sysfs.display().to_string(),
            irqs: None,
        };
        card.set_command_bits(PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
        Ok(card)
    }

    fn set_command_bits(&self, bits: u16) {
        let mut cmd = [0u8; 2];
        self.device
            .region_read(VFIO_PCI_CONFIG_REGION_INDEX, &mut cmd, PCI_COMMAND);
        let v = u16::from_le_bytes(cmd) | bits;
        self.device
            .region_write(VFIO_PCI_CONFIG_REGION_INDEX, &v.to_le_bytes(), PCI_COMMAND);
    }

    /// The sysfs path of the device.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Size of BAR0 in bytes.
    pub fn bar0_len(&self) -> usize {
        self.bar0.len()
    }

    /// A mapper that gives host memory ([`crate::dma::DmaRegion`]) I/O virtual
    /// addresses in this device's IOMMU domain, from `base` (rounded up to 2 MiB)
    /// upwards; what it mapped is unmapped when it is dropped.
    pub fn dma_mapper(&self, base: u64) -> VfioMapper {
        VfioMapper::new(self.container.clone(), base)
    }

    /// Issues a function-level reset through VFIO (if the device supports one).
    pub fn device_reset(&self) {
        self.device.reset();
    }

    /// How many vectors VFIO can deliver to eventfds for `kind` (0 if the device lacks
    /// that capability).
    pub fn irq_count(&self, kind: IrqKind) -> u32 {
        match self.device.get_irq_info(kind.vfio_index()) {
            Some(info) if info.flags & VFIO_IRQ_INFO_EVENTFD != 0 => info.count,
            _ => 0,
        }
    }

    /// The interrupt kind currently routed to eventfds, if any.
    pub fn irq_kind(&self) -> Option<IrqKind> {
        self.irqs
    }

    /// Routes the device's first `count` interrupt vectors to one eventfd each
    /// (`VFIO_DEVICE_SET_IRQS` with `DATA_EVENTFD | ACTION_TRIGGER`), MSI-X if the
    /// device has enough MSI-X vectors, else MSI. Vectors enabled earlier are disabled
    /// first. Element `i` of the result is vector `i`.
    pub fn enable_irqs(&mut self, count: u32) -> Result<Vec<IrqEvent>, DriverError> {
        let kind = choose_irq_kind(
            count,
            self.irq_count(IrqKind::MsiX),
            self.irq_count(IrqKind::Msi),
        )
        .map_err(|reason| DriverError::BadDevice {
            device: self.name.clone(),
            reason,
        })?;
        self.disable_irqs()?;
        let events = (0..count)
            .map(IrqEvent::new)
            .collect::<Result<Vec<_>, _>>()?;
        self.device
            .enable_irq(
                kind.vfio_index(),
                events.iter().map(IrqEvent::eventfd).collect(),
            )
            .map_err(|e| {
                DriverError::vfio(format!("routing {count} {kind} vector(s) to eventfds"), e)
            })?;
        self.irqs = Some(kind);
        tracing::debug!(device = %self.name, %kind, count, "interrupts routed to eventfds");
        Ok(events)
    }

    /// Asks VFIO itself to signal vector `vector` of the enabled kind
    /// (`VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER`): the kernel writes that
    /// vector's eventfd as if the device had interrupted. A loopback check of the
    /// vector-to-eventfd routing that needs nothing from the device.
    pub fn trigger_irq(&self, vector: u32) -> Result<(), DriverError> {
        let kind = self.irqs.ok_or_else(|| DriverError::BadDevice {
            device: self.name.clone(),
            reason: "no interrupt vectors are enabled".into(),
        })?;
        self.device
            .trigger_irq(kind.vfio_index(), vector)
            .map_err(|e| DriverError::vfio(format!("triggering {kind} vector {vector}"), e))
    }

    /// Stops delivering interrupts to the eventfds given out by
    /// [`VfioCard::enable_irqs`] (the device's MSI-X or MSI is disabled). Does nothing
    /// if none are enabled.
    pub fn disable_irqs(&mut self) -> Result<(), DriverError> {
        if let Some(kind) = self.irqs {
            self.device
                .disable_irq(kind.vfio_index())
                .map_err(|e| DriverError::vfio(format!("disabling {kind} vectors"), e))?;
            self.irqs = None;
        }
        Ok(())
    }
}

impl RegIo for VfioCard {
    fn read32(&mut self, offset: u32) -> Result<u32, DriverError> {
        self.bar0.read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), DriverError> {
        self.bar0.write32(offset, value)
    }
}

impl HardReset for VfioCard {
    fn hard_reset(&mut self) -> Result<(), DriverError> {
        // A function reset clears the device's MSI/MSI-X enables behind VFIO's back:
        // release the vectors first so that `enable_irqs` starts afresh afterwards.
        self.disable_irqs()?;
        self.device_reset();
        self.set_command_bits(PCI_COMMAND_MEMORY | PCI_COMMAND_BUS_MASTER);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_addresses_become_sysfs_paths() {
        assert_eq!(
            sysfs_path("0000:00:03.0"),
            Path::new("/sys/bus/pci/devices/0000:00:03.0")
        );
        assert_eq!(
            sysfs_path("00:03.0"),
            Path::new("/sys/bus/pci/devices/0000:00:03.0")
        );
        assert_eq!(sysfs_path("/sys/x/y"), Path::new("/sys/x/y"));
    }

    #[test]
    fn msix_is_preferred_and_msi_is_the_fallback() {
        assert_eq!(choose_irq_kind(4, 8, 1), Ok(IrqKind::MsiX));
        assert_eq!(choose_irq_kind(4, 4, 32), Ok(IrqKind::MsiX));
        // QEMU's edu device: MSI with one vector, no MSI-X.
        assert_eq!(choose_irq_kind(1, 0, 1), Ok(IrqKind::Msi));
        assert_eq!(choose_irq_kind(4, 2, 4), Ok(IrqKind::Msi));
        let e = choose_irq_kind(4, 2, 1).unwrap_err();
        assert!(e.contains("2 MSI-X") && e.contains("1 MSI"), "{e}");
        assert!(choose_irq_kind(1, 0, 0).is_err());
        assert!(choose_irq_kind(0, 8, 8).is_err());
        assert_eq!(IrqKind::MsiX.vfio_index(), VFIO_PCI_MSIX_IRQ_INDEX);
        assert_eq!(IrqKind::Msi.vfio_index(), VFIO_PCI_MSI_IRQ_INDEX);
    }

    #[test]
    fn missing_container_is_the_distinct_no_vfio_error() {
        let e =
            VfioCard::open_with_container_path("0000:00:03.0", Path::new("/nonexistent/vfio/vfio"))
                .unwrap_err();
        assert!(matches!(e, DriverError::NoVfio { .. }), "{e}");
    }

    #[test]
    fn this_host_reports_no_vfio_when_it_has_none() {
        // On a host with VFIO this checks that a bogus device is refused instead.
        let e = VfioCard::open("0000:ff:1f.7").unwrap_err();
        if Path::new(VFIO_CONTAINER_PATH).exists() {
            assert!(matches!(e, DriverError::BadDevice { .. }), "{e}");
        } else {
            assert!(matches!(e, DriverError::NoVfio { .. }), "{e}");
            assert!(e.to_string().contains("/dev/vfio/vfio"));
        }
    }
}
