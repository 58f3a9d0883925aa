// SPDX-License-Identifier: GPL-2.0

//! Per-routine statistics of an [`InterruptSync`], kept with
//! `CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS`: how often each routine ran, how often it handled the
//! interrupt and the longest it ran, returned by [`InterruptSync::routine_statistics`] and shown
//! in debugfs, in `irqsync/<name>-<irq>/routines`.
//!
//! C header: [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h)

use super::{chain, InterruptSync};
use crate::{
    alloc::{flags::GFP_KERNEL, KVec},
    error::{code::*, Result},
};

/// What one service routine did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoutineStatistics {
    /// Times the routine was called.
    pub calls: u64,

    /// Times it returned [`IrqReturn::Handled`](super::IrqReturn::Handled).
    pub handled: u64,

    /// The longest it ran, in nanoseconds.
    pub longest_ns: u64,
}

impl RoutineStatistics {
    /// Counts a call that handled the interrupt or not and ran `ns` nanoseconds. Wraps rather
    /// than overflows: it runs in interrupt context.
    #[cfg(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS)]
    #[inline(always)]
    pub(super) fn record(&mut self, handled: bool, ns: u64) {
        self.calls = self.calls.wrapping_add(1);
        self.handled = self.handled.wrapping_add(u64::from(handled));
        self.longest_ns = self.longest_ns.max(ns);
    }
}

impl<T: Send + 'static> InterruptSync<T> {
    /// Returns the statistics of the routines of line `message`, in chain order.
    ///
    /// Fails with `EINVAL` if the object has no line `message`, with `ENOMEM`, and with
    /// `ENOTSUPP` without `CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS`, which keeps them.
    pub fn routine_statistics(&self, message: usize) -> Result<KVec<RoutineStatistics>> {
        if message >= self.shared.lines.len() {
            return Err(EINVAL);
        }
        if !cfg!(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS) {
            return Err(ENOTSUPP);
        }
        // Routines registered meanwhile are left out; none are ever removed.
        let count = self
            .shared
            .protected
            .with_lock(|p| chain::len(&p.chains[message]));
        let mut statistics = KVec::from_elem(RoutineStatistics::default(), count, GFP_KERNEL)?;
        self.shared.protected.with_lock(|p| {
            chain::for_each(&p.chains[message], |index, routine| {
                if let Some(slot) = statistics.get_mut(index) {
                    *slot = routine;
                }
            })
        });
        Ok(statistics)
    }
}

#[cfg(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS)]
pub(super) use debugfs::StatisticsFile;

/// Without `CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS` there is no file.
#[cfg(not(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS))]
pub(super) struct StatisticsFile;

#[cfg(not(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS))]
impl StatisticsFile {
    /// Creates nothing.
    ///
    /// # Safety
    ///
    /// None; `unsafe` as the function it stands in for.
    pub(super) const unsafe fn new<T: Send + 'static>() -> Self {
        StatisticsFile
    }

    /// Does nothing.
    pub(super) fn create(&self, _name: &crate::str::CStr, _irq: u32) {}

    /// Does nothing.
    pub(super) fn remove(&self) {}
}

/// The debugfs file of the statistics.
#[cfg(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS)]
mod debugfs {
    use super::InterruptSync;
    use crate::{bindings, ffi::c_int, ffi::c_void, fmt, prelude::*, str::CString};
    use core::{
        fmt::Write,
        ptr::{self, NonNull},
        sync::atomic::{AtomicPtr, Ordering},
    };

    /// The debugfs directory `irqsync`, made by the first object that needs it and kept.
    static ROOT: AtomicPtr<bindings::dentry> = AtomicPtr::new(ptr::null_mut());

    /// How to write the statistics of the object a [`StatisticsFile`] is part of.
    type WriteFn = unsafe fn(NonNull<StatisticsFile>, *mut bindings::seq_file);

    /// The `routines` file of an object, in its directory `irqsync/<name>-<irq>`.
    ///
    /// # Invariants
    ///
    /// `write` is `write_object::<T>` for the `InterruptSync<T>` whose `statistics_file` this
    /// is. `directory` is null, or a debugfs directory holding a file whose `i_private` is
    /// this object, removed before the object is dropped.
    pub(in crate::irq::sync) struct StatisticsFile {
        write: WriteFn,
        directory: AtomicPtr<bindings::dentry>,
    }

    // SAFETY: The directory pointer is only handed to debugfs, which may be called from any
    // CPU; `write` is a function pointer.
    unsafe impl Send for StatisticsFile {}

    // SAFETY: As above.
    unsafe impl Sync for StatisticsFile {}

    impl StatisticsFile {
        /// Creates the file record of an `InterruptSync<T>`, without a file yet.
        ///
        /// # Safety
        ///
        /// The result is the `statistics_file` field of an `InterruptSync<T>`.
        pub(in crate::irq::sync) const unsafe fn new<T: Send + 'static>() -> Self {
            // INVARIANT: As the caller guarantees, with no directory.
            StatisticsFile {
                write: write_object::<T>,
                directory: AtomicPtr::new(ptr::null_mut()),
            }
        }

        /// Makes the directory `irqsync/<name>-<irq>` and its file, unless made already.
        /// debugfs is for debugging: a directory that cannot be made (a name taken by another
        /// object on the same line, say) is left out silently, as C drivers do.
        pub(in crate::irq::sync) fn create(&self, name: &CStr, irq: u32) {
            if !self.directory.load(Ordering::Acquire).is_null() {
                return;
            }
            let Ok(dir_name) = CString::try_from_fmt(fmt!("{}-{}", name, irq)) else {
                return;
            };
            let root = root();
            if root.is_null() {
                return;
            }
            // SAFETY: `root` is a live debugfs directory, the name is a C string.
            let dir = unsafe { bindings::debugfs_create_dir(dir_name.as_char_ptr(), root) };
            if crate::error::from_err_ptr(dir).is_err() {
                return;
            }
            // SAFETY: `dir` is a new directory; `FILE_OPERATIONS` is promoted to `'static`;
            // `self` lives until `remove` removes the file, which waits for reads in progress.
            unsafe {
                bindings::debugfs_create_file(
                    crate::c_str!("routines").as_char_ptr(),
                    0o444,
                    dir,
                    ptr::from_ref(self).cast_mut().cast::<c_void>(),
                    &FILE_OPERATIONS,
                )
            };
            // INVARIANT: The directory holds the file of `self`.
            self.directory.store(dir, Ordering::Release);
        }

        /// Removes the directory and its file, waiting for reads in progress.
        pub(in crate::irq::sync) fn remove(&self) {
            let dir = self.directory.swap(ptr::null_mut(), Ordering::AcqRel);
            if !dir.is_null() {
                // SAFETY: `dir` was made by `create` and is removed once.
                unsafe { bindings::debugfs_remove(dir) };
            }
        }
    }

    /// Returns the `irqsync` directory, made if need be, or null if debugfs cannot make it.
    fn root() -> *mut bindings::dentry {
        let root = ROOT.load(Ordering::Acquire);
        if !root.is_null() {
            return root;
        }
        // SAFETY: The name is a C string. Objects connect under their own mutexes, so two may
        // race here: the loser's directory is a second, empty `irqsync` that debugfs refuses
        // (an error pointer), and the winner's is used.
        let made = unsafe {
            bindings::debugfs_create_dir(crate::c_str!("irqsync").as_char_ptr(), ptr::null_mut())
        };
        if crate::error::from_err_ptr(made).is_err() {
            return ROOT.load(Ordering::Acquire);
        }
        match ROOT.compare_exchange(ptr::null_mut(), made, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => made,
            Err(current) => current,
        }
    }

    /// The operations of every `routines` file: in the kernel image, never in a module, so a
    /// file open when a module goes away never calls into it; the module's code runs only in
    /// `show`, which debugfs does not call once the file is removed.
    const FILE_OPERATIONS: bindings::file_operations = bindings::file_operations {
        open: Some(open),
        read: Some(bindings::seq_read),
        llseek: Some(bindings::seq_lseek),
        release: Some(bindings::single_release),
        // SAFETY: All other fields of `file_operations` may be zero.
        ..unsafe { core::mem::zeroed() }
    };

    /// Opens a `routines` file as a single-record `seq_file`.
    ///
    /// # Safety
    ///
    /// Called by debugfs with the file's inode, whose `i_private` is a [`StatisticsFile`].
    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: As the caller guarantees.
        unsafe { bindings::single_open(file, Some(show), (*inode).i_private) }
    }

    /// Writes the statistics.
    ///
    /// # Safety
    ///
    /// Called by `seq_read()` of a file opened by `open`.
    unsafe extern "C" fn show(seq: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
        // SAFETY: `single_open()` stored the `StatisticsFile` as the private data; debugfs
        // keeps the file's object alive while an operation runs, by the type invariant.
        let Some(file) = NonNull::new(unsafe { (*seq).private }.cast::<StatisticsFile>()) else {
            return 0;
        };
        // SAFETY: As above; `write` matches the object, by the type invariant.
        unsafe { (file.as_ref().write)(file, seq) };
        0
    }

    /// Writes the statistics of the `InterruptSync<T>` whose `statistics_file` `file` is.
    ///
    /// # Safety
    ///
    /// `file` is the `statistics_file` field of a live `InterruptSync<T>`.
    unsafe fn write_object<T: Send + 'static>(
        file: NonNull<StatisticsFile>,
        seq: *mut bindings::seq_file,
    ) {
        let offset = core::mem::offset_of!(InterruptSync<T>, statistics_file);
        // SAFETY: As the caller guarantees, the object starts `offset` bytes before `file`.
        let sync = unsafe { &*file.as_ptr().byte_sub(offset).cast::<InterruptSync<T>>() };
        let mut out = SeqWriter(seq);
        let _ = writeln!(out, "message irq routine calls handled longest_ns");
        for (message, &irq) in sync.lines().iter().enumerate() {
            let Ok(routines) = sync.routine_statistics(message) else {
                continue;
            };
            for (index, routine) in routines.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{} {} {} {} {} {}",
                    message, irq, index, routine.calls, routine.handled, routine.longest_ns
                );
            }
        }
    }

    /// Formats into a `seq_file`.
    struct SeqWriter(*mut bindings::seq_file);

    impl Write for SeqWriter {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            // SAFETY: `0` is the `seq_file` being shown; `s` is valid for its length.
            unsafe { bindings::seq_write(self.0, s.as_ptr().cast::<c_void>(), s.len()) };
            Ok(())
        }
    }
}
