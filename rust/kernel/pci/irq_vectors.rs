// SPDX-License-Identifier: GPL-2.0

//! Interrupt vectors of a PCI function: MSI-X, MSI or the legacy INTx line.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)

use super::EnabledDevice;
use crate::{
    bindings,
    error::{code::*, to_result, Result},
};
use core::ops::BitOr;

/// The kinds of vectors [`EnabledDevice::alloc_irq_vectors`] may allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqTypes(u32);

impl IrqTypes {
    /// The legacy INTx line, which may be shared with other devices.
    pub const INTX: IrqTypes = IrqTypes(bindings::PCI_IRQ_INTX);

    /// Message-signalled interrupts.
    pub const MSI: IrqTypes = IrqTypes(bindings::PCI_IRQ_MSI);

    /// Extended message-signalled interrupts.
    pub const MSIX: IrqTypes = IrqTypes(bindings::PCI_IRQ_MSIX);

    /// Any kind, MSI-X preferred, then MSI, then INTx.
    pub const ALL: IrqTypes = IrqTypes(bindings::PCI_IRQ_ALL_TYPES);

    /// Not a kind but a request, added to the kinds: spread the vectors over the CPUs and let
    /// the kernel manage their affinity (`PCI_IRQ_AFFINITY`), which user space then cannot
    /// change. For devices with a vector per queue and CPU.
    pub const MANAGED_AFFINITY: IrqTypes = IrqTypes(bindings::PCI_IRQ_AFFINITY);
}

impl BitOr for IrqTypes {
    type Output = IrqTypes;

    fn bitor(self, rhs: IrqTypes) -> IrqTypes {
        IrqTypes(self.0 | rhs.0)
    }
}

/// The kind of the vectors an [`IrqVectors`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorKind {
    /// MSI-X vectors.
    MsiX,

    /// MSI vectors.
    Msi,

    /// The legacy INTx line.
    Intx,
}

/// Interrupt vectors allocated for a PCI function, freed on drop.
///
/// Each vector is an interrupt line that an [`InterruptSync`](crate::irq::InterruptSync)
/// connects to, one object per vector or one object for all of them
/// ([`InterruptSync::new_group`](crate::irq::InterruptSync::new_group)). The vectors are freed
/// on drop only if no handler is left on them: vectors dropped while an object is still
/// connected to one are reported once and stay allocated (leaked) rather than freed under a
/// live handler, so the order in which a driver's data declares them does not matter for
/// safety. The device stays enabled while the vectors exist, since they hold its
/// [`EnabledDevice`].
///
/// # Invariants
///
/// `count` vectors of kind `kind` are allocated for `pdev` for as long as the object exists.
pub struct IrqVectors {
    count: u32,
    kind: VectorKind,
    pdev: EnabledDevice,
}

impl IrqVectors {
    pub(super) fn new(pdev: EnabledDevice, min: u32, max: u32, types: IrqTypes) -> Result<Self> {
        if min == 0 || min > max {
            return Err(EINVAL);
        }
        // SAFETY: `pdev` is a valid device.
        let ret = unsafe { bindings::pci_alloc_irq_vectors(pdev.as_raw(), min, max, types.0) };
        to_result(ret)?;
        // SAFETY: `pdev` is valid; the flags are set by the allocation above.
        let (msix, msi) = unsafe {
            (
                bindings::pci_dev_msix_enabled(pdev.as_raw()),
                bindings::pci_dev_msi_enabled(pdev.as_raw()),
            )
        };
        let kind = if msix {
            VectorKind::MsiX
        } else if msi {
            VectorKind::Msi
        } else {
            VectorKind::Intx
        };
        // INVARIANT: `ret` vectors of `kind` were allocated.
        Ok(Self {
            count: ret as u32,
            kind,
            pdev,
        })
    }

    /// Returns how many vectors were allocated.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Returns the kind of the vectors.
    pub fn kind(&self) -> VectorKind {
        self.kind
    }

    /// Returns the interrupt line of vector `index`; `EINVAL` if there is no such vector.
    pub fn line(&self, index: u32) -> Result<u32> {
        if index >= self.count {
            return Err(EINVAL);
        }
        // SAFETY: `pdev` is valid and `index` is an allocated vector.
        let irq = unsafe { bindings::pci_irq_vector(self.pdev.as_raw(), index) };
        to_result(irq)?;
        Ok(irq as u32)
    }

    /// Returns whether some vector still has a handler; an INTx line may have handlers of
    /// other devices, so it never counts.
    fn in_use(&self) -> bool {
        if self.kind == VectorKind::Intx {
            return false;
        }
        (0..self.count).any(|index| {
            // SAFETY: Asking whether a line has an action has no preconditions.
            self.line(index)
                .is_ok_and(|irq| unsafe { bindings::irq_has_action(irq) })
        })
    }
}

impl Drop for IrqVectors {
    fn drop(&mut self) {
        if self.in_use() {
            crate::dev_warn!(
                &*self.pdev,
                "interrupt vectors dropped while an interrupt object is still connected to them: \
                 leaking them; drop or disconnect the object first\n"
            );
            return;
        }
        // SAFETY: By the type invariant the vectors are allocated, and no handler is left on
        // them.
        unsafe { bindings::pci_free_irq_vectors(self.pdev.as_raw()) };
    }
}
