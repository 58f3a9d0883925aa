// SPDX-License-Identifier: GPL-2.0

//! PCI devices and drivers.
//!
//! A driver implements [`Driver`]: an ID table and a `probe` that returns the driver's
//! per-device data. Dropping that data is the driver's `remove`.
//!
//! What `probe` acquires is released in the one right order whatever order the driver's data
//! declares it in, because each resource holds what it stands on:
//!
//! - [`Device::enable_device`] returns an [`EnabledDevice`], the only way to map a [`Bar`] or
//!   allocate [`IrqVectors`]; both keep a clone of it, so the device is disabled only after the
//!   last mapping and vector is gone;
//! - a service routine that touches registers owns a reference to their [`Bar`] (routines are
//!   `'static`), so the registers stay mapped while a routine may run;
//! - [`IrqVectors`] are not freed while a line of theirs still has a handler: dropped too early,
//!   they report it and stay allocated (a leak, never a handler on a freed vector).
//!
//! Enabling is unmanaged (`pci_enable_device()`, not `pcim_enable_device()`): with the managed
//! variant the PCI core would free the vectors and regions at unbind on its own schedule,
//! whatever the Rust objects still hold.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use crate::{
    alloc::flags::GFP_KERNEL,
    bindings, device,
    error::{to_result, Result},
    str::CStr,
    sync::Arc,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::{ops::Deref, ptr::NonNull};

mod bar;
mod driver;
mod id;
mod irq_vectors;

pub use bar::{Bar, SharedBar};
pub use driver::{Driver, Module, Registration};
pub use id::{DeviceId, IdArray, IdTable};
pub use irq_vectors::{IrqTypes, IrqVectors, VectorKind};

/// A PCI function: the Rust view of a C `struct pci_dev`.
///
/// Drivers get a `&Device` in [`Driver::probe`] and may keep an [`ARef<Device>`], which holds a
/// reference to the device.
///
/// # Invariants
///
/// The object wraps a valid `struct pci_dev` whose reference count is not zero while the object
/// is used.
#[repr(transparent)]
pub struct Device(Opaque<bindings::pci_dev>);

impl Device {
    /// Turns a pointer to a `struct pci_dev` into a reference.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct pci_dev` that stays valid, with a non-zero reference
    /// count, for the lifetime `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::pci_dev) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `pci_dev`; the caller guarantees
        // validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::pci_dev {
        self.0.get()
    }

    /// Returns the name of the device, its address such as `0000:00:04.0`.
    pub fn name(&self) -> &CStr {
        let dev: &device::Device = self.as_ref();
        // SAFETY: `dev` is valid; its name is a NUL-terminated string that lives as long as the
        // device, which outlives `self`.
        unsafe { CStr::from_char_ptr(bindings::dev_name(dev.as_raw())) }
    }

    /// Returns the vendor ID.
    pub fn vendor_id(&self) -> u16 {
        // SAFETY: By the type invariant the `pci_dev` is valid; the field is not written after
        // enumeration.
        unsafe { (*self.as_raw()).vendor }
    }

    /// Returns the device ID.
    pub fn device_id(&self) -> u16 {
        // SAFETY: As in `vendor_id`.
        unsafe { (*self.as_raw()).device }
    }

    /// Returns the subsystem vendor ID: who built the board or, for an emulated device, the
    /// emulator.
    pub fn subsystem_vendor_id(&self) -> u16 {
        // SAFETY: As in `vendor_id`.
        unsafe { (*self.as_raw()).subsystem_vendor }
    }

    /// Enables memory and I/O decoding (`pci_enable_device()`) and returns the enabled device,
    /// through which BARs are mapped and interrupt vectors allocated.
    ///
    /// The device stays enabled while the returned object, a clone of it, or a [`Bar`] or
    /// [`IrqVectors`] made from it exists; the last of them disables it
    /// (`pci_disable_device()`).
    pub fn enable_device(&self) -> Result<EnabledDevice> {
        // SAFETY: The device is valid. The enabling is balanced by `pci_disable_device()` when
        // the `Enabled` made below is dropped.
        to_result(unsafe { bindings::pci_enable_device(self.as_raw()) })?;
        // INVARIANT: The device was enabled above, once, for this object.
        let enabled = Enabled { pdev: self.into() };
        Ok(EnabledDevice(Arc::new(enabled, GFP_KERNEL)?))
    }

    /// Returns the size in bytes of BAR `bar`, 0 if the BAR does not exist.
    pub fn resource_len(&self, bar: u32) -> u64 {
        if bar as usize >= bindings::PCI_STD_NUM_BARS as usize {
            return 0;
        }
        // SAFETY: The device is valid and `bar` is a standard BAR index.
        unsafe { bindings::pci_resource_len(self.as_raw(), bar as i32) }
    }

    /// Returns whether BAR `bar` decodes port I/O rather than memory.
    pub fn resource_is_io(&self, bar: u32) -> bool {
        if bar as usize >= bindings::PCI_STD_NUM_BARS as usize {
            return false;
        }
        // SAFETY: As in `resource_len`.
        let flags = unsafe { bindings::pci_resource_flags(self.as_raw(), bar as i32) };
        flags & bindings::IORESOURCE_IO as usize != 0
    }

    /// Reads the 8-bit configuration register at `offset`.
    pub fn config_read8(&self, offset: u16) -> Result<u8> {
        let mut value = 0;
        // SAFETY: The device is valid and `value` is a valid place to write to.
        let ret =
            unsafe { bindings::pci_read_config_byte(self.as_raw(), offset.into(), &mut value) };
        config_result(ret)?;
        Ok(value)
    }

    /// Reads the 16-bit configuration register at `offset`.
    pub fn config_read16(&self, offset: u16) -> Result<u16> {
        let mut value = 0;
        // SAFETY: As in `config_read8`.
        let ret =
            unsafe { bindings::pci_read_config_word(self.as_raw(), offset.into(), &mut value) };
        config_result(ret)?;
        Ok(value)
    }

    /// Reads the 32-bit configuration register at `offset`.
    pub fn config_read32(&self, offset: u16) -> Result<u32> {
        let mut value = 0;
        // SAFETY: As in `config_read8`.
        let ret =
            unsafe { bindings::pci_read_config_dword(self.as_raw(), offset.into(), &mut value) };
        config_result(ret)?;
        Ok(value)
    }
}

/// Turns a `PCIBIOS_*` return code into an error (`pcibios_err_to_errno()`).
fn config_result(ret: i32) -> Result {
    if ret == 0 {
        return Ok(());
    }
    let errno = match ret as u32 {
        bindings::PCIBIOS_FUNC_NOT_SUPPORTED => bindings::ENOENT,
        bindings::PCIBIOS_BAD_VENDOR_ID => bindings::ENOTTY,
        bindings::PCIBIOS_DEVICE_NOT_FOUND => bindings::ENODEV,
        bindings::PCIBIOS_BAD_REGISTER_NUMBER => bindings::EFAULT,
        bindings::PCIBIOS_SET_FAILED => bindings::EIO,
        bindings::PCIBIOS_BUFFER_TOO_SMALL => bindings::ENOSPC,
        _ => return to_result(ret),
    };
    to_result(-(errno as i32))
}

/// One `pci_enable_device()` of a PCI function, undone on drop.
///
/// # Invariants
///
/// `pdev` was enabled once for this object.
struct Enabled {
    pdev: ARef<Device>,
}

impl Drop for Enabled {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the device was enabled for this object, and this is
        // its only drop.
        unsafe { bindings::pci_disable_device(self.pdev.as_raw()) };
    }
}

/// A PCI function enabled for a driver: what BARs are mapped and vectors allocated from.
///
/// Made by [`Device::enable_device`]. Clones share one enabling, which the last of them, or of
/// the [`Bar`]s and [`IrqVectors`] made from them, undoes. Dereferences to the [`Device`].
///
/// # Examples
///
/// ```
/// use kernel::{c_str, pci};
///
/// fn setup(pdev: &pci::Device) -> Result<(pci::Bar<0x100>, pci::IrqVectors)> {
///     let device = pdev.enable_device()?;
///     device.set_master();
///     let registers = device.iomap_region::<0x100>(0, c_str!("example"))?;
///     let vectors = device.alloc_irq_vectors(1, 1, pci::IrqTypes::ALL)?;
///     // `device` may go: the BAR and the vectors keep the function enabled.
///     Ok((registers, vectors))
/// }
/// ```
#[derive(Clone)]
pub struct EnabledDevice(Arc<Enabled>);

impl EnabledDevice {
    /// Lets the function master the bus, as DMA and MSI need.
    pub fn set_master(&self) {
        // SAFETY: The device is valid and enabled.
        unsafe { bindings::pci_set_master(self.as_raw()) };
    }

    /// Requests BAR `bar` for `name` and maps all of it, of which at least `SIZE` bytes must
    /// exist.
    ///
    /// Fails with `ENODEV` if the BAR does not exist, `EINVAL` if it is smaller than `SIZE`,
    /// `EBUSY` if another driver holds it, and `ENOMEM` if it cannot be mapped.
    pub fn iomap_region<const SIZE: usize>(
        &self,
        bar: u32,
        name: &'static CStr,
    ) -> Result<Bar<SIZE>> {
        Bar::new(self.clone(), bar, name)
    }

    /// Allocates between `min` and `max` interrupt vectors of the kinds in `types`, MSI-X
    /// preferred, then MSI, then INTx.
    ///
    /// Fails with `EINVAL` for `min == 0` or `min > max`, and with `ENOSPC` if the function
    /// cannot give `min` vectors of any allowed kind.
    pub fn alloc_irq_vectors(&self, min: u32, max: u32, types: IrqTypes) -> Result<IrqVectors> {
        IrqVectors::new(self.clone(), min, max, types)
    }
}

impl Deref for EnabledDevice {
    type Target = Device;

    fn deref(&self) -> &Device {
        &self.0.pdev
    }
}

impl AsRef<device::Device> for Device {
    fn as_ref(&self) -> &device::Device {
        // SAFETY: By the type invariant the `pci_dev` is valid, so is its embedded `dev`, for as
        // long as `self` is borrowed.
        unsafe { device::Device::as_ref(core::ptr::addr_of_mut!((*self.as_raw()).dev)) }
    }
}

// SAFETY: `pci_dev_get()` and `pci_dev_put()` manage the reference count of the device.
unsafe impl AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: A shared reference means the count is not zero.
        unsafe { bindings::pci_dev_get(self.as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller gives up a reference it owns.
        unsafe { bindings::pci_dev_put(obj.cast().as_ptr()) }
    }
}

// SAFETY: A `pci_dev` can be used and released from any thread.
unsafe impl Send for Device {}

// SAFETY: The methods of `Device` that take `&self` are safe to call concurrently; the PCI core
// serialises what needs it.
unsafe impl Sync for Device {}

/// Shortcut for a reference-counted PCI device.
pub type DeviceRef = ARef<Device>;
