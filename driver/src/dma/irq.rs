//! Interrupts as the driver sees them: one eventfd per vector ([`IrqEvent`]). On a
//! board VFIO (`VFIO_DEVICE_SET_IRQS`, MSI-X or MSI, [`crate::vfio::VfioCard::enable_irqs`])
//! signals it; the model card and the simulator signal it through an [`IrqSignal`].
//! [`IrqWait`] is what the DMA port waits on.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};
use vmm_sys_util::poll::PollContext;

use crate::DriverError;

/// Waits for an interrupt.
pub trait IrqWait {
    /// Blocks until the interrupt fires or `timeout` passes (no busy loop). Returns
    /// true when it fired (every signal since the last wait is consumed).
    fn wait(&mut self, timeout: Duration) -> Result<bool, DriverError>;
}

/// The sending side of an [`IrqEvent`]: what a model or simulator calls when its
/// interrupt line fires (a duplicate of the eventfd, so it can live on another thread).
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

/// One interrupt vector delivered to an eventfd: the kernel adds 1 to the eventfd's
/// counter for each interrupt; [`IrqEvent::wait`] and [`IrqEvent::take`] read and clear
/// it.
///
/// The eventfd is non-blocking; waiting goes through an epoll set of its own, with a
/// deadline, so a vector that never fires gives [`DriverError::IrqTimeout`], never a
/// hang. A caller with its own event loop can register [`IrqEvent::as_raw_fd`] there
/// and call [`IrqEvent::take`] when it is readable.
pub struct IrqEvent {
    vector: u32,
    fd: EventFd,
    poll: PollContext<u32>,
}

impl std::fmt::Debug for IrqEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrqEvent")
            .field("vector", &self.vector)
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl IrqEvent {
    /// A fresh eventfd (counter 0) for vector `vector`, not yet tied to any device. The
    /// simulated card and tests signal it with [`IrqEvent::signal`]; the VFIO backend
    /// hands it to the kernel.
    pub fn new(vector: u32) -> Result<Self, DriverError> {
        let fd = EventFd::new(EFD_NONBLOCK)
            .map_err(|e| DriverError::io(format!("creating the eventfd of vector {vector}"), e))?;
        let poll = PollContext::new().map_err(|e| {
            DriverError::io(
                format!("creating the epoll set of vector {vector}"),
                e.into(),
            )
        })?;
        poll.add(&fd, vector).map_err(|e| {
            DriverError::io(format!("watching the eventfd of vector {vector}"), e.into())
        })?;
        Ok(IrqEvent { vector, fd, poll })
    }

    /// The vector number (sub-index within the device's MSI-X or MSI table).
    pub fn vector(&self) -> u32 {
        self.vector
    }

    /// The eventfd itself (what `VFIO_DEVICE_SET_IRQS` is given).
    pub fn eventfd(&self) -> &EventFd {
        &self.fd
    }

    /// Raises the vector from user space (what a device model does; the kernel does the
    /// same for a real device).
    pub fn signal(&self) -> Result<(), DriverError> {
        self.fd.write(1).map_err(|e| {
            DriverError::io(
                format!("signalling the eventfd of vector {}", self.vector),
                e,
            )
        })
    }

    /// The number of interrupts since the last read, clearing it; 0 if there were none.
    /// Never blocks.
    pub fn take(&self) -> Result<u64, DriverError> {
        match self.fd.read() {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(DriverError::io(
                format!("reading the eventfd of vector {}", self.vector),
                e,
            )),
        }
    }

    /// Waits until at least one interrupt has arrived (or returns at once if one is
    /// pending), then returns the count and clears it. After `timeout` without one,
    /// returns [`DriverError::IrqTimeout`].
    pub fn wait(&self, timeout: Duration) -> Result<u64, DriverError> {
        let start = Instant::now();
        loop {
            let n = self.take()?;
            if n > 0 {
                return Ok(n);
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(DriverError::IrqTimeout {
                    vector: self.vector,
                    waited,
                });
            }
            // Readiness only wakes this loop up; the count is read above. epoll may
            // return early (signals are retried inside, very long timeouts are capped),
            // hence the loop and the deadline.
            self.poll.wait_timeout(timeout - waited).map_err(|e| {
                DriverError::io(
                    format!("waiting on the eventfd of vector {}", self.vector),
                    e.into(),
                )
            })?;
        }
    }
}

impl AsRawFd for IrqEvent {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl IrqEvent {
    /// A handle that signals this vector from another thread (a model or simulator).
    pub fn signaller(&self) -> Result<IrqSignal, DriverError> {
        self.fd
            .try_clone()
            .map(|fd| IrqSignal(Arc::new(fd)))
            .map_err(|e| {
                DriverError::io(
                    format!("duplicating the eventfd of vector {}", self.vector),
                    e,
                )
            })
    }
}

impl IrqWait for IrqEvent {
    fn wait(&mut self, timeout: Duration) -> Result<bool, DriverError> {
        match IrqEvent::wait(self, timeout) {
            Ok(_) => Ok(true),
            Err(DriverError::IrqTimeout { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irq_event_counts_and_clears() {
        let ev = IrqEvent::new(3).unwrap();
        assert_eq!(ev.vector(), 3);
        assert_eq!(ev.take().unwrap(), 0, "a fresh eventfd has no interrupt");
        ev.signal().unwrap();
        ev.signal().unwrap();
        assert_eq!(ev.take().unwrap(), 2);
        assert_eq!(ev.take().unwrap(), 0, "reading clears the count");
        ev.signal().unwrap();
        assert_eq!(ev.wait(Duration::from_secs(5)).unwrap(), 1);
    }

    #[test]
    fn irq_event_wait_without_interrupt_is_a_timeout_error() {
        let ev = IrqEvent::new(7).unwrap();
        let timeout = Duration::from_millis(30);
        match ev.wait(timeout) {
            Err(DriverError::IrqTimeout { vector, waited }) => {
                assert_eq!(vector, 7);
                assert!(waited >= timeout, "gave up after {waited:?}");
            }
            other => panic!("expected IrqTimeout, got {other:?}"),
        }
    }

    #[test]
    fn irq_event_wakes_on_a_signal_from_another_thread() {
        let ev = IrqEvent::new(0).unwrap();
        let signaller = ev.eventfd().try_clone().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            signaller.write(1).unwrap();
        });
        assert_eq!(ev.wait(Duration::from_secs(30)).unwrap(), 1);
        t.join().unwrap();
        assert_eq!(ev.take().unwrap(), 0);
    }

    #[test]
    fn irq_wait_blocks_until_the_signaller_fires_and_times_out_without() {
        let mut irq = IrqEvent::new(1).unwrap();
        let t0 = Instant::now();
        assert!(!IrqWait::wait(&mut irq, Duration::from_millis(5)).unwrap());
        assert!(
            t0.elapsed() >= Duration::from_millis(4),
            "blocked, not spun"
        );
        let s = irq.signaller().unwrap();
        s.signal();
        s.signal();
        assert!(IrqWait::wait(&mut irq, Duration::from_millis(5)).unwrap());
        // Both signals consumed by the one wait.
        assert!(!IrqWait::wait(&mut irq, Duration::from_millis(1)).unwrap());
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            s.signal();
        });
        assert!(IrqWait::wait(&mut irq, Duration::from_secs(10)).unwrap());
        h.join().unwrap();
    }
}
