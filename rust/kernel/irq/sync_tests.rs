// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `rust_irq_sync`: [`InterruptSync`], [`SpinLockIrq`](crate::sync::SpinLockIrq)
//! and [`Registration`] under real interrupts fired on simulated lines.

use super::{
    sim::SimLines, DispatchMode, Flags, Handler, InterruptSync, IrqReturn, Placement, Registration,
    Statistics, MAX_REPEAT_PASSES,
};
use crate::{
    c_str,
    error::{from_err_ptr, to_result},
    ffi::{c_int, c_void},
    kunit_expect, kunit_expect_eq,
    kunit_suite::Test,
    new_interrupt_sync, new_interrupt_sync_group,
    prelude::*,
    sync::{new_spinlock_irq, Arc},
};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

mod deferred;
mod line_control;

/// The device state of most cases: which routines ran, in order.
struct Trace {
    calls: [u8; 64],
    len: usize,
    value: u64,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            calls: [0; 64],
            len: 0,
            value: 0,
        }
    }
}

impl Trace {
    fn record(&mut self, id: u8) {
        if self.len < self.calls.len() {
            self.calls[self.len] = id;
        }
        self.len += 1;
    }
}

type TestSync = Pin<KBox<InterruptSync<Trace>>>;

fn new_sync(lines: &SimLines, index: usize, mode: DispatchMode) -> Result<TestSync> {
    KBox::pin_init(
        new_interrupt_sync!(
            lines.irq(index)?,
            mode,
            Trace::default(),
            "rust_irq_sync_test"
        ),
        GFP_KERNEL,
    )
}

/// A routine that records `id` and returns `ret`.
fn recorder(id: u8, ret: IrqReturn) -> impl FnMut(&mut Trace) -> IrqReturn + Send {
    move |trace| {
        trace.record(id);
        ret
    }
}

/// A routine that records `id` and handles the interrupt while `handles` is set.
fn switchable_recorder(
    id: u8,
    handles: &Arc<AtomicBool>,
) -> impl FnMut(&mut Trace) -> IrqReturn + Send {
    let handles = handles.clone();
    move |trace| {
        trace.record(id);
        IrqReturn::from_handled(handles.load(Ordering::Relaxed))
    }
}

/// Polls `done` until it holds: a few spins, then 1 ms sleeps for up to two seconds.
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..1000 {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    for _ in 0..2000 {
        if done() {
            return true;
        }
        // SAFETY: Cases run in process context, where sleeping is allowed.
        unsafe { bindings::msleep(1) };
    }
    done()
}

/// Waits up to two seconds for `done`, spinning and rescheduling rather than sleeping: for waits
/// that are usually far shorter than the tick, to which each of `wait_until`'s sleeps is rounded
/// up (these kernels have no high-resolution timers).
fn spin_until(mut done: impl FnMut() -> bool) -> bool {
    let start = crate::time::Ktime::ktime_get();
    while (crate::time::Ktime::ktime_get() - start).to_ms() < 2000 {
        if done() {
            return true;
        }
        core::hint::spin_loop();
        crate::delay::cond_resched();
    }
    done()
}

fn dispatched(statistics: Statistics) -> u64 {
    statistics.handled + statistics.unhandled
}

/// Fires line `index` and waits until `sync` dispatched it.
fn fire_and_wait(lines: &SimLines, index: usize, sync: &TestSync) -> Result<bool> {
    let before = dispatched(sync.statistics());
    lines.fire(index)?;
    Ok(wait_until(|| dispatched(sync.statistics()) > before))
}

fn calls_of(sync: &TestSync) -> KVec<u8> {
    let mut calls = KVec::new();
    let (buffer, len) = sync.call_synchronized(|trace| (trace.calls, trace.len));
    let _ = calls.extend_from_slice(&buffer[..len.min(buffer.len())], GFP_KERNEL);
    calls
}

fn spinlock_irq_returns_closure_value(test: &Test) -> Result {
    let lock = KBox::pin_init(new_spinlock_irq!(20u32), GFP_KERNEL)?;
    let seen = lock.with_lock(|value| {
        *value += 1;
        *value * 2
    });
    kunit_expect_eq!(test, seen, 42);
    kunit_expect_eq!(test, lock.with_lock(|value| *value), 21);
    Ok(())
}

/// Whether holding a `SpinLockIrq` disables local interrupts: everywhere but on
/// `CONFIG_PREEMPT_RT`, where the lock sleeps and handlers are threads that take it too.
/// (Force-threaded handlers on other kernels, `threadirqs`, still run with interrupts disabled.)
const LOCK_DISABLES_INTERRUPTS: bool = !cfg!(CONFIG_PREEMPT_RT);

fn spinlock_irq_disables_and_restores_interrupts(test: &Test) -> Result {
    let lock = KBox::pin_init(new_spinlock_irq!(()), GFP_KERNEL)?;
    kunit_expect!(test, !super::local_interrupts_disabled());
    kunit_expect_eq!(
        test,
        lock.with_lock(|()| super::local_interrupts_disabled()),
        LOCK_DISABLES_INTERRUPTS
    );
    kunit_expect!(test, !super::local_interrupts_disabled());
    Ok(())
}

fn spinlock_irq_nested_locks_restore_in_order(test: &Test) -> Result {
    let outer = KBox::pin_init(new_spinlock_irq!(1u32), GFP_KERNEL)?;
    let inner = KBox::pin_init(new_spinlock_irq!(2u32), GFP_KERNEL)?;
    let (sum, disabled_after_inner) = outer.with_lock(|o| {
        let sum = *o + inner.with_lock(|i| *i);
        (sum, super::local_interrupts_disabled())
    });
    kunit_expect_eq!(test, sum, 3);
    // The inner lock restored the state it saved (disabled), not the one of the caller.
    kunit_expect_eq!(test, disabled_after_inner, LOCK_DISABLES_INTERRUPTS);
    kunit_expect!(test, !super::local_interrupts_disabled());
    Ok(())
}

fn spinlock_irq_from_interrupts_disabled_context(test: &Test) -> Result {
    let lock = KBox::pin_init(new_spinlock_irq!(1u32), GFP_KERNEL)?;
    // With interrupts enabled it saves and disables them, as `with_lock` does.
    kunit_expect_eq!(
        test,
        lock.with_lock_irqs_disabled(|_| super::local_interrupts_disabled()),
        LOCK_DISABLES_INTERRUPTS
    );
    kunit_expect!(test, !super::local_interrupts_disabled());
    // Nested in a section with interrupts disabled, it leaves them disabled.
    let inner = KBox::pin_init(new_spinlock_irq!(40u32), GFP_KERNEL)?;
    let (value, disabled) = lock.with_lock(|outer| {
        *outer += 1;
        let value = inner.with_lock_irqs_disabled(|v| *v + 2);
        (value, super::local_interrupts_disabled())
    });
    kunit_expect_eq!(test, value, 42);
    kunit_expect_eq!(test, disabled, LOCK_DISABLES_INTERRUPTS);
    kunit_expect_eq!(test, lock.with_lock(|v| *v), 2);
    Ok(())
}

fn call_synchronized_returns_any_type(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let value = sync.call_synchronized(|trace| {
        trace.value = 7;
        trace.value * 6
    });
    kunit_expect_eq!(test, value, 42u64);
    let pair = sync.call_synchronized(|trace| (trace.value, trace.len));
    kunit_expect_eq!(test, pair, (7u64, 0usize));
    kunit_expect!(test, sync.call_synchronized(|trace| trace.value == 7));
    Ok(())
}

fn call_synchronized_returns_result(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let set = |value: u64| {
        sync.call_synchronized(|trace| -> Result<u64> {
            if value > 100 {
                return Err(ERANGE);
            }
            trace.value = value;
            Ok(value)
        })
    };
    kunit_expect_eq!(test, set(5), Ok(5));
    kunit_expect_eq!(test, set(500), Err(ERANGE));
    kunit_expect_eq!(test, sync.call_synchronized(|trace| trace.value), 5u64);
    Ok(())
}

fn call_synchronized_runs_with_interrupts_disabled(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    kunit_expect_eq!(
        test,
        sync.call_synchronized(|_| super::local_interrupts_disabled()),
        LOCK_DISABLES_INTERRUPTS
    );
    kunit_expect!(test, !super::local_interrupts_disabled());
    Ok(())
}

fn routines_run_with_interrupts_disabled(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(
        |trace| {
            trace.record(u8::from(super::local_interrupts_disabled()));
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    let disabled = u8::from(LOCK_DISABLES_INTERRUPTS);
    kunit_expect_eq!(test, calls_of(&sync).as_slice(), &[disabled][..]);
    Ok(())
}

fn normal_mode_stops_at_first_handler(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(recorder(1, IrqReturn::None), Placement::Last)?;
    sync.register_service_routine(recorder(2, IrqReturn::Handled), Placement::Last)?;
    sync.register_service_routine(recorder(3, IrqReturn::Handled), Placement::Last)?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    kunit_expect_eq!(test, calls_of(&sync).as_slice(), &[1u8, 2][..]);
    kunit_expect_eq!(test, sync.statistics().handled, 1);
    Ok(())
}

fn normal_mode_calls_all_when_none_handles(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    for id in 1..=3 {
        sync.register_service_routine(recorder(id, IrqReturn::None), Placement::Last)?;
    }
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    kunit_expect_eq!(test, calls_of(&sync).as_slice(), &[1u8, 2, 3][..]);
    kunit_expect_eq!(test, sync.statistics().unhandled, 1);
    Ok(())
}

fn all_mode_calls_each_routine_once(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::All)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    sync.register_service_routine(recorder(2, IrqReturn::None), Placement::Last)?;
    sync.register_service_routine(recorder(3, IrqReturn::Handled), Placement::Last)?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    kunit_expect_eq!(test, calls_of(&sync).as_slice(), &[1u8, 2, 3, 1, 2, 3][..]);
    kunit_expect_eq!(test, sync.statistics().handled, 2);
    Ok(())
}

/// The handlers of Normal and All modes call a line's only routine on a path of their own, and
/// any other chain out of line: each outcome of each path, counted as it happens.
fn one_routine_and_more_count_each_outcome(test: &Test) -> Result {
    for mode in [DispatchMode::Normal, DispatchMode::All] {
        let lines = SimLines::new(1)?;
        let sync = new_sync(&lines, 0, mode)?;
        let counted = |handled, unhandled| Statistics {
            handled,
            unhandled,
            repeat_limit_hits: 0,
        };
        sync.connect(Flags::NONE)?;
        // No routine: unhandled.
        kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
        kunit_expect_eq!(test, sync.statistics(), counted(0, 1));

        let last_handles = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
        sync.register_service_routine(switchable_recorder(1, &last_handles), Placement::Last)?;
        // The only routine passes, then handles.
        kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
        kunit_expect_eq!(test, sync.statistics(), counted(0, 2));
        last_handles.store(true, Ordering::Relaxed);
        kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
        kunit_expect_eq!(test, sync.statistics(), counted(1, 2));

        // A second routine, first in the chain, registered while connected, which passes: both
        // are called, and the last decides.
        let first_handles = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
        sync.register_service_routine(switchable_recorder(2, &first_handles), Placement::First)?;
        kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
        kunit_expect_eq!(test, sync.statistics(), counted(2, 2));
        last_handles.store(false, Ordering::Relaxed);
        kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
        kunit_expect_eq!(test, sync.statistics(), counted(2, 3));
        // The first handles: Normal mode stops there, All mode calls the other too.
        first_handles.store(true, Ordering::Relaxed);
        kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
        kunit_expect_eq!(test, sync.statistics(), counted(3, 3));
        sync.disconnect();

        let expected: &[u8] = match mode {
            DispatchMode::Normal => &[1, 1, 2, 1, 2, 1, 2],
            _ => &[1, 1, 2, 1, 2, 1, 2, 1],
        };
        kunit_expect_eq!(test, calls_of(&sync).as_slice(), expected);
    }
    Ok(())
}

fn repeat_mode_loops_until_a_quiet_pass(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Repeat)?;
    // Routine 1 has three events pending; routine 2 never has one.
    let mut pending = 3;
    sync.register_service_routine(
        move |trace| {
            trace.record(1);
            if pending == 0 {
                return IrqReturn::None;
            }
            pending -= 1;
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.register_service_routine(recorder(2, IrqReturn::None), Placement::Last)?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    // Three passes that handled, then one quiet pass; each pass calls both routines.
    kunit_expect_eq!(
        test,
        calls_of(&sync).as_slice(),
        &[1u8, 2, 1, 2, 1, 2, 1, 2][..]
    );
    kunit_expect_eq!(
        test,
        sync.statistics(),
        Statistics {
            handled: 1,
            unhandled: 0,
            repeat_limit_hits: 0
        }
    );
    Ok(())
}

fn repeat_mode_stops_a_stuck_device(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Repeat)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    let passes = sync.call_synchronized(|trace| trace.len);
    kunit_expect_eq!(test, passes, 2 * MAX_REPEAT_PASSES as usize);
    kunit_expect_eq!(test, sync.statistics().repeat_limit_hits, 2);
    kunit_expect_eq!(test, sync.statistics().handled, 2);
    Ok(())
}

fn placement_first_and_last(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::All)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    sync.register_service_routine(recorder(2, IrqReturn::Handled), Placement::First)?;
    sync.register_service_routine(recorder(3, IrqReturn::Handled), Placement::Last)?;
    sync.register_service_routine(recorder(4, IrqReturn::Handled), Placement::First)?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    kunit_expect_eq!(test, calls_of(&sync).as_slice(), &[4u8, 2, 1, 3][..]);
    Ok(())
}

fn unhandled_interrupt_reports_irq_none(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let irq = lines.irq(0)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let handle = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let routine_handle = handle.clone();
    sync.register_service_routine(
        move |_| IrqReturn::from_handled(routine_handle.load(Ordering::Relaxed)),
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;

    // SAFETY: `irq` is a live line; the counter is only read.
    let kernel_unhandled = || unsafe { (*bindings::irq_to_desc(irq)).irqs_unhandled };
    let before = kernel_unhandled();
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    // A threaded handler (CONFIG_PREEMPT_RT) has its IRQ_NONE counted by the core at the next
    // interrupt of the line, not at once.
    if !cfg!(CONFIG_PREEMPT_RT) {
        kunit_expect_eq!(test, kernel_unhandled(), before + 1);
    }

    handle.store(true, Ordering::Relaxed);
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    kunit_expect!(test, wait_until(|| kernel_unhandled() == before + 1));
    sync.disconnect();
    kunit_expect_eq!(
        test,
        sync.statistics(),
        Statistics {
            handled: 1,
            unhandled: 1,
            repeat_limit_hits: 0
        }
    );
    Ok(())
}

fn unconnected_object_sees_no_interrupt(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    lines.fire(0)?;
    kunit_expect!(test, !sync.is_connected());
    kunit_expect_eq!(test, dispatched(sync.statistics()), 0);
    kunit_expect_eq!(test, calls_of(&sync).len(), 0);
    Ok(())
}

fn connect_twice_fails_with_ebusy(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    sync.connect(Flags::NONE)?;
    kunit_expect_eq!(test, sync.connect(Flags::NONE), Err(EBUSY));
    kunit_expect_eq!(test, sync.connect(Flags::SHARED), Err(EBUSY));
    // Still connected once: one interrupt, one call.
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    kunit_expect_eq!(test, calls_of(&sync).as_slice(), &[1u8][..]);
    Ok(())
}

fn disconnect_when_disconnected_does_nothing(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.disconnect();
    kunit_expect!(test, !sync.is_connected());
    sync.connect(Flags::NONE)?;
    sync.disconnect();
    sync.disconnect();
    kunit_expect!(test, !sync.is_connected());
    Ok(())
}

fn reconnect_after_disconnect(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    for _ in 0..3 {
        sync.connect(Flags::NONE)?;
        kunit_expect!(test, sync.is_connected());
        kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
        sync.disconnect();
        // Disconnected: the line is masked and the interrupt goes nowhere.
        lines.fire(0)?;
    }
    kunit_expect_eq!(test, calls_of(&sync).as_slice(), &[1u8, 1, 1][..]);
    Ok(())
}

fn connect_to_missing_line_fails_with_einval(test: &Test) -> Result {
    let sync = KBox::pin_init(
        new_interrupt_sync!(u32::MAX, DispatchMode::Normal, Trace::default()),
        GFP_KERNEL,
    )?;
    kunit_expect_eq!(test, sync.connect(Flags::NONE), Err(EINVAL));
    kunit_expect_eq!(test, sync.connect(Flags::SHARED), Err(EINVAL));
    kunit_expect!(test, !sync.is_connected());
    kunit_expect_eq!(test, sync.irq(), u32::MAX);
    Ok(())
}

fn connect_to_exclusive_line_in_use_fails_with_ebusy(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let first = new_sync(&lines, 0, DispatchMode::Normal)?;
    let second = new_sync(&lines, 0, DispatchMode::Normal)?;
    first.connect(Flags::NONE)?;
    // PROBE_SHARED: the mismatch is expected, so the kernel does not dump the stack for it.
    kunit_expect_eq!(test, second.connect(Flags::PROBE_SHARED), Err(EBUSY));
    kunit_expect_eq!(
        test,
        second.connect(Flags::SHARED | Flags::PROBE_SHARED),
        Err(EBUSY)
    );
    kunit_expect!(test, !second.is_connected());
    first.disconnect();
    // Once free, the line can be taken.
    kunit_expect_eq!(test, second.connect(Flags::NONE), Ok(()));
    second.disconnect();
    Ok(())
}

fn drop_while_connected_frees_the_line(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let irq = lines.irq(0)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    // SAFETY: `irq` is a live line.
    kunit_expect!(test, unsafe { bindings::irq_has_action(irq) });
    drop(sync);
    // SAFETY: `irq` is a live line.
    kunit_expect!(test, !unsafe { bindings::irq_has_action(irq) });
    let again = new_sync(&lines, 0, DispatchMode::Normal)?;
    kunit_expect_eq!(test, again.connect(Flags::NONE), Ok(()));
    Ok(())
}

fn register_while_connected(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::All)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.register_service_routine(recorder(2, IrqReturn::Handled), Placement::Last)?;
    sync.register_service_routine(recorder(0, IrqReturn::Handled), Placement::First)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    kunit_expect_eq!(test, calls_of(&sync).as_slice(), &[1u8, 0, 1, 2][..]);
    Ok(())
}

fn shared_line_serves_two_objects(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let first = new_sync(&lines, 0, DispatchMode::Normal)?;
    let second = new_sync(&lines, 0, DispatchMode::Normal)?;
    first.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    second.register_service_routine(recorder(2, IrqReturn::Handled), Placement::Last)?;
    first.connect(Flags::SHARED)?;
    second.connect(Flags::SHARED)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &first)?);
    kunit_expect!(test, wait_until(|| dispatched(second.statistics()) == 1));
    kunit_expect_eq!(test, calls_of(&first).as_slice(), &[1u8][..]);
    kunit_expect_eq!(test, calls_of(&second).as_slice(), &[2u8][..]);
    // Disconnecting one leaves the other connected.
    first.disconnect();
    kunit_expect!(test, fire_and_wait(&lines, 0, &second)?);
    kunit_expect_eq!(test, second.statistics().handled, 2);
    second.disconnect();
    Ok(())
}

fn shared_line_quiet_object_reports_none(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let busy = new_sync(&lines, 0, DispatchMode::Normal)?;
    let quiet = new_sync(&lines, 0, DispatchMode::Normal)?;
    busy.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    quiet.register_service_routine(recorder(2, IrqReturn::None), Placement::Last)?;
    busy.connect(Flags::SHARED)?;
    quiet.connect(Flags::SHARED)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &busy)?);
    kunit_expect!(test, wait_until(|| dispatched(quiet.statistics()) == 1));
    kunit_expect_eq!(test, busy.statistics().handled, 1);
    kunit_expect_eq!(test, quiet.statistics().unhandled, 1);
    kunit_expect_eq!(test, quiet.statistics().handled, 0);
    quiet.disconnect();
    busy.disconnect();
    Ok(())
}

fn debug_shirq_calls_handler_once_on_disconnect(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(recorder(1, IrqReturn::None), Placement::Last)?;
    sync.connect(Flags::SHARED)?;
    sync.disconnect();
    // With CONFIG_DEBUG_SHIRQ, free_irq() calls a shared handler once more after removing it; the
    // quiet device answers IRQ_NONE and the object survives it. On CONFIG_PREEMPT_RT handlers
    // are threads, and that call reaches only the primary handler, which wakes no thread.
    let expected = u64::from(cfg!(CONFIG_DEBUG_SHIRQ) && !cfg!(CONFIG_PREEMPT_RT));
    kunit_expect_eq!(test, sync.statistics().unhandled, expected);
    kunit_expect_eq!(test, calls_of(&sync).len() as u64, expected);
    // An exclusive line gets no such call.
    sync.connect(Flags::NONE)?;
    sync.disconnect();
    kunit_expect_eq!(test, sync.statistics().unhandled, expected);
    Ok(())
}

fn irq_number_and_mode_are_reported(test: &Test) -> Result {
    let lines = SimLines::new(2)?;
    let sync = new_sync(&lines, 1, DispatchMode::Repeat)?;
    kunit_expect_eq!(test, sync.irq(), lines.irq(1)?);
    kunit_expect!(test, lines.irq(0)? != lines.irq(1)?);
    kunit_expect_eq!(test, sync.mode(), DispatchMode::Repeat);
    Ok(())
}

fn synchronize_waits_for_running_routines(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    // Disconnected: nothing to wait for, and no error.
    sync.synchronize();
    let started = Arc::new(AtomicU32::new(0), GFP_KERNEL)?;
    let finished = Arc::new(AtomicU32::new(0), GFP_KERNEL)?;
    let (s, f) = (started.clone(), finished.clone());
    sync.register_service_routine(
        move |_| {
            s.fetch_add(1, Ordering::Relaxed);
            for _ in 0..10_000 {
                core::hint::spin_loop();
            }
            f.fetch_add(1, Ordering::Release);
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;
    lines.fire(0)?;
    kunit_expect!(test, wait_until(|| started.load(Ordering::Relaxed) == 1));
    sync.synchronize();
    kunit_expect_eq!(test, finished.load(Ordering::Acquire), 1);
    sync.disconnect();
    Ok(())
}

fn state_is_shared_between_routines_and_process_context(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(
        |trace| {
            trace.value *= 10;
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;
    sync.call_synchronized(|trace| trace.value = 4);
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    kunit_expect_eq!(test, sync.call_synchronized(|trace| trace.value), 40u64);
    sync.call_synchronized(|trace| trace.value += 2);
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    kunit_expect_eq!(test, sync.call_synchronized(|trace| trace.value), 420u64);
    sync.disconnect();
    Ok(())
}

struct CountingHandler(AtomicU32);

impl Handler for CountingHandler {
    fn handle_irq(&self) -> IrqReturn {
        self.0.fetch_add(1, Ordering::Relaxed);
        IrqReturn::Handled
    }
}

fn registration_requests_and_frees_the_line(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let irq = lines.irq(0)?;
    let registration = KBox::pin_init(
        Registration::new(
            irq,
            Flags::NONE,
            c_str!("rust_irq_sync_test"),
            CountingHandler(AtomicU32::new(0)),
        ),
        GFP_KERNEL,
    )?;
    kunit_expect_eq!(test, registration.irq(), irq);
    lines.handle(0)?;
    // A threaded handler (CONFIG_PREEMPT_RT) runs once for interrupts that arrive before it
    // ran: fire the second only after the first was handled.
    kunit_expect!(
        test,
        wait_until(|| registration.handler().0.load(Ordering::Relaxed) == 1)
    );
    lines.fire(0)?;
    kunit_expect!(
        test,
        wait_until(|| registration.handler().0.load(Ordering::Relaxed) == 2)
    );
    drop(registration);
    // SAFETY: `irq` is a live line.
    kunit_expect!(test, !unsafe { bindings::irq_has_action(irq) });
    Ok(())
}

fn routine_statistics_count_each_routine(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    kunit_expect_eq!(test, sync.routine_statistics(1).err(), Some(EINVAL));
    if !cfg!(CONFIG_RUST_IRQ_SYNC_ROUTINE_STATS) {
        kunit_expect_eq!(test, sync.routine_statistics(0).err(), Some(ENOTSUPP));
        return Ok(());
    }
    // The first routine runs for at least a millisecond, by the clock that times it.
    sync.register_service_routine(
        |_| {
            let start = crate::time::Ktime::ktime_get();
            while (crate::time::Ktime::ktime_get() - start).to_ns() < 1_000_000 {
                core::hint::spin_loop();
            }
            IrqReturn::None
        },
        Placement::Last,
    )?;
    sync.register_service_routine(recorder(2, IrqReturn::Handled), Placement::Last)?;
    sync.connect(Flags::NONE)?;
    for _ in 0..3 {
        kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    }
    let statistics = sync.routine_statistics(0)?;
    kunit_expect_eq!(test, statistics.len(), 2);
    if let [slow, handler] = &statistics[..] {
        kunit_expect_eq!(test, (slow.calls, slow.handled), (3, 0));
        kunit_expect!(test, slow.longest_ns >= 1_000_000);
        kunit_expect_eq!(test, (handler.calls, handler.handled), (3, 3));
        kunit_expect!(test, handler.longest_ns < slow.longest_ns);
    }
    sync.disconnect();
    Ok(())
}

fn sim_lines_reject_a_missing_line(test: &Test) -> Result {
    let lines = SimLines::new(2)?;
    kunit_expect_eq!(test, lines.len(), 2);
    kunit_expect_eq!(test, lines.irq(2), Err(EINVAL));
    kunit_expect_eq!(test, lines.fire(2), Err(EINVAL));
    kunit_expect_eq!(test, lines.handle(7), Err(EINVAL));
    Ok(())
}

/// Runs `f` on `cpu`, in process context, and returns when it has returned.
fn run_on_cpu<F: FnMut()>(cpu: u32, mut f: F) -> Result {
    /// # Safety
    ///
    /// `data` must point to a `G` that is not otherwise accessed during the call.
    unsafe extern "C" fn call<G: FnMut()>(data: *mut c_void) -> c_int {
        // SAFETY: `data` is the `&mut F` passed below, alive until `smp_call_on_cpu()` returns.
        let f = unsafe { &mut *data.cast::<G>() };
        f();
        0
    }
    // SAFETY: `f` outlives the call, which waits for `call::<F>` to return.
    to_result(unsafe {
        bindings::smp_call_on_cpu(
            cpu,
            Some(call::<F>),
            (&mut f as *mut F).cast::<c_void>(),
            false,
        )
    })
}

type Job = KBox<dyn FnMut() + Send>;

/// Boxes `f` for [`spawn_on_cpu`].
fn job(f: impl FnMut() + Send + 'static) -> Result<Job> {
    let job = KBox::into_raw(KBox::new(f, GFP_KERNEL)?);
    // SAFETY: `job` comes from `KBox::into_raw` above; the pointer to the trait object keeps the
    // same allocation, layout and value.
    Ok(unsafe { KBox::from_raw(job as *mut (dyn FnMut() + Send)) })
}

/// Runs `job` once in a new kernel thread bound to `cpu`, and returns without waiting for it.
fn spawn_on_cpu(cpu: u32, job: Job) -> Result {
    /// # Safety
    ///
    /// `data` must come from `KBox::into_raw` on a `KBox<Job>`, and be used only here.
    unsafe extern "C" fn thread(data: *mut c_void) -> c_int {
        // SAFETY: `data` comes from `KBox::into_raw` in `spawn_on_cpu`, handed over to this thread.
        let mut job = unsafe { KBox::from_raw(data.cast::<Job>()) };
        (**job)();
        0
    }

    let data = KBox::into_raw(KBox::new(job, GFP_KERNEL)?);
    // SAFETY: `thread` has the signature the kernel expects and takes ownership of `data`; the
    // name is a format without conversions.
    let task = unsafe {
        bindings::kthread_create_on_node(
            Some(thread),
            data.cast::<c_void>(),
            -1,
            c_str!("rust_irq_sync").as_char_ptr(),
        )
    };
    match from_err_ptr(task) {
        Ok(task) => {
            // SAFETY: `task` was just created and has not run yet, so it may be bound; waking it
            // up hands `data` over to `thread`.
            unsafe {
                bindings::kthread_bind(task, cpu);
                bindings::wake_up_process(task);
            }
            Ok(())
        }
        Err(error) => {
            // SAFETY: The thread was not created, so `data` is still owned here.
            drop(unsafe { KBox::from_raw(data) });
            Err(error)
        }
    }
}

/// A read-modify-write with a window in which an unsynchronised writer would be lost.
fn slow_increment(value: u64) -> u64 {
    let value = core::hint::black_box(value);
    for _ in 0..16 {
        core::hint::spin_loop();
    }
    value + 1
}

/// The device state of the concurrency case.
struct Counters {
    from_interrupts: u64,
    from_process: u64,
    total: u64,
}

fn concurrency_counts_are_exact(test: &Test) -> Result {
    const INTERRUPTS: u64 = 100_000;

    if online_cpus() < 2 {
        test.skip("needs two online CPUs");
        return Ok(());
    }

    let lines = Arc::new(SimLines::new(1)?, GFP_KERNEL)?;
    let sync = Arc::pin_init(
        new_interrupt_sync!(
            lines.irq(0)?,
            DispatchMode::Normal,
            Counters {
                from_interrupts: 0,
                from_process: 0,
                total: 0
            },
            "rust_irq_sync_stress"
        ),
        GFP_KERNEL,
    )?;
    let handled = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
    let routine_handled = handled.clone();
    sync.register_service_routine(
        move |counters| {
            counters.from_interrupts += 1;
            counters.total = slow_increment(counters.total);
            routine_handled.fetch_add(1, Ordering::Release);
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;

    // CPU 1 fires the interrupts, one after the other, once CPU 0 is busy with the state too
    // (work on CPU 0 can be held up during boot, by the switch to the TSC clock source); they
    // are serviced on CPU 1.
    let cpu0_busy = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let fired_all = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let lost = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let finished = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    {
        let (lines, handled, cpu0_busy) = (lines.clone(), handled.clone(), cpu0_busy.clone());
        let (fired_all, lost, finished) = (fired_all.clone(), lost.clone(), finished.clone());
        spawn_on_cpu(
            1,
            job(move || {
                // Up to 10 s.
                for _ in 0..5 {
                    if wait_until(|| cpu0_busy.load(Ordering::Acquire)) {
                        break;
                    }
                }
                // On `CONFIG_PREEMPT_RT` each interrupt is handled by a thread that may have to
                // wait for CPU 0 to release the lock: longer than `wait_until` spins, far shorter
                // than the tick it would sleep.
                for n in 1..=INTERRUPTS {
                    if lines.fire(0).is_err()
                        || !spin_until(|| handled.load(Ordering::Acquire) >= n)
                    {
                        lost.store(true, Ordering::Relaxed);
                        break;
                    }
                }
                fired_all.store(true, Ordering::Release);
                finished.store(true, Ordering::Release);
            })?,
        )?;
    }

    // Meanwhile CPU 0 updates the same state through `call_synchronized`.
    run_on_cpu(0, || {
        cpu0_busy.store(true, Ordering::Release);
        while !fired_all.load(Ordering::Acquire) {
            sync.call_synchronized(|counters| {
                counters.from_process += 1;
                counters.total = slow_increment(counters.total);
            });
        }
    })?;
    kunit_expect!(test, wait_until(|| finished.load(Ordering::Acquire)));
    sync.disconnect();

    kunit_expect!(test, !lost.load(Ordering::Relaxed));
    let (from_interrupts, from_process, total) =
        sync.call_synchronized(|c| (c.from_interrupts, c.from_process, c.total));
    pr_info!(
        "    # concurrency: {} interrupts on CPU 1, {} synchronized calls on CPU 0\n",
        from_interrupts,
        from_process
    );
    kunit_expect_eq!(test, from_interrupts, INTERRUPTS);
    kunit_expect!(test, from_process > 0);
    kunit_expect_eq!(test, total, from_interrupts + from_process);
    kunit_expect_eq!(test, sync.statistics().handled, INTERRUPTS);
    Ok(())
}

fn new_group(lines: &[u32]) -> Result<TestSync> {
    KBox::pin_init(
        new_interrupt_sync_group!(
            lines,
            DispatchMode::Normal,
            Trace::default(),
            "rust_irq_sync_group_test"
        ),
        GFP_KERNEL,
    )
}

fn group_routes_each_line_to_its_chain(test: &Test) -> Result {
    let lines = SimLines::new(2)?;
    let sync = new_group(&[lines.irq(0)?, lines.irq(1)?])?;
    sync.register_message_routine(0, recorder(1, IrqReturn::Handled), Placement::Last)?;
    sync.register_message_routine(1, recorder(2, IrqReturn::Handled), Placement::Last)?;
    sync.register_message_routine(1, recorder(3, IrqReturn::Handled), Placement::First)?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_and_wait(&lines, 1, &sync)?);
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    sync.disconnect();
    kunit_expect_eq!(test, calls_of(&sync).as_slice(), &[3u8, 1][..]);
    kunit_expect_eq!(test, sync.lines(), &[lines.irq(0)?, lines.irq(1)?][..]);
    kunit_expect_eq!(test, sync.irq(), lines.irq(0)?);
    kunit_expect_eq!(test, sync.statistics().handled, 2);
    Ok(())
}

fn group_register_on_missing_message_fails_with_einval(test: &Test) -> Result {
    let lines = SimLines::new(2)?;
    let sync = new_group(&[lines.irq(0)?, lines.irq(1)?])?;
    kunit_expect_eq!(
        test,
        sync.register_message_routine(2, recorder(1, IrqReturn::Handled), Placement::Last),
        Err(EINVAL)
    );
    Ok(())
}

fn group_without_lines_fails_with_einval(test: &Test) -> Result {
    kunit_expect!(test, matches!(new_group(&[]), Err(e) if e == EINVAL));
    Ok(())
}

fn group_connect_failure_frees_requested_lines(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let group = new_group(&[lines.irq(0)?, u32::MAX])?;
    kunit_expect_eq!(test, group.connect(Flags::NONE), Err(EINVAL));
    kunit_expect!(test, !group.is_connected());
    // The first line was requested, then freed: an exclusive request of it succeeds.
    let single = new_sync(&lines, 0, DispatchMode::Normal)?;
    kunit_expect_eq!(test, single.connect(Flags::NONE), Ok(()));
    single.disconnect();
    Ok(())
}

/// Returns how many CPUs are online.
fn online_cpus() -> u32 {
    // SAFETY: Reading the number of online CPUs has no preconditions.
    let online = unsafe {
        core::ptr::read_volatile(core::ptr::addr_of!(bindings::__num_online_cpus.counter))
    };
    online as u32
}

fn group_call_synchronized_excludes_every_line(test: &Test) -> Result {
    if online_cpus() < 2 {
        test.skip("needs two online CPUs");
        return Ok(());
    }
    let lines = Arc::new(SimLines::new(2)?, GFP_KERNEL)?;
    let sync = new_group(&[lines.irq(0)?, lines.irq(1)?])?;
    let ran = Arc::new([AtomicU32::new(0), AtomicU32::new(0)], GFP_KERNEL)?;
    for message in 0..2 {
        let ran = ran.clone();
        sync.register_message_routine(
            message,
            move |_| {
                ran[message].fetch_add(1, Ordering::SeqCst);
                IrqReturn::Handled
            },
            Placement::Last,
        )?;
    }
    sync.connect(Flags::NONE)?;

    // For each line: CPU 1 fires it while CPU 0 is inside `call_synchronized`. The routine runs
    // on CPU 1, at once, unless the lock holds it off until CPU 0 leaves.
    for message in 0..2 {
        let firing = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
        let inside = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
        let (job_lines, job_firing, job_inside) = (lines.clone(), firing.clone(), inside.clone());
        spawn_on_cpu(
            1,
            job(move || {
                while !job_inside.load(Ordering::SeqCst) {
                    core::hint::spin_loop();
                }
                job_firing.store(true, Ordering::SeqCst);
                let _ = job_lines.fire(message);
            })?,
        )?;
        let mut during = (false, u32::MAX);
        run_on_cpu(0, || {
            during = sync.call_synchronized(|_| {
                inside.store(true, Ordering::SeqCst);
                for _ in 0..20_000_000 {
                    if firing.load(Ordering::SeqCst) {
                        break;
                    }
                    core::hint::spin_loop();
                }
                // Time for the routine on CPU 1 to run, were it not excluded.
                for _ in 0..1_000_000 {
                    core::hint::spin_loop();
                }
                (
                    firing.load(Ordering::SeqCst),
                    ran[message].load(Ordering::SeqCst),
                )
            });
        })?;
        kunit_expect!(test, during.0);
        kunit_expect_eq!(test, during.1, 0);
        kunit_expect!(
            test,
            wait_until(|| ran[message].load(Ordering::SeqCst) == 1)
        );
    }
    sync.disconnect();
    Ok(())
}

/// A routine that, fired on another CPU, keeps running there for a while.
///
/// It counts in `started` when it begins, spins until `release` is set or `SPIN_MS` have
/// passed, and counts in `finished` just before it returns.
struct SlowRoutine {
    started: Arc<AtomicU32>,
    finished: Arc<AtomicU32>,
    release: Arc<AtomicBool>,
}

impl SlowRoutine {
    /// How long the routine keeps its CPU at most, in milliseconds.
    const SPIN_MS: i64 = 200;

    fn new() -> Result<Self> {
        Ok(Self {
            started: Arc::new(AtomicU32::new(0), GFP_KERNEL)?,
            finished: Arc::new(AtomicU32::new(0), GFP_KERNEL)?,
            release: Arc::new(AtomicBool::new(false), GFP_KERNEL)?,
        })
    }

    /// Registers the routine on `sync`, connects it and fires its line from CPU 1.
    fn start_on_cpu1(&self, lines: &Arc<SimLines>, sync: &TestSync) -> Result {
        let (started, finished, release) = (
            self.started.clone(),
            self.finished.clone(),
            self.release.clone(),
        );
        sync.register_service_routine(
            move |_| {
                started.fetch_add(1, Ordering::SeqCst);
                let start = crate::time::Ktime::ktime_get();
                while !release.load(Ordering::SeqCst)
                    && (crate::time::Ktime::ktime_get() - start).to_ms() < Self::SPIN_MS
                {
                    core::hint::spin_loop();
                }
                finished.fetch_add(1, Ordering::SeqCst);
                IrqReturn::Handled
            },
            Placement::Last,
        )?;
        sync.connect(Flags::NONE)?;
        let job_lines = lines.clone();
        spawn_on_cpu(
            1,
            job(move || {
                let _ = job_lines.fire(0);
            })?,
        )?;
        Ok(())
    }

    /// On CPU 0, waits until the routine runs, calls `wait`, which must wait for the routine to
    /// finish, and returns whether the routine was still running when `wait` was called, and
    /// whether it had finished when `wait` returned.
    ///
    /// The routine runs on CPU 1, in hard interrupt context, so CPU 0 goes on meanwhile: a
    /// `wait` that did not wait would return while the routine still spins. Something else can
    /// hold CPU 0 up until the routine is over (a `stop_machine()`, such as the switch to the
    /// TSC clock source during boot); then the call proves nothing, and the caller tries again.
    /// (On `CONFIG_PREEMPT_RT` the routine is a thread, which may run on CPU 0 too.)
    fn wait_on_cpu0(&self, mut wait: impl FnMut()) -> Result<(bool, bool)> {
        let mut seen = (false, false);
        run_on_cpu(0, || {
            wait_until(|| self.started.load(Ordering::SeqCst) == 1);
            let running = self.finished.load(Ordering::SeqCst) == 0;
            wait();
            seen = (running, self.finished.load(Ordering::SeqCst) == 1);
        })?;
        Ok(seen)
    }
}

/// How many times a case of a routine on the other CPU is tried until `wait` is called while
/// the routine runs.
const SLOW_ROUTINE_ATTEMPTS: u32 = 5;

/// Runs `wait` on CPU 0 while a routine of a new object spins on CPU 1, until it is called
/// while the routine runs, and expects the routine to have finished when `wait` returns.
/// `wait` gets the object, which it may drop.
fn expect_waits_for_slow_routine(
    test: &Test,
    mut wait: impl FnMut(&mut Option<TestSync>),
) -> Result {
    if online_cpus() < 2 {
        test.skip("needs two online CPUs");
        return Ok(());
    }
    for _ in 0..SLOW_ROUTINE_ATTEMPTS {
        let lines = Arc::new(SimLines::new(1)?, GFP_KERNEL)?;
        let mut sync = Some(new_sync(&lines, 0, DispatchMode::Normal)?);
        let routine = SlowRoutine::new()?;
        if let Some(sync) = &sync {
            routine.start_on_cpu1(&lines, sync)?;
        }
        let (running, finished) = routine.wait_on_cpu0(|| wait(&mut sync))?;
        if let Some(sync) = &sync {
            sync.disconnect();
        }
        if running {
            kunit_expect!(test, finished);
            return Ok(());
        }
    }
    // The routine was never caught running: the case proved nothing. On `CONFIG_PREEMPT_RT` the
    // routine is a thread, which the scheduler may keep putting on CPU 0, the CPU it last ran
    // on: there it preempts the waiting side until it is over (an `irq_sim` line has no
    // affinity to steer it by). Elsewhere it runs in hard interrupt context on CPU 1, where it
    // is fired, and missing it every time is a failure.
    if cfg!(CONFIG_PREEMPT_RT) {
        test.skip("the routine's thread ran on the waiting CPU in every attempt");
        return Ok(());
    }
    kunit_expect!(test, false);
    Ok(())
}

impl Drop for SlowRoutine {
    fn drop(&mut self) {
        self.release.store(true, Ordering::SeqCst);
    }
}

fn synchronize_waits_for_a_routine_on_another_cpu(test: &Test) -> Result {
    // Had `synchronize()` not waited, the routine would still spin when it returns.
    expect_waits_for_slow_routine(test, |sync| {
        if let Some(sync) = sync {
            sync.synchronize();
        }
    })
}

fn disconnect_waits_for_a_routine_on_another_cpu(test: &Test) -> Result {
    expect_waits_for_slow_routine(test, |sync| {
        if let Some(sync) = sync {
            sync.disconnect();
        }
    })
}

fn drop_waits_for_a_routine_on_another_cpu(test: &Test) -> Result {
    // The routine runs on the object's lock and state: dropping must wait for it to leave.
    expect_waits_for_slow_routine(test, |sync| drop(sync.take()))
}

fn register_while_interrupts_fire_on_another_cpu(test: &Test) -> Result {
    const ROUTINES: u32 = 32;
    if online_cpus() < 2 {
        test.skip("needs two online CPUs");
        return Ok(());
    }
    let lines = Arc::new(SimLines::new(1)?, GFP_KERNEL)?;
    let sync = new_sync(&lines, 0, DispatchMode::All)?;
    sync.connect(Flags::NONE)?;
    let stop = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let stopped = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let (job_lines, job_stop, job_stopped) = (lines.clone(), stop.clone(), stopped.clone());
    spawn_on_cpu(
        1,
        job(move || {
            while !job_stop.load(Ordering::SeqCst) {
                let _ = job_lines.fire(0);
                for _ in 0..1000 {
                    core::hint::spin_loop();
                }
            }
            job_stopped.store(true, Ordering::SeqCst);
        })?,
    )?;
    let calls = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
    for _ in 0..ROUTINES {
        let calls = calls.clone();
        sync.register_service_routine(
            move |_| {
                calls.fetch_add(1, Ordering::Relaxed);
                IrqReturn::Handled
            },
            Placement::Last,
        )?;
    }
    stop.store(true, Ordering::SeqCst);
    kunit_expect!(test, wait_until(|| stopped.load(Ordering::SeqCst)));
    // Every routine is in the chain: one more interrupt calls each once.
    let before = calls.load(Ordering::Relaxed);
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    kunit_expect_eq!(
        test,
        calls.load(Ordering::Relaxed) - before,
        u64::from(ROUTINES)
    );
    sync.disconnect();
    Ok(())
}

/// Returns the errno of an error, 0 for success.
fn errno(result: Result) -> i32 {
    result.err().map_or(0, |error| error.to_errno())
}

fn blocking_methods_refused_in_a_synchronized_closure(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.connect(Flags::NONE)?;
    let (connect, register, still_connected) = sync.call_synchronized(|_| {
        let connect = errno(sync.connect(Flags::NONE));
        let register =
            errno(sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last));
        // Both would wait for this closure: they warn and do nothing.
        sync.disconnect();
        sync.synchronize();
        (connect, register, sync.is_connected())
    });
    let edeadlk = -(bindings::EDEADLK as i32);
    kunit_expect_eq!(test, connect, edeadlk);
    kunit_expect_eq!(test, register, edeadlk);
    kunit_expect!(test, still_connected);
    // Outside, the same calls work.
    sync.register_service_routine(recorder(2, IrqReturn::Handled), Placement::Last)?;
    kunit_expect!(test, fire_and_wait(&lines, 0, &sync)?);
    kunit_expect_eq!(test, &calls_of(&sync)[..], &[2u8][..]);
    sync.disconnect();
    kunit_expect!(test, !sync.is_connected());
    Ok(())
}

/// Where a routine finds its own object, for the case below; emptied to break the cycle. A
/// newtype, so that the symbols of its lock stay short enough for modpost.
struct Own(Option<Arc<InterruptSync<Trace>>>);

fn blocking_methods_refused_in_a_routine(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = Arc::pin_init(
        new_interrupt_sync!(
            lines.irq(0)?,
            DispatchMode::Normal,
            Trace::default(),
            "rust_irq_sync_test"
        ),
        GFP_KERNEL,
    )?;
    // The routine reaches its own object through a slot, emptied at the end to break the cycle.
    let slot = Arc::pin_init(new_spinlock_irq!(Own(None)), GFP_KERNEL)?;
    let errors = Arc::new([AtomicU32::new(0), AtomicU32::new(0)], GFP_KERNEL)?;
    {
        let (slot, errors) = (slot.clone(), errors.clone());
        sync.register_service_routine(
            move |trace| {
                slot.with_lock(|own| {
                    if let Own(Some(own)) = own {
                        let connect = errno(own.connect(Flags::NONE));
                        let register = errno(
                            own.register_service_routine(|_| IrqReturn::None, Placement::Last),
                        );
                        own.disconnect();
                        own.synchronize();
                        errors[0].store(connect.unsigned_abs(), Ordering::SeqCst);
                        errors[1].store(register.unsigned_abs(), Ordering::SeqCst);
                    }
                });
                trace.record(1);
                IrqReturn::Handled
            },
            Placement::Last,
        )?;
    }
    slot.with_lock(|own| own.0 = Some(sync.clone()));
    sync.connect(Flags::NONE)?;
    lines.fire(0)?;
    kunit_expect!(
        test,
        wait_until(|| sync.call_synchronized(|trace| trace.len) == 1)
    );
    kunit_expect_eq!(test, errors[0].load(Ordering::SeqCst), bindings::EDEADLK);
    kunit_expect_eq!(test, errors[1].load(Ordering::SeqCst), bindings::EDEADLK);
    // The routine's disconnect did nothing.
    kunit_expect!(test, sync.is_connected());
    slot.with_lock(|own| own.0 = None);
    sync.disconnect();
    Ok(())
}

#[cfg(CONFIG_PREEMPT_RT)]
fn spinlock_irq_reports_a_long_wait(test: &Test) -> Result {
    test.skip("on CONFIG_PREEMPT_RT waiting for the lock sleeps, never spins");
    Ok(())
}

/// Kernels without lockdep wait for a busy lock this way (the test kernel has lockdep, and
/// takes the same path explicitly).
#[cfg(not(CONFIG_PREEMPT_RT))]
fn spinlock_irq_reports_a_long_wait(test: &Test) -> Result {
    if online_cpus() < 2 {
        test.skip("needs two online CPUs");
        return Ok(());
    }
    let lock = Arc::pin_init(
        new_spinlock_irq!(0u32, "rust_irq_sync_test_long_wait"),
        GFP_KERNEL,
    )?;
    let holding = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let (job_lock, job_holding) = (lock.clone(), holding.clone());
    spawn_on_cpu(
        1,
        job(move || {
            job_lock.with_lock(|value| {
                job_holding.store(true, Ordering::SeqCst);
                let start = crate::time::Ktime::ktime_get();
                while (crate::time::Ktime::ktime_get() - start).to_ms()
                    < crate::sync::SpinLockIrq::<u32>::LONG_WAIT_MS + 300
                {
                    core::hint::spin_loop();
                }
                *value = 1;
            });
        })?,
    )?;
    // CPU 0 waits for over `LONG_WAIT_MS`, reports it once, and then gets the lock. (On CPU 0:
    // the test's thread could be on CPU 1, which the holder keeps busy.)
    let mut seen = (false, false, 0);
    run_on_cpu(0, || {
        let held = wait_until(|| holding.load(Ordering::SeqCst));
        let reported_before = lock.long_wait_reported();
        seen = (
            held,
            reported_before,
            lock.with_lock_contended(|value| *value),
        );
    })?;
    kunit_expect!(test, seen.0);
    kunit_expect!(test, !seen.1);
    kunit_expect_eq!(test, seen.2, 1);
    kunit_expect!(test, lock.long_wait_reported());
    Ok(())
}

crate::kunit_suite!(
    "rust_irq_sync",
    [
        spinlock_irq_returns_closure_value,
        spinlock_irq_disables_and_restores_interrupts,
        spinlock_irq_nested_locks_restore_in_order,
        spinlock_irq_from_interrupts_disabled_context,
        call_synchronized_returns_any_type,
        call_synchronized_returns_result,
        call_synchronized_runs_with_interrupts_disabled,
        routines_run_with_interrupts_disabled,
        normal_mode_stops_at_first_handler,
        normal_mode_calls_all_when_none_handles,
        all_mode_calls_each_routine_once,
        one_routine_and_more_count_each_outcome,
        repeat_mode_loops_until_a_quiet_pass,
        repeat_mode_stops_a_stuck_device,
        placement_first_and_last,
        unhandled_interrupt_reports_irq_none,
        unconnected_object_sees_no_interrupt,
        connect_twice_fails_with_ebusy,
        disconnect_when_disconnected_does_nothing,
        reconnect_after_disconnect,
        connect_to_missing_line_fails_with_einval,
        connect_to_exclusive_line_in_use_fails_with_ebusy,
        drop_while_connected_frees_the_line,
        register_while_connected,
        shared_line_serves_two_objects,
        shared_line_quiet_object_reports_none,
        debug_shirq_calls_handler_once_on_disconnect,
        irq_number_and_mode_are_reported,
        synchronize_waits_for_running_routines,
        state_is_shared_between_routines_and_process_context,
        registration_requests_and_frees_the_line,
        sim_lines_reject_a_missing_line,
        routine_statistics_count_each_routine,
        group_routes_each_line_to_its_chain,
        group_register_on_missing_message_fails_with_einval,
        group_without_lines_fails_with_einval,
        group_connect_failure_frees_requested_lines,
        group_call_synchronized_excludes_every_line,
        concurrency_counts_are_exact,
        synchronize_waits_for_a_routine_on_another_cpu,
        disconnect_waits_for_a_routine_on_another_cpu,
        drop_waits_for_a_routine_on_another_cpu,
        register_while_interrupts_fire_on_another_cpu,
        blocking_methods_refused_in_a_synchronized_closure,
        blocking_methods_refused_in_a_routine,
        spinlock_irq_reports_a_long_wait,
    ]
);
