// SPDX-License-Identifier: GPL-2.0

//! A network driver for the Intel 82540EM gigabit Ethernet controller, as QEMU emulates it,
//! serviced by `InterruptSync`: the network counterpart of an NDIS miniport.
//!
//! The service routine does what an NDIS `MiniportInterrupt` does: it reads the interrupt cause
//! (ICR, cleared by reading), returns `IRQ_NONE` when the device did not interrupt, masks the
//! device's interrupts and schedules NAPI, the DPC. The NAPI poll cleans sent frames, receives
//! up to its budget and, once it has caught up, unmasks the interrupts under
//! `call_synchronized`: `NdisMSynchronizeWithInterruptEx`'s job, so that unmasking never races
//! with the routine's masking. NAPI is the network stack's own deferred work, with its budget
//! and its place in the stack's softirq, so the driver uses it rather than the object's DPC.
//!
//! Frames are copied between socket buffers and per-descriptor buffers in coherent DMA memory,
//! like the simplest real drivers do; a socket buffer to send, linear or in pieces, is kept
//! until the device has sent it. The device inserts TCP and UDP checksums and cuts TCP frames of
//! up to 64 KiB into segments (TSO), as a context descriptor before the frame's data descriptors
//! says; what a frame becomes on the wire is worked out when it is queued, as the C driver does.
//!
//! As in the C driver, barriers order the descriptors with the device: the driver reads a
//! descriptor's work only after seeing its done bit (`dma_rmb()`), and makes its writes to
//! descriptors visible before telling the device of them through a tail register
//! (`dma_wmb()`). The device's receive and transmit units are stopped before its rings are
//! freed, and a device that reads as all ones has been unplugged.

//!
//! The driver is one of a family: the 82574L driver (`rust_irqsync_e1000e`) shares its rings,
//! offloads, moderation and net device with it, from the modules of this directory. This file
//! holds what is the 82540EM's own: its PCI IDs, its EEPROM and its one interrupt line.

mod adapter;
mod descriptor;
mod eeprom;
mod filters;
mod interrupts;
mod moderation;
mod offload;
mod regs;
mod ring;
mod rx;
mod traffic;
mod tx;

use adapter::Adapter;
use interrupts::{InterruptScheme, SingleLine};
use kernel::{
    c_str, dev_info, dma,
    net::device::{Builder, Features, Registration},
    pci,
    prelude::*,
    sync::Arc,
};
use tx::TxRing;

kernel::module_pci_driver! {
    type: E1000Driver,
    name: "rust_irqsync_e1000",
    author: "irqsync developers",
    description: "Intel 82540EM network driver serviced by InterruptSync",
    license: "GPL",
}

/// The driver's data for one controller. Dropping it unregisters the net device, which closes it
/// and disconnects the interrupt, then frees it with the adapter, which quiesces the device
/// before its rings are freed; then the interrupt vector is freed.
struct E1000Driver {
    registration: Registration<Adapter<SingleLine>>,
    _vectors: pci::IrqVectors,
}

/// The 8254x's `EERD` layout.
const EEPROM: eeprom::EepromRead = eeprom::EepromRead {
    start: 1 << 0,
    done: 1 << 4,
    address_shift: 8,
};

kernel::pci_device_table!(IDS, [pci::DeviceId::from_id(0x8086, 0x100e)]);

#[vtable]
impl pci::Driver for E1000Driver {
    const NAME: &'static CStr = c_str!("rust_irqsync_e1000");
    const ID_TABLE: pci::IdTable = IDS.table();

    fn probe(pdev: &pci::Device, _id: &pci::DeviceId) -> Result<Pin<KBox<Self>>> {
        let device = pdev.enable_device()?;
        device.set_master();
        dma::set_mask_and_coherent(pdev.as_ref(), 32)?;
        let registers = Arc::new(
            device.iomap_region::<{ regs::SIZE }>(0, c_str!("rust_irqsync_e1000"))?,
            GFP_KERNEL,
        )?;
        let address = eeprom::read_mac_address(pdev, &registers, &EEPROM)?;
        adapter::initialise(&registers, &address)?;

        // The 82540EM has only the legacy line, which it may share.
        let vectors = device.alloc_irq_vectors(1, 1, pci::IrqTypes::INTX)?;
        let mut builder = Builder::<Adapter<SingleLine>>::new(pdev.as_ref())?;
        builder.set_mtu_range(68, ring::MAX_MTU);
        // Frames in pieces are copied whole; checksums are inserted, and TCP frames cut into
        // segments, by the device.
        builder.set_features(Features::SG | Features::HW_CSUM | Features::TSO | Features::RXCSUM);
        let interrupts = SingleLine::new(
            vectors.line(0)?,
            true,
            c_str!("rust_irqsync_e1000"),
            &registers,
            builder.napi(),
        )?;
        let tx = Arc::new(TxRing::new(pdev)?, GFP_KERNEL)?;
        let registration =
            builder.register(&address, Adapter::new(pdev, registers, interrupts, tx)?)?;
        dev_info!(
            pdev,
            "{}: 82540EM at irq {}, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n",
            registration.device().name(),
            registration.data().interrupts().irq(),
            address[0],
            address[1],
            address[2],
            address[3],
            address[4],
            address[5]
        );

        Ok(KBox::pin(
            E1000Driver {
                registration,
                _vectors: vectors,
            },
            GFP_KERNEL,
        )?)
    }
    fn shutdown(this: Pin<&Self>) {
        // No DMA and no interrupt while the system goes down.
        this.registration.data().quiesce();
    }
}
