// SPDX-License-Identifier: GPL-2.0

//! Sleeping, yielding the CPU and polling for a condition with a timeout.
//!
//! C header: [`include/linux/delay.h`](srctree/include/linux/delay.h)

use crate::{
    bindings,
    error::{Error, Result},
    time::Ktime,
};

/// Sleeps for `min_us` to `max_us` microseconds. Process context only.
pub fn usleep_range(min_us: u64, max_us: u64) {
    // SAFETY: Sleeping has no preconditions beyond process context, which callers guarantee
    // as this function documents.
    unsafe {
        bindings::usleep_range_state(min_us as _, max_us as _, bindings::TASK_UNINTERRUPTIBLE)
    };
}

/// Gives the CPU to another task if one is waiting for it (`cond_resched()`).
///
/// Long loops in process context call it on each round, so that they do not keep other tasks
/// off the CPU on kernels without full preemption. Returns whether it rescheduled.
#[inline]
pub fn cond_resched() -> bool {
    // Without preemption, debugging or live patching the C macro comes down to a call of
    // `__cond_resched()`: called directly, as C does, rather than through the helper.
    #[cfg(not(any(CONFIG_PREEMPTION, CONFIG_DEBUG_ATOMIC_SLEEP, CONFIG_LIVEPATCH)))]
    {
        // SAFETY: Process context only, which callers guarantee as this function documents.
        unsafe { bindings::__cond_resched() != 0 }
    }
    #[cfg(any(CONFIG_PREEMPTION, CONFIG_DEBUG_ATOMIC_SLEEP, CONFIG_LIVEPATCH))]
    {
        // SAFETY: Process context only, which callers guarantee as this function documents.
        unsafe { bindings::cond_resched() != 0 }
    }
}

/// Returns the `ETIMEDOUT` error, which `kernel::error::code` does not have in this kernel.
pub fn etimedout() -> Error {
    Error::from_errno(-(bindings::ETIMEDOUT as i32))
}

/// Calls `done` until it returns true, for at most `timeout_us` microseconds.
///
/// Between calls it sleeps about `sleep_us` microseconds, or only spins the CPU when `sleep_us`
/// is 0, for the shortest latency. Fails with `ETIMEDOUT` if `done` is still false after the
/// timeout (it is called once more at the end). Process context only.
///
/// # Examples
///
/// ```
/// use kernel::delay::{etimedout, poll_timeout};
///
/// let mut calls = 0;
/// assert_eq!(poll_timeout(|| { calls += 1; calls == 3 }, 10, 100_000), Ok(()));
/// assert_eq!(poll_timeout(|| false, 0, 1000), Err(etimedout()));
/// ```
#[inline]
pub fn poll_timeout(mut done: impl FnMut() -> bool, sleep_us: u64, timeout_us: u64) -> Result {
    let start = Ktime::ktime_get();
    loop {
        if done() {
            return Ok(());
        }
        let elapsed_us = (Ktime::ktime_get() - start).to_ns() / 1000;
        if elapsed_us >= timeout_us as i64 {
            return if done() { Ok(()) } else { Err(etimedout()) };
        }
        if sleep_us == 0 {
            core::hint::spin_loop();
        } else {
            usleep_range(sleep_us / 2 + 1, sleep_us);
        }
    }
}
