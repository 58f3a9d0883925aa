// SPDX-License-Identifier: GPL-2.0

//! One network interface: the rings, the filters and the interrupts of a controller, behind a
//! net device.

use super::{
    filters,
    interrupts::InterruptScheme,
    moderation::Moderation,
    offload::Offload,
    regs::{self, Registers},
    ring::{previous, TX_DESCRIPTORS_PER_FRAME, TX_WAKE_THRESHOLD},
    rx::{Received, RxRing},
    traffic::Traffic,
    tx::{Refused, TxRing},
};
use core::sync::atomic::{fence, AtomicBool, AtomicU32, Ordering};
use kernel::{
    c_str, dma,
    net::{
        device::{
            Device, Driver, Features, MulticastList, Statistics, Transmit, ETH_ALEN, ETH_HLEN,
        },
        ethtool::LinkSettings,
        napi::NapiPoll,
        skb::SkBuff,
    },
    pci,
    prelude::*,
    sync::{new_spinlock_irq, Arc, SpinLockIrq},
};

/// One network interface: the driver data its net device holds.
///
/// Dropped once the net device is unregistered: the device is quiesced first (see
/// [`Adapter::quiesce`]), then the fields drop in order, the interrupt before the rings, whose
/// DMA memory the device no longer reaches.
#[pin_data(PinnedDrop)]
pub(crate) struct Adapter<I: InterruptScheme> {
    registers: Arc<Registers>,
    interrupts: I,
    rx: RxRing,
    /// The receive control register: enabled by `open`, filters set by `set_rx_mode`.
    #[pin]
    rx_control: SpinLockIrq<u32>,
    /// Shared with the transmit vector's routine where it cleans the ring.
    tx: Arc<TxRing>,
    moderation: Moderation,
    /// Whether the last poll stopped receiving at its budget. Only the poll uses it.
    rx_unfinished: AtomicBool,
    /// The causes taken since the last poll that completed, whose routines masked them. Only
    /// the poll uses it.
    masked: AtomicU32,
}

impl<I: InterruptScheme> Adapter<I> {
    /// An adapter for the controller of `pdev`, which `registers` drive and whose interrupts
    /// `interrupts` deliver, with its receive ring allocated and the transmit ring `tx`. The
    /// device must be quiet: it learns of the rings only in `open`, so an error before then
    /// frees memory it never reached. Once the adapter holds the rings, dropping it quiesces
    /// the device first.
    pub(crate) fn new(
        pdev: &pci::Device,
        registers: Arc<Registers>,
        interrupts: I,
        tx: Arc<TxRing>,
    ) -> Result<impl PinInit<Self, Error>> {
        let rx = RxRing::new(pdev)?;
        Ok(try_pin_init!(Self {
            registers,
            interrupts,
            rx,
            rx_control <- new_spinlock_irq!(0, "irqsync_e1000_rx_control"),
            tx,
            moderation: Moderation::new(),
            rx_unfinished: AtomicBool::new(false),
            masked: AtomicU32::new(0),
        }? Error))
    }

    /// The interrupts of the controller.
    pub(crate) fn interrupts(&self) -> &I {
        &self.interrupts
    }

    /// Tells the stack whether the link is up, as `STATUS` says; a device that is gone has no
    /// link.
    fn update_link(&self, dev: &Device) {
        let status = self.registers.read32(regs::STATUS);
        let up = !regs::is_gone(status) && status & regs::STATUS_LU != 0;
        if up && !dev.carrier_ok() {
            dev.carrier_on();
            pr_info!("{}: link up\n", dev.name());
        } else if !up && dev.carrier_ok() {
            dev.carrier_off();
            pr_info!("{}: link down\n", dev.name());
        }
    }

    /// Cleans the transmit ring, unless a routine does, and wakes the queue if it was stopped
    /// and there is room now; returns what the poll cleaned.
    fn clean_tx(&self, dev: &Device) -> Traffic {
        let sent = if self.interrupts.cleans_transmit() {
            Traffic::default()
        } else {
            self.tx.clean()
        };
        // Pairs with the fence in `stop_queue`: either it sees the room made here or by the
        // transmit vector's routine, or this sees the queue it stopped.
        fence(Ordering::SeqCst);
        if self.tx.wants_wake() {
            self.wake_queue(dev);
        }
        sent
    }

    /// Stops the transmit queue when the ring is full, unless the ring has been cleaned since.
    fn stop_queue(&self, dev: &Device) {
        self.tx.note_queue_stopped(true);
        dev.stop_queue();
        self.tx.queue_stops.fetch_add(1, Ordering::Relaxed);
        // Pairs with the fence in `clean_tx` and in the transmit vector's routine: if the ring
        // was cleaned before they could see the stopped queue, wake it here (also if a poll
        // woke the queue between the note and the stop).
        fence(Ordering::SeqCst);
        if self.tx.free() >= TX_WAKE_THRESHOLD {
            self.wake_queue(dev);
        }
    }

    /// Wakes the transmit queue. The note goes first: once woken, `start_xmit` may stop the
    /// queue again, and its note must stay.
    fn wake_queue(&self, dev: &Device) {
        self.tx.note_queue_stopped(false);
        dev.wake_queue();
    }

    /// Receives up to the budget, handing frames to the stack, then gives the cleaned
    /// descriptors back to the device. Returns how many descriptors it used.
    fn receive(&self, dev: &Device, poll: &NapiPoll<'_>) -> usize {
        let max_frame = dev.mtu().saturating_add(ETH_HLEN);
        let trust_checksums = dev.has_features(Features::RXCSUM);
        let mut work = 0;
        while work < poll.budget() {
            match self.rx.take(poll, max_frame, trust_checksums) {
                Received::Frame(skb) => poll.receive(skb),
                Received::Piece | Received::Dropped => {}
                Received::Nothing => break,
            }
            work += 1;
        }
        if work > 0 {
            let last = previous(self.rx.next.load(Ordering::Relaxed));
            // The device must see the descriptors given back before the tail register hands
            // them over: `dma_wmb()` in `e1000_alloc_rx_buffers()`.
            dma::dma_wmb();
            self.registers.write32(last as u32, regs::RDT);
        }
        work
    }

    /// Stops the device's DMA and interrupts, as `e1000_down()` does before the rings are
    /// cleaned: receive and transmit disabled, every interrupt masked, then time for the
    /// device to finish the frame it may be moving. Process context only: it sleeps.
    pub(crate) fn quiesce(&self) {
        let registers = &self.registers;
        self.rx_control.with_lock(|rx_control| {
            *rx_control &= !regs::RCTL_EN;
            registers.write32(*rx_control, regs::RCTL);
        });
        registers.write32(0, regs::TCTL);
        self.interrupts.mask_all(registers);
        regs::flush_and_settle(registers);
    }
}

#[pinned_drop]
impl<I: InterruptScheme> PinnedDrop for Adapter<I> {
    fn drop(self: Pin<&mut Self>) {
        // Unregistering closed the device if it was open, and `stop` quiesced it; one never
        // opened has had receive and transmit off since the probe. Quiesce it here all the
        // same: then the rings' memory, freed when the fields drop next, is safe from the
        // device whatever path led here (remove, unbind, or an error of the probe).
        self.quiesce();
    }
}

#[vtable]
impl<I: InterruptScheme> Driver for Adapter<I> {
    fn open(&self, dev: &Device) -> Result {
        let registers = &self.registers;
        registers.write32(!0, regs::IMC);
        registers.read32(regs::ICR);
        self.rx.reset(registers)?;
        self.rx_unfinished.store(false, Ordering::Relaxed);
        self.masked.store(0, Ordering::Relaxed);
        self.tx.reset(registers)?;
        self.interrupts.connect()?;

        registers.write32(registers.read32(regs::CTRL) | regs::CTRL_SLU, regs::CTRL);
        self.moderation
            .reset(registers, self.interrupts.throttle_registers());
        registers.write32(regs::RDTR_DEFAULT, regs::RDTR);
        registers.write32(regs::RADV_DEFAULT, regs::RADV);
        registers.write32(regs::TIDV_DEFAULT, regs::TIDV);
        registers.write32(regs::TADV_DEFAULT, regs::TADV);
        registers.write32(regs::TIPG_COPPER, regs::TIPG);
        // The device always verifies checksums; whether the stack trusts it is
        // `Features::RXCSUM`, which ethtool switches, checked for each frame.
        registers.write32(regs::RXCSUM_IPOFL | regs::RXCSUM_TUOFL, regs::RXCSUM);
        registers.write32(
            regs::TCTL_EN | regs::TCTL_PSP | regs::TCTL_CT | regs::TCTL_COLD,
            regs::TCTL,
        );
        // The filters are those of the last `set_rx_mode`, which the stack calls again once
        // the device is open.
        self.rx_control.with_lock(|rx_control| {
            *rx_control |= filters::RCTL_BASE | regs::RCTL_EN;
            registers.write32(*rx_control, regs::RCTL);
        });
        self.update_link(dev);

        self.interrupts.unmask_all(registers);
        Ok(())
    }

    fn stop(&self, dev: &Device) {
        // NAPI is disabled and the queue stopped already. Receive and transmit stop before
        // anything is freed, as in `e1000_down()`.
        self.quiesce();
        self.interrupts.disconnect();
        // No poll runs: count what the device sent before it stopped, and drop the rest.
        self.tx.clean();
        self.tx.discard_unsent();
        self.rx.release_buffers();
        dev.carrier_off();
    }

    fn start_xmit(&self, dev: &Device, mut skb: SkBuff) -> Transmit {
        let offload = match Offload::for_frame(&mut skb) {
            Ok(offload) => offload,
            Err(_) => {
                self.tx.dropped.fetch_add(1, Ordering::Relaxed);
                return Transmit::Done;
            }
        };
        match self.tx.queue(&self.registers, skb, offload.as_ref()) {
            Err(Refused::Full(skb)) => {
                // Not expected: the queue stops when the ring fills, below.
                self.stop_queue(dev);
                return Transmit::Busy(skb);
            }
            Err(Refused::Dropped) => {
                self.tx.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Ok(()) => {}
        }
        if self.tx.free() < TX_DESCRIPTORS_PER_FRAME {
            self.stop_queue(dev);
        }
        Transmit::Done
    }

    fn poll(&self, dev: &Device, poll: &mut NapiPoll<'_>) {
        let causes = self.interrupts.take_pending();
        let masked = self.masked.load(Ordering::Relaxed) | causes;
        if causes & regs::ICR_LSC != 0 {
            self.update_link(dev);
        }
        let sent = self.clean_tx(dev);
        let before = self.rx.traffic();
        // A poll that used its whole budget is polled again, with no new cause: it must go on
        // receiving.
        let receiving =
            self.interrupts.polls_receive(causes) || self.rx_unfinished.load(Ordering::Relaxed);
        let work = if receiving {
            self.receive(dev, poll)
        } else {
            0
        };
        self.rx_unfinished
            .store(work >= poll.budget(), Ordering::Relaxed);
        let received = self.rx.traffic().since(before);
        self.moderation.update(
            &self.registers,
            self.interrupts.throttle_registers(),
            sent,
            received,
        );
        if poll.complete_done(work) {
            self.masked.store(0, Ordering::Relaxed);
            self.interrupts.unmask_after_poll(&self.registers, masked);
        } else {
            self.masked.store(masked, Ordering::Relaxed);
        }
    }

    fn statistics(&self, _dev: &Device) -> Statistics {
        let (rx, tx) = (&self.rx, &self.tx);
        // MPC is cleared by reading: what each reader finds is added once. All ones is a
        // device that is gone, not frames missed.
        let missed = match self.registers.read32(regs::MPC) {
            value if regs::is_gone(value) => 0,
            value => u64::from(value),
        };
        Statistics {
            rx_packets: rx.packets.load(Ordering::Relaxed),
            rx_bytes: rx.bytes.load(Ordering::Relaxed),
            rx_errors: rx.errors.load(Ordering::Relaxed),
            rx_length_errors: rx.length_errors.load(Ordering::Relaxed),
            rx_dropped: rx.dropped.load(Ordering::Relaxed),
            multicast: rx.multicast.load(Ordering::Relaxed),
            rx_missed_errors: rx
                .missed
                .fetch_add(missed, Ordering::Relaxed)
                .wrapping_add(missed),
            tx_packets: tx.sent_packets.load(Ordering::Relaxed),
            tx_bytes: tx.sent_bytes.load(Ordering::Relaxed),
            tx_dropped: tx.dropped.load(Ordering::Relaxed),
        }
    }

    fn link_settings(&self, _dev: &Device) -> LinkSettings {
        // Both chips are gigabit copper; QEMU reports full duplex at 1000 Mb/s.
        LinkSettings {
            speed_mbps: 1000,
            full_duplex: true,
        }
    }

    const ETHTOOL_STATISTICS: &'static [&'static CStr] = &[
        c_str!("tx_checksum_offload"),
        c_str!("tx_tso_frames"),
        c_str!("tx_queue_stops"),
        c_str!("tx_dropped"),
        c_str!("rx_length_errors"),
    ];

    fn ethtool_statistics(&self, _dev: &Device, values: &mut [u64]) {
        let tx = &self.tx;
        let counters = [
            tx.checksummed.load(Ordering::Relaxed),
            tx.segmented.load(Ordering::Relaxed),
            tx.queue_stops.load(Ordering::Relaxed),
            tx.dropped.load(Ordering::Relaxed),
            self.rx.length_errors.load(Ordering::Relaxed),
        ];
        for (value, counter) in values.iter_mut().zip(counters) {
            *value = counter;
        }
    }

    fn tx_timeout(&self, dev: &Device, queue: u32) {
        // What the device shows of its transmitter; the abstraction resets it next.
        let registers = &self.registers;
        pr_warn!(
            "{}: transmit queue {} timed out: TCTL {:#010x}, TDH {}, TDT {}, {} descriptors free\n",
            dev.name(),
            queue,
            registers.read32(regs::TCTL),
            registers.read32(regs::TDH),
            registers.read32(regs::TDT),
            self.tx.free(),
        );
    }

    fn set_rx_mode(&self, dev: &Device, multicast: &MulticastList<'_>) {
        let registers = &self.registers;
        let (filters, table) = filters::for_device(dev, multicast);
        self.rx_control.with_lock(|rx_control| {
            // The table first: frames the new filters take are in it when they apply.
            if let Some(table) = &table {
                // The registers are constants within the BAR: writing cannot fail.
                let _ = table.write(registers);
            }
            *rx_control = filters | *rx_control & regs::RCTL_EN;
            registers.write32(*rx_control, regs::RCTL);
        });
    }
}

/// Quiets the device and programs its receive address filter with `address`.
///
/// Receive and transmit are stopped, and the interrupts masked, before the driver allocates its
/// rings, in case the device was left running (by a driver unbound without stopping it, or
/// across kexec): then no error path of the probe frees memory the device may still reach.
pub(crate) fn initialise(registers: &Registers, address: &[u8; ETH_ALEN]) -> Result {
    // QEMU's device reset leaves registers as they were: set every one the driver relies on.
    registers.write32(!0, regs::IMC);
    registers.write32(0, regs::RCTL);
    registers.write32(0, regs::TCTL);
    regs::flush_and_settle(registers);
    registers.read32(regs::ICR);
    for entry in 0..regs::MTA_COUNT {
        registers.try_write32(0, regs::MTA + 4 * entry)?;
    }
    let low = u32::from_le_bytes([address[0], address[1], address[2], address[3]]);
    let high = u32::from(u16::from_le_bytes([address[4], address[5]])) | regs::RAH_AV;
    registers.write32(low, regs::RAL0);
    registers.write32(high, regs::RAH0);
    Ok(())
}
