// SPDX-License-Identifier: GPL-2.0

//! The receive ring: socket buffers mapped for the device to write frames into, handed to the
//! stack as they are by the poll.

use super::{
    descriptor,
    regs::{self, Registers},
    ring::{next, previous, DescriptorRing, BUFFER_SIZE, RING_SIZE, RX_COPY_LIMIT},
    traffic::Traffic,
};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use kernel::{
    device::Device,
    dma,
    net::{
        device::ETH_ALEN,
        napi::NapiPoll,
        skb::{ReceiveSkBuff, SkBuff, SkBuffSlot},
    },
    pci,
    prelude::*,
    types::ARef,
};

/// The receive ring: emptied by the poll, without a lock.
///
/// Only the poll moves `next`, and NAPI never polls twice at once; `open` resets the ring
/// and `stop` frees its buffers while no poll runs. The counters are read by `statistics` at
/// any time.
///
/// Each descriptor has a socket buffer of [`BUFFER_SIZE`] bytes mapped for the device to
/// write a frame into, as in the C driver. The poll gives the descriptor a new buffer and
/// hands the one the device filled to the stack, without copying the frame, unless the frame
/// is short ([`RX_COPY_LIMIT`]): that one is copied out and the descriptor keeps its buffer.
/// If no memory can be had, the frame is dropped and the descriptor keeps its buffer.
pub(crate) struct RxRing {
    ring: DescriptorRing,
    /// The device that buffers are mapped for.
    dev: ARef<Device>,
    /// The buffer of each descriptor: always one between `reset` and `release_buffers`.
    buffers: KVec<SkBuffSlot<ReceiveSkBuff>>,
    /// The next descriptor the device fills.
    pub(crate) next: AtomicUsize,
    /// The pieces so far of a frame that spans descriptors, longer than a buffer.
    gathering: SkBuffSlot,
    /// Whether the rest of a frame that spans descriptors is dropped: it was counted as dropped
    /// already.
    discarding: AtomicBool,
    pub(crate) packets: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) length_errors: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) missed: AtomicU64,
    /// Good frames received that were sent to a multicast group.
    pub(crate) multicast: AtomicU64,
}

impl RxRing {
    pub(crate) fn new(pdev: &pci::Device) -> Result<Self> {
        let mut buffers = KVec::with_capacity(RING_SIZE, GFP_KERNEL)?;
        for _ in 0..RING_SIZE {
            buffers.push(SkBuffSlot::new(), GFP_KERNEL)?;
        }
        Ok(Self {
            ring: DescriptorRing::new(pdev)?,
            dev: pdev.as_ref().into(),
            buffers,
            next: AtomicUsize::new(0),
            gathering: SkBuffSlot::new(),
            discarding: AtomicBool::new(false),
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            length_errors: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            missed: AtomicU64::new(0),
            multicast: AtomicU64::new(0),
        })
    }

    /// Returns the frames and bytes received so far.
    pub(crate) fn traffic(&self) -> Traffic {
        Traffic {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    /// Gives every descriptor a buffer, keeping those it has, and hands all but one to the
    /// device; only while no poll runs. `ENOMEM` if memory for the buffers is short.
    pub(crate) fn reset(&self, registers: &Registers) -> Result {
        for (index, slot) in self.buffers.iter().enumerate() {
            let buffer = match slot.take() {
                Some(buffer) => buffer,
                None => ReceiveSkBuff::new(
                    &self.dev,
                    SkBuff::alloc_for_receive(BUFFER_SIZE, GFP_KERNEL)?,
                    BUFFER_SIZE,
                )?,
            };
            let address = buffer.address();
            // The slot is empty: taken above.
            drop(slot.replace(Some(buffer)));
            self.ring.write(index, address, 0)?;
        }
        self.next.store(0, Ordering::Relaxed);
        drop(self.gathering.take());
        self.discarding.store(false, Ordering::Relaxed);
        self.ring.program(registers, regs::RDBAL)?;
        registers.write32(0, regs::RDH);
        // The device must see the descriptors before the tail register hands them over:
        // `dma_wmb()` in `e1000_alloc_rx_buffers()`.
        dma::dma_wmb();
        registers.write32(previous(0) as u32, regs::RDT);
        Ok(())
    }

    /// Frees the buffers, once the device is stopped; only while no poll runs.
    pub(crate) fn release_buffers(&self) {
        for slot in self.buffers.iter() {
            drop(slot.take());
        }
        drop(self.gathering.take());
    }

    /// Takes the next descriptor the device filled, if any, and its frame if it is good
    /// (counting it either way), marked as checksummed if the device found its checksums good
    /// and `trust_checksums`. Called by the poll only.
    pub(crate) fn take(
        &self,
        poll: &NapiPoll<'_>,
        max_frame: usize,
        trust_checksums: bool,
    ) -> Received {
        let index = self.next.load(Ordering::Relaxed) % RING_SIZE;
        let word = match self.ring.status(index) {
            Ok(word) if word & descriptor::RX_STATUS_DD != 0 => word,
            _ => return Received::Nothing,
        };
        // The length and errors came with the done bit, in one 64-bit read; the frame in the
        // buffer must not be read before the done bit was seen: `dma_rmb()` in
        // `e1000_clean_rx_irq()`.
        dma::dma_rmb();
        let Some((address, piece)) = self.swap_buffer(poll, index, word) else {
            return Received::Nothing;
        };
        let mut received = self.take_frame(poll, piece, word, max_frame);
        if let Received::Frame(skb) = &mut received {
            if trust_checksums && descriptor::rx_checksum_good(word) {
                skb.set_checksum_verified();
            }
        }
        if self.ring.write(index, address, 0).is_err() {
            return Received::Nothing;
        }
        self.next.store(next(index), Ordering::Relaxed);
        received
    }

    /// Takes the piece of a frame the device wrote into the buffer of descriptor `index`,
    /// whose status word is `word`, and returns the address of the buffer the descriptor keeps
    /// and the piece. A piece of up to [`RX_COPY_LIMIT`] bytes is copied out, and the
    /// descriptor keeps its buffer; a longer one is handed over in its buffer, and the
    /// descriptor gets a new one. If no memory can be had for either, the descriptor keeps its
    /// buffer and the piece is lost: `ENOMEM`. `None` if the descriptor has no buffer, which
    /// `reset` rules out.
    fn swap_buffer(
        &self,
        poll: &NapiPoll<'_>,
        index: usize,
        word: u64,
    ) -> Option<(u64, Result<SkBuff>)> {
        let slot = self.buffers.get(index)?;
        let length = (word & descriptor::LENGTH_MASK) as usize;
        let mut filled = slot.take()?;
        let (kept, piece) = if length <= RX_COPY_LIMIT {
            let piece = poll.alloc_skb(length).and_then(|mut skb| {
                filled.copy_frame(length, &mut skb)?;
                Ok(skb)
            });
            (filled, piece)
        } else {
            let fresh = poll
                .alloc_skb(BUFFER_SIZE)
                .and_then(|skb| ReceiveSkBuff::new(&self.dev, skb, BUFFER_SIZE));
            match fresh {
                Ok(fresh) => (fresh, filled.into_frame(length)),
                Err(e) => (filled, Err(e)),
            }
        };
        let address = kept.address();
        // The slot is empty: taken above.
        drop(slot.replace(Some(kept)));
        Some((address, piece))
    }

    /// Takes `piece`, the piece of a frame in a descriptor whose status word is `word`: a
    /// whole frame, or a piece of one longer than a buffer (jumbo frames), which is gathered
    /// with the pieces before it until the last. A frame that is bad, longer than `max_frame`
    /// or whose piece or buffer could not be had is dropped, and counted once, with the rest
    /// of its pieces.
    fn take_frame(
        &self,
        poll: &NapiPoll<'_>,
        piece: Result<SkBuff>,
        word: u64,
        max_frame: usize,
    ) -> Received {
        let length = (word & descriptor::LENGTH_MASK) as usize;
        let errors = (word >> descriptor::RX_ERRORS_SHIFT) as u8;
        let last = word & descriptor::RX_STATUS_EOP != 0;
        if self.discarding.load(Ordering::Relaxed) {
            // The rest of a frame dropped and counted already.
            if last {
                self.discarding.store(false, Ordering::Relaxed);
            }
            return Received::Dropped;
        }
        let gathered = self.gathering.take();
        let total = gathered
            .as_ref()
            .map_or(0, SkBuff::len)
            .saturating_add(length);
        let dropped = if total > max_frame {
            self.length_errors.fetch_add(1, Ordering::Relaxed);
            Some(&self.errors)
        } else if last && errors & descriptor::RX_FRAME_ERRORS != 0 {
            Some(&self.errors)
        } else {
            None
        };
        let skb = match dropped {
            Some(counter) => Err(counter),
            None => Self::append(poll, gathered, piece, last, max_frame).map_err(|_| &self.dropped),
        };
        let skb = match skb {
            Ok(skb) => skb,
            Err(counter) => {
                counter.fetch_add(1, Ordering::Relaxed);
                self.discarding.store(!last, Ordering::Relaxed);
                return Received::Dropped;
            }
        };
        if !last {
            // The slot is empty: taken above.
            drop(self.gathering.replace(Some(skb)));
            return Received::Piece;
        }
        self.packets.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(total as u64, Ordering::Relaxed);
        if is_multicast(skb.data()) {
            self.multicast.fetch_add(1, Ordering::Relaxed);
        }
        Received::Frame(skb)
    }

    /// Adds `piece` to the pieces `gathered` before it. A frame in one piece is the piece
    /// itself, for the stack as the device wrote it; the pieces of a longer one are copied into
    /// a buffer of `max_frame` bytes.
    fn append(
        poll: &NapiPoll<'_>,
        gathered: Option<SkBuff>,
        piece: Result<SkBuff>,
        last: bool,
        max_frame: usize,
    ) -> Result<SkBuff> {
        let piece = piece?;
        let mut skb = match gathered {
            None if last => return Ok(piece),
            None => poll.alloc_skb(max_frame)?,
            Some(skb) => skb,
        };
        skb.put_data(piece.data())?;
        Ok(skb)
    }
}

/// Whether `frame` was sent to a multicast group: the group bit of its destination set, and
/// not a broadcast.
fn is_multicast(frame: &[u8]) -> bool {
    match frame.get(..ETH_ALEN) {
        Some(destination) => destination[0] & 1 != 0 && destination != [0xff; ETH_ALEN],
        None => false,
    }
}

/// What the poll found in the next receive descriptor.
pub(crate) enum Received {
    /// The device has not filled it yet.
    Nothing,
    /// A good frame, for the stack.
    Frame(SkBuff),
    /// A piece of a frame longer than a buffer, kept until its last piece.
    Piece,
    /// A frame dropped and counted: in error, too long, or no memory for it.
    Dropped,
}
