// SPDX-License-Identifier: GPL-2.0

//! Socket buffers: the frames a network driver transmits and receives.
//!
//! A driver gets frames to transmit from [`super::device::Driver::start_xmit`] and owns them
//! until the device has sent them: dropping an [`SkBuff`] frees it, in any context. Frames it
//! receives come from [`super::napi::NapiPoll::alloc_skb`] and go up the stack through
//! [`super::napi::NapiPoll::receive`].
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)

use crate::{
    alloc::KBox, bindings, dma::CoherentAllocation, error::code::*, error::Result,
    types::ForeignOwnable,
};
use core::{
    ffi::c_void,
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicPtr, Ordering},
};

pub mod mapping;
pub use mapping::{ReceiveSkBuff, SkBuffMapping};

/// Where a device must compute and insert the checksum of a frame whose checksum the stack
/// left to it (`CHECKSUM_PARTIAL`), for devices that announce [`super::device::Features::HW_CSUM`].
///
/// The device sums, in ones' complement, the bytes from `start` to the end of the frame and
/// stores the result at `start + offset`; the stack has put the pseudo-header's sum there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChecksumRequest {
    /// The first byte summed, from the start of the frame.
    pub start: usize,
    /// Where the checksum goes, from `start`.
    pub offset: usize,
}

/// How a device must cut a TCP over IPv4 frame that the stack left to it to segment, for
/// devices that announce [`super::device::Features::TSO`].
///
/// Each segment repeats the first `header_len` bytes of the frame (Ethernet, IPv4 and TCP
/// headers) with the IPv4 total length, identification and checksum, and the TCP sequence
/// number, flags and checksum updated, followed by the next `segment_size` bytes of payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segmentation {
    /// Where the IPv4 header starts, from the start of the frame.
    pub network_offset: usize,
    /// Where the TCP header starts, from the start of the frame.
    pub transport_offset: usize,
    /// The bytes of headers each segment repeats.
    pub header_len: usize,
    /// The bytes of payload of each segment but the last (the MSS).
    pub segment_size: usize,
}

impl Segmentation {
    /// Where the IPv4 header checksum is, from the start of the frame.
    #[inline]
    pub fn ip_checksum_offset(&self) -> usize {
        self.network_offset + IPV4_CHECKSUM
    }

    /// Where the TCP checksum is, from the start of the frame.
    #[inline]
    pub fn tcp_checksum_offset(&self) -> usize {
        self.transport_offset + TCP_CHECKSUM
    }
}

/// The bytes of an IPv4 header without options, and where its fields are: the total length,
/// the header checksum, and the source and destination addresses.
const IPV4_HEADER_LEN: usize = 20;
const IPV4_TOTAL_LENGTH: usize = 2;
const IPV4_CHECKSUM: usize = 10;
const IPV4_ADDRESSES: usize = 12;
/// The bytes of a TCP header without options, and where its fields are: the data offset (the
/// header's length in 32-bit words, in the high nibble) and the checksum.
const TCP_HEADER_LEN: usize = 20;
const TCP_DATA_OFFSET: usize = 12;
const TCP_CHECKSUM: usize = 16;

/// Returns the ones' complement sum, folded to 16 bits, of the TCP pseudo-header of IPv4
/// addresses `addresses` (source, then destination, 8 bytes) with a length of zero.
#[inline]
fn tcp_pseudo_header_sum(addresses: &[u8]) -> u16 {
    let mut sum: u32 = bindings::IPPROTO_TCP;
    for word in addresses.chunks_exact(2) {
        sum += u32::from(u16::from_be_bytes([word[0], word[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// An owned socket buffer.
///
/// # Invariants
///
/// `ptr` points to a valid `struct sk_buff` that this object owns: no one else frees it or
/// changes its data while the object lives.
pub struct SkBuff {
    ptr: NonNull<bindings::sk_buff>,
}

// SAFETY: A socket buffer is not tied to a thread or CPU; it may be freed anywhere.
unsafe impl Send for SkBuff {}

// SAFETY: Shared references only read the buffer's length and data.
unsafe impl Sync for SkBuff {}

impl SkBuff {
    /// Takes ownership of `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid socket buffer that the caller owns and hands over.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: The caller hands over a valid buffer it owns.
        Self { ptr }
    }

    /// Allocates an empty buffer with room for a received frame of up to `len` bytes, after
    /// the headroom the stack wants in front of one (`NET_SKB_PAD`); `ENOMEM` if memory is
    /// short. In a NAPI poll, [`super::napi::NapiPoll::alloc_skb`] is cheaper.
    pub fn alloc_for_receive(len: usize, flags: crate::alloc::Flags) -> Result<Self> {
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: No device is named: the stack sets it when the frame is received.
        let skb =
            unsafe { bindings::__netdev_alloc_skb(core::ptr::null_mut(), len, flags.as_raw()) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: `skb` is a new buffer that this call owns.
        Ok(unsafe { Self::from_raw(skb) })
    }

    /// Gives up ownership of the buffer without freeing it.
    #[inline]
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        ptr
    }

    /// Returns the length of the frame, in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: By the type invariant `ptr` is valid.
        unsafe { (*self.ptr.as_ptr()).len as usize }
    }

    /// Returns whether the frame is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns whether all of the frame is in [`SkBuff::data`]: drivers that do not announce
    /// scatter-gather (`NETIF_F_SG`) only ever get such frames.
    #[inline]
    pub fn is_linear(&self) -> bool {
        self.data().len() == self.len()
    }

    /// Returns the bytes of the frame in the buffer's head: all of them if it is linear.
    #[inline]
    pub fn data(&self) -> &[u8] {
        let skb = self.ptr.as_ptr();
        // SAFETY: By the type invariant `skb` is valid.
        let head_len = unsafe { bindings::skb_headlen(skb) } as usize;
        // SAFETY: `data` points to `skb_headlen()` initialised bytes, which do not change while
        // this object owns the buffer and the returned reference borrows it.
        unsafe { core::slice::from_raw_parts((*skb).data, head_len) }
    }

    /// Returns the lengths of the frame's page fragments, in order: the bytes of the frame that
    /// are not in [`SkBuff::data`]. There are at most `MAX_SKB_FRAGS` of them.
    #[inline]
    pub fn fragment_lengths(&self) -> impl Iterator<Item = usize> + '_ {
        let shared = self.shared_info();
        // SAFETY: By the type invariant the buffer is valid, so is its shared info, whose
        // `nr_frags` the stack does not change while this object owns the buffer.
        let count = usize::from(unsafe { (*shared).nr_frags });
        (0..count.min(bindings::MAX_SKB_FRAGS as usize)).map(move |i| {
            // SAFETY: `i` is below `nr_frags`, so `frags[i]` is an initialised fragment, which
            // stays while `self` is borrowed.
            unsafe { bindings::skb_frag_size(core::ptr::addr_of!((*shared).frags[i])) as usize }
        })
    }

    /// Returns the buffer's shared info, valid while `self` is.
    #[inline]
    fn shared_info(&self) -> *mut bindings::skb_shared_info {
        // SAFETY: By the type invariant the buffer is valid.
        unsafe { bindings::skb_shinfo(self.ptr.as_ptr()) }
    }

    /// Copies `len` bytes of the frame from byte `start` on, whether the frame is linear or not,
    /// into `dst` from `index` on; `EINVAL` if they are not all in the frame or do not fit.
    #[inline]
    pub fn copy_to_dma(
        &self,
        start: usize,
        len: usize,
        dst: &CoherentAllocation<u8>,
        index: usize,
    ) -> Result {
        if start.checked_add(len).ok_or(EINVAL)? > self.len() {
            return Err(EINVAL);
        }
        let to = dst.range_ptr(index, len)?;
        // The frame's length is a `u32` and so are `start` and `len`, below it.
        let (start, len) = (start as i32, len as i32);
        // SAFETY: By the type invariant the buffer is valid, and it holds `len` bytes from
        // `start`; `to` is valid for `len` bytes of plain DMA memory, written by C like the
        // device's own accesses.
        let ret = unsafe { bindings::skb_copy_bits(self.ptr.as_ptr(), start, to.cast(), len) };
        crate::error::to_result(ret)
    }

    /// If the stack left the frame to the device to cut into TCP segments, makes its headers
    /// what such devices expect, and returns how to cut it; `None` if the frame is to be sent
    /// as it is.
    ///
    /// The IPv4 total length and header checksum become zero, and the TCP checksum the sum of
    /// the pseudo-header without a length: the device fills them in for each segment. Fails
    /// with `ENOMEM` if the headers are shared and cannot be copied, and with `EINVAL` for a
    /// frame that is not TCP over IPv4.
    #[inline]
    pub fn prepare_segmentation(&mut self) -> Result<Option<Segmentation>> {
        let skb = self.ptr.as_ptr();
        // SAFETY: By the type invariant the buffer is valid, so is its shared info.
        let (segment_size, gso_type) = unsafe {
            let shared = bindings::skb_shinfo(skb);
            ((*shared).gso_size, (*shared).gso_type)
        };
        if segment_size == 0 {
            return Ok(None);
        }
        if gso_type & bindings::SKB_GSO_TCPV4 == 0 {
            return Err(EINVAL);
        }
        // SAFETY: By the type invariant the buffer is valid and owned.
        crate::error::to_result(unsafe { bindings::skb_cow_head(skb, 0) })?;
        // SAFETY: By the type invariant the buffer is valid.
        let (network, transport) = unsafe {
            (
                bindings::skb_network_offset(skb),
                bindings::skb_transport_offset(skb),
            )
        };
        let network_offset = usize::try_from(network).map_err(|_| EINVAL)?;
        let transport_offset = usize::try_from(transport).map_err(|_| EINVAL)?;

        // SAFETY: By the type invariant the buffer is valid and owned, and `skb_cow_head()`
        // has made its head private to it: its `skb_headlen()` initialised bytes from `data`
        // are only reached through the returned reference, which borrows `self` mutably.
        let head = unsafe {
            core::slice::from_raw_parts_mut((*skb).data, bindings::skb_headlen(skb) as usize)
        };
        if network_offset + IPV4_HEADER_LEN > transport_offset
            || transport_offset + TCP_HEADER_LEN > head.len()
            || head[network_offset] >> 4 != 4
        {
            return Err(EINVAL);
        }
        let header_len =
            transport_offset + usize::from(head[transport_offset + TCP_DATA_OFFSET] >> 4) * 4;
        if header_len > head.len() {
            return Err(EINVAL);
        }

        let cut = Segmentation {
            network_offset,
            transport_offset,
            header_len,
            segment_size: segment_size.into(),
        };
        let ip = &mut head[network_offset..transport_offset];
        ip[IPV4_TOTAL_LENGTH..IPV4_TOTAL_LENGTH + 2].fill(0);
        ip[IPV4_CHECKSUM..IPV4_CHECKSUM + 2].fill(0);
        let sum = tcp_pseudo_header_sum(&ip[IPV4_ADDRESSES..IPV4_ADDRESSES + 8]);
        let tcp_checksum = cut.tcp_checksum_offset();
        head[tcp_checksum..tcp_checksum + 2].copy_from_slice(&sum.to_be_bytes());
        Ok(Some(cut))
    }

    /// Returns how many frames the stack counts this one as (`gso_segs`): for a frame left to
    /// the device to cut into segments, the segments it becomes on the wire, as a driver counts
    /// them once sent; 0 or 1 for other frames.
    #[inline]
    pub fn gso_segs(&self) -> u16 {
        // SAFETY: By the type invariant the buffer is valid, so is its shared info. The stack
        // sets `gso_segs` before it hands the frame over and leaves it alone while this object
        // owns the frame, even when the shared info is shared with clones.
        unsafe { (*bindings::skb_shinfo(self.ptr.as_ptr())).gso_segs }
    }

    /// Returns where the device must insert the frame's checksum, if the stack left it to the
    /// device.
    #[inline]
    pub fn checksum_request(&self) -> Option<ChecksumRequest> {
        let skb = self.ptr.as_ptr();
        // SAFETY: By the type invariant the buffer is valid; its `headers` group, which
        // bindgen names as below, holds `ip_summed` and the checksum offsets.
        unsafe {
            let headers = core::ptr::addr_of!((*skb).__bindgen_anon_4.__bindgen_anon_1)
                .cast::<bindings::sk_buff__bindgen_ty_4__bindgen_ty_1>();
            if u32::from((*headers).ip_summed()) != bindings::CHECKSUM_PARTIAL {
                return None;
            }
            let start = usize::try_from(bindings::skb_checksum_start_offset(skb)).ok()?;
            let offset = (*headers).__bindgen_anon_1.__bindgen_anon_1.csum_offset;
            Some(ChecksumRequest {
                start,
                offset: offset.into(),
            })
        }
    }

    /// Tells the stack that the device has verified the frame's TCP or UDP checksum, and its
    /// IP header checksum, and found them good (`CHECKSUM_UNNECESSARY`), so that the stack
    /// does not sum the frame again. Only for devices that announce
    /// [`super::device::Features::RXCSUM`]; a frame whose checksums were not verified, or
    /// were bad, is left as it is, for the stack to verify.
    #[inline]
    pub fn set_checksum_verified(&mut self) {
        let skb = self.ptr.as_ptr();
        // SAFETY: By the type invariant the buffer is valid and owned; its `headers` group
        // holds `ip_summed`, as in `checksum_request`.
        unsafe {
            let headers = core::ptr::addr_of_mut!((*skb).__bindgen_anon_4.__bindgen_anon_1)
                .cast::<bindings::sk_buff__bindgen_ty_4__bindgen_ty_1>();
            (*headers).set_ip_summed(bindings::CHECKSUM_UNNECESSARY as u8);
        }
    }

    /// Computes the checksum the stack left to the device, for a frame the device cannot
    /// checksum; `EINVAL` if that fails.
    pub fn checksum_in_software(&mut self) -> Result {
        // SAFETY: By the type invariant the buffer is valid and owned.
        crate::error::to_result(unsafe { bindings::skb_checksum_help(self.ptr.as_ptr()) })
    }

    /// Appends `bytes` to the frame; `ENOSPC` if the buffer has no room for them.
    #[inline]
    pub fn put_data(&mut self, bytes: &[u8]) -> Result {
        let len = self.check_tailroom(bytes.len())?;
        // SAFETY: By the type invariant the buffer is valid and owned, and it has room for
        // `len` more bytes, which `bytes` provides.
        unsafe { bindings::skb_put_data(self.ptr.as_ptr(), bytes.as_ptr().cast(), len) };
        Ok(())
    }

    #[inline]
    fn check_tailroom(&self, len: usize) -> Result<u32> {
        let len = u32::try_from(len).map_err(|_| ENOSPC)?;
        // SAFETY: By the type invariant the buffer is valid.
        if unsafe { bindings::skb_tailroom(self.ptr.as_ptr()) } < len {
            return Err(ENOSPC);
        }
        Ok(len)
    }
}

impl SkBuff {
    /// Frees the buffer of a frame that served its purpose, such as one the device has sent
    /// (`dev_consume_skb_any()`), in any context. Dropping an [`SkBuff`] frees it as a frame
    /// dropped (`dev_kfree_skb_any()`), which the stack counts and traces as a loss.
    #[inline]
    pub fn consume(self) {
        let skb = self.into_raw();
        // SAFETY: `skb` is a valid buffer whose ownership `into_raw()` gave up;
        // `dev_kfree_skb_any_reason()` may be called in any context.
        unsafe { bindings::dev_kfree_skb_any_reason(skb, bindings::skb_drop_reason_SKB_CONSUMED) };
    }
}

impl Drop for SkBuff {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: By the type invariant the buffer is valid and owned by this object;
        // `dev_kfree_skb_any()` may be called in any context.
        unsafe { bindings::dev_kfree_skb_any(self.ptr.as_ptr()) };
    }
}

/// What a [`SkBuffSlot`] holds: a socket buffer, a socket buffer mapped for a device, or room
/// to map one.
///
/// The trait is sealed: a slot only ever holds an owner of a socket buffer, or of room for
/// one, handed over whole as one pointer.
pub trait SlotContent: ForeignOwnable + Send + private::Sealed {}

impl SlotContent for SkBuff {}
impl private::Sealed for SkBuff {}
impl SlotContent for KBox<SkBuffMapping> {}
impl private::Sealed for KBox<SkBuffMapping> {}
impl SlotContent for ReceiveSkBuff {}
impl private::Sealed for ReceiveSkBuff {}

mod private {
    pub trait Sealed {}
}

impl ForeignOwnable for SkBuff {
    type Borrowed<'a> = ();

    #[inline]
    fn into_foreign(self) -> *const c_void {
        self.into_raw().cast_const().cast()
    }

    #[inline]
    unsafe fn borrow<'a>(_ptr: *const c_void) -> Self::Borrowed<'a> {}

    #[inline]
    unsafe fn from_foreign(ptr: *const c_void) -> Self {
        // SAFETY: The caller passes a pointer returned by `into_foreign()` and not converted
        // back yet: a valid buffer, never null, whose ownership `into_foreign()` gave up.
        unsafe { Self::from_raw(NonNull::new_unchecked(ptr.cast_mut().cast())) }
    }
}

/// A place for one socket buffer that any context may fill or empty at any time, such as the
/// frame a transmit descriptor holds until the device has sent it: the buffer itself, or one
/// mapped for the device (`SkBuffSlot<KBox<SkBuffMapping>>`, `SkBuffSlot<ReceiveSkBuff>`).
///
/// Filling and emptying are one atomic exchange: each buffer is owned either by the slot or by
/// whoever put it in or took it out, never by both.
///
/// # Invariants
///
/// `ptr` is null or was returned by `T::into_foreign()` and is owned by the slot: it has not
/// been converted back.
///
/// # Examples
///
/// ```
/// use kernel::net::skb::SkBuffSlot;
///
/// let slot: SkBuffSlot = SkBuffSlot::new();
/// assert!(slot.take().is_none());
/// ```
pub struct SkBuffSlot<T: SlotContent = SkBuff> {
    ptr: AtomicPtr<c_void>,
    _content: PhantomData<T>,
}

impl<T: SlotContent> SkBuffSlot<T> {
    /// Creates an empty slot.
    pub const fn new() -> Self {
        // INVARIANT: The slot is empty.
        Self {
            ptr: AtomicPtr::new(core::ptr::null_mut()),
            _content: PhantomData,
        }
    }

    /// Puts `content` in the slot, or empties it if `None`, and returns what it held.
    #[inline]
    pub fn replace(&self, content: Option<T>) -> Option<T> {
        let new = content.map_or(core::ptr::null_mut(), |c| c.into_foreign().cast_mut());
        // INVARIANT: `new` is null or was just returned by `into_foreign()`; the exchange hands
        // the old one over to the caller.
        let old = self.ptr.swap(new, Ordering::AcqRel);
        // SAFETY: By the type invariant `old` is null or was returned by `into_foreign()` and
        // not converted back; the exchange took it out of the slot, so it is converted once.
        unsafe { T::try_from_foreign(old) }
    }

    /// Empties the slot and returns what it held.
    #[inline]
    pub fn take(&self) -> Option<T> {
        self.replace(None)
    }
}

impl<T: SlotContent> Default for SkBuffSlot<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: SlotContent> Drop for SkBuffSlot<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}
