// SPDX-License-Identifier: GPL-2.0

//! The 82574L's MSI-X vectors: one for receive, one for transmit and one for the other causes
//! (link changes), as the C `e1000e` driver uses them.
//!
//! The `IVAR` register routes each cause to its vector. A vector's routine reads and masks only
//! its own causes, so the routines of different vectors never touch the same bits: `IMS` and
//! `IMC` set and clear bits without a read-modify-write, and the device clears a vector's
//! receive or transmit cause itself when it sends the message (`EIAC`). The routines may
//! therefore run at once on different CPUs, each under its own lock: one `InterruptSync` per
//! vector, NDIS's default (`MiniportSynchronizeMessageInterrupt` per message). Or one group
//! serves all three, each vector with a chain of its own, under one lock
//! (`MsiSyncWithAllMessages`). [`MsixVectors::synchronize`] runs a closure under the lock of
//! one vector either way, as `NdisMSynchronizeWithInterruptEx` does with a message number.

use super::{
    interrupts::{Causes, InterruptScheme},
    regs::{self, Registers},
    tx::TxRing,
};
use core::sync::atomic::{fence, Ordering};
use kernel::{
    c_str,
    irq::{DispatchMode, Flags, InterruptSync, IrqReturn, Placement},
    net::napi::Napi,
    new_interrupt_sync_group, pci,
    prelude::*,
    static_lock_class,
    sync::{Arc, LockClassKey},
};

/// The 82574L's registers beyond the 82540EM's, and its causes in `ICR` under MSI-X.
pub(crate) mod regs_82574 {
    /// Extended device control.
    pub(crate) const CTRL_EXT: usize = 0x0018;
    /// Reading `ICR` masks the causes set here, if `CTRL_EXT_IAME`.
    pub(crate) const IAM: usize = 0x00e0;
    /// Routes the causes to vectors: a field per cause, its vector and a valid bit.
    pub(crate) const IVAR: usize = 0x00e4;
    /// The causes the device clears itself when it sends their message.
    pub(crate) const EIAC: usize = 0x00dc;
    /// Receive filter control.
    pub(crate) const RFCTL: usize = 0x5008;
    /// Interrupt throttling, per vector, as `ITR`.
    pub(crate) const EITR: [usize; 3] = [0x00e8, 0x00ec, 0x00f0];

    /// Causes masked as an MSI-X message is sent (`IAM`).
    pub(crate) const CTRL_EXT_EIAME: u32 = 1 << 24;
    /// Causes masked as `ICR` is read (`IAM`).
    pub(crate) const CTRL_EXT_IAME: u32 = 1 << 27;
    /// Writing `IMS` clears the pending bits of the MSI-X table.
    pub(crate) const CTRL_EXT_PBA_CLR: u32 = 1 << 31;
    /// No cause for received TCP acknowledgements: under MSI-X it would raise the other vector
    /// for every one.
    pub(crate) const RFCTL_ACK_DIS: u32 = 1 << 12;

    pub(crate) const IVAR_VALID: u32 = 1 << 3;
    pub(crate) const IVAR_RXQ0_SHIFT: u32 = 0;
    pub(crate) const IVAR_TXQ0_SHIFT: u32 = 8;
    pub(crate) const IVAR_OTHER_SHIFT: u32 = 16;
    /// Raise the transmit cause for every descriptor written back, as the C driver does.
    pub(crate) const IVAR_TX_EVERY_WRITEBACK: u32 = 1 << 31;

    pub(crate) const ICR_RXQ0: u32 = 1 << 20;
    pub(crate) const ICR_TXQ0: u32 = 1 << 22;
    /// Set with any cause that is neither a queue's receive nor transmit cause.
    pub(crate) const ICR_OTHER: u32 = 1 << 24;
}

/// Undoes what a driver before this one may have set up, which QEMU's reset keeps: extended
/// receive descriptors (`RFCTL`), causes masked or cleared by the device (`CTRL_EXT`, `IAM`,
/// `EIAC`) and causes routed to vectors (`IVAR`). The C `e1000e` sets them all.
pub(crate) fn initialise(registers: &Registers) {
    registers.write32(0, regs_82574::RFCTL);
    registers.write32(0, regs_82574::IAM);
    registers.write32(0, regs_82574::EIAC);
    registers.write32(0, regs_82574::IVAR);
    let control = registers.read32(regs_82574::CTRL_EXT)
        & !(regs_82574::CTRL_EXT_IAME | regs_82574::CTRL_EXT_EIAME | regs_82574::CTRL_EXT_PBA_CLR);
    registers.write32(control, regs_82574::CTRL_EXT);
}

/// Which vector: the message number, as the device and `IVAR` count them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vector {
    /// Frames received.
    Receive = 0,
    /// Frames sent.
    Transmit = 1,
    /// The link changed, and the other causes.
    Other = 2,
}

impl Vector {
    /// Every vector, in message order.
    pub(crate) const ALL: [Vector; 3] = [Vector::Receive, Vector::Transmit, Vector::Other];

    /// The message number.
    fn index(self) -> usize {
        self as usize
    }

    /// The causes the vector carries. The receive and other vectors' routines mask them until
    /// the poll has run; the transmit vector's leaves them on.
    fn causes(self) -> u32 {
        match self {
            Vector::Receive => regs_82574::ICR_RXQ0,
            Vector::Transmit => regs_82574::ICR_TXQ0,
            Vector::Other => regs_82574::ICR_OTHER | regs::ICR_LSC,
        }
    }

    /// The name of its line in `/proc/interrupts` and of its lock, with one object per vector,
    /// and the lock's class: one per name, as lockdep wants.
    fn name_and_class(self) -> (&'static CStr, &'static LockClassKey) {
        match self {
            Vector::Receive => (c_str!("rust_irqsync_e1000e-rx"), static_lock_class!()),
            Vector::Transmit => (c_str!("rust_irqsync_e1000e-tx"), static_lock_class!()),
            Vector::Other => (c_str!("rust_irqsync_e1000e-other"), static_lock_class!()),
        }
    }
}

/// How the vectors' routines are synchronized with the rest of the driver.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Synchronization {
    /// One `InterruptSync`, and one lock, per vector.
    PerVector,
    /// One `InterruptSync` for all vectors, one lock (`MsiSyncWithAllMessages`).
    Group,
}

/// The objects that service the vectors.
enum Objects {
    PerVector([Pin<KBox<InterruptSync<Causes>>>; 3]),
    Group(Pin<KBox<InterruptSync<[Causes; 3]>>>),
}

/// What the vectors' routines reach: the registers, the NAPI context they schedule, and the
/// transmit ring that the transmit vector's routine cleans.
#[derive(Clone)]
struct Routines {
    registers: Arc<Registers>,
    napi: Arc<Napi>,
    tx: Arc<TxRing>,
}

impl Routines {
    /// The routine of `vector`.
    ///
    /// The transmit vector's cleans the transmit ring, as `e1000_intr_msix_tx()` does, and
    /// schedules the poll only to wake a stopped queue; it sets its cause in `IMS` again, as
    /// there, unless it is disabled (the device cleared the cause as it sent the message, and
    /// the vector is throttled).
    ///
    /// The others note their causes, at least one, mask them and schedule the poll. The
    /// receive vector carries one cause, which the device cleared when it sent the message.
    /// The other vector reads the causes from `ICR` and clears them: all but the queues'
    /// (`ICR_OTHER` clears them all on the 82574L).
    fn service(&self, vector: Vector, causes: &mut Causes) -> IrqReturn {
        let seen = match vector {
            Vector::Transmit => {
                self.tx.clean();
                // Pairs with the fence in `Adapter::stop_queue`, as in `Adapter::clean_tx`.
                fence(Ordering::SeqCst);
                if self.tx.wants_wake() {
                    self.napi.schedule();
                }
                // Setting the cause again re-arms the vector: the device sends no message for
                // a cause whose last message it still counts as pending. Not once
                // `mask_all` has disabled it.
                let rearmed = causes.enabled & vector.causes();
                self.registers.write32(rearmed, regs::IMS);
                return IrqReturn::Handled;
            }
            Vector::Other => {
                let read = self.registers.read32(regs::ICR);
                if regs::is_gone(read) {
                    // Surprise removal: the message was not the device's.
                    return IrqReturn::None;
                }
                self.registers.write32(regs_82574::ICR_OTHER, regs::ICR);
                // `ICR_OTHER` noted whatever was read, so that the poll unmasks the vector.
                (read & !(Vector::Receive.causes() | Vector::Transmit.causes()))
                    | regs_82574::ICR_OTHER
            }
            Vector::Receive => vector.causes(),
        };
        causes.pending |= seen;
        self.registers.write32(vector.causes(), regs::IMC);
        self.napi.schedule();
        IrqReturn::Handled
    }
}

/// The three MSI-X vectors of an 82574L: the receive and other vectors' routines schedule NAPI,
/// the transmit vector's cleans the transmit ring.
pub(crate) struct MsixVectors {
    objects: Objects,
}

impl MsixVectors {
    /// Makes the objects for the three lines of `vectors`, synchronized as `synchronization`
    /// says, whose routines schedule `napi` and clean `tx`.
    pub(crate) fn new(
        vectors: &pci::IrqVectors,
        synchronization: Synchronization,
        registers: &Arc<Registers>,
        napi: &Arc<Napi>,
        tx: &Arc<TxRing>,
    ) -> Result<Self> {
        let lines = [vectors.line(0)?, vectors.line(1)?, vectors.line(2)?];
        let routines = Routines {
            registers: registers.clone(),
            napi: napi.clone(),
            tx: tx.clone(),
        };
        let objects = match synchronization {
            Synchronization::PerVector => {
                let object = |vector: Vector| -> Result<Pin<KBox<InterruptSync<Causes>>>> {
                    let (name, class) = vector.name_and_class();
                    let sync = KBox::pin_init(
                        InterruptSync::new(
                            lines[vector.index()],
                            DispatchMode::Normal,
                            Causes::default(),
                            name,
                            class,
                        ),
                        GFP_KERNEL,
                    )?;
                    let routines = routines.clone();
                    sync.register_service_routine(
                        move |causes| routines.service(vector, causes),
                        Placement::Last,
                    )?;
                    Ok(sync)
                };
                Objects::PerVector([
                    object(Vector::Receive)?,
                    object(Vector::Transmit)?,
                    object(Vector::Other)?,
                ])
            }
            Synchronization::Group => {
                let group = KBox::pin_init(
                    new_interrupt_sync_group!(
                        &lines,
                        DispatchMode::Normal,
                        <[Causes; 3]>::default(),
                        "rust_irqsync_e1000e"
                    ),
                    GFP_KERNEL,
                )?;
                for &vector in &Vector::ALL {
                    let routines = routines.clone();
                    group.register_message_routine(
                        vector.index(),
                        move |all| match all.get_mut(vector.index()) {
                            Some(causes) => routines.service(vector, causes),
                            None => IrqReturn::None,
                        },
                        Placement::Last,
                    )?;
                }
                Objects::Group(group)
            }
        };
        Ok(Self { objects })
    }

    /// Runs `f` on the causes of `vector` under the lock that its routine runs under, and
    /// returns what `f` returns.
    pub(crate) fn synchronize<R>(&self, vector: Vector, f: impl FnOnce(&mut Causes) -> R) -> R {
        match &self.objects {
            Objects::PerVector(objects) => objects[vector.index()].call_synchronized(f),
            Objects::Group(group) => group.call_synchronized(|all| f(&mut all[vector.index()])),
        }
    }

    /// How the vectors are synchronized.
    pub(crate) fn synchronization(&self) -> Synchronization {
        match self.objects {
            Objects::PerVector(_) => Synchronization::PerVector,
            Objects::Group(_) => Synchronization::Group,
        }
    }

    /// Routes the causes to their vectors, and lets the device clear the receive and transmit
    /// causes as it sends their messages, as `e1000_configure_msix()` does; no cause for
    /// received acknowledgements, as there. The transmit and other vectors are throttled at
    /// the default rate, there too; the receive vector's rate follows the traffic
    /// ([`InterruptScheme::throttle_registers`]).
    fn route(registers: &Registers) {
        for &vector in &[Vector::Transmit, Vector::Other] {
            // The throttle registers are constants within the BAR: the write cannot fail.
            let _ = registers.try_write32(regs::ITR_DEFAULT, regs_82574::EITR[vector.index()]);
        }
        registers.write32(
            registers.read32(regs_82574::RFCTL) | regs_82574::RFCTL_ACK_DIS,
            regs_82574::RFCTL,
        );
        let entry = |vector: Vector| regs_82574::IVAR_VALID | vector as u32;
        registers.write32(
            entry(Vector::Receive) << regs_82574::IVAR_RXQ0_SHIFT
                | entry(Vector::Transmit) << regs_82574::IVAR_TXQ0_SHIFT
                | entry(Vector::Other) << regs_82574::IVAR_OTHER_SHIFT
                | regs_82574::IVAR_TX_EVERY_WRITEBACK,
            regs_82574::IVAR,
        );
        registers.write32(
            Vector::Receive.causes() | Vector::Transmit.causes(),
            regs_82574::EIAC,
        );
    }
}

impl InterruptScheme for MsixVectors {
    fn connect(&self) -> Result {
        // The lines are the device's own: MSI-X messages are never shared.
        match &self.objects {
            Objects::PerVector(objects) => {
                for (done, object) in objects.iter().enumerate() {
                    if let Err(e) = object.connect(Flags::NONE) {
                        objects.iter().take(done).for_each(|o| o.disconnect());
                        return Err(e);
                    }
                }
                Ok(())
            }
            Objects::Group(group) => group.connect(Flags::NONE),
        }
    }

    fn disconnect(&self) {
        match &self.objects {
            Objects::PerVector(objects) => objects.iter().for_each(|o| o.disconnect()),
            Objects::Group(group) => group.disconnect(),
        }
    }

    fn unmask_all(&self, registers: &Registers) {
        Self::route(registers);
        for &vector in &Vector::ALL {
            self.synchronize(vector, |causes| {
                causes.enabled = vector.causes();
                causes.pending = 0;
                registers.write32(causes.enabled, regs::IMS);
            });
        }
    }

    fn mask_all(&self, registers: &Registers) {
        // Once every vector's causes are disabled, no poll unmasks any of them again.
        for &vector in &Vector::ALL {
            self.synchronize(vector, |causes| causes.enabled = 0);
        }
        registers.write32(!0, regs::IMC);
    }

    fn take_pending(&self) -> u32 {
        Vector::ALL.iter().fold(0, |pending, &vector| {
            pending | self.synchronize(vector, |causes| core::mem::take(&mut causes.pending))
        })
    }

    fn unmask_after_poll(&self, registers: &Registers, causes: u32) {
        // Each routine masks its own causes, and notes at least one of them.
        for &vector in &Vector::ALL {
            if causes & vector.causes() != 0 {
                self.synchronize(vector, |causes| {
                    registers.write32(causes.enabled, regs::IMS);
                });
            }
        }
    }

    fn polls_receive(&self, causes: u32) -> bool {
        causes & Vector::Receive.causes() != 0
    }

    fn cleans_transmit(&self) -> bool {
        true
    }

    fn throttle_registers(&self) -> &'static [usize] {
        &regs_82574::EITR[Vector::Receive as usize..=Vector::Receive as usize]
    }

    fn irq(&self) -> u32 {
        match &self.objects {
            Objects::PerVector(objects) => objects[0].irq(),
            Objects::Group(group) => group.irq(),
        }
    }
}
