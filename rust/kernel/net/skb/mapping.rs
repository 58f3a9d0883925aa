// SPDX-License-Identifier: GPL-2.0

//! Socket buffers mapped for a device to read: frames sent without copying them.
//!
//! A driver that sends from its own coherent buffers copies every frame into them. One that
//! maps the frame instead hands the device the addresses of the frame's own memory, its head
//! and its page fragments, and must keep the frame, unchanged, until the device has read it
//! and the mappings are undone. [`MappedSkBuff`] owns the frame and its mappings together, so
//! the frame can be neither freed nor changed while the device may read it, and dropping it
//! undoes the mappings before it frees the frame, in any context.
//!
//! C header: [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h)

use super::SkBuff;
use crate::{bindings, device::Device, error::code::*, error::Result, types::ARef};

/// The most pieces a socket buffer is in: its head and `MAX_SKB_FRAGS` page fragments.
pub const MAX_SEGMENTS: usize = 1 + bindings::MAX_SKB_FRAGS as usize;

/// A piece of a mapped socket buffer, where the device reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// The device's address of the piece.
    pub address: u64,
    /// The bytes in the piece; never zero.
    pub len: usize,
}

/// A socket buffer to send, mapped for a device to read it (`DMA_TO_DEVICE`).
///
/// The device reads the frame at [`MappedSkBuff::segments`]: its head, if not empty, then its
/// page fragments, in order. Dropping the object undoes the mappings, then frees the frame.
///
/// # Invariants
///
/// The first `count` entries of `segments` are the mappings for `dev` of the frame's memory:
/// the head, mapped with `dma_map_single()`, if `head_mapped`, then the page fragments in
/// order, mapped with `skb_frag_dma_map()`, none empty. `skb` is only reached through shared
/// references while the object lives, so the mapped memory stays allocated and unchanged.
///
/// # Examples
///
/// ```
/// use kernel::{device::Device, net::skb::{MappedSkBuff, SkBuff}};
///
/// /// Returns the number of descriptors of at most `max` bytes that `skb` takes, mapped.
/// fn descriptors(dev: &Device, skb: SkBuff, max: usize) -> Result<usize> {
///     let mapped = MappedSkBuff::new(dev, skb)?;
///     Ok(mapped.segments().iter().map(|s| s.len.div_ceil(max)).sum())
/// }
/// ```
pub struct MappedSkBuff {
    dev: ARef<Device>,
    segments: [Segment; MAX_SEGMENTS],
    count: usize,
    head_mapped: bool,
    skb: SkBuff,
}

impl MappedSkBuff {
    /// Maps `skb` for `dev` to read. On failure, with `ENOMEM` if a piece cannot be mapped, the
    /// pieces mapped so far are unmapped again and `skb` is freed.
    pub fn new(dev: &Device, skb: SkBuff) -> Result<Self> {
        let mut mapped = Self {
            dev: dev.into(),
            segments: [Segment::default(); MAX_SEGMENTS],
            count: 0,
            head_mapped: false,
            skb,
        };
        let raw = mapped.skb.ptr.as_ptr();
        let head_len = mapped.skb.data().len();
        if head_len != 0 {
            // SAFETY: `dev` is valid, and by the type invariant of `SkBuff` `data` points to
            // `head_len` bytes of the frame's head, which is kernel memory that can be mapped.
            let address = unsafe {
                bindings::dma_map_single_attrs(
                    dev.as_raw(),
                    (*raw).data.cast(),
                    head_len,
                    bindings::dma_data_direction_DMA_TO_DEVICE,
                    0,
                )
            };
            mapped.push(address, head_len)?;
            mapped.head_mapped = true;
        }
        let shared = mapped.skb.shared_info();
        // SAFETY: By the type invariant of `SkBuff` its shared info is valid, and its fragment
        // count does not change while `mapped` owns it.
        let fragments = usize::from(unsafe { (*shared).nr_frags });
        for i in 0..fragments.min(bindings::MAX_SKB_FRAGS as usize) {
            // SAFETY: `i` is below `nr_frags`, so `frags[i]` is an initialised fragment.
            let fragment = unsafe { core::ptr::addr_of!((*shared).frags[i]) };
            // SAFETY: As above.
            let len = unsafe { bindings::skb_frag_size(fragment) } as usize;
            if len == 0 {
                continue;
            }
            // SAFETY: `dev` is valid and `fragment` describes `len` bytes of a page of the
            // frame, which `mapped` keeps.
            let address = unsafe {
                bindings::skb_frag_dma_map(
                    dev.as_raw(),
                    fragment,
                    0,
                    len,
                    bindings::dma_data_direction_DMA_TO_DEVICE,
                )
            };
            mapped.push(address, len)?;
        }
        Ok(mapped)
    }

    /// Records the mapping at `address` of `len` bytes, the next piece; `ENOMEM` if it failed.
    fn push(&mut self, address: bindings::dma_addr_t, len: usize) -> Result {
        // SAFETY: `dev` is valid; `address` was returned by a mapping for it.
        if unsafe { bindings::dma_mapping_error(self.dev.as_raw(), address) } != 0 {
            return Err(ENOMEM);
        }
        let slot = self.segments.get_mut(self.count).ok_or(EINVAL)?;
        // INVARIANT: The mapping succeeded; it is recorded in the order of the pieces.
        *slot = Segment { address, len };
        self.count += 1;
        Ok(())
    }

    /// Returns the pieces of the frame, in order, where the device reads them.
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }

    /// Returns the frame.
    pub fn skb(&self) -> &SkBuff {
        &self.skb
    }
}

impl Drop for MappedSkBuff {
    fn drop(&mut self) {
        let dev = self.dev.as_raw();
        for (i, segment) in self.segments().iter().enumerate() {
            let direction = bindings::dma_data_direction_DMA_TO_DEVICE;
            // SAFETY: By the type invariant `segment` is a mapping for `dev`, made with
            // `dma_map_single()` if it is the head, else with `skb_frag_dma_map()`, whose
            // counterpart is `dma_unmap_page()`; it is undone once, here, before `skb` is
            // freed with the object's fields.
            unsafe {
                if i == 0 && self.head_mapped {
                    bindings::dma_unmap_single_attrs(
                        dev,
                        segment.address,
                        segment.len,
                        direction,
                        0,
                    );
                } else {
                    bindings::dma_unmap_page_attrs(dev, segment.address, segment.len, direction, 0);
                }
            }
        }
    }
}
