//! Interrupts as the driver sees them: one eventfd per vector. On a board VFIO
//! (`VFIO_DEVICE_SET_IRQS`, MSI-X) signals it; the model card and the simulator
//! signal it through an [`IrqSignal`].

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::DriverError;

/// Waits for an interrupt.
pub trait IrqWait {
    /// Blocks until the interrupt fires or `timeout` passes (no busy loop). Returns
    /// true when it fired (every signal since the last wait is consumed).
    fn wait(&mut self, timeout: Duration) -> Result<bool, DriverError>;
}

/// One interrupt vector as an eventfd (non-blocking, close-on-exec).
#[derive(Debug, Clone)]
pub struct EventFdIrq(Arc<EventFd>);

/// The sending side of an [`EventFdIrq`]: what a model or simulator calls when its
/// interrupt line fires.
#[derive(Debug, Clone)]
pub struct IrqSignal(Arc<EventFd>);

impl IrqSignal {
    /// Signals the interrupt once.
    pub fn signal(&self) {
        // EAGAIN only when the counter would overflow: it is already signalled.
        if let Err(e) = self.0.write(1) {
            tracing::debug!(error = %e, "eventfd signal");
        }
    }
}

impl EventFdIrq {
    /// A new eventfd.
    pub fn new() -> Result<Self, DriverError> {
        let fd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| DriverError::io("creating an interrupt eventfd", e.into()))?;
        Ok(EventFdIrq(Arc::new(fd)))
    }

    /// The handle a model or simulator signals.
    pub fn signaller(&self) -> IrqSignal {
        IrqSignal(self.0.clone())
    }

    /// The file descriptor (for `VFIO_DEVICE_SET_IRQS`).
    pub fn raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }

    /// Consumes pending signals without waiting; returns how many there were.
    pub fn drain(&self) -> u64 {
        self.0.read().unwrap_or(0)
    }
}

impl IrqWait for EventFdIrq {
    fn wait(&mut self, timeout: Duration) -> Result<bool, DriverError> {
        if self.drain() > 0 {
            return Ok(true);
        }
        // Round up to whole milliseconds so a short timeout still blocks.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128);
        let t = PollTimeout::try_from(ms as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, t) {
            Ok(0) | Err(Errno::EINTR) => Ok(false),
            Ok(_) => Ok(self.drain() > 0),
            Err(e) => Err(DriverError::io("waiting on an interrupt eventfd", e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn eventfd_wakes_on_signal_and_times_out_without() {
        let mut irq = EventFdIrq::new().unwrap();
        let t0 = Instant::now();
        assert!(!irq.wait(Duration::from_millis(5)).unwrap());
        assert!(
            t0.elapsed() >= Duration::from_millis(4),
            "blocked, not spun"
        );
        let s = irq.signaller();
        s.signal();
        s.signal();
        assert!(irq.wait(Duration::from_millis(5)).unwrap());
        // Both signals consumed by the one wait.
        assert!(!irq.wait(Duration::from_millis(1)).unwrap());
        // From another thread while blocked.
        let s2 = irq.signaller();
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            s2.signal();
        });
        assert!(irq.wait(Duration::from_secs(10)).unwrap());
        h.join().unwrap();
        assert!(irq.raw_fd() >= 0);
    }
}
