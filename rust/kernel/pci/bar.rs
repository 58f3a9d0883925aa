// SPDX-License-Identifier: GPL-2.0

//! Mapped PCI base address registers.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use super::EnabledDevice;
use crate::{bindings, error::code::*, error::Result, io::Io, str::CStr};
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
