// SPDX-License-Identifier: GPL-2.0

//! How a controller's interrupts reach the driver, and the simplest way: one line.
//!
//! Whatever the way, a routine run by `InterruptSync` masks the causes it saw and schedules
//! NAPI, the network stack's deferred work; the poll handles them and, once it has caught up,
//! unmasks them under `call_synchronized` of the object that masked them
//! (`NdisMSynchronizeWithInterruptEx`), so that unmasking never races with a routine's
//! masking.

use super::regs::{self, Registers};
use kernel::{
    irq::{DispatchMode, Flags, InterruptSync, IrqReturn, Placement},
    net::napi::Napi,
    prelude::*,
    sync::Arc,
};

/// What the adapter asks of the interrupts of its controller, however they are delivered.
///
/// `open` connects, then unmasks; `quiesce` masks everything, and `stop` then disconnects. The
/// poll takes the causes the routines saw, and unmasks once it has caught up.
pub(crate) trait InterruptScheme: Send + Sync + 'static {
    /// Requests the lines.
    fn connect(&self) -> Result;

    /// Frees the lines, waiting for running routines.
    fn disconnect(&self);

    /// Unmasks every cause the driver serves: the device is up.
    fn unmask_all(&self, registers: &Registers);

    /// Masks every cause, for good until [`InterruptScheme::unmask_all`]: a poll that runs
    /// after this unmasks nothing.
    fn mask_all(&self, registers: &Registers);

    /// Takes the causes the routines saw that the poll has not handled yet.
    fn take_pending(&self) -> u32;

    /// Unmasks the causes the routines masked, once the poll has caught up: those of the
    /// routines that saw `causes`, all that [`InterruptScheme::take_pending`] returned since
    /// the last poll that completed.
    fn unmask_after_poll(&self, registers: &Registers, causes: u32);

    /// Whether a poll for the causes `causes` must receive. With one line every interrupt may
    /// be for frames received, and the poll always receives, as `e1000_clean()` does. With a
    /// vector per queue, only the receive vector's poll receives, paced by its throttle, so
    /// that frames reach the stack in batches, as in the C `e1000e`; a poll that another
    /// vector asked for leaves them to it.
    fn polls_receive(&self, causes: u32) -> bool;

    /// Whether a routine cleans the transmit ring, the transmit vector's, so that the poll
    /// must not: as the C `e1000e` does under MSI-X, where a transmit interrupt then costs no
    /// poll. With one line the poll cleans it.
    fn cleans_transmit(&self) -> bool;

    /// The registers that throttle the interrupts that follow the traffic
    /// ([`super::moderation::Moderation`]): `ITR`, or the receive vector's `EITR`.
    fn throttle_registers(&self) -> &'static [usize];

    /// The first line, for the log.
    fn irq(&self) -> u32;
}

/// The interrupt state: what the service routine shares with the rest of the driver, reachable
/// only under the `InterruptSync` lock.
#[derive(Default)]
pub(crate) struct Causes {
    /// The causes unmasked while NAPI is idle: `IMS` when the device is up, 0 when down.
    pub(crate) enabled: u32,
    /// Causes a routine saw that the poll has not handled yet.
    pub(crate) pending: u32,
}

/// One line, legacy or MSI, for every cause, which the routine reads from `ICR`: the 82540EM's
/// only way, and the 82574L's when it has no MSI-X.
pub(crate) struct SingleLine {
    sync: Pin<KBox<InterruptSync<Causes>>>,
    flags: Flags,
}

impl SingleLine {
    /// Makes the object for `irq`, named `name` in `/proc/interrupts`, whose routine schedules
    /// `napi`; `shared` if the line may serve other devices too (INTx).
    pub(crate) fn new(
        irq: u32,
        shared: bool,
        name: &'static CStr,
        registers: &Arc<Registers>,
        napi: &Arc<Napi>,
    ) -> Result<Self> {
        let sync = KBox::pin_init(
            InterruptSync::new(
                irq,
                DispatchMode::Normal,
                Causes::default(),
                name,
                kernel::static_lock_class!(),
            ),
            GFP_KERNEL,
        )?;
        let (registers, napi) = (registers.clone(), napi.clone());
        sync.register_service_routine(
            move |causes| service(&registers, &napi, causes),
            Placement::Last,
        )?;
        let flags = if shared { Flags::SHARED } else { Flags::NONE };
        Ok(Self { sync, flags })
    }
}

/// The service routine: claims the interrupt if the device raised it, masks the device and
/// schedules the poll.
fn service(registers: &Registers, napi: &Napi, causes: &mut Causes) -> IrqReturn {
    let read = registers.read32(regs::ICR);
    if read == 0 || regs::is_gone(read) {
        // Another device on the shared line, or this one is gone (surprise removal): not this
        // device's interrupt. Claiming it would hide a line that storms from the kernel's
        // spurious-interrupt detection.
        return IrqReturn::None;
    }
    causes.pending |= read;
    registers.write32(!0, regs::IMC);
    napi.schedule();
    IrqReturn::Handled
}

impl InterruptScheme for SingleLine {
    fn connect(&self) -> Result {
        self.sync.connect(self.flags)
    }

    fn disconnect(&self) {
        self.sync.disconnect();
    }

    fn unmask_all(&self, registers: &Registers) {
        self.sync.call_synchronized(|causes| {
            causes.enabled = regs::INTERRUPTS;
            causes.pending = 0;
            registers.write32(causes.enabled, regs::IMS);
        });
    }

    fn mask_all(&self, registers: &Registers) {
        self.sync.call_synchronized(|causes| {
            causes.enabled = 0;
            registers.write32(!0, regs::IMC);
        });
    }

    fn take_pending(&self) -> u32 {
        self.sync
            .call_synchronized(|causes| core::mem::take(&mut causes.pending))
    }

    fn unmask_after_poll(&self, registers: &Registers, _causes: u32) {
        // The routine masks every cause.
        self.sync.call_synchronized(|causes| {
            registers.write32(causes.enabled, regs::IMS);
        });
    }

    fn polls_receive(&self, _causes: u32) -> bool {
        true
    }

    fn cleans_transmit(&self) -> bool {
        false
    }

    fn throttle_registers(&self) -> &'static [usize] {
        &[regs::ITR]
    }

    fn irq(&self) -> u32 {
        self.sync.irq()
    }
}
