// SPDX-License-Identifier: GPL-2.0

//! A network driver for the Intel 82574L gigabit Ethernet controller, as QEMU emulates it
//! (`-device e1000e`), whose MSI-X vectors are serviced by `InterruptSync`: NDIS's per-message
//! synchronization on real vectors.
//!
//! The 82574L raises receive, transmit and other causes (link changes) on three MSI-X vectors,
//! as the C `e1000e` driver sets it up. Each vector's routine masks only its own causes and
//! schedules NAPI; the poll cleans, receives, handles a link change and, once it has caught up,
//! unmasks each vector's causes under the lock of that vector (see the `msix` module). The
//! `group_sync` parameter chooses one `InterruptSync` for all vectors instead of one per
//! vector. Without MSI-X, or when the `interrupt_type` parameter says so, the driver falls back
//! to one MSI vector, then to the legacy line, read and masked as the 82540EM's.
//!
//! Everything else, the rings, offloads, moderation and the net device, is the 82540EM
//! driver's (`rust_irqsync_e1000`), shared from the modules of this directory.

mod adapter;
mod descriptor;
mod eeprom;
mod filters;
mod interrupts;
mod moderation;
mod msix;
mod offload;
mod regs;
mod ring;
mod rx;
mod traffic;
mod tx;

use adapter::Adapter;
use interrupts::{InterruptScheme, SingleLine};
use kernel::{
    c_str, dev_err, dev_info, dma,
    net::{
        device::{Builder, Features, Registration},
        napi::Napi,
    },
    pci,
    prelude::*,
    sync::Arc,
};
use msix::{MsixVectors, Synchronization};
use regs::Registers;
use tx::TxRing;

kernel::module_pci_driver! {
    type: E1000eDriver,
    name: "rust_irqsync_e1000e",
    author: "irqsync developers",
    description: "Intel 82574L network driver with MSI-X vectors serviced by InterruptSync",
    license: "GPL",
}

kernel::module_param! {
    /// The interrupt type to try first: 0 MSI-X, 1 MSI, 2 the legacy line. The driver falls
    /// back from there to the next.
    static INTERRUPT_TYPE: u32 = 0, name: "interrupt_type", module: "rust_irqsync_e1000e";
}

kernel::module_param! {
    /// Service the MSI-X vectors with one `InterruptSync` for all (one lock,
    /// `MsiSyncWithAllMessages`) instead of one per vector.
    static GROUP_SYNC: bool = false, name: "group_sync", module: "rust_irqsync_e1000e";
}

/// The 82574's `EERD` layout.
const EEPROM: eeprom::EepromRead = eeprom::EepromRead {
    start: 1 << 0,
    done: 1 << 1,
    address_shift: 2,
};

/// The interrupts of an 82574L: its MSI-X vectors, or one line.
enum Interrupts {
    Vectors(MsixVectors),
    Line(SingleLine),
}

impl Interrupts {
    /// The scheme in use.
    fn scheme(&self) -> &dyn InterruptScheme {
        match self {
            Interrupts::Vectors(vectors) => vectors,
            Interrupts::Line(line) => line,
        }
    }

    /// Allocates the device's vectors, from the type `INTERRUPT_TYPE` asks for on, and makes
    /// the objects that service them; under MSI-X the transmit vector's routine cleans `tx`.
    fn new(
        device: &pci::EnabledDevice,
        registers: &Arc<Registers>,
        napi: &Arc<Napi>,
        tx: &Arc<TxRing>,
    ) -> Result<(Self, pci::IrqVectors)> {
        let first = INTERRUPT_TYPE.get();
        if first > 2 {
            dev_err!(
                &**device,
                "interrupt_type={} is none of 0 (MSI-X), 1 (MSI) and 2 (legacy line)\n",
                first
            );
            return Err(EINVAL);
        }
        if first == 0 {
            if let Ok(vectors) = device.alloc_irq_vectors(3, 3, pci::IrqTypes::MSIX) {
                let synchronization = if GROUP_SYNC.get() {
                    Synchronization::Group
                } else {
                    Synchronization::PerVector
                };
                let msix = MsixVectors::new(&vectors, synchronization, registers, napi, tx)?;
                return Ok((Interrupts::Vectors(msix), vectors));
            }
        }
        let msi = match first {
            0 | 1 => device.alloc_irq_vectors(1, 1, pci::IrqTypes::MSI).ok(),
            _ => None,
        };
        // The legacy line may be shared with other devices; an MSI vector is the device's own.
        let (vectors, shared) = match msi {
            Some(vectors) => (vectors, false),
            None => (device.alloc_irq_vectors(1, 1, pci::IrqTypes::INTX)?, true),
        };
        let line = SingleLine::new(
            vectors.line(0)?,
            shared,
            c_str!("rust_irqsync_e1000e"),
            registers,
            napi,
        )?;
        Ok((Interrupts::Line(line), vectors))
    }

    /// What the log says of the interrupts.
    fn description(&self) -> &'static str {
        match self {
            Interrupts::Vectors(vectors) => match vectors.synchronization() {
                Synchronization::PerVector => "3 MSI-X vectors, one InterruptSync each",
                Synchronization::Group => "3 MSI-X vectors, one InterruptSync group",
            },
            Interrupts::Line(_) => "one line",
        }
    }
}

impl InterruptScheme for Interrupts {
    fn connect(&self) -> Result {
        self.scheme().connect()
    }

    fn disconnect(&self) {
        self.scheme().disconnect()
    }

    fn unmask_all(&self, registers: &Registers) {
        self.scheme().unmask_all(registers)
    }

    fn mask_all(&self, registers: &Registers) {
        self.scheme().mask_all(registers)
    }

    fn take_pending(&self) -> u32 {
        self.scheme().take_pending()
    }

    fn unmask_after_poll(&self, registers: &Registers, causes: u32) {
        self.scheme().unmask_after_poll(registers, causes)
    }

    fn polls_receive(&self, causes: u32) -> bool {
        self.scheme().polls_receive(causes)
    }

    fn cleans_transmit(&self) -> bool {
        self.scheme().cleans_transmit()
    }

    fn throttle_registers(&self) -> &'static [usize] {
        self.scheme().throttle_registers()
    }

    fn irq(&self) -> u32 {
        self.scheme().irq()
    }
}

/// The driver's data for one controller. Dropping it unregisters the net device, which closes it
/// and disconnects the interrupts, then frees it with the adapter, which quiesces the device
/// before its rings are freed; then the interrupt vectors are freed.
struct E1000eDriver {
    registration: Registration<Adapter<Interrupts>>,
    _vectors: pci::IrqVectors,
}

kernel::pci_device_table!(IDS, [pci::DeviceId::from_id(0x8086, 0x10d3)]);

#[vtable]
impl pci::Driver for E1000eDriver {
    const NAME: &'static CStr = c_str!("rust_irqsync_e1000e");
    const ID_TABLE: pci::IdTable = IDS.table();

    fn probe(pdev: &pci::Device, _id: &pci::DeviceId) -> Result<Pin<KBox<Self>>> {
        let device = pdev.enable_device()?;
        device.set_master();
        dma::set_mask_and_coherent(pdev.as_ref(), 32)?;
        let registers = Arc::new(
            device.iomap_region::<{ regs::SIZE }>(0, c_str!("rust_irqsync_e1000e"))?,
            GFP_KERNEL,
        )?;
        let address = eeprom::read_mac_address(pdev, &registers, &EEPROM)?;
        adapter::initialise(&registers, &address)?;
        msix::initialise(&registers);

        let mut builder = Builder::<Adapter<Interrupts>>::new(pdev.as_ref())?;
        builder.set_mtu_range(68, ring::MAX_MTU);
        // Checksums are inserted by the device; TCP frames are cut into segments by the stack.
        // QEMU 7.2's 82574L cuts a TSO frame into IPv4 fragments rather than TCP segments
        // (`net_tx_pkt_do_sw_fragmentation()`), which is not what the chip puts on the wire.
        builder.set_features(Features::SG | Features::HW_CSUM | Features::RXCSUM);
        let tx = Arc::new(TxRing::new(pdev)?, GFP_KERNEL)?;
        let (interrupts, vectors) = Interrupts::new(&device, &registers, builder.napi(), &tx)?;
        let description = interrupts.description();
        let registration =
            builder.register(&address, Adapter::new(pdev, registers, interrupts, tx)?)?;
        dev_info!(
            pdev,
            "{}: 82574L at irq {}, {}, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\n",
            registration.device().name(),
            registration.data().interrupts().irq(),
            description,
            address[0],
            address[1],
            address[2],
            address[3],
            address[4],
            address[5]
        );

        Ok(KBox::pin(
            E1000eDriver {
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
