// SPDX-License-Identifier: GPL-2.0

//! Descriptor rings: their sizes, the arithmetic of their indices, and the ring of descriptors
//! that the receive and transmit rings are built on.

use super::{descriptor, regs::Registers};
use kernel::{dma::CoherentAllocation, net::skb::mapping::MAX_SEGMENTS, pci, prelude::*};

/// Descriptors per ring.
pub(crate) const RING_SIZE: usize = 256;
/// Bytes per frame buffer: `RCTL.BSIZE` = 0.
pub(crate) const BUFFER_SIZE: usize = 2048;
/// The largest MTU: jumbo frames of up to 9014 bytes, received in pieces over several
/// descriptors and sent from several buffers.
pub(crate) const MAX_MTU: u32 = 9000;
/// The shortest frame on the wire, without its check sequence: shorter ones are padded.
pub(crate) const MIN_FRAME: usize = 60;
/// The longest frame to receive copied out of its buffer, which stays mapped for the next
/// frame, rather than handed to the stack in it: a short frame, an acknowledgment say, costs
/// less to copy than a new buffer mapped and the old one unmapped. The C drivers'
/// `copybreak`.
pub(crate) const RX_COPY_LIMIT: usize = 256;
/// The longest frame to send copied into a buffer rather than mapped, and the bytes of each
/// such buffer: copying a short frame costs less than mapping it and unmapping it again. Frames
/// shorter than the shortest on the wire are padded in their buffer.
pub(crate) const TX_COPY_LIMIT: usize = 256;
const _: () = assert!(TX_COPY_LIMIT >= MIN_FRAME);
/// The most bytes a transmit descriptor of a mapped frame points to:
/// `E1000_MAX_DATA_PER_TXD`.
pub(crate) const TX_MAX_DATA_PER_DESCRIPTOR: usize = 4096;
/// The longest frame the stack hands over to segment.
const TX_MAX_FRAME: usize = 65536;
/// The most descriptors a frame takes: a context descriptor, then a data descriptor for each
/// [`TX_MAX_DATA_PER_DESCRIPTOR`] bytes of each of the frame's pieces (its head and page
/// fragments), a short piece taking one.
pub(crate) const TX_DESCRIPTORS_PER_FRAME: usize =
    1 + TX_MAX_FRAME / TX_MAX_DATA_PER_DESCRIPTOR + MAX_SEGMENTS;
/// Free transmit descriptors from which a stopped queue wakes.
pub(crate) const TX_WAKE_THRESHOLD: usize = 2 * TX_DESCRIPTORS_PER_FRAME;

/// The index after `index` in a ring.
///
/// Ring indices are taken modulo [`RING_SIZE`] wherever they are used, so that their arithmetic
/// never overflows and an index never leaves the ring, whatever value it holds.
pub(crate) fn next(index: usize) -> usize {
    (index % RING_SIZE + 1) % RING_SIZE
}

/// The index before `index` in a ring.
pub(crate) fn previous(index: usize) -> usize {
    (index % RING_SIZE + RING_SIZE - 1) % RING_SIZE
}

/// How many steps lead from index `from` to index `to` in a ring: less than [`RING_SIZE`].
pub(crate) fn distance(from: usize, to: usize) -> usize {
    (to % RING_SIZE + RING_SIZE - from % RING_SIZE) % RING_SIZE
}

/// A ring of descriptors, in coherent DMA memory.
pub(crate) struct DescriptorRing {
    descriptors: CoherentAllocation<u64>,
}

impl DescriptorRing {
    pub(crate) fn new(pdev: &pci::Device) -> Result<Self> {
        let descriptors =
            CoherentAllocation::alloc(pdev.as_ref(), RING_SIZE * descriptor::WORDS, GFP_KERNEL)?;
        Ok(Self { descriptors })
    }

    /// Where descriptor `index` starts in `descriptors`.
    fn descriptor_offset(index: usize) -> usize {
        index % RING_SIZE * descriptor::WORDS
    }

    /// Reads the length and status word of descriptor `index`.
    pub(crate) fn status(&self, index: usize) -> Result<u64> {
        self.descriptors.read(Self::descriptor_offset(index) + 1)
    }

    /// Writes context descriptor `index`.
    pub(crate) fn write_context(&self, index: usize, context: &[u64; descriptor::WORDS]) -> Result {
        self.descriptors
            .write_from(Self::descriptor_offset(index), context)
    }

    /// Writes descriptor `index`: the device's address of its buffer, then the word.
    pub(crate) fn write(&self, index: usize, address: u64, word: u64) -> Result {
        let offset = Self::descriptor_offset(index);
        self.descriptors.write(offset, address)?;
        self.descriptors.write(offset + 1, word)
    }

    /// Programs the ring's base (low, then high half) and length, three registers from
    /// `base_low` on.
    pub(crate) fn program(&self, registers: &Registers, base_low: usize) -> Result {
        let base = self.descriptors.dma_handle();
        registers.try_write32(base as u32, base_low)?;
        registers.try_write32((base >> 32) as u32, base_low + 4)?;
        registers.try_write32((RING_SIZE * descriptor::BYTES) as u32, base_low + 8)
    }
}
