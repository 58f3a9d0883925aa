// SPDX-License-Identifier: GPL-2.0

//! KUnit test suites written in Rust.
//!
//! [`kunit_suite!`](crate::kunit_suite!) declares a suite whose cases are plain Rust functions;
//! KUnit runs it like a suite declared in C with `kunit_test_suite()`, and reports it in KTAP. A
//! case gets a [`Test`] to record failed expectations on, and returns a [`Result`]: an error
//! fails the case.
//!
//! C header: [`include/kunit/test.h`](srctree/include/kunit/test.h)

use crate::{error::Result, ffi::c_char, prelude::*};
use core::fmt;

/// A running KUnit test case.
///
/// # Invariants
///
/// `raw` points to the `struct kunit` of the case that is running, valid while the case runs.
pub struct Test {
    raw: *mut bindings::kunit,
}

impl Test {
    /// Records the failure of expectation `condition` at `file:line`, with `details`.
    ///
    /// Use [`kunit_expect!`](crate::kunit_expect!) and
    /// [`kunit_expect_eq!`](crate::kunit_expect_eq!) rather than calling this.
    #[doc(hidden)]
    pub fn fail(&self, condition: &str, file: &str, line: u32, details: fmt::Arguments<'_>) {
        // SAFETY: By the type invariant `raw` is the running case; `name` is set before it runs.
        let name = unsafe { CStr::from_char_ptr((*self.raw).name) };
        pr_err!("    # {name}: EXPECTATION FAILED at {file}:{line}\n");
        pr_err!("    Expected {condition}{details}\n");
        self.set_status(bindings::kunit_status_KUNIT_FAILURE);
    }

    /// Marks the case skipped (neither passed nor failed) and says why; the case should return.
    pub fn skip(&self, reason: &str) {
        // SAFETY: By the type invariant `raw` is the running case.
        let name = unsafe { CStr::from_char_ptr((*self.raw).name) };
        pr_info!("    # {name}: skipped: {reason}\n");
        // SAFETY: By the type invariant `raw` is the running case; KUnit prints the comment after
        // the case returns.
        let comment = unsafe { &mut (*self.raw).status_comment };
        let len = reason.len().min(comment.len() - 1);
        for (slot, byte) in comment.iter_mut().zip(reason.as_bytes()[..len].iter()) {
            *slot = *byte as c_char;
        }
        comment[len] = 0;
        self.set_status(bindings::kunit_status_KUNIT_SKIPPED);
    }

    fn set_status(&self, status: bindings::kunit_status) {
        // SAFETY: By the type invariant `raw` is the running case; KUnit reads `status` only after
        // the case has returned, and `kunit_set_failure()` writes it the same way.
        unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!((*self.raw).status), status) };
    }
}

/// Checks that a condition holds; if not, fails the running case and goes on.
///
/// Evaluates to whether the condition held.
#[macro_export]
macro_rules! kunit_expect {
    ($test:expr, $condition:expr $(,)?) => {{
        let held: bool = $condition;
        if !held {
            $test.fail(
                ::core::stringify!($condition),
                ::core::file!(),
                ::core::line!(),
                ::core::format_args!(" to be true"),
            );
        }
        held
    }};
}

/// Checks that two expressions are equal; if not, fails the running case, shows both values and
/// goes on.
///
/// Evaluates to whether they were equal.
#[macro_export]
macro_rules! kunit_expect_eq {
    ($test:expr, $left:expr, $right:expr $(,)?) => {
        // A `match` keeps the temporaries of both expressions alive until the end.
        match (&$left, &$right) {
            (left, right) => {
                let equal = *left == *right;
                if !equal {
                    $test.fail(
                        ::core::concat!(
                            ::core::stringify!($left),
                            " == ",
                            ::core::stringify!($right)
                        ),
                        ::core::file!(),
                        ::core::line!(),
                        ::core::format_args!(", but {:?} != {:?}", left, right),
                    );
                }
                equal
            }
        }
    };
}

/// Runs test case `case` for KUnit.
///
/// # Safety
///
/// `raw` must be the `struct kunit` KUnit passes to the case, valid while the case runs.
#[doc(hidden)]
pub unsafe fn run_case(raw: *mut bindings::kunit, case: fn(&Test) -> Result) {
    // INVARIANT: The safety requirements of this function.
    let test = Test { raw };
    if let Err(error) = case(&test) {
        test.fail(
            "the case",
            "",
            0,
            format_args!(" to return Ok(()), but it returned {error:?}"),
        );
    }
}

/// Returns a `struct kunit_case` for KUnit to run `run` as `name`.
#[doc(hidden)]
pub const fn case(
    name: &'static CStr,
    run: unsafe extern "C" fn(*mut bindings::kunit),
) -> bindings::kunit_case {
    // SAFETY: The all-zero `struct kunit_case` is the empty one, as `{}` initialises it in C.
    let mut case: bindings::kunit_case = unsafe { core::mem::zeroed() };
    case.run_case = Some(run);
    case.name = name.as_char_ptr();
    case
}

/// Returns the all-zero `struct kunit_case` that ends the array of cases.
#[doc(hidden)]
pub const fn end_of_cases() -> bindings::kunit_case {
    // SAFETY: The all-zero `struct kunit_case` is the terminator KUnit expects.
    unsafe { core::mem::zeroed() }
}

/// Returns a `struct kunit_suite` named `name` running `cases`.
///
/// `name` is cut to the 255 bytes that fit.
#[doc(hidden)]
pub const fn suite(name: &str, cases: *mut bindings::kunit_case) -> bindings::kunit_suite {
    // SAFETY: The all-zero `struct kunit_suite` is the empty one, as `{}` initialises it in C.
    let mut suite: bindings::kunit_suite = unsafe { core::mem::zeroed() };
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() && i < suite.name.len() - 1 {
        suite.name[i] = bytes[i] as c_char;
        i += 1;
    }
    suite.test_cases = cases;
    suite
}

/// Declares a KUnit test suite of Rust functions.
///
/// Each case is a `fn(&Test) -> Result`; a failed [`kunit_expect!`](crate::kunit_expect!) or an
/// error fails it. In the kernel image the suite runs at boot with the built-in suites; in a
/// module, when the module is loaded.
///
/// # Examples
///
/// ```ignore
/// use kernel::kunit_suite::Test;
/// use kernel::{kunit_expect, kunit_expect_eq, kunit_suite};
///
/// fn addition(test: &Test) -> Result {
///     kunit_expect_eq!(test, 1 + 1, 2);
///     Ok(())
/// }
///
/// fn allocation(test: &Test) -> Result {
///     let v = KVec::from_elem(0u8, 16, GFP_KERNEL)?;
///     kunit_expect!(test, v.len() == 16);
///     Ok(())
/// }
///
/// kunit_suite!("example", [addition, allocation]);
/// ```
#[macro_export]
macro_rules! kunit_suite {
    ($suite:literal, [$($case:ident),+ $(,)?]) => {
        const _: () = {
            const COUNT: usize = [$(::core::stringify!($case)),+].len();

            static mut CASES: [$crate::bindings::kunit_case; COUNT + 1] = [
                $($crate::kunit_suite::case(
                    $crate::c_str!(::core::stringify!($case)),
                    {
                        /// # Safety
                        ///
                        /// KUnit passes the `struct kunit` of the running case.
                        unsafe extern "C" fn run(raw: *mut $crate::bindings::kunit) {
                            // SAFETY: KUnit passes the running case, valid while it runs.
                            unsafe { $crate::kunit_suite::run_case(raw, $case) }
                        }
                        run
                    },
                ),)+
                $crate::kunit_suite::end_of_cases(),
            ];

            static mut SUITE: $crate::bindings::kunit_suite = $crate::kunit_suite::suite(
                $suite,
                ::core::ptr::addr_of_mut!(CASES).cast(),
            );

            // KUnit finds the suites of the kernel image and of modules in this section.
            #[used]
            #[link_section = ".kunit_test_suites"]
            static mut SUITE_ENTRY: *mut $crate::bindings::kunit_suite =
                ::core::ptr::addr_of_mut!(SUITE);
        };
    };
}
