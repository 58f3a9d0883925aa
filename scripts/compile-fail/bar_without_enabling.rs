// SPDX-License-Identifier: GPL-2.0
// expect: E0599

//! Must not compile: mapping a BAR of a device that was not enabled. BARs are mapped, and
//! vectors allocated, only through the `EnabledDevice` that `enable_device()` returns, which
//! they keep, so the device is disabled only after they are released.

use kernel::{c_str, pci, prelude::*};

kernel::module_pci_driver! {
    type: BarWithoutEnabling,
    name: "bar_without_enabling",
    license: "GPL",
}

struct BarWithoutEnabling(pci::Bar<0x100>);

static IDS: pci::IdArray<1> = pci::IdArray::new([pci::DeviceId::from_id(0x1234, 0x11e8)]);

#[vtable]
impl pci::Driver for BarWithoutEnabling {
    const NAME: &'static CStr = c_str!("bar_without_enabling");
    const ID_TABLE: pci::IdTable = IDS.table();

    fn probe(pdev: &pci::Device, _id: &pci::DeviceId) -> Result<Pin<KBox<Self>>> {
        let registers = pdev.iomap_region::<0x100>(0, c_str!("bar_without_enabling"))?;
        Ok(KBox::pin(BarWithoutEnabling(registers), GFP_KERNEL)?)
    }
}
