// SPDX-License-Identifier: GPL-2.0

//! Memory-mapped and port I/O with checked offsets.
//!
//! An [`Io`] is a window of device registers that `pci_iomap()` (or `ioport_map()`) returned.
//! On x86 the same cookie addresses MMIO and port I/O, and `ioread32()` and friends pick the
//! right instruction, so a driver writes the same code for both kinds of BAR.
//!
//! Every access is bounds checked. Offsets that are constants are checked at build time against
//! the size the driver declared (`SIZE`): an out-of-range constant offset does not link. The
//! `try_` accessors check at run time against the size the window really has and return
//! `EINVAL` instead of touching anything.
//!
//! C header: [`include/asm-generic/iomap.h`](srctree/include/asm-generic/iomap.h)

use crate::{bindings, build_assert, error::code::EINVAL, error::Result, ffi::c_void};

/// A window of `maxsize` bytes of device registers, of which at least `SIZE` are known at build
/// time.
///
/// # Invariants
///
/// `addr` is an I/O cookie returned by an `iomap` function for a region of at least `maxsize`
/// bytes, valid while the object exists, and `maxsize >= SIZE`.
///
/// # Examples
///
/// A driver gets an [`Io`] from [`pci::Bar`](crate::pci::Bar). On x86 an ordinary kernel
/// address is a valid MMIO cookie too, which lets this example run anywhere:
///
/// ```
/// use kernel::io::Io;
///
/// let registers = KBox::new([0u32; 4], GFP_KERNEL)?;
/// // SAFETY: `registers` is 16 bytes of memory that outlive `io`.
/// let io = unsafe { Io::<16>::new(registers.as_ptr().cast_mut().cast(), 16)? };
///
/// // Constant offsets are checked when the code is built: `io.read32(16)` does not link.
/// io.write32(0x010000ed, 0x4);
/// assert_eq!(io.read32(0x4), 0x010000ed);
/// assert_eq!(io.read8(0x4), 0xed);
///
/// // Offsets computed at run time are checked when the access is made.
/// let offset = registers.len() * 4;
/// assert_eq!(io.try_read32(offset), Err(EINVAL));
/// assert_eq!(io.try_write16(1, offset - 1), Err(EINVAL));
/// assert_eq!(io.try_read16(0x6), Ok(0x0100));
/// # Ok::<(), Error>(())
/// ```
pub struct Io<const SIZE: usize = 0> {
    addr: usize,
    maxsize: usize,
}

/// Whether an access of `width` bytes at `offset` stays inside `size` bytes and is aligned.
#[inline(always)]
const fn offset_ok(offset: usize, width: usize, size: usize) -> bool {
    match offset.checked_add(width) {
        Some(end) => end <= size && offset % width == 0,
        None => false,
    }
}

macro_rules! define_read {
    ($read:ident, $try_read:ident, $ty:ty, $c_read:ident) => {
        #[doc = concat!("Reads a `", stringify!($ty), "` at constant `offset`, checked at")]
        #[doc = "build time."]
        #[inline(always)]
        pub fn $read(&self, offset: usize) -> $ty {
            build_assert!(offset_ok(offset, core::mem::size_of::<$ty>(), SIZE));
            // SAFETY: The offset is in bounds (checked above) and, by the type invariant,
            // `addr` maps at least `SIZE` bytes.
            unsafe { bindings::$c_read(self.io_addr(offset)) as $ty }
        }

        #[doc = concat!("Reads a `", stringify!($ty), "` at `offset`; `EINVAL` if it is out of")]
        #[doc = "range."]
        #[inline]
        pub fn $try_read(&self, offset: usize) -> Result<$ty> {
            self.check(offset, core::mem::size_of::<$ty>())?;
            // SAFETY: The offset is in bounds (checked above) and, by the type invariant,
            // `addr` maps at least `maxsize` bytes.
            Ok(unsafe { bindings::$c_read(self.io_addr(offset)) as $ty })
        }
    };
}

macro_rules! define_write {
    ($write:ident, $try_write:ident, $ty:ty, $c_write:ident) => {
        #[doc = concat!("Writes a `", stringify!($ty), "` at constant `offset`, checked at")]
        #[doc = "build time."]
        #[inline(always)]
        pub fn $write(&self, value: $ty, offset: usize) {
            build_assert!(offset_ok(offset, core::mem::size_of::<$ty>(), SIZE));
            // SAFETY: As for the reads.
            unsafe { bindings::$c_write(value, self.io_addr(offset)) }
        }

        #[doc = concat!("Writes a `", stringify!($ty), "` at `offset`; `EINVAL` if it is out of")]
        #[doc = "range."]
        #[inline]
        pub fn $try_write(&self, value: $ty, offset: usize) -> Result {
            self.check(offset, core::mem::size_of::<$ty>())?;
            // SAFETY: As for the reads.
            unsafe { bindings::$c_write(value, self.io_addr(offset)) };
            Ok(())
        }
    };
}

impl<const SIZE: usize> Io<SIZE> {
    /// Wraps the I/O cookie `addr` of a region of `maxsize` bytes.
    ///
    /// Fails with `EINVAL` if `maxsize` is smaller than `SIZE`.
    ///
    /// # Safety
    ///
    /// `addr` must be an I/O cookie returned by an `iomap` function for at least `maxsize`
    /// bytes, and must stay mapped for the lifetime of the returned object.
    pub unsafe fn new(addr: *mut c_void, maxsize: usize) -> Result<Self> {
        if maxsize < SIZE || addr.is_null() {
            return Err(EINVAL);
        }
        // INVARIANT: The caller guarantees the mapping; the size was checked above.
        Ok(Self {
            addr: addr as usize,
            maxsize,
        })
    }

    /// Returns the size of the window in bytes, as mapped.
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// Returns another handle on the same window.
    ///
    /// # Safety
    ///
    /// The window must stay mapped for the lifetime of the returned object.
    pub(crate) unsafe fn duplicate(&self) -> Self {
        // INVARIANT: The same cookie and size; the caller guarantees the mapping.
        Self {
            addr: self.addr,
            maxsize: self.maxsize,
        }
    }

    /// Returns the I/O cookie of the window.
    pub(crate) fn addr(&self) -> *mut c_void {
        self.addr as *mut c_void
    }

    /// The cookie of `offset`, which callers checked to be inside the window: it cannot wrap,
    /// and is computed without the overflow check that could panic, as C computes it.
    #[inline(always)]
    fn io_addr(&self, offset: usize) -> *mut c_void {
        self.addr.wrapping_add(offset) as *mut c_void
    }

    #[inline]
    fn check(&self, offset: usize, width: usize) -> Result {
        if offset_ok(offset, width, self.maxsize) {
            Ok(())
        } else {
            Err(EINVAL)
        }
    }

    define_read!(read8, try_read8, u8, ioread8);
    define_read!(read16, try_read16, u16, ioread16);
    define_read!(read32, try_read32, u32, ioread32);
    define_write!(write8, try_write8, u8, iowrite8);
    define_write!(write16, try_write16, u16, iowrite16);
    define_write!(write32, try_write32, u32, iowrite32);
}
