// SPDX-License-Identifier: GPL-2.0

//! PCI device IDs and the zero-terminated tables drivers match with.
//!
//! C header: [`include/linux/mod_devicetable.h`](srctree/include/linux/mod_devicetable.h)

use crate::bindings;

/// One entry of a PCI ID table: a C `struct pci_device_id`.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct DeviceId(bindings::pci_device_id);

impl DeviceId {
    const PCI_ANY_ID: u32 = !0;

    /// Matches vendor `vendor` and device `device`, any subsystem and class.
    pub const fn from_id(vendor: u16, device: u16) -> Self {
        Self(bindings::pci_device_id {
            vendor: vendor as u32,
            device: device as u32,
            subvendor: Self::PCI_ANY_ID,
            subdevice: Self::PCI_ANY_ID,
            class: 0,
            class_mask: 0,
            driver_data: 0,
            override_only: 0,
        })
    }

    /// Returns the vendor ID this entry matches.
    pub const fn vendor(&self) -> u32 {
        self.0.vendor
    }

    /// Returns the device ID this entry matches.
    pub const fn device(&self) -> u32 {
        self.0.device
    }

    const fn zero() -> Self {
        Self(bindings::pci_device_id {
            vendor: 0,
            device: 0,
            subvendor: 0,
            subdevice: 0,
            class: 0,
            class_mask: 0,
            driver_data: 0,
            override_only: 0,
        })
    }
}

/// `N` IDs followed by the all-zero entry that ends a C ID table.
///
/// # Invariants
///
/// `sentinel` is all zeroes and directly follows `ids` (`repr(C)`), so `ids` is a valid C table.
#[repr(C)]
pub struct IdArray<const N: usize> {
    ids: [DeviceId; N],
    sentinel: DeviceId,
}

impl<const N: usize> IdArray<N> {
    /// Builds a table of `ids`.
    pub const fn new(ids: [DeviceId; N]) -> Self {
        // INVARIANT: The sentinel is zero.
        Self {
            ids,
            sentinel: DeviceId::zero(),
        }
    }

    /// Returns the number of IDs, without the zero entry.
    pub const fn len(&self) -> usize {
        N
    }

    /// Returns whether the table has no ID.
    pub const fn is_empty(&self) -> bool {
        N == 0
    }

    /// Returns the table as a driver declares it in [`Driver::ID_TABLE`](super::Driver).
    pub const fn table(&'static self) -> IdTable {
        // INVARIANT: By the type invariant of `IdArray`, the IDs are zero-terminated.
        IdTable(&self.ids as *const [DeviceId; N] as *const bindings::pci_device_id)
    }
}

/// A zero-terminated PCI ID table that lives forever.
///
/// # Invariants
///
/// The pointer is to a `'static`, zero-terminated array of `struct pci_device_id`.
#[derive(Clone, Copy)]
pub struct IdTable(*const bindings::pci_device_id);

impl IdTable {
    pub(crate) fn as_ptr(self) -> *const bindings::pci_device_id {
        self.0
    }
}

// SAFETY: The table is immutable and `'static`.
unsafe impl Sync for IdTable {}

// SAFETY: As above.
unsafe impl Send for IdTable {}

/// Declares a driver's PCI ID table, a `static` [`IdArray`] named `$table`, and, in a module,
/// makes it the module's device table: `modpost` then gives the module an `alias: pci:v...` line
/// per ID, and udev loads it by modalias when such a device appears (C's
/// `MODULE_DEVICE_TABLE(pci, ...)`). A table declared by hand still drives probing, but the module
/// never loads by itself.
///
/// # Examples
///
/// ```
/// use kernel::pci;
///
/// kernel::pci_device_table!(IDS, [pci::DeviceId::from_id(0x1234, 0x11e8)]);
///
/// assert_eq!(IDS.len(), 1);
/// ```
#[macro_export]
macro_rules! pci_device_table {
    ($table:ident, [$($id:expr),+ $(,)?]) => {
        // `modpost` reads the IDs, up to the zero entry, from the symbol
        // `__mod_pci__<identifier>_device_table`; built in, the table needs no symbol.
        #[cfg_attr(
            MODULE,
            export_name = concat!("__mod_pci__", stringify!($table), "_device_table")
        )]
        #[cfg_attr(MODULE, used)]
        static $table: $crate::pci::IdArray<{ [$(stringify!($id)),+].len() }> =
            $crate::pci::IdArray::new([$($id),+]);
    };
}
