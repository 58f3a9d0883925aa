// SPDX-License-Identifier: GPL-2.0

//! A network driver for the Intel 82540EM gigabit Ethernet controller, as QEMU emulates it,
//! serviced by `InterruptSync`: the network counterpart of an NDIS miniport.
//!
//! The service routine does what an NDIS `MiniportInterrupt` does: it reads the interrupt cause
//! (ICR, cleared by reading), returns `IRQ_NONE` when the device did not interrupt, masks the
//! device's interrupts and schedules NAPI, the DPC. The NAPI poll cleans sent frames, receives
//! up to its budget and, once it has caught up, unmasks the interrupts under
//! `call_synchronized`: `NdisMSynchronizeWithInterruptEx`'s job, so that unmasking never races
//! with the routine's masking. NAPI is the network stack's own deferred work, with its budget
//! and its place in the stack's softirq, so the driver uses it rather than the object's DPC.
//!
//! Frames are copied between socket buffers and per-descriptor buffers in coherent DMA memory,
//! like the simplest real drivers do; a socket buffer to send, linear or in pieces, is kept
//! until the device has sent it. The device inserts TCP and UDP checksums and cuts TCP frames of
//! up to 64 KiB into segments (TSO), as a context descriptor before the frame's data descriptors
//! says; what a frame becomes on the wire is worked out when it is queued, as the C driver does.
//!
//! As in the C driver, barriers order the descriptors with the device: the driver reads a
//! descriptor's work only after seeing its done bit (`dma_rmb()`), and makes its writes to
//! descriptors visible before telling the device of them through a tail register
//! (`dma_wmb()`). The device's receive and transmit units are stopped before its rings are
//! freed, and a device that reads as all ones has been unplugged.

use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use kernel::{
    c_str,
    delay::{self, poll_timeout},
    dev_info, dev_warn,
    dma::{self, CoherentAllocation},
    irq::{DispatchMode, Flags, InterruptSync, IrqReturn, Placement},
    net::{
        device::{
            Builder, Device, Driver, Features, Registration, Statistics, Transmit, ETH_ALEN,
            ETH_HLEN,
        },
        napi::{Napi, NapiPoll},
        skb::{ChecksumRequest, Segmentation, SkBuff, SkBuffSlot},
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
    /// C driver's defaults. At most 20000 interrupts a second, or 4000 while the traffic is
    /// bulk (see `Moderation`).
    pub(crate) const ITR_DEFAULT: u32 = 195;
    pub(crate) const ITR_BULK: u32 = 976;
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
    /// Part of a frame the device cuts into TCP segments.
    pub(crate) const TX_CMD_TSE: u64 = 1 << 26;
    /// Interrupt delay: the TX-done interrupt waits for `TIDV`/`TADV`, as in the C driver.
    pub(crate) const TX_CMD_IDE: u64 = 1 << 31;
    pub(crate) const TX_STATUS_DD: u64 = 1 << 32;
    /// Extended descriptors: a context descriptor (type 0) sets up checksum insertion for
    /// the data descriptors (type 1) that follow.
    pub(crate) const TX_CMD_DEXT: u64 = 1 << 29;
    pub(crate) const TX_TYPE_DATA: u64 = 1 << 20;
    pub(crate) const TX_TYPE_MASK: u64 = 0xf << 20;
    /// Data descriptor options: insert the IPv4 header checksum, and the TCP/UDP checksum, as
    /// the context says.
    pub(crate) const TX_OPTION_IXSM: u64 = 1 << 40;
    pub(crate) const TX_OPTION_TXSM: u64 = 1 << 41;
    pub(crate) const TX_LENGTH_MASK: u64 = 0xf_ffff;
    /// Context descriptor, first word: where the IPv4 header checksum starts, goes and ends,
    /// and where the TCP/UDP checksum starts and goes (it ends with the frame).
    pub(crate) const CONTEXT_IPCSS_SHIFT: u32 = 0;
    pub(crate) const CONTEXT_IPCSO_SHIFT: u32 = 8;
    pub(crate) const CONTEXT_IPCSE_SHIFT: u32 = 16;
    pub(crate) const CONTEXT_TUCSS_SHIFT: u32 = 32;
    pub(crate) const CONTEXT_TUCSO_SHIFT: u32 = 40;
    /// Context descriptor, second word: the frame is TCP over IPv4; then the bytes of headers
    /// and of payload per segment. The payload's length is in `TX_LENGTH_MASK`.
    pub(crate) const CONTEXT_CMD_TCP: u64 = 1 << 24;
    pub(crate) const CONTEXT_CMD_IP: u64 = 1 << 25;
    pub(crate) const CONTEXT_HDRLEN_SHIFT: u32 = 40;
    pub(crate) const CONTEXT_MSS_SHIFT: u32 = 48;

    pub(crate) const RX_STATUS_DD: u64 = 1 << 32;
    pub(crate) const RX_STATUS_EOP: u64 = 1 << 33;
    pub(crate) const RX_ERRORS_SHIFT: u32 = 40;
    pub(crate) const LENGTH_MASK: u64 = 0xffff;

    /// Whether a transmit descriptor's second word is that of a context descriptor.
    pub(crate) fn is_context(word: u64) -> bool {
        word & TX_CMD_DEXT != 0 && word & TX_TYPE_MASK == 0
    }
}

type Registers = pci::Bar<{ regs::SIZE }>;

/// Descriptors per ring.
const RING_SIZE: usize = 256;
/// Bytes per frame buffer: `RCTL.BSIZE` = 0.
const BUFFER_SIZE: usize = 2048;
/// The shortest frame on the wire, without its check sequence: shorter ones are padded.
const MIN_FRAME: usize = 60;
/// The most buffers a frame to send takes: the stack's largest frame to segment is 64 KiB.
const TX_BUFFERS_PER_FRAME: usize = 65536 / BUFFER_SIZE;
/// The most descriptors a frame takes: a context descriptor and a data descriptor per buffer.
const TX_DESCRIPTORS_PER_FRAME: usize = 1 + TX_BUFFERS_PER_FRAME;
/// Free transmit descriptors from which a stopped queue wakes.
const TX_WAKE_THRESHOLD: usize = 2 * TX_DESCRIPTORS_PER_FRAME;

/// The index after `index` in a ring.
///
/// Ring indices are taken modulo [`RING_SIZE`] wherever they are used, so that their arithmetic
/// never overflows and an index never leaves the ring, whatever value it holds.
fn next(index: usize) -> usize {
    (index % RING_SIZE + 1) % RING_SIZE
}

/// The index before `index` in a ring.
fn previous(index: usize) -> usize {
    (index % RING_SIZE + RING_SIZE - 1) % RING_SIZE
}

/// How many steps lead from index `from` to index `to` in a ring: less than [`RING_SIZE`].
fn distance(from: usize, to: usize) -> usize {
    (to % RING_SIZE + RING_SIZE - from % RING_SIZE) % RING_SIZE
}

/// Whether `value`, read from a register, says the device is gone: after a surprise removal,
/// reads return all ones, which no register the driver reads ever holds otherwise.
fn is_gone(value: u32) -> bool {
    value == u32::MAX
}

/// Makes the device take the register writes before this call, as a read does
/// (`E1000_WRITE_FLUSH()`), then gives it 10 ms to finish the DMA of the frame it may be moving,
/// as `e1000_down()` does once it has disabled receive and transmit. May sleep.
fn flush_and_settle(registers: &Registers) {
    registers.read32(regs::STATUS);
    delay::usleep_range(10_000, 20_000);
}

/// What the device does to a frame besides sending it, as the context descriptor before the
/// frame says, and what the frame's data descriptors say in turn.
struct Offload {
    context: [u64; descriptor::WORDS],
    data_command: u64,
    /// The frames the device cuts the frame into: the stack's count (`gso_segs`), or 1 if the
    /// frame is not cut.
    segments: u16,
    /// The bytes of headers that each segment after the first repeats; 0 if the frame is not
    /// cut.
    header_len: usize,
}

impl Offload {
    /// Inserts a TCP or UDP checksum where `request` says; `None` if its offsets do not fit
    /// the context descriptor's bytes.
    fn checksum(request: ChecksumRequest) -> Option<Self> {
        let start = u8::try_from(request.start).ok()?;
        let at = u8::try_from(request.start.checked_add(request.offset)?).ok()?;
        Some(Self {
            context: [
                u64::from(start) << descriptor::CONTEXT_TUCSS_SHIFT
                    | u64::from(at) << descriptor::CONTEXT_TUCSO_SHIFT,
                descriptor::TX_CMD_DEXT,
            ],
            data_command: descriptor::TX_CMD_DEXT
                | descriptor::TX_TYPE_DATA
                | descriptor::TX_OPTION_TXSM,
            segments: 1,
            header_len: 0,
        })
    }

    /// Cuts a TCP over IPv4 frame of `frame_len` bytes as `cut` says into `segments` segments
    /// (the stack's count), inserting both checksums in each segment; `None` if an offset or
    /// length does not fit its field.
    fn segmentation(cut: &Segmentation, frame_len: usize, segments: u16) -> Option<Self> {
        let ip_start = u8::try_from(cut.network_offset).ok()?;
        let ip_checksum = u8::try_from(cut.ip_checksum_offset()).ok()?;
        let ip_end = u16::try_from(cut.transport_offset.checked_sub(1)?).ok()?;
        let tcp_start = u8::try_from(cut.transport_offset).ok()?;
        let tcp_checksum = u8::try_from(cut.tcp_checksum_offset()).ok()?;
        let header_len = u8::try_from(cut.header_len).ok()?;
        let mss = u16::try_from(cut.segment_size).ok()?;
        let payload = u64::try_from(frame_len.checked_sub(cut.header_len)?).ok()?;
        if payload > descriptor::TX_LENGTH_MASK {
            return None;
        }
        Some(Self {
            context: [
                u64::from(ip_start) << descriptor::CONTEXT_IPCSS_SHIFT
                    | u64::from(ip_checksum) << descriptor::CONTEXT_IPCSO_SHIFT
                    | u64::from(ip_end) << descriptor::CONTEXT_IPCSE_SHIFT
                    | u64::from(tcp_start) << descriptor::CONTEXT_TUCSS_SHIFT
                    | u64::from(tcp_checksum) << descriptor::CONTEXT_TUCSO_SHIFT,
                payload
                    | descriptor::CONTEXT_CMD_TCP
                    | descriptor::CONTEXT_CMD_IP
                    | descriptor::TX_CMD_TSE
                    | descriptor::TX_CMD_DEXT
                    | u64::from(header_len) << descriptor::CONTEXT_HDRLEN_SHIFT
                    | u64::from(mss) << descriptor::CONTEXT_MSS_SHIFT,
            ],
            data_command: descriptor::TX_CMD_DEXT
                | descriptor::TX_TYPE_DATA
                | descriptor::TX_CMD_TSE
                | descriptor::TX_OPTION_IXSM
                | descriptor::TX_OPTION_TXSM,
            segments: segments.max(1),
            header_len: cut.header_len,
        })
    }

    /// The offload `skb` needs, if any, its headers made ready for it. A frame to checksum
    /// whose offsets the context cannot hold is checksummed here. An error means the frame
    /// cannot be sent.
    fn for_frame(skb: &mut SkBuff) -> Result<Option<Self>> {
        if let Some(cut) = skb.prepare_segmentation()? {
            return Self::segmentation(&cut, skb.len(), skb.gso_segs())
                .map(Some)
                .ok_or(EINVAL);
        }
        let Some(request) = skb.checksum_request() else {
            return Ok(None);
        };
        match Self::checksum(request) {
            Some(offload) => Ok(Some(offload)),
            None => skb.checksum_in_software().map(|()| None),
        }
    }
}

/// Frames and bytes: what one poll handled in one direction, or what one frame to send becomes
/// on the wire.
///
/// Sums wrap, as the kernel's 64-bit counters do.
#[derive(Clone, Copy, Default)]
struct Traffic {
    packets: u64,
    bytes: u64,
}

impl Traffic {
    /// What a frame of `len` bytes becomes on the wire, worked out when it is queued as the C
    /// driver does (`e1000_tx_map()`): `segments` frames, each after the first repeating the
    /// frame's `header_len` bytes of headers. A frame shorter than the shortest on the wire is
    /// padded to it. (The C driver repeats `skb_headlen()` bytes, which is the headers for
    /// frames that TCP builds; the device repeats exactly the headers.)
    fn on_wire(len: usize, segments: u16, header_len: usize) -> Traffic {
        let packets = u64::from(segments.max(1));
        let repeated = (packets - 1).saturating_mul(header_len as u64);
        Traffic {
            packets,
            bytes: repeated.saturating_add(len.max(MIN_FRAME) as u64),
        }
    }

    /// These totals and `other` together.
    fn plus(self, other: Traffic) -> Traffic {
        Traffic {
            packets: self.packets.wrapping_add(other.packets),
            bytes: self.bytes.wrapping_add(other.bytes),
        }
    }

    /// What was added to these totals since `earlier`.
    fn since(self, earlier: Traffic) -> Traffic {
        Traffic {
            packets: self.packets.wrapping_sub(earlier.packets),
            bytes: self.bytes.wrapping_sub(earlier.bytes),
        }
    }

    /// Whether this traffic, in one poll, is bulk, given whether the last poll's was: the C
    /// driver's rules (`e1000_update_itr()`), without its lowest-latency class, as in its
    /// default "dynamic conservative" mode.
    fn is_bulk(self, was_bulk: bool) -> bool {
        let Traffic { packets, bytes } = self;
        if packets == 0 {
            return was_bulk;
        }
        let per_packet = bytes / packets;
        if was_bulk {
            !(bytes > 25000 && packets > 35 || bytes < 6000)
        } else if bytes > 10000 {
            packets < 10 || per_packet > 1200
        } else {
            per_packet > 2000
        }
    }
}

/// Interrupt moderation, as the C driver does by default: fewer interrupts while either
/// direction moves bulk traffic. Only `open` and the poll use it, never at once.
struct Moderation {
    tx_bulk: AtomicBool,
    rx_bulk: AtomicBool,
    /// What `ITR` holds.
    throttle: AtomicU32,
}

impl Moderation {
    fn new() -> Self {
        Self {
            tx_bulk: AtomicBool::new(false),
            rx_bulk: AtomicBool::new(false),
            throttle: AtomicU32::new(regs::ITR_DEFAULT),
        }
    }

    /// Starts again from the default rate.
    fn reset(&self, registers: &Registers) {
        self.tx_bulk.store(false, Ordering::Relaxed);
        self.rx_bulk.store(false, Ordering::Relaxed);
        self.throttle.store(regs::ITR_DEFAULT, Ordering::Relaxed);
        registers.write32(regs::ITR_DEFAULT, regs::ITR);
    }

    /// Classes what a poll `sent` and `received`, and changes the rate if the class changed.
    fn update(&self, registers: &Registers, sent: Traffic, received: Traffic) {
        let tx_bulk = sent.is_bulk(self.tx_bulk.load(Ordering::Relaxed));
        let rx_bulk = received.is_bulk(self.rx_bulk.load(Ordering::Relaxed));
        self.tx_bulk.store(tx_bulk, Ordering::Relaxed);
        self.rx_bulk.store(rx_bulk, Ordering::Relaxed);
        let throttle = if tx_bulk || rx_bulk {
            regs::ITR_BULK
        } else {
            regs::ITR_DEFAULT
        };
        if self.throttle.swap(throttle, Ordering::Relaxed) != throttle {
            registers.write32(throttle, regs::ITR);
        }
    }
}

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
    if causes == 0 || is_gone(causes) {
        // Another device on the shared line, or this one is gone (surprise removal): not this
        // device's interrupt. Claiming it would hide a line that storms from the kernel's
        // spurious-interrupt detection.
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

    /// Where the buffer of descriptor `index` starts in `buffers`.
    fn buffer_offset(index: usize) -> usize {
        index % RING_SIZE * BUFFER_SIZE
    }

    /// The device's address of the buffer of descriptor `index`.
    fn buffer_address(&self, index: usize) -> Result<u64> {
        let offset = u64::try_from(Self::buffer_offset(index)).map_err(|_| EINVAL)?;
        self.buffers.dma_handle().checked_add(offset).ok_or(EINVAL)
    }

    /// Where descriptor `index` starts in `descriptors`.
    fn descriptor_offset(index: usize) -> usize {
        index % RING_SIZE * descriptor::WORDS
    }

    /// Reads the length and status word of descriptor `index`.
    fn status(&self, index: usize) -> Result<u64> {
        self.descriptors.read(Self::descriptor_offset(index) + 1)
    }

    /// Writes context descriptor `index`.
    fn write_context(&self, index: usize, context: &[u64; descriptor::WORDS]) -> Result {
        self.descriptors
            .write_from(Self::descriptor_offset(index), context)
    }

    /// Writes descriptor `index`: the address, then the word.
    fn write(&self, index: usize, word: u64) -> Result {
        let (offset, address) = (Self::descriptor_offset(index), self.buffer_address(index)?);
        self.descriptors.write(offset, address)?;
        self.descriptors.write(offset + 1, word)
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

/// The receive ring: emptied by the poll, without a lock.
///
/// Only the poll moves `next`, and NAPI never polls twice at once; `open` resets the ring
/// while no poll runs. The counters are read by `statistics` at any time.
struct RxRing {
    ring: DescriptorRing,
    /// The next descriptor the device fills.
    next: AtomicUsize,
    /// Whether the frame being received spans descriptors: longer than a buffer. Its pieces
    /// are dropped up to the last.
    discarding: AtomicBool,
    packets: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    length_errors: AtomicU64,
    dropped: AtomicU64,
    missed: AtomicU64,
}

impl RxRing {
    fn new(pdev: &pci::Device) -> Result<Self> {
        Ok(Self {
            ring: DescriptorRing::new(pdev)?,
            next: AtomicUsize::new(0),
            discarding: AtomicBool::new(false),
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            length_errors: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            missed: AtomicU64::new(0),
        })
    }

    /// Returns the frames and bytes received so far.
    fn traffic(&self) -> Traffic {
        Traffic {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    /// Gives every descriptor its buffer back and hands all but one to the device; only while
    /// no poll runs.
    fn reset(&self, registers: &Registers) -> Result {
        for index in 0..RING_SIZE {
            self.ring.write(index, 0)?;
        }
        self.next.store(0, Ordering::Relaxed);
        self.discarding.store(false, Ordering::Relaxed);
        self.ring.program(registers, regs::RDBAL)?;
        registers.write32(0, regs::RDH);
        // The device must see the descriptors before the tail register hands them over:
        // `dma_wmb()` in `e1000_alloc_rx_buffers()`.
        dma::dma_wmb();
        registers.write32(previous(0) as u32, regs::RDT);
        Ok(())
    }

    /// Takes the next descriptor the device filled, if any, and its frame if it is good
    /// (counting it either way). Called by the poll only.
    fn take(&self, poll: &NapiPoll<'_>, max_frame: usize) -> Received {
        let index = self.next.load(Ordering::Relaxed) % RING_SIZE;
        let word = match self.ring.status(index) {
            Ok(word) if word & descriptor::RX_STATUS_DD != 0 => word,
            _ => return Received::Nothing,
        };
        // The length and errors came with the done bit, in one 64-bit read; the frame in the
        // buffer must not be read before the done bit was seen: `dma_rmb()` in
        // `e1000_clean_rx_irq()`.
        dma::dma_rmb();
        let frame = self.take_frame(poll, index, word, max_frame);
        if self.ring.write(index, 0).is_err() {
            return Received::Nothing;
        }
        self.next.store(next(index), Ordering::Relaxed);
        match frame {
            Some(skb) => Received::Frame(skb),
            None => Received::Dropped,
        }
    }

    /// Copies out the frame of descriptor `index`, whose status word is `word`, if it is good;
    /// counts it either way.
    fn take_frame(
        &self,
        poll: &NapiPoll<'_>,
        index: usize,
        word: u64,
        max_frame: usize,
    ) -> Option<SkBuff> {
        let length = (word & descriptor::LENGTH_MASK) as usize;
        let errors = (word >> descriptor::RX_ERRORS_SHIFT) as u8;
        if word & descriptor::RX_STATUS_EOP == 0 {
            // A piece of a frame longer than a buffer: drop it, and the rest.
            self.discarding.store(true, Ordering::Relaxed);
            return None;
        }
        if self.discarding.swap(false, Ordering::Relaxed) || length > max_frame {
            self.length_errors.fetch_add(1, Ordering::Relaxed);
            self.errors.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        if errors != 0 {
            self.errors.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        match self.copy_frame(poll, index, length) {
            Ok(skb) => {
                self.packets.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(length as u64, Ordering::Relaxed);
                Some(skb)
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
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

/// What the poll found in the next receive descriptor.
enum Received {
    /// The device has not filled it yet.
    Nothing,
    /// A good frame, for the stack.
    Frame(SkBuff),
    /// A frame dropped and counted: in error, too long, or no memory for it.
    Dropped,
}

/// A frame handed to the device, kept in the slot of its last descriptor until the device has
/// sent it, with what it becomes on the wire.
///
/// `start_xmit` fills the slot before it publishes the frame's descriptors (`next_to_use`,
/// release ordering), and the poll empties it after it has seen them (acquire ordering): the
/// counts are atomics only so that both reach them through shared references.
struct TxFrame {
    skb: SkBuffSlot,
    wire_packets: AtomicU64,
    wire_bytes: AtomicU64,
}

impl TxFrame {
    fn new() -> Self {
        Self {
            skb: SkBuffSlot::new(),
            wire_packets: AtomicU64::new(0),
            wire_bytes: AtomicU64::new(0),
        }
    }

    /// Keeps `skb`, which becomes `wire` on the wire, in the slot.
    fn keep(&self, skb: SkBuff, wire: Traffic) {
        self.wire_packets.store(wire.packets, Ordering::Relaxed);
        self.wire_bytes.store(wire.bytes, Ordering::Relaxed);
        // The slot is empty: the poll emptied it with the frame it held before.
        drop(self.skb.replace(Some(skb)));
    }

    /// Empties the slot: frees its frame and returns what the frame became on the wire; `None`
    /// if the slot held no frame.
    fn release(&self) -> Option<Traffic> {
        drop(self.skb.take()?);
        Some(Traffic {
            packets: self.wire_packets.swap(0, Ordering::Relaxed),
            bytes: self.wire_bytes.swap(0, Ordering::Relaxed),
        })
    }
}

/// The transmit ring: filled by `start_xmit`, cleaned by the poll, without a lock.
///
/// As in the C driver, each index has one writer: the stack serialises `start_xmit` on the
/// queue (it holds the queue's lock), which alone moves `next_to_use`; NAPI never polls twice
/// at once, and only the poll moves `next_to_clean`. `open` and `stop` reset both while
/// neither runs. The descriptors and buffers are only reached through the DMA allocation's
/// accessors, so even a broken serialisation could not make Rust references race.
///
/// Frames are copied into the descriptors' buffers. Their socket buffers are still kept, in
/// the slot of their last descriptor, until the device has sent them, as drivers that map
/// them do: the stack paces a socket by when its frames are freed (TCP small queues). What a
/// frame becomes on the wire, its segments and their bytes, is worked out when it is queued
/// and kept with it, as in the C driver; the poll counts it once the device has sent it.
struct TxRing {
    ring: DescriptorRing,
    /// The frame whose last descriptor each is, until the device has sent it.
    frames: KVec<TxFrame>,
    /// The next descriptor to fill.
    next_to_use: AtomicUsize,
    /// The oldest descriptor the device has not reported sent yet.
    next_to_clean: AtomicUsize,
    sent_packets: AtomicU64,
    sent_bytes: AtomicU64,
    dropped: AtomicU64,
}

impl TxRing {
    fn new(pdev: &pci::Device) -> Result<Self> {
        let mut frames = KVec::with_capacity(RING_SIZE, GFP_KERNEL)?;
        for _ in 0..RING_SIZE {
            frames.push(TxFrame::new(), GFP_KERNEL)?;
        }
        Ok(Self {
            ring: DescriptorRing::new(pdev)?,
            frames,
            next_to_use: AtomicUsize::new(0),
            next_to_clean: AtomicUsize::new(0),
            sent_packets: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// Empties the ring and programs it; only while neither `start_xmit` nor the poll runs.
    fn reset(&self, registers: &Registers) -> Result {
        for index in 0..RING_SIZE {
            self.ring.write(index, 0)?;
        }
        self.next_to_use.store(0, Ordering::Relaxed);
        self.next_to_clean.store(0, Ordering::Relaxed);
        self.ring.program(registers, regs::TDBAL)?;
        registers.write32(0, regs::TDH);
        registers.write32(0, regs::TDT);
        Ok(())
    }

    /// Descriptors the driver may fill: one always stays empty, so that a full ring is not
    /// mistaken for an empty one.
    fn free(&self) -> usize {
        let next_to_use = self.next_to_use.load(Ordering::Acquire);
        let next_to_clean = self.next_to_clean.load(Ordering::Acquire);
        // `distance()` is below `RING_SIZE`.
        RING_SIZE - 1 - distance(next_to_clean, next_to_use)
    }

    /// Hands `skb` to the device, after a context descriptor if `offload` says one, and keeps
    /// it until the device has sent it. Gives it back with `EBUSY` if the ring has no room,
    /// with `EINVAL` if it takes more than [`TX_BUFFERS_PER_FRAME`]. Called by `start_xmit`
    /// only.
    fn queue(
        &self,
        registers: &Registers,
        skb: SkBuff,
        offload: Option<&Offload>,
    ) -> core::result::Result<(), (Error, SkBuff)> {
        let last = match self.write_frame(&skb, offload) {
            Ok(last) => last,
            Err(e) => return Err((e, skb)),
        };
        let (segments, header_len) = offload.map_or((1, 0), |o| (o.segments, o.header_len));
        let wire = Traffic::on_wire(skb.len(), segments, header_len);
        if let Some(frame) = self.frames.get(last) {
            frame.keep(skb, wire);
        }
        // The device must see the descriptors whole before the tail register hands them over:
        // `dma_wmb()` at the end of `e1000_tx_queue()`.
        dma::dma_wmb();
        self.next_to_use.store(next(last), Ordering::Release);
        registers.write32(next(last) as u32, regs::TDT);
        Ok(())
    }

    /// Writes the descriptors of `skb` from `next_to_use` on, copying it into their buffers,
    /// a frame shorter than the shortest on the wire padded; returns the index of its last
    /// descriptor.
    fn write_frame(&self, skb: &SkBuff, offload: Option<&Offload>) -> Result<usize> {
        let len = skb.len();
        let buffers = len.div_ceil(BUFFER_SIZE).max(1);
        if buffers > TX_BUFFERS_PER_FRAME {
            return Err(EINVAL);
        }
        // At most `1 + TX_BUFFERS_PER_FRAME`, checked above.
        if self.free() < 1 + buffers {
            return Err(EBUSY);
        }
        let mut index = self.next_to_use.load(Ordering::Relaxed) % RING_SIZE;
        // Every data descriptor reports when it is done, so that `clean` walks them all.
        let mut command = descriptor::TX_CMD_IFCS | descriptor::TX_CMD_RS | descriptor::TX_CMD_IDE;
        if let Some(offload) = offload {
            self.ring.write_context(index, &offload.context)?;
            index = next(index);
            command |= offload.data_command;
        }
        for piece in 0..buffers {
            // Below 64 KiB: `buffers` is at most `TX_BUFFERS_PER_FRAME`.
            let start = piece * BUFFER_SIZE;
            let piece_len = len.saturating_sub(start).min(BUFFER_SIZE);
            let offset = DescriptorRing::buffer_offset(index);
            skb.copy_to_dma(start, piece_len, &self.ring.buffers, offset)?;
            if piece + 1 < buffers {
                self.ring.write(index, command | piece_len as u64)?;
                index = next(index);
            } else {
                // A frame shorter than the shortest on the wire is one piece: pad it.
                let piece_len = if len < MIN_FRAME {
                    self.pad_short_frame(offset, len)?
                } else {
                    piece_len
                };
                self.ring
                    .write(index, command | descriptor::TX_CMD_EOP | piece_len as u64)?;
            }
        }
        Ok(index)
    }

    /// Pads a frame of `len` bytes, shorter than the shortest on the wire, in the buffer at
    /// `offset`, with zeros up to that; returns its length on the wire.
    fn pad_short_frame(&self, offset: usize, len: usize) -> Result<usize> {
        let zeros = [0u8; MIN_FRAME];
        let padding = zeros.get(len..).ok_or(EINVAL)?;
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        self.ring.buffers.write_from(end, padding)?;
        Ok(MIN_FRAME)
    }

    /// Counts the frames the device has sent since the last call, as what they became on the
    /// wire, and returns them; frees their socket buffers. Called by the poll, or by `stop`
    /// once NAPI is disabled: never twice at once.
    ///
    /// `next_to_clean` only ever moves to the start of a frame: a frame the device has only
    /// partly sent is walked again next time. The walk ends at `next_to_use`, within a ring's
    /// worth of descriptors.
    fn clean(&self) -> Traffic {
        let next_to_use = self.next_to_use.load(Ordering::Acquire) % RING_SIZE;
        let mut index = self.next_to_clean.load(Ordering::Relaxed) % RING_SIZE;
        let mut frame_start = index;
        let mut sent = Traffic::default();
        while index != next_to_use {
            let Ok(word) = self.ring.status(index) else {
                break;
            };
            // Context descriptors report nothing: only data descriptors ask for their status.
            if !descriptor::is_context(word) {
                if word & descriptor::TX_STATUS_DD == 0 {
                    break;
                }
                if word & descriptor::TX_CMD_EOP != 0 {
                    // What is kept of the frame is read only after its last descriptor was
                    // seen done: `dma_rmb()` in `e1000_clean_tx_irq()`.
                    dma::dma_rmb();
                    if let Some(wire) = self.frames.get(index).and_then(TxFrame::release) {
                        sent = sent.plus(wire);
                    }
                    frame_start = next(index);
                }
            }
            index = next(index);
        }
        self.next_to_clean.store(frame_start, Ordering::Release);
        self.sent_packets.fetch_add(sent.packets, Ordering::Relaxed);
        self.sent_bytes.fetch_add(sent.bytes, Ordering::Relaxed);
        sent
    }

    /// Counts the frames the device will not send, once it is stopped, as dropped, and frees
    /// them.
    fn discard_unsent(&self) {
        let next_to_use = self.next_to_use.load(Ordering::Acquire);
        self.next_to_clean.store(next_to_use, Ordering::Release);
        // Only the slots of frames not sent yet hold one.
        let unsent = self.frames.iter().filter_map(TxFrame::release).count();
        self.dropped.fetch_add(unsent as u64, Ordering::Relaxed);
    }
}

/// One network interface: the driver data its net device holds.
///
/// Dropped once the net device is unregistered: the device is quiesced first (see
/// [`Adapter::quiesce`]), then the fields drop in order, the interrupt before the rings, whose
/// DMA memory the device no longer reaches.
#[pin_data(PinnedDrop)]
struct Adapter {
    registers: Arc<Registers>,
    interrupts: Pin<KBox<InterruptSync<Interrupts>>>,
    rx: RxRing,
    /// The receive control register, whose filters `set_rx_mode` changes.
    #[pin]
    rx_control: SpinLockIrq<u32>,
    tx: TxRing,
    moderation: Moderation,
}

impl Adapter {
    /// Tells the stack whether the link is up, as `STATUS` says; a device that is gone has no
    /// link.
    fn update_link(&self, dev: &Device) {
        let status = self.registers.read32(regs::STATUS);
        let up = !is_gone(status) && status & regs::STATUS_LU != 0;
        if up && !dev.carrier_ok() {
            dev.carrier_on();
            pr_info!("{}: link up\n", dev.name());
        } else if !up && dev.carrier_ok() {
            dev.carrier_off();
            pr_info!("{}: link down\n", dev.name());
        }
    }

    /// Cleans the transmit ring, waking the queue if it was stopped and there is room now;
    /// returns what the device sent since the last call.
    fn clean_tx(&self, dev: &Device) -> Traffic {
        let sent = self.tx.clean();
        // Pairs with the fence in `start_xmit`: either it sees the room made here, or this
        // sees the queue it stopped.
        fence(Ordering::SeqCst);
        if dev.queue_stopped() && self.tx.free() >= TX_WAKE_THRESHOLD {
            dev.wake_queue();
        }
        sent
    }

    /// Stops the transmit queue when the ring is full, unless the poll has made room since.
    fn stop_queue(&self, dev: &Device) {
        dev.stop_queue();
        // Pairs with the fence in `clean_tx`: if the poll made room before it could see the
        // stopped queue, wake it here.
        fence(Ordering::SeqCst);
        if self.tx.free() >= TX_WAKE_THRESHOLD {
            dev.wake_queue();
        }
    }

    /// Receives up to the budget, handing frames to the stack, then gives the cleaned
    /// descriptors back to the device. Returns how many descriptors it used.
    fn receive(&self, dev: &Device, poll: &NapiPoll<'_>) -> usize {
        let max_frame = dev.mtu().saturating_add(ETH_HLEN);
        let mut work = 0;
        while work < poll.budget() {
            match self.rx.take(poll, max_frame) {
                Received::Frame(skb) => poll.receive(skb),
                Received::Dropped => {}
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
    fn quiesce(&self) {
        let registers = &self.registers;
        self.rx_control.with_lock(|rx_control| {
            *rx_control &= !regs::RCTL_EN;
            registers.write32(*rx_control, regs::RCTL);
        });
        registers.write32(0, regs::TCTL);
        self.interrupts.call_synchronized(|interrupts| {
            interrupts.enabled = 0;
            registers.write32(!0, regs::IMC);
        });
        flush_and_settle(registers);
    }
}

#[pinned_drop]
impl PinnedDrop for Adapter {
    fn drop(self: Pin<&mut Self>) {
        // Unregistering closed the device if it was open, and `stop` quiesced it; one never
        // opened has had receive and transmit off since the probe. Quiesce it here all the
        // same: then the rings' memory, freed when the fields drop next, is safe from the
        // device whatever path led here (remove, unbind, or an error of the probe).
        self.quiesce();
    }
}

/// The receive control register for the filters `dev` asks for.
fn rx_control_for(dev: &Device, enabled: bool) -> u32 {
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

#[vtable]
impl Driver for Adapter {
    fn open(&self, dev: &Device) -> Result {
        let registers = &self.registers;
        registers.write32(!0, regs::IMC);
        registers.read32(regs::ICR);
        self.rx.reset(registers)?;
        self.tx.reset(registers)?;
        self.interrupts.connect(Flags::SHARED)?;

        registers.write32(registers.read32(regs::CTRL) | regs::CTRL_SLU, regs::CTRL);
        self.moderation.reset(registers);
        registers.write32(regs::RDTR_DEFAULT, regs::RDTR);
        registers.write32(regs::RADV_DEFAULT, regs::RADV);
        registers.write32(regs::TIDV_DEFAULT, regs::TIDV);
        registers.write32(regs::TADV_DEFAULT, regs::TADV);
        registers.write32(regs::TIPG_COPPER, regs::TIPG);
        registers.write32(
            regs::TCTL_EN | regs::TCTL_PSP | regs::TCTL_CT | regs::TCTL_COLD,
            regs::TCTL,
        );
        let control = rx_control_for(dev, true);
        self.rx_control.with_lock(|rx_control| {
            *rx_control = control;
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
        // NAPI is disabled and the queue stopped already. Receive and transmit stop before
        // anything is freed, as in `e1000_down()`.
        self.quiesce();
        self.interrupts.disconnect();
        // No poll runs: count what the device sent before it stopped, and drop the rest.
        self.tx.clean();
        self.tx.discard_unsent();
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
            Err((e, skb)) if e == EBUSY => {
                // Not expected: the queue stops when the ring fills, below.
                self.stop_queue(dev);
                return Transmit::Busy(skb);
            }
            Err(_) => {
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
        let causes = self
            .interrupts
            .call_synchronized(|interrupts| core::mem::take(&mut interrupts.pending));
        if causes & regs::ICR_LSC != 0 {
            self.update_link(dev);
        }
        let sent = self.clean_tx(dev);
        let before = self.rx.traffic();
        let work = self.receive(dev, poll);
        let received = self.rx.traffic().since(before);
        self.moderation.update(&self.registers, sent, received);
        if poll.complete_done(work) {
            let registers = &self.registers;
            self.interrupts.call_synchronized(|interrupts| {
                registers.write32(interrupts.enabled, regs::IMS);
            });
        }
    }

    fn statistics(&self, _dev: &Device) -> Statistics {
        let (rx, tx) = (&self.rx, &self.tx);
        // MPC is cleared by reading: what each reader finds is added once. All ones is a
        // device that is gone, not frames missed.
        let missed = match self.registers.read32(regs::MPC) {
            value if is_gone(value) => 0,
            value => u64::from(value),
        };
        Statistics {
            rx_packets: rx.packets.load(Ordering::Relaxed),
            rx_bytes: rx.bytes.load(Ordering::Relaxed),
            rx_errors: rx.errors.load(Ordering::Relaxed),
            rx_length_errors: rx.length_errors.load(Ordering::Relaxed),
            rx_dropped: rx.dropped.load(Ordering::Relaxed),
            rx_missed_errors: rx
                .missed
                .fetch_add(missed, Ordering::Relaxed)
                .wrapping_add(missed),
            tx_packets: tx.sent_packets.load(Ordering::Relaxed),
            tx_bytes: tx.sent_bytes.load(Ordering::Relaxed),
            tx_dropped: tx.dropped.load(Ordering::Relaxed),
        }
    }

    fn set_rx_mode(&self, dev: &Device) {
        let registers = &self.registers;
        self.rx_control.with_lock(|rx_control| {
            let enabled = *rx_control & regs::RCTL_EN != 0;
            *rx_control = rx_control_for(dev, enabled);
            registers.write32(*rx_control, regs::RCTL);
        });
    }
}

/// Reads word `address` of the EEPROM through `EERD`: `ETIMEDOUT` if the read does not end
/// within 10 ms, `ENODEV` if the device is gone (its all-ones registers say done at once).
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
    if is_gone(value) {
        return Err(ENODEV);
    }
    Ok((value >> regs::EERD_DATA_SHIFT) as u16)
}

/// Reads the MAC address from the EEPROM (words 0 to 2), or else from receive address 0, which
/// the device loads from the EEPROM at reset; `ENODEV` if the device is gone.
fn read_mac_address(pdev: &pci::Device, registers: &Registers) -> Result<[u8; ETH_ALEN]> {
    let mut address = [0u8; ETH_ALEN];
    let from_eeprom = (0..ETH_ALEN / 2).try_for_each(|word| {
        let value = read_eeprom(registers, word as u32)?.to_le_bytes();
        address[2 * word..2 * word + 2].copy_from_slice(&value);
        Ok::<(), Error>(())
    });
    match from_eeprom {
        Ok(()) => Ok(address),
        Err(e) if e == ENODEV => Err(e),
        Err(_) => {
            dev_warn!(pdev, "EEPROM does not answer; using receive address 0\n");
            let (low, high) = (registers.read32(regs::RAL0), registers.read32(regs::RAH0));
            if is_gone(low) && is_gone(high) {
                return Err(ENODEV);
            }
            address[..4].copy_from_slice(&low.to_le_bytes());
            address[4..].copy_from_slice(&high.to_le_bytes()[..2]);
            Ok(address)
        }
    }
}

/// Quiets the device and programs its receive address filter with `address`.
///
/// Receive and transmit are stopped, and the interrupts masked, before the driver allocates its
/// rings, in case the device was left running (by a driver unbound without stopping it, or
/// across kexec): then no error path of the probe frees memory the device may still reach.
fn initialise(registers: &Registers, address: &[u8; ETH_ALEN]) -> Result {
    // QEMU's device reset leaves registers as they were: set every one the driver relies on.
    registers.write32(!0, regs::IMC);
    registers.write32(0, regs::RCTL);
    registers.write32(0, regs::TCTL);
    flush_and_settle(registers);
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

/// The driver's data for one controller. Dropping it unregisters the net device, which closes it
/// and disconnects the interrupt, then frees it with the adapter, which quiesces the device
/// before its rings are freed; then the interrupt vector is freed.
struct E1000Driver {
    registration: Registration<Adapter>,
    _vectors: pci::IrqVectors,
}

static IDS: pci::IdArray<1> = pci::IdArray::new([pci::DeviceId::from_id(0x8086, 0x100e)]);

#[vtable]
impl pci::Driver for E1000Driver {
    const NAME: &'static CStr = c_str!("rust_irqsync_e1000");
    const ID_TABLE: pci::IdTable = IDS.table();

    fn probe(pdev: &pci::Device, _id: &pci::DeviceId) -> Result<Pin<KBox<Self>>> {
        let device = pdev.enable_device()?;
        device.set_master();
        dma::set_mask_and_coherent(pdev.as_ref(), 32)?;
        let registers = Arc::new(
            device.iomap_region::<{ regs::SIZE }>(0, c_str!("rust_irqsync_e1000"))?,
            GFP_KERNEL,
        )?;
        let address = read_mac_address(pdev, &registers)?;
        initialise(&registers, &address)?;

        // The 82540EM has only the legacy line, which it may share.
        let vectors = device.alloc_irq_vectors(1, 1, pci::IrqTypes::INTX)?;
        let mut builder = Builder::<Adapter>::new(pdev.as_ref())?;
        builder.set_mtu_range(68, (BUFFER_SIZE - ETH_HLEN) as u32);
        // Frames in pieces are copied whole; checksums are inserted, and TCP frames cut into
        // segments, by the device.
        builder.set_features(Features::SG | Features::HW_CSUM | Features::TSO);

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

        // The device has been quiet since `initialise`, and learns of the rings only in `open`:
        // an error from here on frees memory it never reached. Once the adapter holds the
        // rings, dropping it quiesces the device first.
        let rx = RxRing::new(pdev)?;
        let tx = TxRing::new(pdev)?;
        let adapter_registers = registers.clone();
        let registration = builder.register(
            &address,
            try_pin_init!(Adapter {
                registers: adapter_registers,
                interrupts,
                rx,
                rx_control <- new_spinlock_irq!(0, "rust_irqsync_e1000_rx_control"),
                tx,
                moderation: Moderation::new(),
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
                registration,
                _vectors: vectors,
            },
            GFP_KERNEL,
        )?)
    }
    fn shutdown(this: Pin<&Self>) {
        // No DMA and no interrupt while the system goes down.
        this.registration.data().quiesce();
    }
}
