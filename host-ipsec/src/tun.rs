//! The TUN device with the kernel's offloads: `IFF_VNET_HDR` with TCP
//! segmentation, so one read can carry a 64 KB TCP segment that is split into
//! MTU-sized packets here (GSO), and writes of one flow's packets are coalesced
//! (GRO) into one large packet per system call. Without offload support the
//! device still works one packet at a time. With several workers the device is
//! opened multi-queue (`IFF_MULTI_QUEUE`), one queue per worker.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use tun_rs::{DeviceBuilder, GROTable, SyncDevice, IDEAL_BATCH_SIZE, VIRTIO_NET_HDR_LEN};

/// Largest packet handled after segmentation.
const SEGMENT: usize = 9216 + 256;

/// A TUN device.
pub struct Tun {
    dev: SyncDevice,
    name: String,
}

impl std::fmt::Debug for Tun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tun({})", self.name)
    }
}

impl Tun {
    /// Creates the device `name` (non-blocking, offloads on where the kernel has them).
    pub fn open(name: &str) -> io::Result<Self> {
        Self::open_queues(name, 1)?
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::other("no TUN queue"))
    }

    /// Creates the device `name` with `queues` queues (`IFF_MULTI_QUEUE` when more
    /// than one): the kernel spreads the packets routed into the device over the
    /// queues by flow hash, so each queue can have its own worker. Writes may go to
    /// any queue.
    pub fn open_queues(name: &str, queues: usize) -> io::Result<Vec<Self>> {
        let dev = DeviceBuilder::new()
            .name(name)
            .offload(true)
            .multi_queue(queues > 1)
            .build_sync()?;
        dev.set_nonblocking(true)?;
        let name = dev.name()?;
        let mut v = Vec::with_capacity(queues);
        for _ in 1..queues.max(1) {
            let q = dev.try_clone()?;
            q.set_nonblocking(true)?;
            v.push(Tun {
                dev: q,
                name: name.clone(),
            });
        }
        v.insert(0, Tun { dev, name });
        Ok(v)
    }

    /// Interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file descriptor (for polling).
    pub fn raw_fd(&self) -> RawFd {
        self.dev.as_raw_fd()
    }

    /// True when TCP segmentation offload is on.
    pub fn offload(&self) -> bool {
        self.dev.tcp_gso()
    }
}

/// Reads packets; one read may yield many (a segmented TCP super-packet).
pub struct TunReader {
    original: Vec<u8>,
    bufs: Vec<Vec<u8>>,
    sizes: Vec<usize>,
}

impl std::fmt::Debug for TunReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TunReader")
    }
}

impl Default for TunReader {
    fn default() -> Self {
        TunReader {
            original: vec![0u8; VIRTIO_NET_HDR_LEN + 65535],
            bufs: vec![vec![0u8; SEGMENT]; IDEAL_BATCH_SIZE],
            sizes: vec![0; IDEAL_BATCH_SIZE],
        }
    }
}

impl TunReader {
    /// Reads one frame from the device; returns how many packets it held.
    pub fn read(&mut self, tun: &Tun) -> io::Result<usize> {
        tun.dev
            .recv_multiple(&mut self.original, &mut self.bufs, &mut self.sizes, 0)
    }

    /// Packet `i` of the last read.
    pub fn packet(&self, i: usize) -> &[u8] {
        let n = self.sizes.get(i).copied().unwrap_or(0);
        self.bufs.get(i).and_then(|b| b.get(..n)).unwrap_or(&[])
    }
}

/// Collects packets and writes them with coalescing.
#[derive(Default)]
pub struct TunWriter {
    gro: GROTable,
    bufs: Vec<Vec<u8>>,
    n: usize,
}

impl std::fmt::Debug for TunWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TunWriter({} queued)", self.n)
    }
}

impl TunWriter {
    /// Queues a packet.
    pub fn push(&mut self, pkt: &[u8]) {
        if self.n == self.bufs.len() {
            self.bufs
                .push(Vec::with_capacity(VIRTIO_NET_HDR_LEN + SEGMENT));
        }
        let b = &mut self.bufs[self.n];
        b.clear();
        b.resize(VIRTIO_NET_HDR_LEN, 0);
        b.extend_from_slice(pkt);
        self.n += 1;
    }

    /// Packets queued.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Writes everything queued.
    pub fn flush(&mut self, tun: &Tun) -> io::Result<()> {
        if self.n == 0 {
            return Ok(());
        }
        let n = std::mem::take(&mut self.n);
        tun.dev
            .send_multiple(&mut self.gro, &mut self.bufs[..n], VIRTIO_NET_HDR_LEN)
            .map(|_| ())
    }
}
