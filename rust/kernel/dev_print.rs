// SPDX-License-Identifier: GPL-2.0

//! Kernel log messages prefixed with a device's driver and name: [`dev_err!`], [`dev_warn!`],
//! [`dev_info!`].
//!
//! C header: [`include/linux/dev_printk.h`](srctree/include/linux/dev_printk.h)
//!
//! [`dev_err!`]: crate::dev_err
//! [`dev_warn!`]: crate::dev_warn
//! [`dev_info!`]: crate::dev_info

use crate::{bindings, c_str, device::Device, ffi::c_void};
use core::fmt;

impl AsRef<Device> for Device {
    fn as_ref(&self) -> &Device {
        self
    }
}

/// The log level of a device message.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum Level {
    Err,
    Warn,
    Info,
}

/// Prints `args` at `level` for `dev`. Use the macros instead.
#[doc(hidden)]
pub fn print(level: Level, dev: &Device, args: fmt::Arguments<'_>) {
    let format = c_str!("%pA").as_char_ptr();
    let args: *const c_void = (&args as *const fmt::Arguments<'_>).cast();
    let dev = dev.as_raw();
    // SAFETY: `dev` is a valid device; `%pA` takes a pointer to `fmt::Arguments`, which `args`
    // is, valid for the duration of the call.
    unsafe {
        match level {
            Level::Err => bindings::_dev_err(dev, format, args),
            Level::Warn => bindings::_dev_warn(dev, format, args),
            Level::Info => bindings::_dev_info(dev, format, args),
        }
    }
}

/// Prints an error message for a device, like `dev_err()`.
///
/// The first argument is a device, or anything that dereferences to something that is
/// `AsRef<Device>`, such as a [`pci::Device`](crate::pci::Device); the rest is a format string
/// and its arguments, as for [`pr_err!`](crate::pr_err).
///
/// # Examples
///
/// ```ignore
/// dev_err!(pdev, "BAR {} is missing\n", 0);
/// ```
#[macro_export]
macro_rules! dev_err {
    ($dev:expr, $($arg:tt)+) => {
        $crate::dev_print::print(
            $crate::dev_print::Level::Err,
            ::core::convert::AsRef::<$crate::device::Device>::as_ref(&*$dev),
            ::core::format_args!($($arg)+),
        )
    };
}

/// Prints a warning for a device, like `dev_warn()`. See [`dev_err!`](crate::dev_err).
#[macro_export]
macro_rules! dev_warn {
    ($dev:expr, $($arg:tt)+) => {
        $crate::dev_print::print(
            $crate::dev_print::Level::Warn,
            ::core::convert::AsRef::<$crate::device::Device>::as_ref(&*$dev),
            ::core::format_args!($($arg)+),
        )
    };
}

/// Prints an informational message for a device, like `dev_info()`. See
/// [`dev_err!`](crate::dev_err).
#[macro_export]
macro_rules! dev_info {
    ($dev:expr, $($arg:tt)+) => {
        $crate::dev_print::print(
            $crate::dev_print::Level::Info,
            ::core::convert::AsRef::<$crate::device::Device>::as_ref(&*$dev),
            ::core::format_args!($($arg)+),
        )
    };
}
