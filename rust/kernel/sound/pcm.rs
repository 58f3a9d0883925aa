// SPDX-License-Identifier: GPL-2.0

//! PCM devices: a playback stream whose buffer the device reads by DMA.
//!
//! A driver implements [`Ops`] and adds a playback device to its [`Card`] with
//! [`new_playback`]. ALSA allocates the DMA buffer when the application sets its parameters
//! and calls the operations; the driver's interrupt routine reports each period the device has
//! played with [`PeriodNotifier::notify`].
//!
//! `notify` only queues the report: it runs right after the interrupt handler returns, outside
//! every driver lock. That is what lets `trigger` and `pointer`, which ALSA calls under the
//! stream lock, take the driver's `InterruptSync` lock with `call_synchronized`, while the
//! routines, under that lock, report periods: the two locks are never taken in the other order.
//! It is PortCls's `Notify()` and its DPC.
//!
//! The notifier is an `irq_work` of its own rather than the DPC of the driver's
//! [`InterruptSync`](crate::irq::InterruptSync): it belongs to the stream, whose `close` must
//! wait for a report in flight while the interrupt object lives on and keeps serving the device;
//! it runs as the hard interrupt ends, sooner than a softirq work item, which keeps the period
//! report tight; and the object's one DPC stays the driver's to use.
//!
//! [`PeriodTiming`] sums up how regularly the periods complete, for a routine to record and a
//! driver to report.
//!
//! C header: [`include/sound/pcm.h`](srctree/include/sound/pcm.h)

use super::Card;
use crate::{
    alloc::{flags::GFP_KERNEL, KBox},
    bindings, build_error,
    device::Device,
    error::{from_result, to_result, Result, VTABLE_DEFAULT_ERROR},
    ffi::c_int,
    init::PinInit,
    prelude::*,
    str::CStr,
    sync::Arc,
    types::Opaque,
};
use core::{
    ptr::addr_of_mut,
    sync::atomic::{AtomicPtr, Ordering},
};

mod period_timing;

pub use period_timing::PeriodTiming;

/// What a playback device supports, which ALSA enforces on every application.
#[derive(Clone, Copy)]
pub struct Hardware {
    /// Sample formats, `SNDRV_PCM_FMTBIT_*` bits: see [`FORMAT_S16_LE`].
    pub formats: u64,
    /// Rates, `SNDRV_PCM_RATE_*` bits: see [`RATE_44100`] and its neighbours.
    pub rates: u32,
    /// The lowest rate.
    pub rate_min: u32,
    /// The highest rate.
    pub rate_max: u32,
    /// The fewest channels.
    pub channels_min: u32,
    /// The most channels.
    pub channels_max: u32,
    /// The largest buffer, in bytes.
    pub buffer_bytes_max: usize,
    /// The smallest period, in bytes.
    pub period_bytes_min: usize,
    /// The largest period, in bytes.
    pub period_bytes_max: usize,
    /// The fewest periods in the buffer.
    pub periods_min: u32,
    /// The most periods in the buffer.
    pub periods_max: u32,
}

/// Signed 16-bit little-endian samples.
pub const FORMAT_S16_LE: u64 = 1 << 2; // SNDRV_PCM_FORMAT_S16_LE is 2 in the ALSA ABI.
/// 11025 Hz.
pub const RATE_11025: u32 = bindings::SNDRV_PCM_RATE_11025;
/// 22050 Hz.
pub const RATE_22050: u32 = bindings::SNDRV_PCM_RATE_22050;
/// 44100 Hz.
pub const RATE_44100: u32 = bindings::SNDRV_PCM_RATE_44100;

impl Hardware {
    fn to_c(self) -> bindings::snd_pcm_hardware {
        bindings::snd_pcm_hardware {
            info: bindings::SNDRV_PCM_INFO_MMAP
                | bindings::SNDRV_PCM_INFO_MMAP_VALID
                | bindings::SNDRV_PCM_INFO_INTERLEAVED
                | bindings::SNDRV_PCM_INFO_BLOCK_TRANSFER
                | bindings::SNDRV_PCM_INFO_PAUSE,
            formats: self.formats,
            subformats: 0,
            rates: self.rates,
            rate_min: self.rate_min,
            rate_max: self.rate_max,
            channels_min: self.channels_min,
            channels_max: self.channels_max,
            buffer_bytes_max: self.buffer_bytes_max,
            period_bytes_min: self.period_bytes_min,
            period_bytes_max: self.period_bytes_max,
            periods_min: self.periods_min,
            periods_max: self.periods_max,
            fifo_size: 0,
        }
    }
}

/// A trigger command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Start playing from the prepared position.
    Start,
    /// Stop playing.
    Stop,
    /// Pause, keeping the position.
    Pause,
    /// Resume after a pause.
    Resume,
}

/// An open stream: the Rust view of a `struct snd_pcm_substream` with its runtime.
///
/// ALSA changes the substream and its runtime (positions, state, timestamps) while the driver
/// looks at them, so no Rust reference to either C structure is ever made: the accessors read
/// one field at a time, by value, through raw pointers.
///
/// # Invariants
///
/// The substream is open, with a runtime, while a reference to the object exists.
#[repr(transparent)]
pub struct Substream(Opaque<bindings::snd_pcm_substream>);

impl Substream {
    /// # Safety
    ///
    /// `ptr` must be an open substream that stays open for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::snd_pcm_substream) -> &'a Self {
        // SAFETY: Transparent wrapper of an `Opaque`, which may be changed behind shared
        // references; validity is the caller's guarantee.
        unsafe { &*ptr.cast() }
    }

    fn as_raw(&self) -> *mut bindings::snd_pcm_substream {
        self.0.get()
    }

    /// Returns the runtime of the stream, valid while the stream is open.
    ///
    /// Its configuration fields (rate, channels, sizes, buffer address) are set by ALSA in
    /// hw_params, which it runs under the runtime's buffer mutex, as it does prepare, and only
    /// while the stream is not running: they do not change while an operation reads them.
    fn runtime(&self) -> *mut bindings::snd_pcm_runtime {
        // SAFETY: By the type invariant the substream is valid. Only the `runtime` pointer is
        // read, by value; ALSA sets it before `open` and clears it after `close`.
        unsafe { (*self.as_raw()).runtime }
    }

    /// Returns the rate in frames per second.
    pub fn rate(&self) -> u32 {
        // SAFETY: By the type invariant the runtime is valid; the field stays put during the
        // operations (see `runtime`) and is read by value, with no reference to the runtime.
        unsafe { (*self.runtime()).rate }
    }

    /// Returns the number of channels.
    pub fn channels(&self) -> u32 {
        // SAFETY: As for `rate`.
        unsafe { (*self.runtime()).channels }
    }

    /// Returns the size of the buffer in frames.
    pub fn buffer_frames(&self) -> usize {
        // SAFETY: As for `rate`.
        unsafe { (*self.runtime()).buffer_size }
    }

    /// Returns the size of a period in frames.
    pub fn period_frames(&self) -> usize {
        // SAFETY: As for `rate`.
        unsafe { (*self.runtime()).period_size }
    }

    /// Returns the size of the buffer in bytes.
    pub fn buffer_bytes(&self) -> usize {
        // SAFETY: The substream is open.
        unsafe { bindings::snd_pcm_lib_buffer_bytes(self.as_raw()) }
    }

    /// Returns the size of a period in bytes.
    pub fn period_bytes(&self) -> usize {
        // SAFETY: The substream is open.
        unsafe { bindings::snd_pcm_lib_period_bytes(self.as_raw()) }
    }

    /// Returns the address at which the device reads the buffer.
    pub fn dma_address(&self) -> u64 {
        // SAFETY: As for `rate`.
        unsafe { (*self.runtime()).dma_addr }
    }
}

/// Reports elapsed periods from interrupt routines to ALSA, outside every driver lock.
///
/// # Invariants
///
/// `work` is initialised with `PeriodNotifier::run`. `substream` is null or an open
/// substream; it is set to null, and pending work waited for, before that substream closes.
#[pin_data(PinnedDrop)]
pub struct PeriodNotifier {
    #[pin]
    work: Opaque<bindings::irq_work>,
    substream: AtomicPtr<bindings::snd_pcm_substream>,
}

// SAFETY: The notifier is used from any CPU: the irq_work API and the atomic pointer are
// thread-safe.
unsafe impl Send for PeriodNotifier {}

// SAFETY: As above.
unsafe impl Sync for PeriodNotifier {}

impl PeriodNotifier {
    /// Creates a notifier, to be handed to [`new_playback`].
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `init_irq_work()` initialises all of the structure.
            work <- Opaque::ffi_init(|slot| unsafe {
                bindings::init_irq_work(slot, Some(Self::run))
            }),
            substream: AtomicPtr::new(core::ptr::null_mut()),
        })
    }

    /// Reports that the device played one more period. Callable from any context, interrupt
    /// routines included; ALSA hears of it right after the interrupt handler returns. Does
    /// nothing if the stream is not open.
    pub fn notify(&self) {
        if self.substream.load(Ordering::Acquire).is_null() {
            return;
        }
        // SAFETY: By the type invariant `work` is initialised.
        unsafe { bindings::irq_work_queue(self.work.get()) };
    }

    fn attach(&self, substream: *mut bindings::snd_pcm_substream) {
        self.substream.store(substream, Ordering::Release);
    }

    fn detach(&self) {
        // INVARIANT: No new work sees the substream after this store, and work already queued
        // or running is waited for.
        self.substream
            .store(core::ptr::null_mut(), Ordering::Release);
        // SAFETY: `work` is initialised; the caller is in process context (`close`).
        unsafe { bindings::irq_work_sync(self.work.get()) };
    }

    /// The irq_work function.
    ///
    /// # Safety
    ///
    /// `work` must be the `work` field of a `PeriodNotifier`.
    unsafe extern "C" fn run(work: *mut bindings::irq_work) {
        // SAFETY: `work` is the `work` field of a `PeriodNotifier`, so stepping back by its
        // offset gives the notifier, which is pinned and alive while work is queued.
        let this = unsafe {
            &*work
                .cast::<u8>()
                .sub(core::mem::offset_of!(PeriodNotifier, work))
                .cast::<PeriodNotifier>()
        };
        let substream = this.substream.load(Ordering::Acquire);
        if !substream.is_null() {
            // SAFETY: By the type invariant the substream is open: `detach` waits for this
            // function before the substream closes.
            unsafe { bindings::snd_pcm_period_elapsed(substream) };
        }
    }
}

#[pinned_drop]
impl PinnedDrop for PeriodNotifier {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `work` is initialised; nothing queues it any more.
        unsafe { bindings::irq_work_sync(self.work.get()) };
    }
}

/// The operations of a playback device.
///
/// ALSA calls them in process context, except `trigger` and `pointer`, which run in atomic
/// context with the stream lock held: those must not sleep. `hw_params` and `hw_free` are
/// optional (`#[vtable]`): ALSA's pointer to one a driver does not implement stays null.
///
/// # Examples
///
/// A device whose position advances by one period per interrupt:
///
/// ```
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use kernel::sound::pcm::{self, Substream, Trigger};
///
/// struct Counting {
///     periods: AtomicUsize,
/// }
///
/// #[vtable]
/// impl pcm::Ops for Counting {
///     const HARDWARE: pcm::Hardware = pcm::Hardware {
///         formats: pcm::FORMAT_S16_LE,
///         rates: pcm::RATE_44100,
///         rate_min: 44100,
///         rate_max: 44100,
///         channels_min: 2,
///         channels_max: 2,
///         buffer_bytes_max: 16384,
///         period_bytes_min: 1024,
///         period_bytes_max: 8192,
///         periods_min: 2,
///         periods_max: 16,
///     };
///
///     fn prepare(&self, _substream: &Substream) -> Result {
///         self.periods.store(0, Ordering::Relaxed);
///         Ok(())
///     }
///
///     fn trigger(&self, _substream: &Substream, _command: Trigger) -> Result {
///         Ok(())
///     }
///
///     fn pointer(&self, substream: &Substream) -> usize {
///         self.periods.load(Ordering::Relaxed) * substream.period_frames()
///     }
/// }
/// ```
#[vtable]
pub trait Ops: Send + Sync + 'static {
    /// What the device supports.
    const HARDWARE: Hardware;

    /// An application opens the stream.
    fn open(&self, _substream: &Substream) -> Result {
        Ok(())
    }

    /// The application closes the stream.
    fn close(&self, _substream: &Substream) -> Result {
        Ok(())
    }

    /// The application set the parameters; the DMA buffer is allocated. Optional
    /// (`#[vtable]`): ALSA manages the buffer without it.
    fn hw_params(&self, _substream: &Substream) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The parameters are undone; the DMA buffer is about to be freed. Optional, as
    /// `hw_params`.
    fn hw_free(&self, _substream: &Substream) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Programs the device for the stream's parameters and buffer, from its start.
    fn prepare(&self, substream: &Substream) -> Result;

    /// Starts, stops, pauses or resumes the device. Atomic context.
    fn trigger(&self, substream: &Substream, command: Trigger) -> Result;

    /// Returns the frame of the buffer the device is playing. Atomic context.
    fn pointer(&self, substream: &Substream) -> usize;
}

/// What a PCM device's `private_data` points to.
struct Private<T: Ops> {
    ops: Arc<T>,
    notifier: Arc<PeriodNotifier>,
}

/// Adds playback device 0, named `name`, to `card`, served by `ops`.
///
/// ALSA allocates DMA buffers of up to `T::HARDWARE.buffer_bytes_max` bytes for `dev` when the
/// application sets its parameters, and reports periods through `notifier`. The device lives as
/// long as the card.
pub fn new_playback<T: Ops>(
    card: &Card,
    name: &CStr,
    dev: &Device,
    ops: Arc<T>,
    notifier: Arc<PeriodNotifier>,
) -> Result {
    let mut pcm = core::ptr::null_mut();
    // SAFETY: The card is valid; `pcm` is a valid place for the result.
    to_result(unsafe {
        bindings::snd_pcm_new(card.as_raw(), name.as_char_ptr(), 0, 1, 0, &mut pcm)
    })?;
    let private = KBox::into_raw(KBox::new(Private { ops, notifier }, GFP_KERNEL)?);
    // SAFETY: `snd_pcm_new()` succeeded, so `pcm` is valid and owned by the card; its fields
    // are written through the raw pointer, before user space can see the device. The private
    // data is freed by `private_free`, which ALSA calls when it frees the device. The ops table
    // is `'static`. `name` is an array of the device, valid for writes of its size.
    unsafe {
        (*pcm).private_data = private.cast();
        (*pcm).private_free = Some(free_private::<T>);
        bindings::snd_pcm_set_ops(
            pcm,
            bindings::SNDRV_PCM_STREAM_PLAYBACK as c_int,
            &OpsTable::<T>::OPS,
        );
        super::copy_name(addr_of_mut!((*pcm).name), name);
        bindings::snd_pcm_set_managed_buffer_all(
            pcm,
            bindings::SNDRV_DMA_TYPE_DEV as c_int,
            dev.as_raw(),
            T::HARDWARE.buffer_bytes_max,
            T::HARDWARE.buffer_bytes_max,
        );
    }
    Ok(())
}

/// Frees the private data of a PCM device.
///
/// # Safety
///
/// `pcm` must be a device made by [`new_playback`] for `T`, being freed.
unsafe extern "C" fn free_private<T: Ops>(pcm: *mut bindings::snd_pcm) {
    // SAFETY: `private_data` came from `KBox::into_raw` in `new_playback`, and ALSA calls this
    // once.
    drop(unsafe { KBox::from_raw((*pcm).private_data.cast::<Private<T>>()) });
}

struct OpsTable<T: Ops>(core::marker::PhantomData<T>);

impl<T: Ops> OpsTable<T> {
    const OPS: bindings::snd_pcm_ops = bindings::snd_pcm_ops {
        open: Some(Self::open),
        close: Some(Self::close),
        hw_params: if T::HAS_HW_PARAMS {
            Some(Self::hw_params)
        } else {
            None
        },
        hw_free: if T::HAS_HW_FREE {
            Some(Self::hw_free)
        } else {
            None
        },
        prepare: Some(Self::prepare),
        trigger: Some(Self::trigger),
        pointer: Some(Self::pointer),
        // SAFETY: All-zero is a valid value for the other members.
        ..unsafe { core::mem::zeroed() }
    };

    /// Returns the private data and the substream.
    ///
    /// # Safety
    ///
    /// `substream` must be an open substream of a device made by [`new_playback`] for `T`.
    unsafe fn get<'a>(
        substream: *mut bindings::snd_pcm_substream,
    ) -> (&'a Private<T>, &'a Substream) {
        // SAFETY: ALSA copies the device's `private_data` to the substream on open; it lives
        // as long as the device.
        let private = unsafe { &*(*substream).private_data.cast::<Private<T>>() };
        // SAFETY: The substream is open during the operation.
        (private, unsafe { Substream::from_raw(substream) })
    }

    /// # Safety
    ///
    /// Called by ALSA only, with a substream of a device made by [`new_playback`] for `T`.
    unsafe extern "C" fn open(substream: *mut bindings::snd_pcm_substream) -> c_int {
        from_result(|| {
            // SAFETY: See the function's safety section.
            let (private, stream) = unsafe { Self::get(substream) };
            // SAFETY: The substream is being opened; its `runtime` pointer is set, and read by
            // value.
            let runtime = unsafe { (*substream).runtime };
            // SAFETY: The runtime is valid, and ALSA leaves its `hw` field to the driver's
            // `open`. The field is written through the raw pointer, with no reference to the
            // runtime.
            unsafe { (*runtime).hw = T::HARDWARE.to_c() };
            // SAFETY: The runtime is valid.
            to_result(unsafe {
                bindings::snd_pcm_hw_constraint_integer(
                    runtime,
                    bindings::SNDRV_PCM_HW_PARAM_PERIODS as _,
                )
            })?;
            private.ops.open(stream)?;
            // INVARIANT: The substream is open until `close`, which detaches it.
            private.notifier.attach(substream);
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// As for `open`.
    unsafe extern "C" fn close(substream: *mut bindings::snd_pcm_substream) -> c_int {
        // SAFETY: See the function's safety section.
        let (private, stream) = unsafe { Self::get(substream) };
        private.notifier.detach();
        from_result(|| private.ops.close(stream).map(|()| 0))
    }

    /// # Safety
    ///
    /// As for `open`.
    unsafe extern "C" fn hw_params(
        substream: *mut bindings::snd_pcm_substream,
        _params: *mut bindings::snd_pcm_hw_params,
    ) -> c_int {
        // SAFETY: See the function's safety section.
        let (private, stream) = unsafe { Self::get(substream) };
        from_result(|| private.ops.hw_params(stream).map(|()| 0))
    }

    /// # Safety
    ///
    /// As for `open`.
    unsafe extern "C" fn hw_free(substream: *mut bindings::snd_pcm_substream) -> c_int {
        // SAFETY: See the function's safety section.
        let (private, stream) = unsafe { Self::get(substream) };
        from_result(|| private.ops.hw_free(stream).map(|()| 0))
    }

    /// # Safety
    ///
    /// As for `open`.
    unsafe extern "C" fn prepare(substream: *mut bindings::snd_pcm_substream) -> c_int {
        // SAFETY: See the function's safety section.
        let (private, stream) = unsafe { Self::get(substream) };
        from_result(|| private.ops.prepare(stream).map(|()| 0))
    }

    /// # Safety
    ///
    /// As for `open`.
    unsafe extern "C" fn trigger(substream: *mut bindings::snd_pcm_substream, cmd: c_int) -> c_int {
        // SAFETY: See the function's safety section.
        let (private, stream) = unsafe { Self::get(substream) };
        let command = match cmd as u32 {
            bindings::SNDRV_PCM_TRIGGER_START => Trigger::Start,
            bindings::SNDRV_PCM_TRIGGER_STOP => Trigger::Stop,
            bindings::SNDRV_PCM_TRIGGER_PAUSE_PUSH => Trigger::Pause,
            bindings::SNDRV_PCM_TRIGGER_PAUSE_RELEASE => Trigger::Resume,
            _ => return EINVAL.to_errno(),
        };
        from_result(|| private.ops.trigger(stream, command).map(|()| 0))
    }

    /// # Safety
    ///
    /// As for `open`.
    unsafe extern "C" fn pointer(
        substream: *mut bindings::snd_pcm_substream,
    ) -> bindings::snd_pcm_uframes_t {
        // SAFETY: See the function's safety section.
        let (private, stream) = unsafe { Self::get(substream) };
        let frame = private.ops.pointer(stream);
        // ALSA expects a frame inside the buffer.
        (frame % stream.buffer_frames().max(1)) as bindings::snd_pcm_uframes_t
    }
}
