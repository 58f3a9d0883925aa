// SPDX-License-Identifier: GPL-2.0

//! Mapped PCI base address registers.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use super::EnabledDevice;
use crate::{alloc::Flags, bindings, error::code::*, error::Result, io::Io, str::CStr, sync::Arc};
use core::ops::Deref;

/// A requested and mapped BAR of a PCI function, with at least `SIZE` bytes of registers.
///
/// Dereferences to [`Io`] for checked 8, 16 and 32-bit accesses; MMIO and port I/O BARs work
/// the same. Dropping it unmaps the BAR and releases the region; the device stays enabled until
/// then, since the BAR holds its [`EnabledDevice`].
///
/// # Invariants
///
/// `io` maps all of BAR `bar` of `pdev`, which is requested for this object.
pub struct Bar<const SIZE: usize = 0> {
    io: Io<SIZE>,
    bar: i32,
    pdev: EnabledDevice,
}

impl<const SIZE: usize> Bar<SIZE> {
    pub(super) fn new(pdev: EnabledDevice, bar: u32, name: &'static CStr) -> Result<Self> {
        let len = pdev.resource_len(bar);
        if len == 0 {
            return Err(ENODEV);
        }
        let len = usize::try_from(len).map_err(|_| EINVAL)?;
        if len < SIZE {
            return Err(EINVAL);
        }
        let bar = bar as i32;

        // SAFETY: `pdev` is valid and `bar` is an existing BAR; `name` lives forever.
        let ret = unsafe { bindings::pci_request_region(pdev.as_raw(), bar, name.as_char_ptr()) };
        if ret != 0 {
            return Err(EBUSY);
        }

        // SAFETY: The region is requested; 0 maps the whole BAR.
        let addr = unsafe { bindings::pci_iomap(pdev.as_raw(), bar, 0) };
        // SAFETY: `addr`, if not null, maps all `len` bytes of the BAR until `pci_iounmap()`
        // in `drop`.
        let io = match unsafe { Io::new(addr, len) } {
            Ok(io) => io,
            Err(_) => {
                // SAFETY: The region was requested above.
                unsafe { bindings::pci_release_region(pdev.as_raw(), bar) };
                return Err(ENOMEM);
            }
        };

        // INVARIANT: The BAR is requested and mapped.
        Ok(Self { io, bar, pdev })
    }

    /// Returns the index of the BAR.
    pub fn index(&self) -> u32 {
        self.bar as u32
    }
}

impl<const SIZE: usize> Deref for Bar<SIZE> {
    type Target = Io<SIZE>;

    fn deref(&self) -> &Io<SIZE> {
        &self.io
    }
}

impl<const SIZE: usize> Drop for Bar<SIZE> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the BAR is mapped at this cookie and requested.
        unsafe {
            bindings::pci_iounmap(self.pdev.as_raw(), self.io.addr() as *mut _);
            bindings::pci_release_region(self.pdev.as_raw(), self.bar);
        }
    }
}

/// A [`Bar`] shared by reference counting, whose register accesses do not go through the shared
/// allocation.
///
/// A clone shares the BAR, which is unmapped and released when the last clone is dropped. Each
/// clone keeps the mapping's address itself: an interrupt routine that owns one reaches the
/// registers with one load from its own data, as a C driver does from its device structure,
/// where through an `Arc<Bar>` it would first load the allocation's address.
///
/// # Invariants
///
/// `io` is a handle on the window of `bar`, which stays mapped as long as `bar` lives.
///
/// # Examples
///
/// ```no_run
/// use kernel::{c_str, pci};
///
/// fn share(pdev: &pci::Device) -> Result<pci::SharedBar<16>> {
///     let device = pdev.enable_device()?;
///     let bar = device.iomap_region::<16>(0, c_str!("example"))?;
///     let registers = pci::SharedBar::new(bar, GFP_KERNEL)?;
///     let for_the_routine = registers.clone();
///     for_the_routine.write32(0, 0x4);
///     Ok(registers)
/// }
/// ```
pub struct SharedBar<const SIZE: usize = 0> {
    io: Io<SIZE>,
    bar: Arc<Bar<SIZE>>,
}

impl<const SIZE: usize> SharedBar<SIZE> {
    /// Shares `bar`. Fails with `ENOMEM` only.
    pub fn new(bar: Bar<SIZE>, flags: Flags) -> Result<Self> {
        Ok(Self::from_arc(Arc::new(bar, flags)?))
    }

    /// Makes a handle that keeps `bar`.
    fn from_arc(bar: Arc<Bar<SIZE>>) -> Self {
        // SAFETY: By the type invariant of `Bar` its window is mapped until it is dropped, and
        // the new value keeps `bar`.
        let io = unsafe { bar.io.duplicate() };
        // INVARIANT: `io` is a handle on the window of `bar`.
        Self { io, bar }
    }
}

impl<const SIZE: usize> Clone for SharedBar<SIZE> {
    fn clone(&self) -> Self {
        Self::from_arc(self.bar.clone())
    }
}

impl<const SIZE: usize> Deref for SharedBar<SIZE> {
    type Target = Io<SIZE>;

    fn deref(&self) -> &Io<SIZE> {
        &self.io
    }
}
