// SPDX-License-Identifier: GPL-2.0

//! A debugfs directory of numeric attribute files backed by a Rust object.
//!
//! Each file of a [`Directory`] reads as one decimal number followed by a newline, and takes a
//! number (decimal, or hexadecimal with `0x`) when written. Reads call
//! [`Attributes::show`] and writes [`Attributes::store`] with the file's value of
//! [`Attributes::File`], typically an enum with one variant per file, so that a match on it
//! names every file; an error they return is what the `read()` or `write()` system call
//! returns.
//!
//! The directory owns the object. Dropping it removes the files first, waiting for reads and
//! writes in progress, and only then drops the object, so a file operation never sees a freed
//! object, even when a device is unplugged while a file is open: the open file then fails its
//! reads and writes with `EIO`.
//!
//! The file operations belong to the module that implements [`Attributes`]
//! ([`Attributes::OWNER`]): while a file is open the module cannot be unloaded (`rmmod` fails
//! with `EBUSY`), so closing the file never calls into a module that is gone.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h)

use crate::{
    alloc::{flags::GFP_KERNEL, KVec},
    bindings,
    error::{code::*, from_err_ptr, Error, Result},
    ffi::{c_char, c_void},
    init::PinInit,
    prelude::*,
    str::CStr,
    ThisModule,
};
use core::{fmt::Write, ptr};

/// One file of a [`Directory`]: its name, its mode, and `file`, what the object's methods get
/// to tell it from the others.
pub struct Attribute<F> {
    name: &'static CStr,
    mode: u16,
    file: F,
}

impl<F> Attribute<F> {
    /// A file that can be read.
    pub const fn read_only(name: &'static CStr, file: F) -> Self {
        Self {
            name,
            mode: 0o444,
            file,
        }
    }

    /// A file that can be written by root.
    pub const fn write_only(name: &'static CStr, file: F) -> Self {
        Self {
            name,
            mode: 0o200,
            file,
        }
    }

    /// A file that can be read, and written by root.
    pub const fn read_write(name: &'static CStr, file: F) -> Self {
        Self {
            name,
            mode: 0o644,
            file,
        }
    }
}

/// An object whose values a [`Directory`] shows as files.
///
/// The methods get the [`Attributes::File`] of the file read or written, as
/// [`Attributes::FILES`] gives it. Both run in process context and may sleep.
pub trait Attributes: Send + Sync + 'static {
    /// The module whose code serves the files: always `&THIS_MODULE`.
    ///
    /// An open file holds a reference to it, as `.owner = THIS_MODULE` does in C, so the module
    /// is not unloaded while the file is open. There is no default: an implementation without
    /// it does not compile.
    const OWNER: &'static ThisModule;

    /// What tells the files apart: typically an enum with a variant per file.
    type File: Copy + Send + Sync + 'static;

    /// The files of the directory.
    const FILES: &'static [Attribute<Self::File>];

    /// Returns the value of `file`. `EPERM` by default.
    fn show(&self, _file: Self::File) -> Result<u64> {
        Err(EPERM)
    }

    /// Takes `value`, written to `file`. `EPERM` by default.
    fn store(&self, _file: Self::File, _value: u64) -> Result {
        Err(EPERM)
    }
}

/// What a file's `i_private` points to: the object and which of its files this is.
struct Entry<T: Attributes> {
    data: *const T,
    file: T::File,
}

/// A debugfs directory showing the attributes of `T`, which it owns.
///
/// # Invariants
///
/// `dentry` is the directory, created by `debugfs_create_dir()`, or an error pointer if debugfs
/// is not available. Its files point to the elements of `entries`, which point to `data`;
/// neither moves nor changes while the files exist, and the files are removed before either is
/// dropped.
///
/// # Examples
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use kernel::{c_str, debugfs, debugfs::Attributes};
///
/// struct Counter(AtomicU64);
///
/// // Doctests are built into the kernel: no module serves their files.
/// // SAFETY: A null module is what `THIS_MODULE` is in built-in code.
/// static BUILT_IN: kernel::ThisModule =
///     unsafe { kernel::ThisModule::from_ptr(core::ptr::null_mut()) };
///
/// #[derive(Clone, Copy)]
/// enum File {
///     Count,
///     Doubled,
/// }
///
/// impl debugfs::Attributes for Counter {
///     // A module writes `&THIS_MODULE`.
///     const OWNER: &'static kernel::ThisModule = &BUILT_IN;
///     type File = File;
///     const FILES: &'static [debugfs::Attribute<File>] = &[
///         debugfs::Attribute::read_write(c_str!("count"), File::Count),
///         debugfs::Attribute::read_only(c_str!("doubled"), File::Doubled),
///     ];
///
///     fn show(&self, file: File) -> Result<u64> {
///         let count = self.0.load(Ordering::Relaxed);
///         Ok(match file {
///             File::Count => count,
///             File::Doubled => count * 2,
///         })
///     }
///
///     fn store(&self, file: File, value: u64) -> Result {
///         match file {
///             File::Count => self.0.store(value, Ordering::Relaxed),
///             File::Doubled => return Err(EPERM),
///         }
///         Ok(())
///     }
/// }
///
/// let dir = KBox::pin_init(
///     debugfs::Directory::new(c_str!("rust_debugfs_example"), Counter(AtomicU64::new(7))),
///     GFP_KERNEL,
/// )?;
/// assert_eq!(dir.data().show(File::Doubled), Ok(14));
/// # Ok::<(), Error>(())
/// ```
#[pin_data(PinnedDrop)]
pub struct Directory<T: Attributes> {
    #[pin]
    data: T,
    entries: KVec<Entry<T>>,
    dentry: *mut bindings::dentry,
}

// SAFETY: The raw pointers point to `data` and to debugfs objects, which may be used and
// removed from any thread; `T` is `Send`.
unsafe impl<T: Attributes> Send for Directory<T> {}

// SAFETY: Shared access reaches `data`, which is `Sync`, and nothing else.
unsafe impl<T: Attributes> Sync for Directory<T> {}

impl<T: Attributes> Directory<T> {
    /// Creates the directory `name` at the top of debugfs, with the files of `T`, for the object
    /// `data` initialises.
    ///
    /// Fails with `EEXIST` if a directory of that name exists. When debugfs is not available the
    /// object is still created, without files.
    pub fn new<'a>(
        name: &'a CStr,
        data: impl PinInit<T, Error> + 'a,
    ) -> impl PinInit<Self, Error> + 'a {
        try_pin_init!(&this in Self {
            data <- data,
            entries: KVec::with_capacity(T::FILES.len(), GFP_KERNEL)?,
            // SAFETY: `this` is the object being initialised: `data` and `entries` are
            // initialised above, and the object is pinned.
            dentry: unsafe { Self::create_files(this.as_ptr(), name)? },
        })
    }

    /// Creates the directory and its files.
    ///
    /// # Safety
    ///
    /// `this` must point to a pinned object whose `data` and `entries` are initialised, with
    /// `entries` empty and with room for all the files.
    unsafe fn create_files(this: *mut Self, name: &CStr) -> Result<*mut bindings::dentry> {
        // SAFETY: `name` is a valid string; a null parent is the debugfs root.
        let dir = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), ptr::null_mut()) };
        if let Err(error) = from_err_ptr(dir) {
            return if error == ENODEV { Ok(dir) } else { Err(error) };
        }

        // SAFETY: By the safety requirements the fields are initialised.
        let data = unsafe { ptr::addr_of!((*this).data) };
        // SAFETY: As above; nothing else refers to `entries` yet.
        let entries = unsafe { &mut *ptr::addr_of_mut!((*this).entries) };
        for (index, attribute) in T::FILES.iter().enumerate() {
            // Within the capacity reserved by `new`: the vector does not move.
            entries.push(
                Entry {
                    data,
                    file: attribute.file,
                },
                GFP_KERNEL,
            )?;
            let entry: *const Entry<T> = &entries[index];
            // SAFETY: `dir` is a valid directory; `entry` and the object it points to outlive
            // the file, which `drop` removes first.
            let file = unsafe {
                bindings::debugfs_create_file(
                    attribute.name.as_char_ptr(),
                    attribute.mode,
                    dir,
                    entry.cast_mut().cast(),
                    &Self::FILE_OPERATIONS,
                )
            };
            if let Err(error) = from_err_ptr(file) {
                // SAFETY: `dir` is the directory created above.
                unsafe { bindings::debugfs_remove(dir) };
                return Err(error);
            }
        }
        Ok(dir)
    }

    /// Returns the object the directory shows.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The operations of every file; the owner keeps the module loaded while a file is open.
    const FILE_OPERATIONS: bindings::file_operations = bindings::file_operations {
        owner: T::OWNER.as_ptr(),
        open: Some(bindings::simple_open),
        read: Some(Self::read),
        write: Some(Self::write),
        llseek: Some(bindings::default_llseek),
        // SAFETY: All-zero is a valid value for the other members.
        ..unsafe { core::mem::zeroed() }
    };

    /// Returns the entry of an open file.
    ///
    /// # Safety
    ///
    /// `file` must be a file of a `Directory<T>` opened with `simple_open()`, in one of its
    /// operations.
    unsafe fn entry<'a>(file: *mut bindings::file) -> &'a Entry<T> {
        // SAFETY: `simple_open()` copied the inode's `i_private`, an `Entry<T>` that outlives
        // the operation because debugfs removal waits for it.
        unsafe { &*(*file).private_data.cast::<Entry<T>>() }
    }

    /// Reads the file: the value of the attribute, as text.
    ///
    /// # Safety
    ///
    /// Called by the VFS only, with the arguments of `file_operations::read`.
    unsafe extern "C" fn read(
        file: *mut bindings::file,
        buf: *mut c_char,
        count: usize,
        ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: The function is only used in `FILE_OPERATIONS`.
        let entry = unsafe { Self::entry(file) };
        // SAFETY: By the type invariant `data` is valid while the file exists.
        let value = match unsafe { &*entry.data }.show(entry.file) {
            Ok(value) => value,
            Err(error) => return error.to_errno() as isize,
        };
        let mut text = Text::default();
        // A `u64` and a newline always fit.
        let _ = writeln!(text, "{value}");
        // SAFETY: `buf` is a user buffer of `count` bytes and `ppos` the file position, as the
        // VFS passes them; `text` is valid for `text.len` bytes.
        unsafe {
            bindings::simple_read_from_buffer(
                buf.cast(),
                count,
                ppos,
                text.bytes.as_ptr().cast::<c_void>(),
                text.len,
            )
        }
    }

    /// Writes the file: a number for the attribute.
    ///
    /// # Safety
    ///
    /// Called by the VFS only, with the arguments of `file_operations::write`.
    unsafe extern "C" fn write(
        file: *mut bindings::file,
        buf: *const c_char,
        count: usize,
        _ppos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: The function is only used in `FILE_OPERATIONS`.
        let entry = unsafe { Self::entry(file) };
        let mut value = 0u64;
        // SAFETY: `buf` is a user buffer of `count` bytes; `value` is a valid place to store to.
        let ret = unsafe { bindings::kstrtoull_from_user(buf, count, 0, &mut value) };
        if ret < 0 {
            return ret as isize;
        }
        // SAFETY: By the type invariant `data` is valid while the file exists.
        match unsafe { &*entry.data }.store(entry.file, value) {
            Ok(()) => count as isize,
            Err(error) => error.to_errno() as isize,
        }
    }
}

#[pinned_drop]
impl<T: Attributes> PinnedDrop for Directory<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant `dentry` is the directory or an error pointer, which
        // `debugfs_remove()` ignores. It waits for file operations in progress, so afterwards
        // nothing refers to `entries` or `data`, which are dropped next.
        unsafe { bindings::debugfs_remove(self.dentry) };
    }
}

/// A small text buffer for one number.
#[derive(Default)]
struct Text {
    bytes: [u8; 24],
    len: usize,
}

impl Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(core::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
