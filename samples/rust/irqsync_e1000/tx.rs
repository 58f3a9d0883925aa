// SPDX-License-Identifier: GPL-2.0

//! The transmit ring: short frames copied into the device's buffers by `start_xmit`, longer
//! ones mapped for the device to read, and both cleaned once the device has sent them, by the
//! poll or by the transmit vector's routine.

use super::{
    descriptor,
    offload::Offload,
    regs::{self, Registers},
    ring::{
        distance, next, DescriptorRing, MIN_FRAME, RING_SIZE, TX_COPY_LIMIT,
        TX_DESCRIPTORS_PER_FRAME, TX_MAX_DATA_PER_DESCRIPTOR, TX_WAKE_THRESHOLD,
    },
    traffic::Traffic,
};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use kernel::{
    device::Device,
    dma::{self, CoherentAllocation},
    net::skb::{SkBuff, SkBuffMapping, SkBuffSlot},
    pci,
    prelude::*,
};

/// Why [`TxRing::queue`] did not queue a frame.
pub(crate) enum Refused {
    /// The ring has no room for it: it is given back, to be sent later.
    Full(SkBuff),
    /// It cannot be sent, and is freed: it takes too many descriptors, or no memory is left
    /// to map it.
    Dropped,
}

/// A frame handed to the device, kept with its last descriptor until the device has sent it,
/// with what it becomes on the wire.
///
/// `start_xmit` fills the slots before it publishes the frame's descriptors (`next_to_use`,
/// release ordering), and the poll empties them after it has seen them (acquire ordering):
/// the counts are atomics only so that both reach them through shared references.
struct TxFrame {
    /// A frame copied into the descriptor's buffer.
    copied: SkBuffSlot,
    /// Room to map a frame, allocated with the ring, which holds the frame while it is mapped.
    /// It is in the slot but while `start_xmit` maps a frame in it or the poll frees one.
    mapping: SkBuffSlot<KBox<SkBuffMapping>>,
    wire_packets: AtomicU64,
    wire_bytes: AtomicU64,
}

impl TxFrame {
    fn new(dev: &Device) -> Result<Self> {
        let mapping = SkBuffSlot::new();
        // The slot is new, and empty.
        drop(mapping.replace(Some(KBox::new(SkBuffMapping::new(dev), GFP_KERNEL)?)));
        Ok(Self {
            copied: SkBuffSlot::new(),
            mapping,
            wire_packets: AtomicU64::new(0),
            wire_bytes: AtomicU64::new(0),
        })
    }

    /// Notes that the frame kept becomes `wire` on the wire.
    fn set_wire(&self, wire: Traffic) {
        self.wire_packets.store(wire.packets, Ordering::Relaxed);
        self.wire_bytes.store(wire.bytes, Ordering::Relaxed);
    }

    /// Empties the slots: unmaps the frame kept and frees it, as sent if `sent`, else as
    /// dropped; returns what the frame became on the wire, `None` if no frame was kept.
    fn release(&self, sent: bool) -> Option<Traffic> {
        let copied = self.copied.take();
        let mut kept = copied.is_some();
        if let (Some(skb), true) = (copied, sent) {
            skb.consume();
        }
        if let Some(mut mapping) = self.mapping.take() {
            kept |= if sent {
                mapping.consume()
            } else {
                mapping.discard()
            };
            // The slot is empty: taken above.
            drop(self.mapping.replace(Some(mapping)));
        }
        if !kept {
            return None;
        }
        Some(Traffic {
            packets: self.wire_packets.swap(0, Ordering::Relaxed),
            bytes: self.wire_bytes.swap(0, Ordering::Relaxed),
        })
    }
}

/// The transmit ring: filled by `start_xmit`, cleaned by the poll or by the transmit vector's
/// routine, without a lock.
///
/// As in the C driver, each index has one writer: the stack serialises `start_xmit` on the
/// queue (it holds the queue's lock), which alone moves `next_to_use`; one cleaner alone moves
/// `next_to_clean`: the poll (NAPI never polls twice at once) or, under MSI-X, the transmit
/// vector's routine (a line's handler never runs twice at once), never both for one device
/// ([`super::interrupts::InterruptScheme::cleans_transmit`]). `open` and `stop` reset both
/// while neither runs. The descriptors and buffers are only reached through the DMA allocation's
/// accessors, so even a broken serialisation could not make Rust references race.
///
/// Frames up to [`TX_COPY_LIMIT`] bytes are copied into their descriptor's buffer; longer ones
/// are mapped, in room each descriptor has for it from the start ([`SkBuffMapping`]), and
/// their descriptors point into the frame itself, its head and its page fragments, as the C
/// driver's all do. Either way the socket buffer is kept, with the frame's last descriptor,
/// until the device has sent it: the stack paces a socket by when its frames are freed (TCP
/// small queues), and a mapped frame must stay until the device has read it. What a frame
/// becomes on the wire, its segments and their bytes, is worked out when it is queued and
/// kept with it, as in the C driver; the poll counts it once the device has sent it.
pub(crate) struct TxRing {
    ring: DescriptorRing,
    /// A buffer of [`TX_COPY_LIMIT`] bytes for each descriptor, for the frames copied.
    buffers: CoherentAllocation<u8>,
    /// The frame whose last descriptor each is, until the device has sent it.
    frames: KVec<TxFrame>,
    /// The next descriptor to fill.
    next_to_use: AtomicUsize,
    /// The oldest descriptor the device has not reported sent yet.
    next_to_clean: AtomicUsize,
    pub(crate) sent_packets: AtomicU64,
    pub(crate) sent_bytes: AtomicU64,
    pub(crate) dropped: AtomicU64,
    /// Frames queued whose checksum the device inserts.
    pub(crate) checksummed: AtomicU64,
    /// Frames queued that the device cuts into TCP segments.
    pub(crate) segmented: AtomicU64,
    /// How often the ring filled and the queue stopped.
    pub(crate) queue_stops: AtomicU64,
    /// Whether the queue is stopped: set before `start_xmit` stops it, cleared before it is
    /// woken. The transmit vector's routine, which cannot wake it, reads it to have the poll
    /// do so; the poll reads it too.
    queue_stopped: AtomicBool,
}

impl TxRing {
    pub(crate) fn new(pdev: &pci::Device) -> Result<Self> {
        let mut frames = KVec::with_capacity(RING_SIZE, GFP_KERNEL)?;
        for _ in 0..RING_SIZE {
            frames.push(TxFrame::new(pdev.as_ref())?, GFP_KERNEL)?;
        }
        Ok(Self {
            ring: DescriptorRing::new(pdev)?,
            buffers: CoherentAllocation::alloc(
                pdev.as_ref(),
                RING_SIZE * TX_COPY_LIMIT,
                GFP_KERNEL,
            )?,
            frames,
            next_to_use: AtomicUsize::new(0),
            next_to_clean: AtomicUsize::new(0),
            sent_packets: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            checksummed: AtomicU64::new(0),
            segmented: AtomicU64::new(0),
            queue_stops: AtomicU64::new(0),
            queue_stopped: AtomicBool::new(false),
        })
    }

    /// Empties the ring and programs it; only while neither `start_xmit` nor the poll runs.
    pub(crate) fn reset(&self, registers: &Registers) -> Result {
        for index in 0..RING_SIZE {
            self.ring.write(index, 0, 0)?;
        }
        self.next_to_use.store(0, Ordering::Relaxed);
        self.next_to_clean.store(0, Ordering::Relaxed);
        self.queue_stopped.store(false, Ordering::Relaxed);
        self.ring.program(registers, regs::TDBAL)?;
        registers.write32(0, regs::TDH);
        registers.write32(0, regs::TDT);
        Ok(())
    }

    /// Descriptors the driver may fill: one always stays empty, so that a full ring is not
    /// mistaken for an empty one.
    pub(crate) fn free(&self) -> usize {
        let next_to_use = self.next_to_use.load(Ordering::Acquire);
        let next_to_clean = self.next_to_clean.load(Ordering::Acquire);
        // `distance()` is below `RING_SIZE`.
        RING_SIZE - 1 - distance(next_to_clean, next_to_use)
    }

    /// Hands `skb` to the device, after a context descriptor if `offload` says one, and keeps
    /// it until the device has sent it. Called by `start_xmit` only.
    pub(crate) fn queue(
        &self,
        registers: &Registers,
        skb: SkBuff,
        offload: Option<&Offload>,
    ) -> core::result::Result<(), Refused> {
        let skb_len = skb.len();
        let copied = skb_len <= TX_COPY_LIMIT;
        let data_descriptors = if copied {
            1
        } else {
            let mut pieces = skb.data().len().div_ceil(TX_MAX_DATA_PER_DESCRIPTOR);
            for len in skb.fragment_lengths() {
                pieces += len.div_ceil(TX_MAX_DATA_PER_DESCRIPTOR);
            }
            pieces
        };
        let descriptors = data_descriptors + usize::from(offload.is_some());
        if data_descriptors == 0 || descriptors > TX_DESCRIPTORS_PER_FRAME {
            return Err(Refused::Dropped);
        }
        if self.free() < descriptors {
            return Err(Refused::Full(skb));
        }
        let (segments, header_len) = offload.map_or((1, 0), |o| (o.segments, o.header_len));
        // The frame is kept with its last descriptor, whose slots the poll emptied.
        let first = self.next_to_use.load(Ordering::Relaxed) % RING_SIZE;
        let last = (first + descriptors - 1) % RING_SIZE;
        let frame = self.frames.get(last).ok_or(Refused::Dropped)?;
        if copied {
            self.write_copied(&skb, offload, last)
                .map_err(|_| Refused::Dropped)?;
            // The slot is empty: see above.
            drop(frame.copied.replace(Some(skb)));
        } else {
            self.write_mapped(frame, last, skb, offload)
                .map_err(|_| Refused::Dropped)?;
        }
        frame.set_wire(Traffic::on_wire(skb_len, segments, header_len));
        match offload {
            Some(o) if o.cuts() => self.segmented.fetch_add(1, Ordering::Relaxed),
            Some(_) => self.checksummed.fetch_add(1, Ordering::Relaxed),
            None => 0,
        };
        // The device must see the descriptors whole before the tail register hands them over:
        // `dma_wmb()` at the end of `e1000_tx_queue()`.
        dma::dma_wmb();
        self.next_to_use.store(next(last), Ordering::Release);
        registers.write32(next(last) as u32, regs::TDT);
        Ok(())
    }

    /// Writes the context descriptor at `next_to_use` if `offload` says one; returns the index
    /// of the frame's first data descriptor and the command of its data descriptors.
    fn start_frame(&self, offload: Option<&Offload>) -> Result<(usize, u64)> {
        let mut index = self.next_to_use.load(Ordering::Relaxed) % RING_SIZE;
        // Every data descriptor reports when it is done, so that `clean` walks them all.
        let mut command = descriptor::TX_CMD_IFCS | descriptor::TX_CMD_RS | descriptor::TX_CMD_IDE;
        if let Some(offload) = offload {
            self.ring.write_context(index, &offload.context)?;
            index = next(index);
            command |= offload.data_command;
        }
        Ok((index, command))
    }

    /// Copies `skb`, of at most [`TX_COPY_LIMIT`] bytes, into the buffer of its one data
    /// descriptor, a frame shorter than the shortest on the wire padded. `EINVAL` if that
    /// descriptor is not `last`, as worked out by the caller: then no descriptor is handed
    /// over.
    fn write_copied(&self, skb: &SkBuff, offload: Option<&Offload>, last: usize) -> Result {
        let (index, command) = self.start_frame(offload)?;
        if index != last {
            return Err(EINVAL);
        }
        let len = skb.len();
        let offset = index % RING_SIZE * TX_COPY_LIMIT;
        skb.copy_to_dma(0, len, &self.buffers, offset)?;
        let len = if len < MIN_FRAME {
            self.pad_short_frame(offset, len)?
        } else {
            len
        };
        let address = self
            .buffers
            .dma_handle()
            .checked_add(offset as u64)
            .ok_or(EINVAL)?;
        let word = command | descriptor::TX_CMD_EOP | len as u64;
        self.ring.write(index, address, word)
    }

    /// Maps `skb` in the room of `frame`, which keeps it until the device has sent it, and
    /// points data descriptors to its pieces. If that fails, `skb` is unmapped and freed.
    fn write_mapped(
        &self,
        frame: &TxFrame,
        last: usize,
        skb: SkBuff,
        offload: Option<&Offload>,
    ) -> Result {
        // Always in the slot, but while this or the poll use it: never at once for one frame.
        let mut mapping = frame.mapping.take().ok_or(EBUSY)?;
        let written = self.point_to_pieces(&mut mapping, last, skb, offload);
        if written.is_err() {
            mapping.discard();
        }
        // The slot is empty: taken above.
        drop(frame.mapping.replace(Some(mapping)));
        written
    }

    /// Maps `skb` in `mapping` and points data descriptors to its pieces, at most
    /// [`TX_MAX_DATA_PER_DESCRIPTOR`] bytes each. `EINVAL` if the last one is not `last`, as
    /// worked out by the caller: then no descriptor is handed over.
    fn point_to_pieces(
        &self,
        mapping: &mut SkBuffMapping,
        last: usize,
        skb: SkBuff,
        offload: Option<&Offload>,
    ) -> Result {
        let segments = mapping.map(skb)?;
        let (mut index, command) = self.start_frame(offload)?;
        // Each piece is written once the next is known, so that the last gets `TX_CMD_EOP`.
        let mut piece: Option<(u64, usize)> = None;
        for segment in segments {
            let mut start = 0;
            while start < segment.len {
                let len = (segment.len - start).min(TX_MAX_DATA_PER_DESCRIPTOR);
                let address = segment.address.checked_add(start as u64).ok_or(EINVAL)?;
                if let Some((address, len)) = piece.replace((address, len)) {
                    self.ring.write(index, address, command | len as u64)?;
                    index = next(index);
                }
                start += len;
            }
        }
        let (address, len) = piece.ok_or(EINVAL)?;
        if index != last {
            return Err(EINVAL);
        }
        let word = command | descriptor::TX_CMD_EOP | len as u64;
        self.ring.write(index, address, word)
    }

    /// Pads a frame of `len` bytes, shorter than the shortest on the wire, in the buffer at
    /// `offset`, with zeros up to that; returns its length on the wire.
    fn pad_short_frame(&self, offset: usize, len: usize) -> Result<usize> {
        let zeros = [0u8; MIN_FRAME];
        let padding = zeros.get(len..).ok_or(EINVAL)?;
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        self.buffers.write_from(end, padding)?;
        Ok(MIN_FRAME)
    }

    /// Counts the frames the device has sent since the last call, as what they became on the
    /// wire, and returns them; frees their socket buffers. Called by the one cleaner (the
    /// poll or the transmit vector's routine), or by `stop` once neither runs: never twice at
    /// once.
    ///
    /// `next_to_clean` only ever moves to the start of a frame: a frame the device has only
    /// partly sent is walked again next time. The walk ends at `next_to_use`, within a ring's
    /// worth of descriptors.
    pub(crate) fn clean(&self) -> Traffic {
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
                    let sent_frame = self.frames.get(index).and_then(|frame| frame.release(true));
                    if let Some(wire) = sent_frame {
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

    /// Notes that the queue is about to stop (`true`) or to be woken (`false`).
    pub(crate) fn note_queue_stopped(&self, stopped: bool) {
        self.queue_stopped.store(stopped, Ordering::Relaxed);
    }

    /// Whether the queue was noted stopped and the ring now has room to wake it. A cleaner
    /// asks after a full fence, which pairs with the one in `Adapter::stop_queue`: either
    /// `start_xmit` sees the room made, or the cleaner sees the queue stopped.
    pub(crate) fn wants_wake(&self) -> bool {
        self.queue_stopped.load(Ordering::Relaxed) && self.free() >= TX_WAKE_THRESHOLD
    }

    /// Counts the frames the device will not send, once it is stopped, as dropped, and frees
    /// them.
    pub(crate) fn discard_unsent(&self) {
        let next_to_use = self.next_to_use.load(Ordering::Acquire);
        self.next_to_clean.store(next_to_use, Ordering::Release);
        // Only the slots of frames not sent yet hold one.
        let unsent = self
            .frames
            .iter()
            .filter_map(|frame| frame.release(false))
            .count();
        self.dropped.fetch_add(unsent as u64, Ordering::Relaxed);
    }
}
