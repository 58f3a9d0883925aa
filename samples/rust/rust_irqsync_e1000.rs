// SPDX-License-Identifier: GPL-2.0

//! A network driver for the Intel 82540EM gigabit Ethernet controller, as QEMU emulates it,
//! serviced by `InterruptSync`: the network counterpart of an NDIS miniport.
//!
//! The service routine does what an NDIS `MiniportInterrupt` does: it reads the interrupt cause
//! (ICR, cleared by reading), returns `IRQ_NONE` when the device did not interrupt, masks the
//! device's interrupts and schedules NAPI, the DPC. The NAPI poll cleans sent frames, receives
//! up to its budget and, once it has caught up, unmasks the interrupts under
//! `call_synchronized`: `NdisMSynchronizeWithInterruptEx`'s job, so that unmasking never races
//! with the routine's masking.
//!
//! Frames are copied between socket buffers and per-descriptor buffers in coherent DMA memory;
//! transmitted buffers are freed when the device reports them sent.

use kernel::{
    c_str,
    delay::poll_timeout,
    dev_info, dev_warn,
    dma::{self, CoherentAllocation},
    irq::{DispatchMode, Flags, InterruptSync, IrqReturn, Placement},
    net::{
        device::{Builder, Device, Driver, Registration, Statistics, Transmit, ETH_ALEN, ETH_HLEN},
        napi::{Napi, NapiPoll},
        skb::SkBuff,
    },
    new_interrupt_sync, pci,
    prelude::*,
    sync::{new_spinlock_irq, Arc, SpinLockIrq},
};

kernel::module_pci_driver! {
    type: E1000Driver,
    name: "rust_irqsync_e1000",
    author: "irqsync developers",
    description: "Intel 82540EM network driver serviced by InterruptSync",
    license: "GPL",
}

/// Registers of the 82540EM (memory BAR 0) and their bits.
mod regs {
    pub(crate) const SIZE: usize = 0x20000;

    pub(crate) const CTRL: usize = 0x0000;
    pub(crate) const STATUS: usize = 0x0008;
    pub(crate) const EERD: usize = 0x0014;
    pub(crate) const ICR: usize = 0x00c0;
    pub(crate) const ITR: usize = 0x00c4;
    pub(crate) const IMS: usize = 0x00d0;
    pub(crate) const IMC: usize = 0x00d8;
    pub(crate) const RCTL: usize = 0x0100;
    pub(crate) const TCTL: usize = 0x0400;
    pub(crate) const TIPG: usize = 0x0410;
    pub(crate) const RDBAL: usize = 0x2800;
    pub(crate) const RDH: usize = 0x2810;
    pub(crate) const RDT: usize = 0x2818;
    pub(crate) const RDTR: usize = 0x2820;
    pub(crate) const RADV: usize = 0x282c;
    pub(crate) const TDBAL: usize = 0x3800;
    pub(crate) const TDH: usize = 0x3810;
    pub(crate) const TDT: usize = 0x3818;
    pub(crate) const TIDV: usize = 0x3820;
    pub(crate) const TADV: usize = 0x382c;
    /// Missed packets: frames dropped for lack of a receive descriptor (cleared by reading).
    pub(crate) const MPC: usize = 0x4010;
    pub(crate) const MTA: usize = 0x5200;
    pub(crate) const MTA_COUNT: usize = 128;
    pub(crate) const RAL0: usize = 0x5400;
    pub(crate) const RAH0: usize = 0x5404;

    pub(crate) const CTRL_SLU: u32 = 1 << 6;
    pub(crate) const STATUS_LU: u32 = 1 << 1;
    pub(crate) const EERD_START: u32 = 1 << 0;
    pub(crate) const EERD_DONE: u32 = 1 << 4;
    pub(crate) const EERD_ADDRESS_SHIFT: u32 = 8;
    pub(crate) const EERD_DATA_SHIFT: u32 = 16;
    pub(crate) const RAH_AV: u32 = 1 << 31;

    pub(crate) const ICR_TXDW: u32 = 1 << 0;
    pub(crate) const ICR_LSC: u32 = 1 << 2;
    pub(crate) const ICR_RXDMT0: u32 = 1 << 4;
    pub(crate) const ICR_RXO: u32 = 1 << 6;
    pub(crate) const ICR_RXT0: u32 = 1 << 7;
    /// The causes the driver serves.
    pub(crate) const INTERRUPTS: u32 = ICR_TXDW | ICR_LSC | ICR_RXDMT0 | ICR_RXO | ICR_RXT0;

    pub(crate) const RCTL_EN: u32 = 1 << 1;
    pub(crate) const RCTL_UPE: u32 = 1 << 3;
    pub(crate) const RCTL_MPE: u32 = 1 << 4;
    /// Long packets: the device hands frames over 1522 bytes to the driver, which drops them
    /// against the MTU and counts them.
    pub(crate) const RCTL_LPE: u32 = 1 << 5;
    pub(crate) const RCTL_BAM: u32 = 1 << 15;
    pub(crate) const RCTL_SECRC: u32 = 1 << 26;

    pub(crate) const TCTL_EN: u32 = 1 << 1;
    pub(crate) const TCTL_PSP: u32 = 1 << 3;
    pub(crate) const TCTL_CT: u32 = 0x0f << 4;
    pub(crate) const TCTL_COLD: u32 = 0x3f << 12;
    pub(crate) const TIPG_COPPER: u32 = 0x0060_200a;

    /// Interrupt throttling, delays in 1.024 us units and the throttle in 256 ns units: the
    /// C driver's defaults (at most 20000 interrupts a second).
    pub(crate) const ITR_DEFAULT: u32 = 195;
    pub(crate) const RDTR_DEFAULT: u32 = 0;
    pub(crate) const RADV_DEFAULT: u32 = 8;
    pub(crate) const TIDV_DEFAULT: u32 = 8;
    pub(crate) const TADV_DEFAULT: u32 = 32;
}

/// Legacy descriptors, 16 bytes: the buffer address, then one 64-bit word with the length,
/// command or status and errors.
mod descriptor {
    pub(crate) const WORDS: usize = 2;
    pub(crate) const BYTES: usize = 16;

    pub(crate) const TX_CMD_EOP: u64 = 1 << 24;
    pub(crate) const TX_CMD_IFCS: u64 = 1 << 25;
    pub(crate) const TX_CMD_RS: u64 = 1 << 27;
    pub(crate) const TX_STATUS_DD: u64 = 1 << 32;

    pub(crate) const RX_STATUS_DD: u64 = 1 << 32;
    pub(crate) const RX_STATUS_EOP: u64 = 1 << 33;
    pub(crate) const RX_ERRORS_SHIFT: u32 = 40;
    pub(crate) const LENGTH_MASK: u64 = 0xffff;
}

type Registers = pci::Bar<{ regs::SIZE }>;

/// Descriptors per ring.
const RING_SIZE: usize = 256;
/// Bytes per frame buffer: `RCTL.BSIZE` = 0.
const BUFFER_SIZE: usize = 2048;
/// The shortest frame on the wire, without its check sequence: shorter ones are padded.
const MIN_FRAME: usize = 60;
/// Free transmit descriptors below which the queue stops.
const TX_STOP_THRESHOLD: usize = 1;
/// Free transmit descriptors from which a stopped queue wakes.
const TX_WAKE_THRESHOLD: usize = 32;

/// The interrupt state: what the service routine shares with the rest of the driver, reachable
/// only under the `InterruptSync` lock.
#[derive(Default)]
struct Interrupts {
    /// The causes unmasked while NAPI is idle: `IMS` when the device is up, 0 when down.
    enabled: u32,
    /// Causes the routine read from `ICR` that the poll has not handled yet.
    pending: u32,
}

/// The service routine: claims the interrupt if the device raised it, masks the device and
/// schedules the poll.
fn service(registers: &Registers, napi: &Napi, interrupts: &mut Interrupts) -> IrqReturn {
    let causes = registers.read32(regs::ICR);
    if causes == 0 {
        // Another device on the shared line.
        return IrqReturn::None;
    }
    interrupts.pending |= causes;
    registers.write32(!0, regs::IMC);
    napi.schedule();
    IrqReturn::Handled
}

/// A descriptor ring and its frame buffers, in coherent DMA memory.
struct DescriptorRing {
    descriptors: CoherentAllocation<u64>,
    buffers: CoherentAllocation<u8>,
}

impl DescriptorRing {
    fn new(pdev: &pci::Device) -> Result<Self> {
        let descriptors =
            CoherentAllocation::alloc(pdev.as_ref(), RING_SIZE * descriptor::WORDS, GFP_KERNEL)?;
        let buffers =
            CoherentAllocation::alloc(pdev.as_ref(), RING_SIZE * BUFFER_SIZE, GFP_KERNEL)?;
        Ok(Self {
            descriptors,
            buffers,
        })
    }

    fn buffer_address(&self, index: usize) -> u64 {
        self.buffers.dma_handle() + (index * BUFFER_SIZE) as u64
    }

    fn buffer_offset(index: usize) -> usize {
        index * BUFFER_SIZE
    }

    /// Reads the length and status word of descriptor `index`.
    fn status(&self, index: usize) -> Result<u64> {
        self.descriptors.read(index * descriptor::WORDS + 1)
    }

    /// Writes descriptor `index`: the word first, then the address.
    fn write(&self, index: usize, word: u64) -> Result {
        self.descriptors
            .write(index * descriptor::WORDS, self.buffer_address(index))?;
        self.descriptors.write(index * descriptor::WORDS + 1, word)
    }

    /// Programs the ring's base (low, then high half) and length, three registers from
    /// `base_low` on.
    fn program(&self, registers: &Registers, base_low: usize) -> Result {
        let base = self.descriptors.dma_handle();
        registers.try_write32(base as u32, base_low)?;
        registers.try_write32((base >> 32) as u32, base_low + 4)?;
        registers.try_write32((RING_SIZE * descriptor::BYTES) as u32, base_low + 8)
    }
}

/// The next index in a ring.
fn next(index: usize) -> usize {
    (index + 1) % RING_SIZE
}

/// The receive ring, only used by the poll while the device is up.
struct RxRing {
    ring: DescriptorRing,
    /// The next descriptor the device fills.
    next: usize,
    /// Whether the frame being received spans descriptors: longer than a buffer. Its pieces
    /// are dropped up to the last.
    discarding: bool,
    /// The receive control register, whose filters `set_rx_mode` changes.
    control: u32,
    counters: Statistics,
}

/// What the poll found in one receive descriptor.
enum Received {
    Nothing,
    Frame(SkBuff),
    Dropped,
}

impl RxRing {
    /// Gives every descriptor its buffer back and hands all but one to the device.
    fn reset(&mut self, registers: &Registers) -> Result {
        for index in 0..RING_SIZE {
            self.ring.write(index, 0)?;
        }
        self.next = 0;
        self.discarding = false;
        self.ring.program(registers, regs::RDBAL)?;
        registers.write32(0, regs::RDH);
        registers.write32((RING_SIZE - 1) as u32, regs::RDT);
        Ok(())
    }

    /// Takes the next descriptor the device filled, if any, and copies its frame out.
    fn take(&mut self, poll: &NapiPoll<'_>, max_frame: usize) -> Result<Received> {
        let index = self.next;
        let word = self.ring.status(index)?;
        if word & descriptor::RX_STATUS_DD == 0 {
            return Ok(Received::Nothing);
        }
        let length = (word & descriptor::LENGTH_MASK) as usize;
        let errors = (word >> descriptor::RX_ERRORS_SHIFT) as u8;
        let last = word & descriptor::RX_STATUS_EOP != 0;

        let received = if !last {
            // A piece of a frame longer than a buffer: drop it, and the rest.
            self.discarding = true;
            Received::Dropped
        } else if core::mem::take(&mut self.discarding) || length > max_frame {
            self.counters.rx_length_errors += 1;
            self.counters.rx_errors += 1;
            Received::Dropped
        } else if errors != 0 {
            self.counters.rx_errors += 1;
            Received::Dropped
        } else {
            match self.copy_frame(poll, index, length) {
                Ok(skb) => {
                    self.counters.rx_packets += 1;
                    self.counters.rx_bytes += length as u64;
                    Received::Frame(skb)
                }
                Err(_) => {
                    self.counters.rx_dropped += 1;
                    Received::Dropped
                }
            }
        };
        self.ring.write(index, 0)?;
        self.next = next(index);
        Ok(received)
    }

    fn copy_frame(&self, poll: &NapiPoll<'_>, index: usize, length: usize) -> Result<SkBuff> {
        let mut skb = poll.alloc_skb(length)?;
        let frame = skb.put_zeroed(length)?;
        self.ring
            .buffers
            .read_into(DescriptorRing::buffer_offset(index), frame)?;
        Ok(skb)
    }
}

/// The transmit ring: filled by `start_xmit`, cleaned by the poll.
struct TxRing {
    ring: DescriptorRing,
    /// The frame of each descriptor the device has not sent yet, freed once it has.
    frames: KVec<Option<SkBuff>>,
    /// The next descriptor to fill.
    next_to_use: usize,
    /// The oldest descriptor not cleaned yet.
    next_to_clean: usize,
    counters: Statistics,
}

impl TxRing {
    fn reset(&mut self, registers: &Registers) -> Result {
        for index in 0..RING_SIZE {
            self.ring.write(index, 0)?;
        }
        self.next_to_use = 0;
        self.next_to_clean = 0;
        self.ring.program(registers, regs::TDBAL)?;
        registers.write32(0, regs::TDH);
        registers.write32(0, regs::TDT);
        Ok(())
    }

    /// Descriptors the driver may fill: one always stays empty, so that a full ring is not
    /// mistaken for an empty one.
    fn free(&self) -> usize {
        RING_SIZE - 1 - (self.next_to_use + RING_SIZE - self.next_to_clean) % RING_SIZE
    }

    /// Copies `skb` into the next buffer, padded to the shortest frame, and hands the
    /// descriptor to the device. Returns the frame if the ring is full.
    fn queue(&mut self, registers: &Registers, skb: SkBuff) -> core::result::Result<(), SkBuff> {
        if self.free() == 0 {
            return Err(skb);
        }
        let index = self.next_to_use;
        let frame = skb.data();
        let offset = DescriptorRing::buffer_offset(index);
        let padded = frame.len().max(MIN_FRAME);
        let written = self.ring.buffers.write_from(offset, frame).and_then(|()| {
            let padding = [0u8; MIN_FRAME];
            self.ring
                .buffers
                .write_from(offset + frame.len(), &padding[..padded - frame.len()])
        });
        let word = padded as u64
            | descriptor::TX_CMD_EOP
            | descriptor::TX_CMD_IFCS
            | descriptor::TX_CMD_RS;
        if written.and_then(|()| self.ring.write(index, word)).is_err() {
            self.counters.tx_dropped += 1;
            return Ok(());
        }
        self.frames[index] = Some(skb);
        self.next_to_use = next(index);
        registers.write32(self.next_to_use as u32, regs::TDT);
        Ok(())
    }

    /// Takes the oldest frame the device has sent, if any, counting it.
    fn take_sent(&mut self) -> Option<SkBuff> {
        if self.next_to_clean == self.next_to_use {
            return None;
        }
        let index = self.next_to_clean;
        let word = self.ring.status(index).ok()?;
        if word & descriptor::TX_STATUS_DD == 0 {
            return None;
        }
        self.counters.tx_packets += 1;
        self.counters.tx_bytes += word & descriptor::LENGTH_MASK;
        self.next_to_clean = next(index);
        self.frames[index].take()
    }

    /// Takes the frames of descriptors the device will not send, once it is stopped.
    fn take_unsent(&mut self) -> Option<SkBuff> {
        while self.next_to_clean != self.next_to_use {
            let index = self.next_to_clean;
            self.next_to_clean = next(index);
            if let Some(skb) = self.frames[index].take() {
                self.counters.tx_dropped += 1;
                return Some(skb);
            }
        }
        None
    }
}

/// One network interface: the driver data its net device holds.
#[pin_data]
struct Adapter {
    registers: Arc<Registers>,
    interrupts: Pin<KBox<InterruptSync<Interrupts>>>,
    #[pin]
    rx: SpinLockIrq<RxRing>,
    #[pin]
    tx: SpinLockIrq<TxRing>,
}

impl Adapter {
    /// Tells the stack whether the link is up, as `STATUS` says.
    fn update_link(&self, dev: &Device) {
        let up = self.registers.read32(regs::STATUS) & regs::STATUS_LU != 0;
        if up && !dev.carrier_ok() {
            dev.carrier_on();
            pr_info!("{}: link up\n", dev.name());
        } else if !up && dev.carrier_ok() {
            dev.carrier_off();
            pr_info!("{}: link down\n", dev.name());
        }
    }

    /// Frees the frames the device has sent and wakes the queue if it has room again.
    fn clean_tx(&self, dev: &Device) {
        // One frame per turn of the lock: frames are freed with interrupts enabled.
        while let Some(skb) = self.tx.with_lock(|tx| tx.take_sent()) {
            drop(skb);
        }
        self.tx.with_lock(|tx| {
            if dev.queue_stopped() && tx.free() >= TX_WAKE_THRESHOLD {
                dev.wake_queue();
            }
        });
    }

    /// Receives up to the budget, handing frames to the stack outside the lock, then gives
    /// the cleaned descriptors back to the device. Returns the descriptors it used.
    fn receive(&self, dev: &Device, poll: &NapiPoll<'_>) -> usize {
        let max_frame = dev.mtu() + ETH_HLEN;
        let mut work = 0;
        while work < poll.budget() {
            match self.rx.with_lock(|rx| rx.take(poll, max_frame)) {
                Ok(Received::Frame(skb)) => poll.receive(skb),
                Ok(Received::Dropped) => {}
                Ok(Received::Nothing) | Err(_) => break,
            }
            work += 1;
        }
        if work > 0 {
            let registers = &self.registers;
            self.rx.with_lock(|rx| {
                let last = (rx.next + RING_SIZE - 1) % RING_SIZE;
                registers.write32(last as u32, regs::RDT);
            });
        }
        work
    }

    fn rx_control(&self, dev: &Device, enabled: bool) -> u32 {
        let mut control = regs::RCTL_BAM | regs::RCTL_SECRC | regs::RCTL_LPE;
        if enabled {
            control |= regs::RCTL_EN;
        }
        if dev.is_promiscuous() {
            control |= regs::RCTL_UPE | regs::RCTL_MPE;
        } else {
            // No multicast filter table: take every multicast frame and let the stack filter.
            control |= regs::RCTL_MPE;
        }
        control
    }
}

impl Driver for Adapter {
    fn open(&self, dev: &Device) -> Result {
        let registers = &self.registers;
        registers.write32(!0, regs::IMC);
        registers.read32(regs::ICR);
        self.rx.with_lock(|rx| rx.reset(registers))?;
        self.tx.with_lock(|tx| tx.reset(registers))?;
        self.interrupts.connect(Flags::SHARED)?;

        registers.write32(registers.read32(regs::CTRL) | regs::CTRL_SLU, regs::CTRL);
        registers.write32(regs::ITR_DEFAULT, regs::ITR);
        registers.write32(regs::RDTR_DEFAULT, regs::RDTR);
        registers.write32(regs::RADV_DEFAULT, regs::RADV);
        registers.write32(regs::TIDV_DEFAULT, regs::TIDV);
        registers.write32(regs::TADV_DEFAULT, regs::TADV);
        registers.write32(regs::TIPG_COPPER, regs::TIPG);
        registers.write32(
            regs::TCTL_EN | regs::TCTL_PSP | regs::TCTL_CT | regs::TCTL_COLD,
            regs::TCTL,
        );
        let control = self.rx_control(dev, true);
        self.rx.with_lock(|rx| {
            rx.control = control;
            registers.write32(control, regs::RCTL);
        });
        self.update_link(dev);

        self.interrupts.call_synchronized(|interrupts| {
            interrupts.enabled = regs::INTERRUPTS;
            interrupts.pending = 0;
            registers.write32(interrupts.enabled, regs::IMS);
        });
        Ok(())
    }

    fn stop(&self, dev: &Device) {
        let registers = &self.registers;
        self.interrupts.call_synchronized(|interrupts| {
            interrupts.enabled = 0;
            registers.write32(!0, regs::IMC);
        });
        self.interrupts.disconnect();
        self.rx.with_lock(|rx| {
            rx.control &= !regs::RCTL_EN;
            registers.write32(rx.control, regs::RCTL);
        });
        registers.write32(0, regs::TCTL);
        while let Some(skb) = self.tx.with_lock(|tx| tx.take_unsent()) {
            drop(skb);
        }
        dev.carrier_off();
    }

    fn start_xmit(&self, dev: &Device, skb: SkBuff) -> Transmit {
        if !skb.is_linear() || skb.len() > BUFFER_SIZE {
            // Not announced (no scatter-gather) and refused by the MTU: never expected.
            self.tx.with_lock(|tx| tx.counters.tx_dropped += 1);
            return Transmit::Done;
        }
        let registers = &self.registers;
        let refused = self.tx.with_lock(|tx| {
            let refused = tx.queue(registers, skb).err();
            if tx.free() < TX_STOP_THRESHOLD {
                dev.stop_queue();
            }
            refused
        });
        match refused {
            Some(skb) => Transmit::Busy(skb),
            None => Transmit::Done,
        }
    }

    fn poll(&self, dev: &Device, poll: &mut NapiPoll<'_>) {
        let causes = self
            .interrupts
            .call_synchronized(|interrupts| core::mem::take(&mut interrupts.pending));
        if causes & regs::ICR_LSC != 0 {
            self.update_link(dev);
        }
        self.clean_tx(dev);
        let work = self.receive(dev, poll);
        if poll.complete_done(work) {
            let registers = &self.registers;
            self.interrupts.call_synchronized(|interrupts| {
                registers.write32(interrupts.enabled, regs::IMS);
            });
        }
    }

    fn statistics(&self, _dev: &Device) -> Statistics {
        let registers = &self.registers;
        let rx = self.rx.with_lock(|rx| {
            rx.counters.rx_missed_errors += u64::from(registers.read32(regs::MPC));
            rx.counters
        });
        let tx = self.tx.with_lock(|tx| tx.counters);
        Statistics {
            tx_packets: tx.tx_packets,
            tx_bytes: tx.tx_bytes,
            tx_dropped: tx.tx_dropped,
            ..rx
        }
    }

    fn set_rx_mode(&self, dev: &Device) {
        let registers = &self.registers;
        self.rx.with_lock(|rx| {
            let enabled = rx.control & regs::RCTL_EN != 0;
            rx.control = self.rx_control(dev, enabled);
            registers.write32(rx.control, regs::RCTL);
        });
    }
}

/// Reads word `address` of the EEPROM through `EERD`.
fn read_eeprom(registers: &Registers, address: u32) -> Result<u16> {
    registers.write32(
        address << regs::EERD_ADDRESS_SHIFT | regs::EERD_START,
        regs::EERD,
    );
    let mut value = 0;
    poll_timeout(
        || {
            value = registers.read32(regs::EERD);
            value & regs::EERD_DONE != 0
        },
        10,
        10_000,
    )?;
    Ok((value >> regs::EERD_DATA_SHIFT) as u16)
}

/// Reads the MAC address from the EEPROM (words 0 to 2), or else from receive address 0, which
/// the device loads from the EEPROM at reset.
fn read_mac_address(pdev: &pci::Device, registers: &Registers) -> [u8; ETH_ALEN] {
    let mut address = [0u8; ETH_ALEN];
    let from_eeprom = (0..3).try_for_each(|word| {
        let value = read_eeprom(registers, word)?.to_le_bytes();
        address[2 * word as usize..2 * word as usize + 2].copy_from_slice(&value);
        Ok::<(), Error>(())
    });
    if from_eeprom.is_err() {
        dev_warn!(pdev, "EEPROM does not answer; using receive address 0\n");
        let low = registers.read32(regs::RAL0).to_le_bytes();
        let high = registers.read32(regs::RAH0).to_le_bytes();
        address[..4].copy_from_slice(&low);
        address[4..].copy_from_slice(&high[..2]);
    }
    address
}

/// Quiets the device and programs its receive address filter with `address`.
fn initialise(registers: &Registers, address: &[u8; ETH_ALEN]) -> Result {
    // QEMU's device reset leaves registers as they were: set every one the driver relies on.
    registers.write32(!0, regs::IMC);
    registers.read32(regs::ICR);
    registers.write32(0, regs::RCTL);
    registers.write32(0, regs::TCTL);
    for entry in 0..regs::MTA_COUNT {
        registers.try_write32(0, regs::MTA + 4 * entry)?;
    }
    let low = u32::from_le_bytes([address[0], address[1], address[2], address[3]]);
    let high = u32::from(u16::from_le_bytes([address[4], address[5]])) | regs::RAH_AV;
    registers.write32(low, regs::RAL0);
    registers.write32(high, regs::RAH0);
    Ok(())
}

/// The driver's data for one controller. Dropped in order: the net device (unregistered,
/// which closes it and disconnects the interrupt, then freed with the adapter and its rings),
/// then the interrupt vector.
struct E1000Driver {
    _registration: Registration<Adapter>,
    _vectors: pci::IrqVectors,
}

static IDS: pci::IdArray<1> = pci::IdArray::new([pci::DeviceId::from_id(0x8086, 0x100e)]);

impl pci::Driver for E1000Driver {
    const NAME: &'static CStr = c_str!("rust_irqsync_e1000");
    const ID_TABLE: pci::IdTable = IDS.table();

    fn probe(pdev: &pci::Device, _id: &pci::DeviceId) -> Result<Pin<KBox<Self>>> {
        pdev.enable_device()?;
        pdev.set_master();
        dma::set_mask_and_coherent(pdev.as_ref(), 32)?;
        let registers = Arc::new(
            pdev.iomap_region::<{ regs::SIZE }>(0, c_str!("rust_irqsync_e1000"))?,
            GFP_KERNEL,
        )?;
        let address = read_mac_address(pdev, &registers);
        initialise(&registers, &address)?;

        // The 82540EM has only the legacy line, which it may share.
        let vectors = pdev.alloc_irq_vectors(1, 1, pci::IrqTypes::INTX)?;
        let mut builder = Builder::<Adapter>::new(pdev.as_ref())?;
        builder.set_mtu_range(68, (BUFFER_SIZE - ETH_HLEN) as u32);

        let interrupts = KBox::pin_init(
            new_interrupt_sync!(
                vectors.line(0)?,
                DispatchMode::Normal,
                Interrupts::default(),
                "rust_irqsync_e1000"
            ),
            GFP_KERNEL,
        )?;
        {
            let (registers, napi) = (registers.clone(), builder.napi().clone());
            interrupts.register_service_routine(
                move |state| service(&registers, &napi, state),
                Placement::Last,
            )?;
        }

        let rx = RxRing {
            ring: DescriptorRing::new(pdev)?,
            next: 0,
            discarding: false,
            control: 0,
            counters: Statistics::default(),
        };
        let mut frames = KVec::with_capacity(RING_SIZE, GFP_KERNEL)?;
        for _ in 0..RING_SIZE {
            frames.push(None, GFP_KERNEL)?;
        }
        let tx = TxRing {
            ring: DescriptorRing::new(pdev)?,
            frames,
            next_to_use: 0,
            next_to_clean: 0,
            counters: Statistics::default(),
        };
        let adapter_registers = registers.clone();
        let registration = builder.register(
            &address,
            try_pin_init!(Adapter {
                registers: adapter_registers,
                interrupts,
                rx <- new_spinlock_irq!(rx, "rust_irqsync_e1000_rx"),
                tx <- new_spinlock_irq!(tx, "rust_irqsync_e1000_tx"),
            }),
        )?;
        dev_info!(
            pdev,
            "{}: 82540EM at irq {}, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n",
            registration.device().name(),
            registration.data().interrupts.irq(),
            address[0],
            address[1],
            address[2],
            address[3],
            address[4],
            address[5]
        );

        Ok(KBox::pin(
            E1000Driver {
                _registration: registration,
                _vectors: vectors,
            },
            GFP_KERNEL,
        )?)
    }
}
