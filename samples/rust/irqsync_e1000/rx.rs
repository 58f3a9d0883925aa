// SPDX-License-Identifier: GPL-2.0

//! The receive ring: frames the device wrote, copied into socket buffers by the poll.

use super::{
    descriptor,
    regs::{self, Registers},
    ring::{next, previous, DescriptorRing, RING_SIZE},
    traffic::Traffic,
};
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use kernel::{
    dma,
    net::{
        device::ETH_ALEN,
        napi::NapiPoll,
        skb::{SkBuff, SkBuffSlot},
    },
    pci,
    prelude::*,
};

/// The receive ring: emptied by the poll, without a lock.
///
/// Only the poll moves `next`, and NAPI never polls twice at once; `open` resets the ring
/// while no poll runs. The counters are read by `statistics` at any time.
pub(crate) struct RxRing {
    ring: DescriptorRing,
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
        Ok(Self {
            ring: DescriptorRing::new(pdev)?,
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

    /// Gives every descriptor its buffer back and hands all but one to the device; only while
    /// no poll runs.
    pub(crate) fn reset(&self, registers: &Registers) -> Result {
        for index in 0..RING_SIZE {
            self.ring.write(index, 0)?;
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
        let mut received = self.take_frame(poll, index, word, max_frame);
        if let Received::Frame(skb) = &mut received {
            if trust_checksums && descriptor::rx_checksum_good(word) {
                skb.set_checksum_verified();
            }
        }
        if self.ring.write(index, 0).is_err() {
            return Received::Nothing;
        }
        self.next.store(next(index), Ordering::Relaxed);
        received
    }

    /// Takes the piece of a frame in descriptor `index`, whose status word is `word`: a whole
    /// frame, or a piece of one longer than a buffer (jumbo frames), which is gathered with the
    /// pieces before it until the last. A frame that is bad, longer than `max_frame` or that
    /// finds no memory is dropped, and counted once, with the rest of its pieces.
    fn take_frame(
        &self,
        poll: &NapiPoll<'_>,
        index: usize,
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
            None => {
                let capacity = if last { length } else { max_frame };
                self.append(poll, gathered, index, length, capacity)
                    .map_err(|_| &self.dropped)
            }
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

    /// Copies the `length` bytes of descriptor `index` after the pieces `gathered`, or into a
    /// new buffer of `capacity` bytes if there are none.
    fn append(
        &self,
        poll: &NapiPoll<'_>,
        gathered: Option<SkBuff>,
        index: usize,
        length: usize,
        capacity: usize,
    ) -> Result<SkBuff> {
        let mut skb = match gathered {
            Some(skb) => skb,
            None => poll.alloc_skb(capacity)?,
        };
        skb.put_from_dma(
            &self.ring.buffers,
            DescriptorRing::buffer_offset(index),
            length,
        )?;
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
