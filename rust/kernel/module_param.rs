// SPDX-License-Identifier: GPL-2.0

//! Module parameters: values set on the `insmod` command line, or on the kernel command line
//! as `module.name=value` when the module is built in.
//!
//! Declare them with [`module_param!`](crate::module_param!). They are read-only once the
//! module runs: `/sys/module/<module>/parameters/<name>` shows them, and nothing writes them.
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h)

use crate::{bindings, ffi::c_void, str::CStr};
use core::cell::UnsafeCell;

/// The value of a module parameter.
///
/// # Invariants
///
/// The kernel writes `value` only while it parses the parameters, before the module's code
/// runs: afterwards it is read-only (the parameter's mode is `0444`).
pub struct Param<T> {
    value: UnsafeCell<T>,
}

// SAFETY: By the type invariant the value is not written while the module can read it.
unsafe impl<T: Sync> Sync for Param<T> {}

impl<T: Copy> Param<T> {
    /// Creates a parameter with the value `default`. Use [`module_param!`](crate::module_param!).
    #[doc(hidden)]
    pub const fn new(default: T) -> Self {
        Self {
            value: UnsafeCell::new(default),
        }
    }

    #[doc(hidden)]
    pub const fn as_ptr(&self) -> *mut c_void {
        self.value.get().cast()
    }

    /// Returns the value the module was loaded with, or the default.
    pub fn get(&self) -> T {
        // SAFETY: By the type invariant nothing writes the value any more.
        unsafe { self.value.get().read_volatile() }
    }
}

/// A C `struct kernel_param`, as the `__param` section holds them. Made by
/// [`module_param!`](crate::module_param!).
#[doc(hidden)]
#[repr(transparent)]
pub struct KernelParam(bindings::kernel_param);

// SAFETY: The structure is only read, by the module loader.
unsafe impl Sync for KernelParam {}

impl KernelParam {
    /// # Safety
    ///
    /// `arg` must point to a `'static` value of the type that `ops` parses.
    #[doc(hidden)]
    pub const unsafe fn new(
        name: &'static CStr,
        ops: *const bindings::kernel_param_ops,
        arg: *mut c_void,
    ) -> Self {
        Self(bindings::kernel_param {
            name: name.as_char_ptr(),
            mod_: core::ptr::null_mut(),
            ops,
            perm: 0o444,
            level: -1,
            flags: 0,
            __bindgen_anon_1: bindings::kernel_param__bindgen_ty_1 { arg },
        })
    }
}

#[doc(hidden)]
#[macro_export]
macro_rules! __module_param_ops {
    (bool) => {
        ::core::ptr::addr_of!($crate::bindings::param_ops_bool)
    };
    (u32) => {
        ::core::ptr::addr_of!($crate::bindings::param_ops_uint)
    };
    (i32) => {
        ::core::ptr::addr_of!($crate::bindings::param_ops_int)
    };
}

/// Declares a module parameter of type `bool`, `u32` or `i32`.
///
/// `name` is the parameter's name on the command line; `module` must be the module's name,
/// which prefixes the parameter when the module is built in.
///
/// # Examples
///
/// ```ignore
/// kernel::module_param! {
///     /// Use the legacy INTx line instead of MSI.
///     static USE_INTX: bool = false, name: "use_intx", module: "rust_irqsync_edu";
/// }
///
/// if USE_INTX.get() { /* ... */ }
/// ```
#[macro_export]
macro_rules! module_param {
    ($(#[$meta:meta])* $vis:vis static $var:ident: $ty:ident = $default:expr,
     name: $name:literal, module: $module:literal $(;)?) => {
        $(#[$meta])*
        $vis static $var: $crate::module_param::Param<$ty> =
            $crate::module_param::Param::new($default);

        const _: () = {
            #[link_section = "__param"]
            #[used]
            static PARAM: $crate::module_param::KernelParam = {
                let name = if cfg!(MODULE) {
                    $crate::c_str!($name)
                } else {
                    $crate::c_str!(::core::concat!($module, ".", $name))
                };
                // SAFETY: `$var` is a `'static` value of type `$ty`, which the operations of
                // `$ty` parse.
                unsafe {
                    $crate::module_param::KernelParam::new(
                        name,
                        $crate::__module_param_ops!($ty),
                        $var.as_ptr(),
                    )
                }
            };
        };
    };
}
