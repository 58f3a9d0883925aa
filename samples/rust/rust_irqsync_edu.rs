// SPDX-License-Identifier: GPL-2.0

//! A PCI driver for the QEMU `edu` test device, serviced by `InterruptSync`.
//!
//! The device (PCI 1234:11e8, `hw/misc/edu.c` in QEMU) computes factorials, copies memory by
//! DMA and raises interrupts on request. The driver:
//!
//! - maps BAR 0, sets a 28-bit DMA mask and allocates an MSI vector, or uses the INTx line when
//!   loaded with `use_intx=1`;
//! - steers its interrupts to one CPU with an affinity hint when loaded with `interrupt_cpu=N`,
//!   or lets the kernel manage their affinity with `managed_affinity=1`;
//! - makes one `InterruptSync` for all its vectors (NDIS `MsiSyncWithAllMessages`), whose
//!   routine acknowledges the device and records each event in the protected state, and leaves
//!   the completion of DMA transfers to the object's DPC, as KMDF drivers do;
//! - waits for events by reading that state with `call_synchronized`;
//! - offers debugfs files under `/sys/kernel/debug/rust_irqsync_edu-<device>/`:
//!
//! | file | write | read |
//! |---|---|---|
//! | `raise` | raise N interrupts (at most 100000), one after the other | |
//! | `raised` | | interrupts raised and handled |
//! | `factorial` | compute N! by interrupt | the last result |
//! | `dma` | a DMA round trip of N bytes (1..4095) | round trips that compared equal |
//! | `handled`, `unhandled`, `spurious` | | interrupt counters |
//! | `connected` | 0 disconnects, 1 connects | 1 if connected |
//! | `register` | read the 32-bit register at offset N | its value |
//! | `vectors`, `interrupt_kind` | | vectors, and 0 INTx, 1 MSI, 2 MSI-X |
//! | `batch_ns` | | nanoseconds the last `raise` took |
//!
//! A `raise` in progress ends early with `EINTR` when its writer gets a signal. While a file is
//! open the module cannot be unloaded. Unbinding, `rmmod` and hot-unplug remove the files
//! first, waiting for operations in progress, then quiesce the device, disconnect, free the
//! vectors and unmap the BAR; a file still open then fails with `EIO`. After hot-unplug the
//! registers read as all ones, which the service routine recognises as "not mine".

use kernel::{
    c_str, current, debugfs, delay, dev_err, dev_info,
    dma::{self, CoherentAllocation},
    fmt,
    irq::{DispatchMode, Flags, InterruptSync, IrqReturn, IsrContext, Placement},
    new_interrupt_sync_group, new_mutex, pci,
    prelude::*,
    str::CString,
    sync::Mutex,
    time::Ktime,
    types::ARef,
    ThisModule,
};

kernel::module_pci_driver! {
    type: EduDriver,
    name: "rust_irqsync_edu",
    author: "irqsync developers",
    description: "QEMU edu device driver serviced by InterruptSync",
    license: "GPL",
}

kernel::module_param! {
    /// Use the legacy INTx line instead of MSI.
    static USE_INTX: bool = false, name: "use_intx", module: "rust_irqsync_edu";
}

kernel::module_param! {
    /// How many interrupt vectors to ask for; the edu device has one.
    static VECTORS: u32 = 1, name: "vectors", module: "rust_irqsync_edu";
}

kernel::module_param! {
    /// Deliver the interrupts to this CPU (an affinity hint); -1 leaves them where they are.
    static INTERRUPT_CPU: i32 = -1, name: "interrupt_cpu", module: "rust_irqsync_edu";
}

kernel::module_param! {
    /// Let the kernel spread the MSI vectors over the CPUs and manage their affinity.
    static MANAGED_AFFINITY: bool = false, name: "managed_affinity", module: "rust_irqsync_edu";
}

/// Register offsets and bits of the edu device.
mod regs {
    /// The part of BAR 0 the driver uses.
    pub(crate) const SIZE: usize = 0x100;

    pub(crate) const ID: usize = 0x00;
    pub(crate) const FACTORIAL: usize = 0x08;
    pub(crate) const STATUS: usize = 0x20;
    pub(crate) const IRQ_STATUS: usize = 0x24;
    pub(crate) const IRQ_RAISE: usize = 0x60;
    pub(crate) const IRQ_ACK: usize = 0x64;
    pub(crate) const DMA_SOURCE: usize = 0x80;
    pub(crate) const DMA_DESTINATION: usize = 0x88;
    pub(crate) const DMA_COUNT: usize = 0x90;
    pub(crate) const DMA_COMMAND: usize = 0x98;

    /// `STATUS`: raise `IRQ_FACTORIAL` when a factorial is done.
    pub(crate) const STATUS_IRQ_ON_FACTORIAL: u32 = 0x80;

    /// Interrupt causes in `IRQ_STATUS`: the device's own, and the one the driver raises.
    pub(crate) const IRQ_FACTORIAL: u32 = 0x1;
    pub(crate) const IRQ_DMA: u32 = 0x100;
    pub(crate) const IRQ_RAISED: u32 = 0x1000;
    pub(crate) const IRQ_KNOWN: u32 = IRQ_FACTORIAL | IRQ_DMA | IRQ_RAISED;

    /// `DMA_COMMAND`: starts a transfer; reads as set until the transfer is done.
    pub(crate) const DMA_START: u32 = 0x1;
    pub(crate) const DMA_TO_RAM: u32 = 0x2;
    pub(crate) const DMA_IRQ: u32 = 0x4;

    /// The device's DMA buffer: 4096 bytes at this device address, of which QEMU 7.2 can use
    /// 4095 (a transfer that reaches the end stops the whole VM).
    pub(crate) const DMA_WINDOW: u32 = 0x40000;
    pub(crate) const DMA_MAX: usize = 4095;
}

/// How long to wait for the device: a raised interrupt, a factorial, a DMA transfer (which QEMU
/// completes 100 ms after it starts).
const RAISE_TIMEOUT_US: u64 = 1_000_000;
const FACTORIAL_TIMEOUT_US: u64 = 1_000_000;
const DMA_TIMEOUT_US: u64 = 2_000_000;

/// The most interrupts one write to `raise` asks for: about a second of work.
const MAX_RAISE: u64 = 100_000;

/// What the service routine records: the device state shared with interrupts.
#[derive(Default)]
struct Events {
    raised: u64,
    factorials: u64,
    factorial_result: u32,
    /// DMA interrupts the routine acknowledged and the DPC has not completed yet.
    dma_interrupts: u64,
    /// DMA transfers the DPC completed.
    dma_transfers: u64,
    spurious: u64,
}

type Registers = pci::SharedBar<{ regs::SIZE }>;

/// The DPC: completes the DMA transfers the routine acknowledged, in softirq context, outside
/// the lock, which it takes as process context does. (A driver with requests in flight would
/// unmap their buffers and complete them here.)
fn complete_dma(sync: &InterruptSync<Events>) {
    sync.call_synchronized(|events| {
        events.dma_transfers = events.dma_transfers.wrapping_add(events.dma_interrupts);
        events.dma_interrupts = 0;
    });
}

/// The service routine: acknowledges what the device reports and records it; a finished DMA
/// transfer is completed by the DPC, which it queues.
///
/// A line without a cause is not this device's (a shared INTx line): `IrqReturn::None`.
/// A device that was unplugged reads as all ones: that is not an interrupt of ours either. The
/// counters wrap rather than overflow: nothing in interrupt context may panic.
fn service(registers: &Registers, events: &mut Events, isr: &IsrContext<'_, Events>) -> IrqReturn {
    let status = registers.read32(regs::IRQ_STATUS);
    if status == 0 || status == u32::MAX {
        return IrqReturn::None;
    }
    registers.write32(status, regs::IRQ_ACK);

    if status & regs::IRQ_RAISED != 0 {
        events.raised = events.raised.wrapping_add(1);
    }
    if status & regs::IRQ_FACTORIAL != 0 {
        events.factorials = events.factorials.wrapping_add(1);
        events.factorial_result = registers.read32(regs::FACTORIAL);
    }
    if status & regs::IRQ_DMA != 0 {
        events.dma_interrupts = events.dma_interrupts.wrapping_add(1);
        // Queued already, it still runs once, and completes every transfer acknowledged.
        isr.queue_dpc();
    }
    if status & !regs::IRQ_KNOWN != 0 {
        events.spurious = events.spurious.wrapping_add(1);
    }
    IrqReturn::Handled
}

/// What the debugfs operations keep; they run one at a time.
#[derive(Default)]
struct Operations {
    dma_round_trips: u64,
    register_value: u32,
    batch_ns: u64,
}

/// One bound edu device.
#[pin_data(PinnedDrop)]
struct Edu {
    pdev: ARef<pci::Device>,
    #[pin]
    sync: InterruptSync<Events>,
    vectors: pci::IrqVectors,
    registers: Registers,
    flags: Flags,
    #[pin]
    operations: Mutex<Operations>,
}

/// The debugfs files of the driver.
#[derive(Clone, Copy)]
enum File {
    Raise,
    Raised,
    Factorial,
    Dma,
    Handled,
    Unhandled,
    Spurious,
    Connected,
    Register,
    Vectors,
    InterruptKind,
    BatchNs,
}

impl debugfs::Attributes for Edu {
    const OWNER: &'static ThisModule = &THIS_MODULE;
    type File = File;
    const FILES: &'static [debugfs::Attribute<File>] = &[
        debugfs::Attribute::write_only(c_str!("raise"), File::Raise),
        debugfs::Attribute::read_only(c_str!("raised"), File::Raised),
        debugfs::Attribute::read_write(c_str!("factorial"), File::Factorial),
        debugfs::Attribute::read_write(c_str!("dma"), File::Dma),
        debugfs::Attribute::read_only(c_str!("handled"), File::Handled),
        debugfs::Attribute::read_only(c_str!("unhandled"), File::Unhandled),
        debugfs::Attribute::read_only(c_str!("spurious"), File::Spurious),
        debugfs::Attribute::read_write(c_str!("connected"), File::Connected),
        debugfs::Attribute::read_write(c_str!("register"), File::Register),
        debugfs::Attribute::read_only(c_str!("vectors"), File::Vectors),
        debugfs::Attribute::read_only(c_str!("interrupt_kind"), File::InterruptKind),
        debugfs::Attribute::read_only(c_str!("batch_ns"), File::BatchNs),
    ];

    fn show(&self, file: File) -> Result<u64> {
        let value = match file {
            File::Raised => self.sync.call_synchronized(|events| events.raised),
            File::Factorial => self
                .sync
                .call_synchronized(|events| events.factorial_result.into()),
            File::Dma => self.operations.lock().dma_round_trips,
            File::Handled => self.sync.statistics().handled,
            File::Unhandled => self.sync.statistics().unhandled,
            File::Spurious => self.sync.call_synchronized(|events| events.spurious),
            File::Connected => self.sync.is_connected().into(),
            File::Register => self.operations.lock().register_value.into(),
            File::Vectors => self.vectors.count().into(),
            File::InterruptKind => match self.vectors.kind() {
                pci::VectorKind::Intx => 0,
                pci::VectorKind::Msi => 1,
                pci::VectorKind::MsiX => 2,
            },
            File::BatchNs => self.operations.lock().batch_ns,
            File::Raise => return Err(EPERM),
        };
        Ok(value)
    }

    fn store(&self, file: File, value: u64) -> Result {
        match file {
            File::Raise => self.raise(value),
            File::Factorial => self.factorial(value),
            File::Dma => self.dma_round_trip(value),
            File::Connected => self.set_connected(value),
            File::Register => self.read_register(value),
            File::Raised
            | File::Handled
            | File::Unhandled
            | File::Spurious
            | File::Vectors
            | File::InterruptKind
            | File::BatchNs => Err(EPERM),
        }
    }
}

impl Edu {
    /// Raises `count` interrupts, each after the previous one was handled.
    ///
    /// More than [`MAX_RAISE`] is `EINVAL`; a signal to the writer ends it early with `EINTR`.
    fn raise(&self, count: u64) -> Result {
        if count > MAX_RAISE {
            return Err(EINVAL);
        }
        let mut operations = self.operations.lock();
        self.require_connected()?;
        let start = Ktime::ktime_get();
        for _ in 0..count {
            if current!().signal_pending() {
                return Err(EINTR);
            }
            delay::cond_resched();
            let before = self.sync.call_synchronized(|events| events.raised);
            self.registers.write32(regs::IRQ_RAISED, regs::IRQ_RAISE);
            self.wait_for(|events| events.raised != before, 0, RAISE_TIMEOUT_US)?;
        }
        operations.batch_ns = (Ktime::ktime_get() - start).to_ns().try_into().unwrap_or(0);
        Ok(())
    }

    /// Computes `n!`, which the device reports by interrupt.
    fn factorial(&self, n: u64) -> Result {
        let n = u32::try_from(n).map_err(|_| EINVAL)?;
        let _operations = self.operations.lock();
        self.require_connected()?;
        let before = self.sync.call_synchronized(|events| events.factorials);
        self.registers.write32(n, regs::FACTORIAL);
        self.wait_for(
            |events| events.factorials != before,
            10,
            FACTORIAL_TIMEOUT_US,
        )
    }

    /// Copies `size` bytes to the device and back by DMA, and compares them.
    fn dma_round_trip(&self, size: u64) -> Result {
        let size = usize::try_from(size).map_err(|_| EINVAL)?;
        if size > regs::DMA_MAX {
            return Err(EINVAL);
        }
        let mut operations = self.operations.lock();
        self.require_connected()?;

        // A size of 0 is refused here, by the allocation.
        let source = CoherentAllocation::<u8>::alloc(self.pdev.as_ref(), size, GFP_KERNEL)?;
        let destination = CoherentAllocation::<u8>::alloc(self.pdev.as_ref(), size, GFP_KERNEL)?;
        let seed = operations.dma_round_trips as u8;
        let mut pattern = KVec::with_capacity(size, GFP_KERNEL)?;
        for i in 0..size {
            pattern.push((i as u8).wrapping_mul(31).wrapping_add(seed), GFP_KERNEL)?;
        }
        source.write_from(0, &pattern)?;

        let transfers = self
            .transfer(source.dma_handle(), regs::DMA_WINDOW.into(), size, 0)
            .and_then(|()| {
                self.transfer(
                    regs::DMA_WINDOW.into(),
                    destination.dma_handle(),
                    size,
                    regs::DMA_TO_RAM,
                )
            });
        if let Err(error) = transfers {
            // The device may still be copying: free the buffers only once it has stopped.
            if !self.wait_for_dma_idle() {
                dev_err!(
                    self.pdev,
                    "DMA still running after a timeout: keeping its buffers for ever\n"
                );
                core::mem::forget(source);
                core::mem::forget(destination);
            }
            return Err(error);
        }

        let mut copy = KVec::from_elem(0u8, size, GFP_KERNEL)?;
        destination.read_into(0, &mut copy)?;
        if copy != pattern {
            dev_err!(
                self.pdev,
                "DMA round trip of {} bytes came back different\n",
                size
            );
            return Err(EIO);
        }
        operations.dma_round_trips = operations.dma_round_trips.wrapping_add(1);
        Ok(())
    }

    /// Runs one DMA transfer and waits for its interrupt.
    fn transfer(&self, source: u64, destination: u64, size: usize, direction: u32) -> Result {
        let source = u32::try_from(source).map_err(|_| EINVAL)?;
        let destination = u32::try_from(destination).map_err(|_| EINVAL)?;
        let before = self.sync.call_synchronized(|events| events.dma_transfers);
        self.registers.write32(source, regs::DMA_SOURCE);
        self.registers.write32(destination, regs::DMA_DESTINATION);
        self.registers.write32(size as u32, regs::DMA_COUNT);
        self.registers.write32(
            regs::DMA_START | regs::DMA_IRQ | direction,
            regs::DMA_COMMAND,
        );
        self.wait_for(
            |events| events.dma_transfers != before,
            1000,
            DMA_TIMEOUT_US,
        )
    }

    /// Connects (1) or disconnects (0) the interrupt object; connecting twice is `EBUSY`.
    fn set_connected(&self, value: u64) -> Result {
        let _operations = self.operations.lock();
        match value {
            0 => {
                self.sync.disconnect();
                Ok(())
            }
            1 => self.sync.connect(self.flags),
            _ => Err(EINVAL),
        }
    }

    /// Reads the register at `offset`: out of the BAR, or unaligned, is `EINVAL`.
    fn read_register(&self, offset: u64) -> Result {
        let offset = usize::try_from(offset).map_err(|_| EINVAL)?;
        let mut operations = self.operations.lock();
        operations.register_value = self.registers.try_read32(offset)?;
        Ok(())
    }

    fn require_connected(&self) -> Result {
        if self.sync.is_connected() {
            Ok(())
        } else {
            Err(ENXIO)
        }
    }

    /// Waits until the recorded events satisfy `done`.
    fn wait_for(&self, done: impl Fn(&Events) -> bool, sleep_us: u64, timeout_us: u64) -> Result {
        delay::poll_timeout(
            || self.sync.call_synchronized(|events| done(events)),
            sleep_us,
            timeout_us,
        )
        .inspect_err(|_| dev_err!(self.pdev, "timed out waiting for an interrupt\n"))
    }

    /// Waits, a bounded time, for a DMA transfer in progress to end; returns whether none runs.
    ///
    /// A device that is gone reads as all ones, busy for ever: it does no DMA either.
    fn wait_for_dma_idle(&self) -> bool {
        delay::poll_timeout(
            || match self.registers.read32(regs::DMA_COMMAND) {
                u32::MAX => true,
                command => command & regs::DMA_START == 0,
            },
            1000,
            DMA_TIMEOUT_US,
        )
        .is_ok()
    }

    /// Stops everything that could interrupt or write memory: no factorial interrupt, no DMA in
    /// progress, nothing pending.
    fn quiesce(&self) {
        self.registers.write32(0, regs::STATUS);
        if !self.wait_for_dma_idle() {
            dev_err!(self.pdev, "DMA did not stop\n");
        }
        self.registers.write32(!0, regs::IRQ_ACK);
    }
}

#[pinned_drop]
impl PinnedDrop for Edu {
    fn drop(self: Pin<&mut Self>) {
        // The debugfs files are gone and no operation runs. Quiet the device, free the lines,
        // and acknowledge what arrived in between; the fields then drop in order: the vectors,
        // then the BAR.
        self.quiesce();
        self.sync.disconnect();
        self.quiesce();
        dev_info!(self.pdev, "unbound\n");
    }
}

/// The driver's data for one device: the debugfs directory, which owns the device.
#[pin_data]
struct EduDriver {
    #[pin]
    directory: debugfs::Directory<Edu>,
}

kernel::pci_device_table!(IDS, [pci::DeviceId::from_id(0x1234, 0x11e8)]);

#[vtable]
impl pci::Driver for EduDriver {
    const NAME: &'static CStr = c_str!("rust_irqsync_edu");
    const ID_TABLE: pci::IdTable = IDS.table();

    fn probe(pdev: &pci::Device, _id: &pci::DeviceId) -> Result<Pin<KBox<Self>>> {
        let device = pdev.enable_device()?;
        device.set_master();

        let registers = device.iomap_region::<{ regs::SIZE }>(0, c_str!("rust_irqsync_edu"))?;
        let id = registers.read32(regs::ID);
        if id & 0xff != 0xed {
            dev_err!(pdev, "not an edu device: identification {:#x}\n", id);
            return Err(ENODEV);
        }
        registers.write32(!0, regs::IRQ_ACK);
        let registers = Registers::new(registers, GFP_KERNEL)?;

        // The device drives 28 address bits.
        dma::set_mask_and_coherent(pdev.as_ref(), 28)
            .inspect_err(|e| dev_err!(pdev, "cannot use a 28-bit DMA mask: {:?}\n", e))?;

        let (mut types, flags) = if USE_INTX.get() {
            (pci::IrqTypes::INTX, Flags::SHARED)
        } else {
            (pci::IrqTypes::MSIX | pci::IrqTypes::MSI, Flags::NONE)
        };
        if MANAGED_AFFINITY.get() {
            types = types | pci::IrqTypes::MANAGED_AFFINITY;
        }
        let wanted = VECTORS.get();
        let vectors = device
            .alloc_irq_vectors(wanted, wanted, types)
            .inspect_err(|e| {
                dev_err!(
                    pdev,
                    "cannot allocate {} interrupt vector(s) of the kinds asked for: {:?}\n",
                    wanted,
                    e
                )
            })?;
        let mut lines = KVec::with_capacity(vectors.count() as usize, GFP_KERNEL)?;
        for index in 0..vectors.count() {
            lines.push(vectors.line(index)?, GFP_KERNEL)?;
        }

        let name = CString::try_from_fmt(fmt!("rust_irqsync_edu-{}", pdev.name()))?;
        // One lock for all vectors: NDIS's `MsiSyncWithAllMessages`.
        let sync = new_interrupt_sync_group!(
            &lines,
            DispatchMode::Normal,
            Events::default(),
            "rust_irqsync_edu"
        );
        let edu_registers = registers.clone();
        let edu = try_pin_init!(Edu {
            pdev: pdev.into(),
            sync <- sync,
            vectors,
            registers: edu_registers,
            flags,
            operations <- new_mutex!(Operations::default()),
        });
        let this = KBox::pin_init(
            try_pin_init!(EduDriver {
                directory <- debugfs::Directory::new(&name, edu),
            }),
            GFP_KERNEL,
        )?;

        let edu = this.directory.data();
        edu.sync.set_dpc(complete_dma)?;
        for message in 0..edu.sync.lines().len() {
            let registers = registers.clone();
            edu.sync.register_message_routine_with_context(
                message,
                move |events, isr| service(&registers, events, isr),
                Placement::Last,
            )?;
        }
        edu.sync.connect(flags)?;
        if let Ok(cpu) = u32::try_from(INTERRUPT_CPU.get()) {
            for message in 0..edu.sync.lines().len() {
                edu.sync.set_affinity_hint(message, cpu).inspect_err(|e| {
                    dev_err!(pdev, "cannot steer interrupts to CPU {cpu}: {e:?}\n")
                })?;
            }
        }
        registers.write32(regs::STATUS_IRQ_ON_FACTORIAL, regs::STATUS);

        dev_info!(
            pdev,
            "edu {}.{} bound: {} {:?} vector(s), irq {}\n",
            id >> 24,
            (id >> 16) & 0xff,
            edu.vectors.count(),
            edu.vectors.kind(),
            edu.sync.irq()
        );
        Ok(this)
    }

    fn shutdown(this: Pin<&Self>) {
        let edu = this.directory.data();
        edu.quiesce();
        dev_info!(edu.pdev, "quiesced for shutdown\n");
    }
}
