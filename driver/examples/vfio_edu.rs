//! VFIO plumbing check against QEMU's `edu` PCI device, run inside a QEMU guest by
//! `scripts/vfio-qemu-test.sh` (static binary, PID 1's child, output on the console).
//!
//! Opens container, group and device through [`driver::vfio::VfioCard`], reads the edu
//! identity register through the [`driver::RegIo`] trait, checks the liveness register
//! and does a DMA round trip (host buffer -> device -> another host buffer region)
//! through the emulated IOMMU, completion polled. Then routes edu's interrupt to an
//! eventfd (`VfioCard::enable_irqs`: MSI-X if present, else MSI, which is what edu
//! has), checks that nothing is pending and that a wait without an interrupt ends in a
//! timeout error, raises an interrupt through edu's raise register and waits for it on
//! the eventfd, then does a second DMA round trip (another IOVA, another pattern, another
//! part of edu's buffer) whose two completions are each taken from the eventfd rather
//! than polled; every interrupt is checked in edu's status register and acknowledged.
//! Last, with the vectors disabled, a raised interrupt must no longer reach the eventfd.
//! Given a second device with MSI-X (the script adds QEMU's e1000e), routes up to four
//! of its MSI-X vectors to eventfds and has VFIO trigger each vector in turn (a kernel
//! loopback, nothing from the device): each must reach its own eventfd and no other;
//! then has the device itself raise each vector (e1000e's cause-set register with
//! each queue cause mapped to its own vector), with the same check.
//! Prints `VFIO-EDU-CHECK: PASS` or `VFIO-EDU-CHECK: FAIL`.
//!
//! edu register map (QEMU docs/specs/edu.rst): 0x00 identification `0xRRrr00ed`,
//! 0x04 liveness (reads back the bitwise inverse of what was written), 0x24 interrupt
//! status (RO), 0x60 interrupt raise (WO, ORed into the status), 0x64 interrupt
//! acknowledge (WO, cleared from the status), 0x80 DMA source, 0x88 DMA destination,
//! 0x90 DMA count, 0x98 DMA command (bit 0 start/busy, bit 1 direction: 1 = device to
//! RAM, bit 2 raise interrupt 0x100 when done). The device's internal buffer is at
//! 0x40000 (4 KiB). edu signals MSI when the driver enabled it, INTx otherwise.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use driver::dma::{DmaMapper, DmaRegion, HugePages, IrqEvent, VfioMapper};
use driver::vfio::{IrqKind, VfioCard};
use driver::{poll_until, DriverError, RegIo};

const EDU_ID: u32 = 0x00;
const EDU_LIVENESS: u32 = 0x04;
const EDU_DMA_SRC: u32 = 0x80;
const EDU_DMA_DST: u32 = 0x88;
const EDU_DMA_CNT: u32 = 0x90;
const EDU_DMA_CMD: u32 = 0x98;
const EDU_IRQ_STATUS: u32 = 0x24;
const EDU_IRQ_RAISE: u32 = 0x60;
const EDU_IRQ_ACK: u32 = 0x64;
const EDU_DMA_START: u32 = 1;
const EDU_DMA_TO_RAM: u32 = 2;
const EDU_DMA_IRQ: u32 = 4;
/// The interrupt status value edu ORs in when a DMA with `EDU_DMA_IRQ` completes.
const EDU_STATUS_DMA: u32 = 0x100;
const EDU_BUFFER: u64 = 0x40000;
/// Well inside edu's 28-bit DMA mask, on a 2 MiB boundary (where `VfioMapper` maps).
const IOVA: u64 = 0x20_0000;
const LEN: usize = 256;
const BACK_OFFSET: usize = 2048;
/// The interrupt-driven round trip: its own buffer, length and place in edu's buffer.
const IRQ_IOVA: u64 = 0x40_0000;
const IRQ_LEN: usize = 512;
const IRQ_EDU_OFFSET: u64 = 1024;
/// A value raised through edu's raise register (distinct from the DMA's 0x100).
const RAISED: u32 = 0x0a5c_0001;
/// edu completes a DMA from a 100 ms timer; under TCG allow far more.
const IRQ_TIMEOUT: Duration = Duration::from_secs(10);
/// QEMU's e1000e (82574) registers used for the MSI-X check (Intel 82574 datasheet,
/// section 10.2): interrupt cause read (write 1 to clear), cause set, mask set, and the
/// cause-to-vector allocation (4 bits per cause: vector in bits 0-2, bit 3 valid;
/// RxQ0, RxQ1, TxQ0, TxQ1 from bit 0 up).
const E1000E_ICR: u32 = 0xc0;
const E1000E_ICS: u32 = 0xc8;
const E1000E_IMS: u32 = 0xd0;
const E1000E_IVAR: u32 = 0xe4;
const E1000E_IVAR_VALID: u32 = 0x8;
/// ICR cause bits RxQ0, RxQ1, TxQ0, TxQ1 (bits 20-23), in IVAR order.
const E1000E_QUEUE_CAUSES: [u32; 4] = [1 << 20, 1 << 21, 1 << 22, 1 << 23];
/// How long "no interrupt" is watched for.
const QUIET: Duration = Duration::from_millis(300);

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

/// Starts a DMA that raises edu's interrupt when done, without polling for completion.
fn start_dma_with_irq<R: RegIo>(
    regs: &mut R,
    src: u64,
    dst: u64,
    len: usize,
    to_ram: bool,
) -> Result<()> {
    regs.write64(EDU_DMA_SRC, src)?;
    regs.write64(EDU_DMA_DST, dst)?;
    regs.write64(EDU_DMA_CNT, len as u64)?;
    let cmd = EDU_DMA_START | EDU_DMA_IRQ | if to_ram { EDU_DMA_TO_RAM } else { 0 };
    regs.write32(EDU_DMA_CMD, cmd)?;
    Ok(())
}

/// Waits for one interrupt on the eventfd, checks that edu's status register holds
/// exactly `expected`, acknowledges it and checks that the status is clear again.
fn take_interrupt(card: &mut VfioCard, ev: &IrqEvent, expected: u32, what: &str) -> Result<u64> {
    let n = ev
        .wait(IRQ_TIMEOUT)
        .with_context(|| format!("waiting for the interrupt of {what}"))?;
    let status = card.read32(EDU_IRQ_STATUS)?;
    ensure!(
        status == expected,
        "{what}: eventfd fired but edu's interrupt status is {status:#x}, expected {expected:#x}"
    );
    card.write32(EDU_IRQ_ACK, status)?;
    let after = card.read32(EDU_IRQ_STATUS)?;
    ensure!(after == 0, "{what}: status {after:#x} after acknowledging");
    Ok(n)
}

/// Requires that no interrupt reaches `ev` for [`QUIET`]: the wait must end in the
/// driver's timeout error.
fn expect_quiet(ev: &IrqEvent, what: &str) -> Result<()> {
    match ev.wait(QUIET) {
        Err(DriverError::IrqTimeout { .. }) => Ok(()),
        Ok(n) => bail!("{what}: {n} unexpected interrupt(s) on the eventfd"),
        Err(e) => Err(e).context(what.to_owned()),
    }
}

fn interrupts(card: &mut VfioCard) -> Result<()> {
    let msix = card.irq_count(IrqKind::MsiX);
    let msi = card.irq_count(IrqKind::Msi);
    let irqs = card
        .enable_irqs(1)
        .context("routing edu's interrupt to an eventfd")?;
    let kind = card.irq_kind().context("no interrupt kind recorded")?;
    println!(
        "VFIO-EDU: {kind} vector 0 routed to an eventfd (device offers {msix} MSI-X, {msi} MSI)"
    );
    let ev = &irqs[0];
    ensure!(
        card.read32(EDU_IRQ_STATUS)? == 0,
        "edu interrupt status not clear"
    );
    expect_quiet(ev, "before any interrupt was raised")?;
    println!("VFIO-EDU: no interrupt pending; a wait without one ends in IrqTimeout");

    card.write32(EDU_IRQ_RAISE, RAISED)?;
    let n = take_interrupt(card, ev, RAISED, "the raise register")?;
    println!(
        "VFIO-EDU: interrupt raised through register 0x60 arrived on the eventfd \
         (count {n}), status {RAISED:#x}, acknowledged"
    );

    let (_mapper, buf) = dma_page(card, IRQ_IOVA)?;
    let pattern: Vec<u8> = (0..IRQ_LEN)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(0xa5) ^ (i >> 8) as u8)
        .collect();
    buf.write(0, &pattern)?;
    buf.write(BACK_OFFSET, &[0u8; IRQ_LEN])?;
    let edu = EDU_BUFFER + IRQ_EDU_OFFSET;
    start_dma_with_irq(card, IRQ_IOVA, edu, IRQ_LEN, false)?;
    take_interrupt(card, ev, EDU_STATUS_DMA, "DMA RAM -> edu")?;
    ensure!(
        card.read32(EDU_DMA_CMD)? & EDU_DMA_START == 0,
        "DMA RAM -> edu: interrupt before the DMA finished"
    );
    start_dma_with_irq(card, edu, IRQ_IOVA + BACK_OFFSET as u64, IRQ_LEN, true)?;
    take_interrupt(card, ev, EDU_STATUS_DMA, "DMA edu -> RAM")?;
    ensure!(
        card.read32(EDU_DMA_CMD)? & EDU_DMA_START == 0,
        "DMA edu -> RAM: interrupt before the DMA finished"
    );
    let mut back = vec![0u8; IRQ_LEN];
    buf.read(BACK_OFFSET, &mut back)?;
    if back != pattern {
        bail!("interrupt-driven DMA round trip returned different bytes");
    }
    println!(
        "VFIO-EDU: DMA round trip of {IRQ_LEN} bytes through IOVA {IRQ_IOVA:#x}, \
         both completions taken from the eventfd ({kind}), bytes match"
    );

    card.disable_irqs()?;
    card.write32(EDU_IRQ_RAISE, RAISED)?;
    let quiet = expect_quiet(ev, "after disable_irqs");
    card.write32(EDU_IRQ_ACK, RAISED)?;
    quiet?;
    println!("VFIO-EDU: after disable_irqs a raised interrupt no longer reaches the eventfd");
    Ok(())
}

/// MSI-X routing on a device that has it: vector `i` must land on eventfd `i` only.
fn msix_routing(device: &str) -> Result<()> {
    let mut card = VfioCard::open(device).with_context(|| format!("opening {device}"))?;
    let offered = card.irq_count(IrqKind::MsiX);
    let count = offered.min(4);
    ensure!(count > 0, "{device} offers no MSI-X vectors");
    let irqs = card.enable_irqs(count)?;
    ensure!(
        card.irq_kind() == Some(IrqKind::MsiX),
        "{device}: {:?} chosen although it has {offered} MSI-X vectors",
        card.irq_kind()
    );
    for ev in &irqs {
        expect_quiet(ev, "MSI-X vector before any trigger")?;
    }
    for target in 0..count {
        card.trigger_irq(target)?;
        for ev in &irqs {
            if ev.vector() == target {
                let n = ev
                    .wait(IRQ_TIMEOUT)
                    .with_context(|| format!("MSI-X vector {target}"))?;
                ensure!(n == 1, "MSI-X vector {target}: count {n}, expected 1");
            } else {
                let n = ev.take()?;
                ensure!(
                    n == 0,
                    "triggering MSI-X vector {target} reached vector {}",
                    ev.vector()
                );
            }
        }
    }
    println!(
        "VFIO-MSIX: {device}: {count} of {offered} MSI-X vectors routed to eventfds; \
         VFIO's loopback trigger reached each vector's own eventfd and no other"
    );

    // Now from the device: map each of e1000e's four queue causes to its own vector
    // (IVAR), unmask them (IMS) and set one cause at a time (ICS); the device sends
    // that vector's MSI-X message, which must reach that eventfd only. ICR is cleared
    // after each so the next cause stands alone.
    ensure!(
        count == 4,
        "{device}: 4 MSI-X vectors needed, {count} enabled"
    );
    let ivar = E1000E_QUEUE_CAUSES
        .iter()
        .enumerate()
        .fold(0u32, |acc, (v, _)| {
            acc | ((E1000E_IVAR_VALID | v as u32) << (4 * v))
        });
    card.write32(E1000E_IVAR, ivar)?;
    card.write32(E1000E_IMS, E1000E_QUEUE_CAUSES.iter().fold(0, |a, c| a | c))?;
    for ev in &irqs {
        expect_quiet(ev, "e1000e MSI-X vector before any cause was set")?;
    }
    for (target, cause) in (0u32..).zip(E1000E_QUEUE_CAUSES) {
        card.write32(E1000E_ICS, cause)?;
        for ev in &irqs {
            if ev.vector() == target {
                ev.wait(IRQ_TIMEOUT)
                    .with_context(|| format!("e1000e cause {cause:#x} on MSI-X vector {target}"))?;
            } else {
                let n = ev.take()?;
                ensure!(
                    n == 0,
                    "e1000e cause {cause:#x} for vector {target} reached vector {}",
                    ev.vector()
                );
            }
        }
        card.write32(E1000E_ICR, cause)?;
    }
    card.disable_irqs()?;
    println!(
        "VFIO-MSIX: {device}: interrupts raised by the device (e1000e ICS) on MSI-X \
         vectors 0-3 each reached its own eventfd and no other"
    );
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

    let (_mapper, buf) = dma_page(&card, IOVA)?;
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
    interrupts(&mut card)?;
    Ok(())
}

/// A page of host memory mapped for the device at `iova` through the driver's own
/// DMA types (`DmaRegion`, `VfioMapper`); the mapping lasts while the mapper lives.
fn dma_page(card: &VfioCard, iova: u64) -> Result<(VfioMapper, Arc<DmaRegion>)> {
    let mut mapper = card.dma_mapper(iova);
    let region = Arc::new(DmaRegion::new(4096, HugePages::Never)?);
    let at = mapper.map(&region)?;
    ensure!(at == iova, "mapped at IOVA {at:#x}, not {iova:#x}");
    Ok((mapper, region))
}

fn main() {
    let device = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "0000:00:03.0".into());
    let msix_device = std::env::args().nth(2);
    let result = run(&device).and_then(|()| match &msix_device {
        Some(d) => msix_routing(d),
        None => {
            println!("VFIO-MSIX: no MSI-X device given, routing check not run");
            Ok(())
        }
    });
    match result {
        Ok(()) => println!("VFIO-EDU-CHECK: PASS"),
        Err(e) => {
            println!("VFIO-EDU-CHECK: FAIL: {e:#}");
            std::process::exit(1);
        }
    }
}
