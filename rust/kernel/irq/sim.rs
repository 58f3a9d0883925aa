// SPDX-License-Identifier: GPL-2.0

//! Simulated interrupt lines, for tests and demonstrations without hardware.
//!
//! The lines come from an `irq_sim` domain: they are requested like any other line, and firing
//! one runs its handlers in hard interrupt context (from an `irq_work`) as a device interrupt
//! would.
//!
//! C header: [`include/linux/irq_sim.h`](srctree/include/linux/irq_sim.h)

use crate::{
    alloc::{flags::GFP_KERNEL, KVec},
    error::{from_err_ptr, to_result, Error, Result},
    prelude::*,
};
use core::{marker::PhantomData, ptr::NonNull};

/// A set of simulated interrupt lines.
///
/// Drop every handler of the lines (disconnect every [`InterruptSync`](super::InterruptSync)
/// connected to them) before dropping the set. A set dropped while a line still has a handler is
/// leaked, with an error in the kernel log, rather than freed under that handler.
///
/// # Invariants
///
/// `domain` is a live `irq_sim` domain with `irqs.len()` lines, and line `i` is mapped to
/// interrupt number `irqs[i]`.
///
/// # Examples
///
/// ```
/// use kernel::irq::{sim::SimLines, DispatchMode, Flags, IrqReturn, Placement};
/// use kernel::new_interrupt_sync;
///
/// let lines = SimLines::new(1)?;
/// let sync = KBox::pin_init(
///     new_interrupt_sync!(lines.irq(0)?, DispatchMode::Normal, 0u32, "sim_example"),
///     GFP_KERNEL,
/// )?;
/// sync.register_service_routine(
///     |count| {
///         *count += 1;
///         IrqReturn::Handled
///     },
///     Placement::Last,
/// )?;
///
/// sync.connect(Flags::NONE)?;
/// lines.handle(0)?;
/// sync.disconnect();
///
/// assert_eq!(sync.call_synchronized(|count| *count), 1);
/// # Ok::<(), Error>(())
/// ```
pub struct SimLines {
    domain: NonNull<bindings::irq_domain>,
    irqs: KVec<u32>,
}

// SAFETY: The domain is only used through the interrupt core, which serialises access to it; the
// set may be used and dropped on any CPU.
unsafe impl Send for SimLines {}

// SAFETY: As above: the methods taking `&self` only call thread-safe interrupt core functions.
unsafe impl Sync for SimLines {}

impl SimLines {
    /// Creates `count` simulated lines. May sleep.
    pub fn new(count: u32) -> Result<Self> {
        let lines = usize::try_from(count)?;
        let irqs = KVec::with_capacity(lines, GFP_KERNEL)?;

        // SAFETY: A domain without a firmware node is allowed.
        let domain =
            from_err_ptr(unsafe { bindings::irq_domain_create_sim(core::ptr::null_mut(), count) })?;
        let domain = NonNull::new(domain).ok_or(ENOMEM)?;

        // INVARIANT: No line is mapped yet and `irqs` is empty.
        let mut sim = SimLines { domain, irqs };
        for hwirq in 0..lines {
            // SAFETY: By the type invariant `domain` is live, and `hwirq` is one of its lines.
            let irq = unsafe { bindings::irq_create_mapping(sim.domain.as_ptr(), hwirq) };
            if irq == 0 {
                return Err(ENOMEM);
            }
            // INVARIANT: Line `hwirq` is mapped to `irq`, pushed at index `hwirq`.
            sim.irqs.push(irq, GFP_KERNEL)?;
        }
        Ok(sim)
    }

    /// Returns how many lines the set has.
    pub fn len(&self) -> usize {
        self.irqs.len()
    }

    /// Returns whether the set has no line.
    pub fn is_empty(&self) -> bool {
        self.irqs.is_empty()
    }

    /// Returns the interrupt number of line `index`, or `EINVAL` if there is no such line.
    #[inline]
    pub fn irq(&self, index: usize) -> Result<u32> {
        self.irqs.get(index).copied().ok_or(EINVAL)
    }

    /// Raises line `index`, as a device would.
    ///
    /// The handlers run soon after, in hard interrupt context on this CPU. A line nobody requested
    /// is masked and ignores it; raising a line whose interrupt is still pending merges with it.
    pub fn fire(&self, index: usize) -> Result {
        let irq = self.irq(index)?;
        // SAFETY: `irq` is a line of this live domain.
        to_result(unsafe {
            bindings::irq_set_irqchip_state(
                irq,
                bindings::irqchip_irq_state_IRQCHIP_STATE_PENDING,
                true,
            )
        })
    }

    /// Raises line `index` and returns once its handlers have run, or `ETIMEDOUT` if the interrupt
    /// is still pending after about a second. May sleep.
    ///
    /// A line nobody requested ignores the interrupt, and this returns at once.
    pub fn fire_and_wait(&self, index: usize) -> Result {
        let irq = self.irq(index)?;
        self.fire(index)?;
        let mut pending = true;
        for _ in 0..1000 {
            // A masked line's state is not written: it has nothing pending.
            pending = false;
            // SAFETY: `irq` is a line of this live domain and `pending` is valid for writes.
            to_result(unsafe {
                bindings::irq_get_irqchip_state(
                    irq,
                    bindings::irqchip_irq_state_IRQCHIP_STATE_PENDING,
                    &mut pending,
                )
            })?;
            if !pending {
                break;
            }
            // SAFETY: The function may sleep, and the caller's context allows it.
            unsafe { bindings::msleep(1) };
        }
        if pending {
            return Err(Error::from_errno(-(bindings::ETIMEDOUT as i32)));
        }
        // The interrupt was taken; wait for a handler still running on another CPU.
        // SAFETY: `irq` is a line of this live domain; the caller may sleep.
        unsafe { bindings::synchronize_irq(irq) };
        Ok(())
    }

    /// Makes line `index` level-triggered for the interrupt core when it is handled with
    /// [`SimLines::handle`]: its flow handler masks it while its handlers run, and keeps it
    /// masked until the thread handler of a [`Flags::ONESHOT`](super::Flags::ONESHOT)
    /// registration returns. Lines are edge-like (`handle_simple_irq()`) until then, and always
    /// when fired: `irq_sim` delivers through that flow handler itself.
    pub fn use_level_flow(&self, index: usize) -> Result {
        let irq = self.irq(index)?;
        // SAFETY: `irq` is a line of this live domain; `handle_level_irq()` suits any chip that
        // can mask, as `irq_sim`'s can.
        unsafe { bindings::irq_set_handler(irq, Some(bindings::handle_level_irq)) };
        Ok(())
    }

    /// Returns whether line `index` is masked at its chip.
    pub fn is_masked(&self, index: usize) -> Result<bool> {
        let irq = self.irq(index)?;
        // SAFETY: `irq` is a line of this live domain.
        Ok(unsafe { bindings::irq_line_masked(irq) })
    }

    /// Runs the handlers of line `index` now, on this CPU with local interrupts disabled, through
    /// `generic_handle_irq_safe()`: the dispatch path of a real interrupt, without the delivery.
    #[inline]
    pub fn handle(&self, index: usize) -> Result {
        self.line(index)?.handle()
    }

    /// Returns line `index`, or `EINVAL` if there is no such line: a handle on it that runs its
    /// handlers without looking it up again, as a loop timing its dispatch needs.
    #[inline]
    pub fn line(&self, index: usize) -> Result<SimLine<'_>> {
        // INVARIANT: `irq` is line `index` of `self`, which the new value borrows.
        Ok(SimLine {
            irq: self.irq(index)?,
            _lines: PhantomData,
        })
    }
}

/// One line of a [`SimLines`] set, which it borrows.
///
/// # Invariants
///
/// `irq` is the interrupt number of a line of the set it borrows, which stays mapped while the
/// set lives.
///
/// # Examples
///
/// ```
/// use kernel::irq::sim::SimLines;
///
/// let lines = SimLines::new(2)?;
/// let line = lines.line(1)?;
/// assert_eq!(line.irq(), lines.irq(1)?);
/// assert_eq!(lines.line(2).err(), Some(EINVAL));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct SimLine<'a> {
    irq: u32,
    _lines: PhantomData<&'a SimLines>,
}

impl SimLine<'_> {
    /// Returns the interrupt number of the line.
    #[inline]
    pub fn irq(&self) -> u32 {
        self.irq
    }

    /// Runs the handlers of the line now, as [`SimLines::handle`] does.
    #[inline]
    pub fn handle(&self) -> Result {
        // Matched here rather than by `to_result()`, which is a call, so that a timing loop costs
        // what C's does.
        // SAFETY: By the type invariant `irq` is a line of a live domain; the function may be
        // called from any context.
        match unsafe { bindings::generic_handle_irq_safe(self.irq) } {
            0 => Ok(()),
            error => Err(Error::from_errno(error)),
        }
    }
}

impl Drop for SimLines {
    fn drop(&mut self) {
        for &irq in self.irqs.iter() {
            // SAFETY: `irq` is a line of this live domain.
            if unsafe { bindings::irq_has_action(irq) } {
                pr_err!("irq_sim line {irq} still has a handler: leaking its domain\n");
                return;
            }
        }
        for &irq in self.irqs.iter() {
            // SAFETY: `irq` is mapped in this domain and has no handler.
            unsafe { bindings::irq_dispose_mapping(irq) };
        }
        // SAFETY: By the type invariant the domain is live; its mappings are disposed of, and it is
        // not used after this.
        unsafe { bindings::irq_domain_remove_sim(self.domain.as_ptr()) };
    }
}
