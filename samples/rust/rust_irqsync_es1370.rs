// SPDX-License-Identifier: GPL-2.0

//! An ALSA driver for the Ensoniq ES1370 AudioPCI, as QEMU emulates it, serviced by
//! `InterruptSync`: the audio counterpart of a PortCls WaveCyclic miniport.
//!
//! One playback device plays S16_LE stereo at 44100, 22050 or 11025 Hz (the rates the
//! card's clock divider makes exactly) from a DMA buffer, in periods the application chooses.
//! The card interrupts after every period (its DAC2 sample counter); the service routine
//! acknowledges the interrupt and reports the period, and `pointer` reads the DMA position
//! under `call_synchronized`, like PortCls's `GetPosition`.
//!
//! Nothing that runs in the service routine, under `call_synchronized` or in ALSA's operations
//! can panic: the arithmetic is checked (the operations refuse what does not fit with `EINVAL`)
//! or saturating, and a device that is gone (after a surprise removal its registers read all
//! ones) is recognised: the routine does not claim the shared line for it, and `pointer`
//! reports the last position it read.

use kernel::{
    c_str, dev_info,
    irq::{DispatchMode, Flags, InterruptSync, IrqReturn, Placement},
    new_interrupt_sync, pci,
    prelude::*,
    sound::{
        pcm::{self, PeriodNotifier, PeriodTiming, Substream, Trigger},
        Card,
    },
    sync::Arc,
    time::Ktime,
};

kernel::module_pci_driver! {
    type: Es1370Driver,
    name: "rust_irqsync_es1370",
    author: "irqsync developers",
    description: "Ensoniq ES1370 playback serviced by InterruptSync",
    license: "GPL",
}

/// Registers of the ES1370 (I/O BAR 0) and their bits.
mod regs {
    pub(crate) const SIZE: usize = 0x40;

    pub(crate) const CONTROL: usize = 0x00;
    pub(crate) const STATUS: usize = 0x04;
    pub(crate) const MEMORY_PAGE: usize = 0x0c;
    pub(crate) const SERIAL_CONTROL: usize = 0x20;
    pub(crate) const DAC2_COUNT: usize = 0x28;
    /// With `MEMORY_PAGE` = `PAGE_DAC`: the buffer address, and its size in dwords - 1 (low
    /// half) with the current position in dwords (high half).
    pub(crate) const DAC2_FRAME: usize = 0x38;
    pub(crate) const DAC2_SIZE: usize = 0x3c;
    pub(crate) const PAGE_DAC: u32 = 0x0c;

    /// What a register reads as once the device is gone (surprise removal): all ones.
    pub(crate) const GONE: u32 = u32::MAX;

    /// The largest value of the 16-bit fields: buffer size and sample count, both less one.
    pub(crate) const FIELD_MAX: u32 = 0xffff;

    pub(crate) const CONTROL_DAC2_ENABLE: u32 = 1 << 5;
    pub(crate) const CONTROL_CLOCK_DIVIDER_SHIFT: u32 = 16;
    pub(crate) const CONTROL_CLOCK_DIVIDER_MAX: u32 = 0x1fff;
    pub(crate) const CONTROL_CLOCK_DIVIDER_MASK: u32 =
        CONTROL_CLOCK_DIVIDER_MAX << CONTROL_CLOCK_DIVIDER_SHIFT;

    pub(crate) const STATUS_INTERRUPT: u32 = 1 << 31;
    pub(crate) const STATUS_DAC2: u32 = 1 << 1;

    pub(crate) const SERIAL_DAC2_16_BIT: u32 = 1 << 3;
    pub(crate) const SERIAL_DAC2_STEREO: u32 = 1 << 2;
    pub(crate) const SERIAL_DAC2_INTERRUPT: u32 = 1 << 9;
    pub(crate) const SERIAL_DAC2_PAUSE: u32 = 1 << 12;
    pub(crate) const SERIAL_DAC2_MASK: u32 = 0x7f << 8 | 0x0f;

    /// The DAC clock: rate = 1411200 / (divider + 2).
    pub(crate) const CLOCK: u32 = 1_411_200;
}

type Registers = pci::Bar<{ regs::SIZE }>;

/// Bytes per frame: two 16-bit channels.
const FRAME_BYTES: usize = 4;

/// The device state shared with the service routine: shadows of the control registers, the
/// last position `pointer` read and when period interrupts arrived, from the start of the
/// stream (how regular the card is).
#[derive(Default)]
struct Dac {
    control: u32,
    serial_control: u32,
    position: usize,
    timing: PeriodTiming,
}

/// The playback device: what ALSA's operations and the service routine share.
#[pin_data]
struct Playback {
    #[pin]
    sync: InterruptSync<Dac>,
    registers: Arc<Registers>,
}

impl Playback {
    fn write_control(registers: &Registers, dac: &mut Dac, control: u32) {
        dac.control = control;
        registers.write32(control, regs::CONTROL);
    }

    fn write_serial_control(registers: &Registers, dac: &mut Dac, serial_control: u32) {
        dac.serial_control = serial_control;
        registers.write32(serial_control, regs::SERIAL_CONTROL);
    }
}

#[vtable]
impl pcm::Ops for Playback {
    const HARDWARE: pcm::Hardware = pcm::Hardware {
        formats: pcm::FORMAT_S16_LE,
        rates: pcm::RATE_11025 | pcm::RATE_22050 | pcm::RATE_44100,
        rate_min: 11025,
        rate_max: 44100,
        channels_min: 2,
        channels_max: 2,
        buffer_bytes_max: 64 * 1024,
        period_bytes_min: 256,
        period_bytes_max: 32 * 1024,
        periods_min: 2,
        periods_max: 256,
    };

    fn prepare(&self, substream: &Substream) -> Result {
        // ALSA lets only the rates and sizes of `HARDWARE` through; all the same, what the
        // registers cannot hold (a buffer above 4 GiB included) is refused, not cut or wrapped.
        let divider = regs::CLOCK
            .checked_div(substream.rate())
            .and_then(|quotient| quotient.checked_sub(2))
            .filter(|&divider| divider <= regs::CONTROL_CLOCK_DIVIDER_MAX)
            .ok_or(EINVAL)?;
        let address = u32::try_from(substream.dma_address()).map_err(|_| EINVAL)?;
        let last_dword = u32::try_from(substream.buffer_bytes() / 4)
            .ok()
            .and_then(|dwords| dwords.checked_sub(1))
            .filter(|&last| last <= regs::FIELD_MAX)
            .ok_or(EINVAL)?;
        let last_frame = u32::try_from(substream.period_frames())
            .ok()
            .and_then(|frames| frames.checked_sub(1))
            .filter(|&last| last <= regs::FIELD_MAX)
            .ok_or(EINVAL)?;
        let registers = &self.registers;
        self.sync.call_synchronized(|dac| {
            dac.position = 0;
            let control =
                dac.control & !(regs::CONTROL_DAC2_ENABLE | regs::CONTROL_CLOCK_DIVIDER_MASK);
            Self::write_control(
                registers,
                dac,
                control | divider << regs::CONTROL_CLOCK_DIVIDER_SHIFT,
            );
            registers.write32(regs::PAGE_DAC, regs::MEMORY_PAGE);
            registers.write32(address, regs::DAC2_FRAME);
            registers.write32(last_dword, regs::DAC2_SIZE);
            let serial = dac.serial_control & !regs::SERIAL_DAC2_MASK;
            Self::write_serial_control(
                registers,
                dac,
                serial | regs::SERIAL_DAC2_16_BIT | regs::SERIAL_DAC2_STEREO,
            );
            registers.write32(last_frame, regs::DAC2_COUNT);
        });
        Ok(())
    }

    fn trigger(&self, substream: &Substream, command: Trigger) -> Result {
        let registers = &self.registers;
        let stopped_timing = self.sync.call_synchronized(|dac| {
            let (control, serial) = (dac.control, dac.serial_control);
            match command {
                Trigger::Start => {
                    dac.timing = PeriodTiming::new();
                    Self::write_serial_control(
                        registers,
                        dac,
                        serial & !regs::SERIAL_DAC2_PAUSE | regs::SERIAL_DAC2_INTERRUPT,
                    );
                    Self::write_control(registers, dac, control | regs::CONTROL_DAC2_ENABLE);
                }
                Trigger::Stop => {
                    Self::write_control(registers, dac, control & !regs::CONTROL_DAC2_ENABLE);
                    Self::write_serial_control(
                        registers,
                        dac,
                        serial & !regs::SERIAL_DAC2_INTERRUPT,
                    );
                    return Some(dac.timing);
                }
                Trigger::Pause => {
                    Self::write_serial_control(registers, dac, serial | regs::SERIAL_DAC2_PAUSE)
                }
                Trigger::Resume => {
                    Self::write_serial_control(registers, dac, serial & !regs::SERIAL_DAC2_PAUSE)
                }
            }
            None
        });

        // Logged once the lock is released: how regular the period interrupts were.
        if let Some(timing) = stopped_timing {
            let (mean, jitter) = timing.mean_and_jitter_us();
            pr_info!(
                "rust_irqsync_es1370: stopped at {} Hz: {} period intervals, mean {} us, jitter {} us\n",
                substream.rate(),
                timing.intervals(),
                mean,
                jitter
            );
        }
        Ok(())
    }

    fn pointer(&self, _substream: &Substream) -> usize {
        let registers = &self.registers;
        self.sync.call_synchronized(|dac| {
            registers.write32(regs::PAGE_DAC, regs::MEMORY_PAGE);
            let size = registers.read32(regs::DAC2_SIZE);
            // All ones is no buffer this driver programs (the size would be 256 KiB): the
            // device is gone, and the last position is all there is.
            if size != regs::GONE {
                // The position, in dwords, is one frame each; ALSA takes it modulo the buffer.
                dac.position = (size >> 16) as usize * 4 / FRAME_BYTES;
            }
            dac.position
        })
    }
}

/// The service routine: acknowledges a DAC2 interrupt and reports the period.
fn service(registers: &Registers, notifier: &PeriodNotifier, dac: &mut Dac) -> IrqReturn {
    let status = registers.read32(regs::STATUS);
    if status == regs::GONE || status & regs::STATUS_INTERRUPT == 0 {
        // Another device on the shared line, or the card is gone (surprise removal: its
        // registers read all ones) and cannot have interrupted.
        return IrqReturn::None;
    }
    if status & regs::STATUS_DAC2 != 0 {
        // Acknowledge: interrupt enable off, then on again.
        let serial = dac.serial_control;
        registers.write32(serial & !regs::SERIAL_DAC2_INTERRUPT, regs::SERIAL_CONTROL);
        registers.write32(serial, regs::SERIAL_CONTROL);
        dac.timing.record(Ktime::ktime_get().to_ns());
        notifier.notify();
    }
    IrqReturn::Handled
}

/// The driver's data for one card. Dropping it frees the card once its last user has closed
/// it, which drops ALSA's reference to the playback device; the last reference disconnects
/// the interrupt. The vector and the registers stay until then whatever the order here: the
/// vector is not freed under a connected handler, and the routine holds the registers.
struct Es1370Driver {
    _card: Card,
    playback: Arc<Playback>,
    _vectors: pci::IrqVectors,
    _registers: Arc<Registers>,
}

kernel::pci_device_table!(IDS, [pci::DeviceId::from_id(0x1274, 0x5000)]);

#[vtable]
impl pci::Driver for Es1370Driver {
    const NAME: &'static CStr = c_str!("rust_irqsync_es1370");
    const ID_TABLE: pci::IdTable = IDS.table();

    fn probe(pdev: &pci::Device, _id: &pci::DeviceId) -> Result<Pin<KBox<Self>>> {
        let device = pdev.enable_device()?;
        device.set_master();
        let registers = Arc::new(
            device.iomap_region::<{ regs::SIZE }>(0, c_str!("rust_irqsync_es1370"))?,
            GFP_KERNEL,
        )?;
        // Quiet: no DAC running, no interrupt enabled.
        registers.write32(0, regs::CONTROL);
        registers.write32(0, regs::SERIAL_CONTROL);

        // The ES1370 has only the legacy line, which it may share.
        let vectors = device.alloc_irq_vectors(1, 1, pci::IrqTypes::INTX)?;
        let sync = new_interrupt_sync!(
            vectors.line(0)?,
            DispatchMode::Normal,
            Dac::default(),
            "rust_irqsync_es1370"
        );
        let playback_registers = registers.clone();
        let playback = Arc::pin_init(
            try_pin_init!(Playback {
                sync <- sync,
                registers: playback_registers,
            }),
            GFP_KERNEL,
        )?;
        let notifier = Arc::pin_init(PeriodNotifier::new(), GFP_KERNEL)?;
        {
            let (registers, notifier) = (registers.clone(), notifier.clone());
            playback.sync.register_service_routine(
                move |dac| service(&registers, &notifier, dac),
                Placement::Last,
            )?;
        }
        playback.sync.connect(Flags::SHARED)?;

        let card = Card::new(pdev.as_ref(), c_str!("ES1370"), &THIS_MODULE)?;
        card.set_names(
            c_str!("RustES1370"),
            c_str!("ES1370 (Rust)"),
            c_str!("Ensoniq ES1370 served by rust_irqsync_es1370"),
        );
        pcm::new_playback(
            &card,
            c_str!("ES1370 DAC2"),
            pdev.as_ref(),
            playback.clone(),
            notifier,
        )?;
        card.register()?;
        dev_info!(pdev, "ES1370 playback on irq {}\n", playback.sync.irq());

        Ok(KBox::pin(
            Es1370Driver {
                _card: card,
                playback,
                _vectors: vectors,
                _registers: registers,
            },
            GFP_KERNEL,
        )?)
    }
    fn shutdown(this: Pin<&Self>) {
        // Stop the DAC and its interrupt: no DMA while the system goes down.
        let playback = &this.playback;
        let registers = &playback.registers;
        playback.sync.call_synchronized(|dac| {
            Playback::write_control(registers, dac, dac.control & !regs::CONTROL_DAC2_ENABLE);
            Playback::write_serial_control(
                registers,
                dac,
                dac.serial_control & !regs::SERIAL_DAC2_INTERRUPT,
            );
        });
        pr_info!("rust_irqsync_es1370: DAC stopped for shutdown\n");
    }
}
