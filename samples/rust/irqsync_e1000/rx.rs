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
    net::{napi::NapiPoll, skb::SkBuff},
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
    /// Whether the frame being received spans descriptors: longer than a buffer. Its pieces
    /// are dropped up to the last.
    discarding: AtomicBool,
    pub(crate) packets: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) length_errors: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) missed: AtomicU64,
}

impl RxRing {
    pub(crate) fn new(pdev: &pci::Device) -> Result<Self> {
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
    pub(crate) fn take(&self, poll: &NapiPoll<'_>, max_frame: usize) -> Received {
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
pub(crate) enum Received {
    /// The device has not filled it yet.
    Nothing,
    /// A good frame, for the stack.
    Frame(SkBuff),
    /// A frame dropped and counted: in error, too long, or no memory for it.
    Dropped,
}
