// SPDX-License-Identifier: GPL-2.0

//! Socket buffers mapped for a device: frames sent and received without copying them.
//!
//! A driver that sends from and receives into its own coherent buffers copies every frame. One
//! that maps socket buffers instead hands the device the addresses of the buffers' own memory,
//! and must keep each buffer, untouched by the CPU, until the device is done with it and the
//! mapping is undone. [`SkBuffMapping`] (room for a frame to send) and [`ReceiveSkBuff`] (an
//! empty buffer to receive a frame into) own a buffer and its mappings together, so the buffer
//! can be neither freed nor reached while the device may use it, and dropping them undoes the
//! mappings before the buffer is freed, in any context.
//!
//! C header: [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h)

use super::SkBuff;
use crate::{
    bindings,
    device::Device,
    error::code::*,
    error::Result,
    types::{ARef, ForeignOwnable},
};
use core::{ffi::c_void, mem::MaybeUninit, ptr::NonNull};

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

/// Room to map one socket buffer to send, for a device to read it (`DMA_TO_DEVICE`), reused
/// from frame to frame.
///
/// [`SkBuffMapping::map`] maps a frame and keeps it: the device reads it at
/// [`SkBuffMapping::segments`], its head, if not empty, then its page fragments, in order.
/// Once the device is done, [`SkBuffMapping::consume`] undoes the mappings and frees the frame,
/// and the room takes the next one. Dropping the object undoes the mappings of the frame it
/// holds, if any, then frees the frame.
///
/// The room holds a reference to the device and a table for all the pieces a frame may have.
/// A driver allocates one per descriptor when it sets up its ring: mapping a frame then
/// allocates nothing, takes no reference and moves nothing, as in a C driver.
///
/// # Invariants
///
/// If `skb` is `Some`, the first `count` entries of `segments` are initialised: they are the
/// mappings for `dev` of the frame's memory, the head, mapped with `dma_map_single()`, if
/// `head_mapped`, then the page fragments in order, mapped with `skb_frag_dma_map()`, none
/// empty; the frame is only reached through shared references, so the mapped memory stays
/// allocated and unchanged. If `skb` is `None`, `count` is zero.
///
/// # Examples
///
/// ```
/// use kernel::{device::Device, net::skb::{SkBuff, SkBuffMapping}};
///
/// /// Returns room for a driver to map frames for `dev` in.
/// fn room(dev: &Device) -> Result<KBox<SkBuffMapping>> {
///     Ok(KBox::new(SkBuffMapping::new(dev), GFP_KERNEL)?)
/// }
///
/// /// Maps `skb` in `room`, and returns the number of descriptors of at most `max` bytes it
/// /// takes.
/// fn descriptors(room: &mut SkBuffMapping, skb: SkBuff, max: usize) -> Result<usize> {
///     let count = room.map(skb)?.iter().map(|s| s.len.div_ceil(max)).sum();
///     // ... once the device has sent the frame, it is freed as one that served its purpose,
///     // not as a loss.
///     assert!(room.consume());
///     Ok(count)
/// }
/// ```
pub struct SkBuffMapping {
    dev: ARef<Device>,
    skb: Option<SkBuff>,
    count: usize,
    head_mapped: bool,
    segments: [MaybeUninit<Segment>; MAX_SEGMENTS],
}

impl SkBuffMapping {
    /// Returns room to map frames for `dev` to read, holding none yet.
    pub fn new(dev: &Device) -> Self {
        // INVARIANT: No frame, and no entry counted.
        Self {
            dev: dev.into(),
            skb: None,
            count: 0,
            head_mapped: false,
            segments: [MaybeUninit::uninit(); MAX_SEGMENTS],
        }
    }

    /// Maps `skb` for the device to read, keeps it, and returns its pieces, in order. Fails
    /// with `EBUSY` if a frame is held already, and with `ENOMEM` if a piece cannot be mapped:
    /// the pieces mapped so far are unmapped again. On failure `skb` is freed.
    #[inline]
    pub fn map(&mut self, skb: SkBuff) -> Result<&[Segment]> {
        if self.skb.is_some() {
            return Err(EBUSY);
        }
        // INVARIANT: `count` is zero while no frame is held: no entry is counted yet.
        self.head_mapped = false;
        let raw = skb.ptr.as_ptr();
        let head_len = skb.data().len();
        let shared = skb.shared_info();
        self.skb = Some(skb);
        if let Err(e) = self.map_pieces(raw, head_len, shared) {
            self.release(false);
            return Err(e);
        }
        Ok(self.segments())
    }

    /// Maps the head of the frame `raw`, `head_len` bytes, if not empty, then its page
    /// fragments, described by `shared`. The frame is held by `self`.
    #[inline]
    fn map_pieces(
        &mut self,
        raw: *mut bindings::sk_buff,
        head_len: usize,
        shared: *mut bindings::skb_shared_info,
    ) -> Result {
        let dev = self.dev.as_raw();
        if head_len != 0 {
            // SAFETY: `dev` is valid, and the frame, held by `self`, is valid: its `data`
            // points to `head_len` bytes of its head, kernel memory that can be mapped.
            let address = unsafe {
                bindings::dma_map_single_attrs(
                    dev,
                    (*raw).data.cast(),
                    head_len,
                    bindings::dma_data_direction_DMA_TO_DEVICE,
                    0,
                )
            };
            // SAFETY: `dev` is the object's device.
            unsafe { self.push(dev, address, head_len)? };
            self.head_mapped = true;
        }
        // SAFETY: The frame's shared info is valid, and its fragment count does not change
        // while `self` holds the frame.
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
            // frame, which `self` keeps.
            let address = unsafe {
                bindings::skb_frag_dma_map(
                    dev,
                    fragment,
                    0,
                    len,
                    bindings::dma_data_direction_DMA_TO_DEVICE,
                )
            };
            // SAFETY: `dev` is the object's device.
            unsafe { self.push(dev, address, len)? };
        }
        Ok(())
    }

    /// Records the mapping at `address` of `len` bytes, the next piece, made for `dev`;
    /// `ENOMEM` if it failed.
    ///
    /// # Safety
    ///
    /// `dev` must be the object's device (`self.dev.as_raw()`, which the caller has at hand).
    #[inline]
    unsafe fn push(
        &mut self,
        dev: *mut bindings::device,
        address: bindings::dma_addr_t,
        len: usize,
    ) -> Result {
        // SAFETY: `dev` is the object's device, valid, by the safety requirements; `address`
        // was returned by a mapping for it.
        if unsafe { bindings::dma_mapping_error(dev, address) } != 0 {
            return Err(ENOMEM);
        }
        let slot = self.segments.get_mut(self.count).ok_or(EINVAL)?;
        slot.write(Segment { address, len });
        // INVARIANT: The mapping succeeded; it is recorded, initialised, in the order of the
        // pieces of the frame held.
        self.count += 1;
        Ok(())
    }

    /// Returns the pieces of the frame held, in order, where the device reads them; none if no
    /// frame is held.
    #[inline]
    pub fn segments(&self) -> &[Segment] {
        let count = self.count.min(MAX_SEGMENTS);
        // SAFETY: By the type invariant the first `count` entries are initialised, and
        // `MaybeUninit<Segment>` has the layout of `Segment`.
        unsafe { core::slice::from_raw_parts(self.segments.as_ptr().cast(), count) }
    }

    /// Returns the frame held, if any.
    #[inline]
    pub fn skb(&self) -> Option<&SkBuff> {
        self.skb.as_ref()
    }

    /// Undoes the mappings and frees the frame held as one that served its purpose, once the
    /// device has sent it ([`SkBuff::consume`]). Returns whether a frame was held.
    #[inline]
    pub fn consume(&mut self) -> bool {
        self.release(true)
    }

    /// Undoes the mappings and frees the frame held as one dropped, unsent. Returns whether a
    /// frame was held.
    #[inline]
    pub fn discard(&mut self) -> bool {
        self.release(false)
    }

    /// Undoes the mappings and frees the frame held, as sent if `sent`, else as dropped;
    /// returns whether a frame was held.
    #[inline]
    fn release(&mut self, sent: bool) -> bool {
        let Some(skb) = self.skb.take() else {
            return false;
        };
        let dev = self.dev.as_raw();
        for (i, segment) in self.segments().iter().enumerate() {
            let direction = bindings::dma_data_direction_DMA_TO_DEVICE;
            // SAFETY: By the type invariant `segment` is a mapping for `dev` of the frame's
            // memory, made with `dma_map_single()` if it is the head, else with
            // `skb_frag_dma_map()`, whose counterpart is `dma_unmap_page()`. It is undone
            // once: `count` is cleared below, before the frame is freed.
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
        // INVARIANT: No frame is held, and no entry is counted.
        self.count = 0;
        if sent {
            skb.consume();
        } else {
            drop(skb);
        }
        true
    }
}

impl Drop for SkBuffMapping {
    fn drop(&mut self) {
        self.release(false);
    }
}

/// What a [`ReceiveSkBuff`] keeps of its mapping, in its socket buffer's control block.
#[derive(Clone, Copy)]
#[repr(C)]
struct ReceiveMapping {
    /// The device the room is mapped for, with a reference to it (`ARef::into_raw`).
    dev: NonNull<Device>,
    address: bindings::dma_addr_t,
    capacity: usize,
}

/// The control block of a socket buffer: 48 bytes that its owner may use. Its type is spelt
/// out so that the build fails if it ever changes.
type ControlBlock = [crate::ffi::c_char; 48];

const _: () =
    assert!(core::mem::size_of::<ReceiveMapping>() <= core::mem::size_of::<ControlBlock>());

/// An empty socket buffer for a device to receive a frame into: room for `capacity` bytes,
/// mapped for the device to write (`DMA_FROM_DEVICE`).
///
/// The device writes a frame at [`ReceiveSkBuff::address`]; [`ReceiveSkBuff::into_frame`]
/// then undoes the mapping and gives the buffer back with the frame in it, for the stack,
/// without copying it. A short frame is cheaper to copy out, keeping the buffer mapped for the
/// next one, as C drivers do below their `copybreak`: [`ReceiveSkBuff::copy_frame`] hands the
/// bytes to the CPU for the copy (`dma_sync_single_for_cpu()`), then back to the device. No
/// other method reads the buffer's data while it is mapped. Dropping the object undoes the
/// mapping and frees the buffer.
///
/// The mapping is kept in the buffer's control block (`cb`), which is the driver's until it
/// hands the buffer to the stack: the object is one pointer, which a [`super::SkBuffSlot`]
/// holds without an allocation of its own.
///
/// # Invariants
///
/// `ptr` points to a valid, empty socket buffer that the object owns. Its control block holds
/// a `ReceiveMapping`: `capacity` bytes of the buffer's room from `data` on, mapped for
/// `dev` at `address` with `dma_map_single()`, and a reference to `dev`. Nothing else uses the
/// control block, or reaches the mapped bytes, while the object lives.
///
/// # Examples
///
/// ```
/// use kernel::{device::Device, net::skb::{ReceiveSkBuff, SkBuff}};
///
/// /// Returns a buffer for `dev` to receive a frame of up to 2 KiB into.
/// fn receive_buffer(dev: &Device) -> Result<ReceiveSkBuff> {
///     let skb = SkBuff::alloc_for_receive(2048, GFP_KERNEL)?;
///     // Too short a frame for that much room: refused, nothing mapped.
///     assert_eq!(ReceiveSkBuff::new(dev, skb, 4096).err(), Some(EINVAL));
///     ReceiveSkBuff::new(dev, SkBuff::alloc_for_receive(2048, GFP_KERNEL)?, 2048)
/// }
///
/// /// Copies the short frame of `len` bytes the device wrote into `buffer` out of it, keeping
/// /// the buffer mapped for the next frame.
/// fn copy_short_frame(buffer: &mut ReceiveSkBuff, len: usize) -> Result<SkBuff> {
///     let mut skb = SkBuff::alloc_for_receive(len, GFP_ATOMIC)?;
///     buffer.copy_frame(len, &mut skb)?;
///     Ok(skb)
/// }
/// ```
pub struct ReceiveSkBuff {
    ptr: NonNull<bindings::sk_buff>,
}

// SAFETY: Like a socket buffer, the object and its mapping are not tied to a thread or CPU.
unsafe impl Send for ReceiveSkBuff {}

// SAFETY: Shared references only read the mapping's address.
unsafe impl Sync for ReceiveSkBuff {}

impl ReceiveSkBuff {
    /// Maps `capacity` bytes of the room of `skb`, which must be empty and not share its data
    /// with a clone, for `dev` to write a frame into. Fails with `EINVAL` if `skb` is not empty,
    /// is a clone or has less room, and with `ENOMEM` if the mapping fails; `skb` is freed then.
    #[inline]
    pub fn new(dev: &Device, skb: SkBuff, capacity: usize) -> Result<Self> {
        let raw = skb.ptr.as_ptr();
        // SAFETY: By the type invariant of `SkBuff` the buffer is valid.
        let cloned = unsafe { (*raw).cloned() } != 0;
        if cloned || !skb.is_empty() || skb.check_tailroom(capacity).is_err() {
            return Err(EINVAL);
        }
        let raw_dev = dev.as_raw();
        // SAFETY: `dev` is valid, and by the type invariant of `SkBuff` the buffer is valid
        // and owned, not a clone, with `capacity` bytes of room from `data` on, checked above:
        // kernel memory that can be mapped, and that nothing else reaches while it is.
        let address = unsafe {
            bindings::dma_map_single_attrs(
                raw_dev,
                (*raw).data.cast(),
                capacity,
                bindings::dma_data_direction_DMA_FROM_DEVICE,
                0,
            )
        };
        // SAFETY: `dev` is valid; `address` was returned by a mapping for it.
        if unsafe { bindings::dma_mapping_error(raw_dev, address) } != 0 {
            return Err(ENOMEM);
        }
        let mapping = ReceiveMapping {
            dev: ARef::into_raw(ARef::<Device>::from(dev)),
            address,
            capacity,
        };
        // SAFETY: The buffer is valid and owned; its control block is 48 bytes, enough for
        // the mapping (checked at build time), written unaligned.
        unsafe { Self::control_block(raw).write_unaligned(mapping) };
        // INVARIANT: The buffer is empty and owned, the room is mapped, and the control block
        // holds the mapping and the reference to `dev`; `skb` gives up ownership.
        let ptr = skb.ptr;
        core::mem::forget(skb);
        Ok(Self { ptr })
    }

    /// Returns where the mapping is kept in the control block of `skb`.
    ///
    /// # Safety
    ///
    /// `skb` must point to a valid socket buffer.
    #[inline]
    unsafe fn control_block(skb: *mut bindings::sk_buff) -> *mut ReceiveMapping {
        // SAFETY: The caller passes a valid buffer.
        let cb: *mut ControlBlock = unsafe { core::ptr::addr_of_mut!((*skb).cb) };
        cb.cast()
    }

    #[inline]
    fn mapping(&self) -> ReceiveMapping {
        // SAFETY: By the type invariant the buffer is valid and its control block holds the
        // mapping.
        unsafe { Self::control_block(self.ptr.as_ptr()).read_unaligned() }
    }

    /// Returns the device's address of the room it may write a frame into.
    #[inline]
    pub fn address(&self) -> u64 {
        self.mapping().address
    }

    /// Returns how many bytes the device may write.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.mapping().capacity
    }

    /// Undoes the mapping, clears the control block and drops the reference to the device;
    /// the object must be forgotten or freed without calling this again.
    #[inline]
    fn unmap(&mut self) {
        let ReceiveMapping {
            dev,
            address,
            capacity,
        } = self.mapping();
        // SAFETY: By the type invariant `dev` holds a reference, taken with
        // `ARef::into_raw()`, that the object owns; it is given back here, once.
        let dev = unsafe { ARef::from_raw(dev) };
        // SAFETY: By the type invariant the room is mapped for `dev` at `address` with
        // `dma_map_single()` for `capacity` bytes, in this direction; it is undone once.
        unsafe {
            bindings::dma_unmap_single_attrs(
                dev.as_raw(),
                address,
                capacity,
                bindings::dma_data_direction_DMA_FROM_DEVICE,
                0,
            )
        };
        // SAFETY: The buffer is valid; its control block goes back to the stack cleared, as
        // a new buffer's is.
        unsafe {
            Self::control_block(self.ptr.as_ptr()).write_bytes(0, 1);
        }
    }

    /// Appends to `skb` the `len` bytes of a frame the device wrote into the buffer, which
    /// stays mapped for the device to write the next frame into; `EINVAL` if `len` is more
    /// than the room mapped, `ENOSPC` if `skb` has no room for the frame.
    ///
    /// The device must be done writing the frame, as the descriptor it was written for says,
    /// and must not be given the buffer again before this returns. If it still writes, the
    /// bytes copied are whatever the memory held: the copy is made by C on the mapping's
    /// memory, never through a Rust reference, so the result is wrong but never undefined.
    #[inline]
    pub fn copy_frame(&mut self, len: usize, skb: &mut SkBuff) -> Result {
        let ReceiveMapping {
            dev,
            address,
            capacity,
        } = self.mapping();
        if len > capacity {
            return Err(EINVAL);
        }
        let len_u32 = skb.check_tailroom(len)?;
        let raw = self.ptr.as_ptr();
        let direction = bindings::dma_data_direction_DMA_FROM_DEVICE;
        // SAFETY: By the type invariant `dev` is valid (the object holds a reference to it),
        // and the room is mapped for it at `address`, for `capacity` bytes, of which `len` are
        // handed to the CPU and back; `skb` is valid, owned through the `&mut` borrow, and has
        // room for `len` bytes, checked above; the buffer's `len` bytes from `data` are in the
        // room, and `&mut self` keeps anyone else from syncing or unmapping them meanwhile.
        unsafe {
            let dev = dev.as_ref().as_raw();
            bindings::dma_sync_single_for_cpu(dev, address, len, direction);
            bindings::skb_put_data(skb.ptr.as_ptr(), (*raw).data.cast(), len_u32);
            bindings::dma_sync_single_for_device(dev, address, len, direction);
        }
        Ok(())
    }

    /// Undoes the mapping and returns the buffer with the `len` bytes the device wrote into
    /// it, its frame; `EINVAL` if `len` is more than the room mapped, and the buffer is freed.
    #[inline]
    pub fn into_frame(self, len: usize) -> Result<SkBuff> {
        let mut this = core::mem::ManuallyDrop::new(self);
        let capacity = this.capacity();
        this.unmap();
        // SAFETY: By the type invariant the buffer is valid and owned; `this` is forgotten,
        // so ownership passes to the new object.
        let skb = unsafe { SkBuff::from_raw(this.ptr) };
        if len > capacity {
            return Err(EINVAL);
        }
        // SAFETY: The buffer is valid, owned and empty, with at least `capacity` bytes of
        // room, now written by the device and no longer mapped.
        unsafe { bindings::skb_put(skb.ptr.as_ptr(), len as u32) };
        Ok(skb)
    }
}

impl Drop for ReceiveSkBuff {
    #[inline]
    fn drop(&mut self) {
        self.unmap();
        // SAFETY: By the type invariant the buffer is valid and owned; it is no longer mapped.
        drop(unsafe { SkBuff::from_raw(self.ptr) });
    }
}

impl ForeignOwnable for ReceiveSkBuff {
    type Borrowed<'a> = ();

    #[inline]
    fn into_foreign(self) -> *const c_void {
        let this = core::mem::ManuallyDrop::new(self);
        this.ptr.as_ptr().cast_const().cast()
    }

    #[inline]
    unsafe fn borrow<'a>(_ptr: *const c_void) -> Self::Borrowed<'a> {}

    #[inline]
    unsafe fn from_foreign(ptr: *const c_void) -> Self {
        // INVARIANT: The caller passes a pointer returned by `into_foreign()` and not
        // converted back yet: the buffer of an object whose ownership it gave up.
        Self {
            // SAFETY: Such a pointer is never null.
            ptr: unsafe { NonNull::new_unchecked(ptr.cast_mut().cast()) },
        }
    }
}
