//! VFIO plumbing check against QEMU's `edu` PCI device, run inside a QEMU guest by
//! `scripts/vfio-qemu-test.sh` (static binary, PID 1's child, output on the console).
//!
//! Opens container, group and device through [`driver::vfio::VfioCard`], reads the edu
//! identity register through the [`driver::RegIo`] trait, checks the liveness register
//! and does a DMA round trip (host buffer -> device -> another host buffer region)
//! through the emulated IOMMU. Prints `VFIO-EDU-CHECK: PASS` or `VFIO-EDU-CHECK: FAIL`.
//!
//! edu register map (QEMU docs/specs/edu.rst): 0x00 identification `0xRRrr00ed`,
//! 0x04 liveness (reads back the bitwise inverse of what was written), 0x80 DMA source,
//! 0x88 DMA destination, 0x90 DMA count, 0x98 DMA command (bit 0 start/busy, bit 1
//! direction: 1 = device to RAM). The device's internal buffer is at 0x40000 (4 KiB).

use anyhow::{bail, ensure, Context, Result};
use driver::vfio::VfioCard;
use driver::{poll_until, RegIo};

const EDU_ID: u32 = 0x00;
const EDU_LIVENESS: u32 = 0x04;
const EDU_DMA_SRC: u32 = 0x80;
const EDU_DMA_DST: u32 = 0x88;
const EDU_DMA_CNT: u32 = 0x90;
const EDU_DMA_CMD: u32 = 0x98;
const EDU_DMA_START: u32 = 1;
const EDU_DMA_TO_RAM: u32 = 2;
const EDU_BUFFER: u64 = 0x40000;
/// Well inside edu's 28-bit DMA mask.
const IOVA: u64 = 0x10_0000;
const LEN: usize = 256;
const BACK_OFFSET: usize = 2048;

/// Reads the identity through the generic trait, exactly as `Card::probe` does.
fn identity<R: RegIo>(regs: &mut R) -> Result<u32> {
    Ok(regs.read32(EDU_ID)?)
}

fn dma<R: RegIo>(regs: &mut R, src: u64, dst: u64, len: usize, to_ram: bool) -> Result<()> {
    regs.write64(EDU_DMA_SRC, src)?;
    regs.write64(EDU_DMA_DST, dst)?;
    regs.write64(EDU_DMA_CNT, len as u64)?;
    let cmd = EDU_DMA_START | if to_ram { EDU_DMA_TO_RAM } else { 0 };
    regs.write32(EDU_DMA_CMD, cmd)?;
    // edu completes a DMA from a 100 ms timer; each poll is a BAR read (microseconds
    // under TCG), so this bound is several seconds.
    poll_until(regs, EDU_DMA_CMD, 5_000_000, "edu DMA completion", |v| {
        v & EDU_DMA_START == 0
    })?;
    Ok(())
}

fn run(device: &str) -> Result<()> {
    let mut card = VfioCard::open(device).with_context(|| format!("opening {device}"))?;
    println!(
        "VFIO-EDU: container, group and device open; BAR0 mapped ({} bytes)",
        card.bar0_len()
    );
    let id = identity(&mut card)?;
    println!("VFIO-EDU: identity register {id:#010x}");
    ensure!(
        id & 0xff == 0xed,
        "edu identity low byte is not 0xed: {id:#010x}"
    );

    card.write32(EDU_LIVENESS, 0x1234_5678)?;
    let live = card.read32(EDU_LIVENESS)?;
    ensure!(live == !0x1234_5678u32, "liveness read back {live:#010x}");
    println!("VFIO-EDU: liveness ok");

    let buf = card.dma_buffer(IOVA, 4096)?;
    let pattern: Vec<u8> = (0..LEN).map(|i| (i as u8).wrapping_mul(7) ^ 0x5a).collect();
    buf.write(0, &pattern)?;
    buf.write(BACK_OFFSET, &[0u8; LEN])?;
    dma(&mut card, IOVA, EDU_BUFFER, LEN, false).context("DMA RAM -> edu")?;
    dma(&mut card, EDU_BUFFER, IOVA + BACK_OFFSET as u64, LEN, true).context("DMA edu -> RAM")?;
    let mut back = vec![0u8; LEN];
    buf.read(BACK_OFFSET, &mut back)?;
    if back != pattern {
        bail!("DMA round trip returned different bytes");
    }
    println!("VFIO-EDU: DMA round trip of {LEN} bytes through IOVA {IOVA:#x} ok");
    Ok(())
}

fn main() {
    let device = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "0000:00:03.0".into());
    match run(&device) {
        Ok(()) => println!("VFIO-EDU-CHECK: PASS"),
        Err(e) => {
            println!("VFIO-EDU-CHECK: FAIL: {e:#}");
            std::process::exit(1);
        }
    }
}
