// SPDX-License-Identifier: GPL-2.0

//! Coherent DMA memory: buffers that a device and the CPU both see without explicit syncing.
//!
//! C header: [`include/linux/dma-mapping.h`](srctree/include/linux/dma-mapping.h)

use crate::{
    alloc::Flags,
    bindings,
    device::Device,
    error::{code::*, to_result, Result},
    types::ARef,
};
use core::ptr::NonNull;

/// Sets the streaming and coherent DMA masks of `dev` to `bits` address bits.
///
/// Fails with `EINVAL` if `bits` is not in `1..=64`, and with `EIO` if the platform cannot
/// address the device with this mask.
pub fn set_mask_and_coherent(dev: &Device, bits: u32) -> Result {
    if bits == 0 || bits > 64 {
        return Err(EINVAL);
    }
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    // SAFETY: `dev` is a valid device by the type invariant of `Device`.
    to_result(unsafe { bindings::dma_set_mask(dev.as_raw(), mask) })?;
    // SAFETY: As above.
    to_result(unsafe { bindings::dma_set_coherent_mask(dev.as_raw(), mask) })
}

/// Orders reads of coherent DMA memory: reads after the barrier see what the device wrote
/// before the reads before it (`dma_rmb()`).
///
/// A driver that reads a descriptor's "done" bit calls it before reading the rest of the
/// descriptor or the buffer it describes, so that it never sees data older than the bit.
///
/// # Examples
///
/// ```
/// use kernel::dma::{self, CoherentAllocation};
///
/// /// Returns the length of a received buffer once its descriptor says it is done.
/// fn received_length(descriptors: &CoherentAllocation<u32>) -> Result<Option<u32>> {
///     if descriptors.read(0)? & 1 == 0 {
///         return Ok(None);
///     }
///     // The length was written by the device before the done bit.
///     dma::dma_rmb();
///     Ok(Some(descriptors.read(1)?))
/// }
/// ```
#[inline]
pub fn dma_rmb() {
    // SAFETY: A barrier has no preconditions.
    unsafe { bindings::dma_rmb() }
}

/// Orders writes to coherent DMA memory: the device sees writes before the barrier before the
/// writes after it (`dma_wmb()`).
///
/// A driver that fills a descriptor and then hands it to the device by a write to coherent
/// memory (an ownership bit) calls it between the two.
#[inline]
pub fn dma_wmb() {
    // SAFETY: A barrier has no preconditions.
    unsafe { bindings::dma_wmb() }
}

/// Types a device may write any bits into: plain integers.
///
/// # Safety
///
/// Every bit pattern must be a valid value of the type.
pub unsafe trait Element: Copy + Send + Sync + 'static {}

macro_rules! impl_element {
    ($($ty:ty),*) => {
        // SAFETY: Every bit pattern is a valid integer.
        $(unsafe impl Element for $ty {})*
    };
}
impl_element!(u8, u16, u32, u64, i8, i16, i32, i64);

/// A coherent DMA allocation of `count` elements of `T`, freed on drop.
///
/// The device reaches the memory at [`CoherentAllocation::dma_handle`]. The CPU reaches it only
/// through bounds-checked accessors that copy values in and out, volatile for one element and
/// `memcpy()` for a range, because the device may change it at any time: no Rust reference to
/// the memory is ever handed out.
///
/// # Invariants
///
/// `cpu_addr` points to `count * size_of::<T>()` bytes allocated by `dma_alloc_attrs()` for
/// `dev`, with `dma_handle` the device address of the same memory; `count` is not zero.
///
/// # Examples
///
/// ```
/// use kernel::{dma::CoherentAllocation, pci};
///
/// fn greet_device(pdev: &pci::Device) -> Result<CoherentAllocation<u8>> {
///     let buffer = CoherentAllocation::<u8>::alloc(pdev.as_ref(), 4096, GFP_KERNEL)?;
///     buffer.write_from(0, b"hello")?;
///     // Out of range: nothing is written.
///     assert_eq!(buffer.write_from(4094, b"hello"), Err(EINVAL));
///     // Hand `buffer.dma_handle()` to the device here.
///     Ok(buffer)
/// }
/// ```
pub struct CoherentAllocation<T: Element> {
    dev: ARef<Device>,
    cpu_addr: NonNull<T>,
    dma_handle: bindings::dma_addr_t,
    count: usize,
}

impl<T: Element> CoherentAllocation<T> {
    /// Allocates `count` elements of coherent memory for `dev`, zeroed.
    ///
    /// Fails with `EINVAL` if `count` is zero, and with `ENOMEM` if the size does not fit in
    /// `usize` or no memory the device can address is left.
    pub fn alloc(dev: &Device, count: usize, gfp: Flags) -> Result<Self> {
        if count == 0 || core::mem::size_of::<T>() == 0 {
            return Err(EINVAL);
        }
        let size = count.checked_mul(core::mem::size_of::<T>()).ok_or(ENOMEM)?;
        let mut dma_handle = 0;
        // SAFETY: `dev` is a valid device; `dma_handle` is a valid place for the device
        // address.
        let cpu_addr = unsafe {
            bindings::dma_alloc_attrs(
                dev.as_raw(),
                size,
                &mut dma_handle,
                (gfp | crate::alloc::flags::__GFP_ZERO).as_raw(),
                0,
            )
        };
        let cpu_addr = NonNull::new(cpu_addr.cast::<T>()).ok_or(ENOMEM)?;
        // INVARIANT: The allocation succeeded with `size` bytes for `dev`.
        Ok(Self {
            dev: dev.into(),
            cpu_addr,
            dma_handle,
            count,
        })
    }

    /// Returns the number of elements.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Returns the size in bytes.
    pub fn size(&self) -> usize {
        self.count * core::mem::size_of::<T>()
    }

    /// Returns the address at which the device sees the memory.
    pub fn dma_handle(&self) -> u64 {
        self.dma_handle
    }

    fn check_range(&self, index: usize, len: usize) -> Result {
        match index.checked_add(len) {
            Some(end) if end <= self.count => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// Returns a pointer to the `len` elements from `index` on, for C functions that fill
    /// them; `EINVAL` if they are not all there.
    pub(crate) fn range_ptr(&self, index: usize, len: usize) -> Result<*mut T> {
        self.check_range(index, len)?;
        // SAFETY: `index` is in bounds, checked above.
        Ok(unsafe { self.cpu_addr.as_ptr().add(index) })
    }

    /// Reads the element at `index`; `EINVAL` if it is out of range.
    pub fn read(&self, index: usize) -> Result<T> {
        self.check_range(index, 1)?;
        // SAFETY: `index` is in bounds, so by the type invariant the pointer is valid for
        // reads; volatile because the device may write the memory.
        Ok(unsafe { self.cpu_addr.as_ptr().add(index).read_volatile() })
    }

    /// Writes `value` at `index`; `EINVAL` if it is out of range.
    pub fn write(&self, index: usize, value: T) -> Result {
        self.check_range(index, 1)?;
        // SAFETY: As in `read`, for writes.
        unsafe { self.cpu_addr.as_ptr().add(index).write_volatile(value) };
        Ok(())
    }

    /// Copies `src` into the elements from `index` on; `EINVAL` if they do not all fit.
    ///
    /// The copy is one `memcpy()`: drivers copy frames and buffers with it, which element by
    /// element would cost a volatile access per element.
    pub fn write_from(&self, index: usize, src: &[T]) -> Result {
        self.check_range(index, src.len())?;
        // SAFETY: The range is in bounds, checked above, so by the type invariant it is valid
        // for writes, and `src` is valid for reads of as many elements. The copy is done by C,
        // like the device's own accesses: no Rust reference to the allocation is made, and
        // whatever the device writes at the same time, every element holds a valid `T`.
        unsafe {
            bindings::memcpy(
                self.cpu_addr.as_ptr().add(index).cast(),
                src.as_ptr().cast(),
                core::mem::size_of_val(src),
            )
        };
        Ok(())
    }

    /// Copies the elements from `index` on into `dst`; `EINVAL` if they are not all there.
    ///
    /// The copy is one `memcpy()`, as in [`CoherentAllocation::write_from`].
    pub fn read_into(&self, index: usize, dst: &mut [T]) -> Result {
        self.check_range(index, dst.len())?;
        // SAFETY: As in `write_from`, with the directions swapped: the range is valid for
        // reads and `dst` for writes, and any bit pattern is a valid `T`.
        unsafe {
            bindings::memcpy(
                dst.as_mut_ptr().cast(),
                self.cpu_addr.as_ptr().add(index).cast(),
                core::mem::size_of_val(dst),
            )
        };
        Ok(())
    }
}

impl<T: Element> Drop for CoherentAllocation<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the memory was allocated by `dma_alloc_attrs()` for
        // `dev` with this size and handle, and nothing else refers to it any more.
        unsafe {
            bindings::dma_free_attrs(
                self.dev.as_raw(),
                self.size(),
                self.cpu_addr.as_ptr().cast(),
                self.dma_handle,
                0,
            )
        };
    }
}

// SAFETY: The allocation can be freed from any thread, and only plain integers are copied in
// and out.
unsafe impl<T: Element> Send for CoherentAllocation<T> {}

// SAFETY: Shared access only does volatile copies of plain integers.
unsafe impl<T: Element> Sync for CoherentAllocation<T> {}
