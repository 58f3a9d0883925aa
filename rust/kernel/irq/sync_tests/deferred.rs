// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `rust_irq_sync_deferred`: the DPC, the work item and the thread routine of an
//! [`InterruptSync`], and their cancellation, under interrupts fired on simulated lines.

use super::{new_sync, online_cpus, wait_until, Trace};
use crate::{
    irq::{sim::SimLines, DispatchMode, Flags, InterruptSync, IrqReturn, Placement},
    kunit_expect, kunit_expect_eq,
    kunit_suite::Test,
    prelude::*,
    sync::Arc,
};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// What deferred routines saw, shared with the case.
struct Seen {
    runs: AtomicU32,
    cpu: AtomicU32,
    /// Whether every run was where it should be (softirq for the DPC, process context for the
    /// work item and the thread routine).
    context_right: AtomicBool,
    /// A flag for what a case checks in the routine.
    flag: AtomicBool,
}

impl Seen {
    fn new() -> Result<Arc<Seen>> {
        Ok(Arc::new(
            Seen {
                runs: AtomicU32::new(0),
                cpu: AtomicU32::new(u32::MAX),
                context_right: AtomicBool::new(true),
                flag: AtomicBool::new(false),
            },
            GFP_KERNEL,
        )?)
    }

    /// Records a run on this CPU, in the right context or not.
    fn record(&self, context_right: bool) {
        // SAFETY: Reading the CPU number has no preconditions.
        self.cpu.store(
            unsafe { bindings::raw_smp_processor_id() },
            Ordering::SeqCst,
        );
        if !context_right {
            self.context_right.store(false, Ordering::SeqCst);
        }
        self.runs.fetch_add(1, Ordering::SeqCst);
    }

    fn runs(&self) -> u32 {
        self.runs.load(Ordering::SeqCst)
    }
}

/// Whether the caller runs in the softirq context a DPC runs in.
fn in_softirq() -> bool {
    // SAFETY: Reading the preemption count has no preconditions.
    unsafe { bindings::in_serving_softirq() }
}

/// Whether the caller runs in process context with interrupts enabled, where it may sleep.
fn may_sleep() -> bool {
    // SAFETY: Reading the preemption count and the interrupt state has no preconditions.
    unsafe { bindings::in_task() && !bindings::irqs_disabled() }
}

/// Sleeps for `ms` milliseconds.
fn sleep_ms(ms: u32) {
    // SAFETY: Cases and the routines calling this run in process context.
    unsafe { bindings::msleep(ms) };
}

fn dpc_queued_while_pending_runs_once(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    kunit_expect!(test, !sync.queue_dpc());
    let seen = Seen::new()?;
    let dpc_seen = seen.clone();
    sync.set_dpc(move |sync| {
        dpc_seen.record(in_softirq());
        // Outside the lock: the DPC reaches the state as process context does.
        sync.call_synchronized(|trace| trace.value += 1);
    })?;
    kunit_expect_eq!(test, sync.set_dpc(|_| {}), Err(EBUSY));
    sync.register_service_routine_with_context(
        |trace, isr| {
            // The second is refused: the DPC is pending, and runs once.
            let first = isr.queue_dpc();
            let second = isr.queue_dpc();
            trace.record(u8::from(first) << 1 | u8::from(second));
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;
    lines.fire(0)?;
    kunit_expect!(test, wait_until(|| seen.runs() == 1));
    sleep_ms(20);
    kunit_expect_eq!(test, seen.runs(), 1);
    kunit_expect!(test, seen.context_right.load(Ordering::SeqCst));
    kunit_expect_eq!(test, &super::calls_of(&sync)[..], &[0b10u8][..]);
    kunit_expect_eq!(test, sync.call_synchronized(|trace| trace.value), 1u64);
    sync.disconnect();
    Ok(())
}

fn dpc_runs_on_the_asked_cpu(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let target = online_cpus() - 1;
    let seen = Seen::new()?;
    let dpc_seen = seen.clone();
    sync.set_dpc(move |_| dpc_seen.record(in_softirq()))?;
    // No such CPU: refused.
    kunit_expect!(test, !sync.queue_dpc_on(u32::MAX));
    sync.register_service_routine_with_context(
        move |_, isr| IrqReturn::from_handled(isr.queue_dpc_on(target)),
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;
    // Fired from CPU 0, run on the last CPU.
    super::run_on_cpu(0, || {
        let _ = lines.fire(0);
    })?;
    kunit_expect!(test, wait_until(|| seen.runs() == 1));
    kunit_expect_eq!(test, seen.cpu.load(Ordering::SeqCst), target);
    kunit_expect!(test, seen.context_right.load(Ordering::SeqCst));
    kunit_expect_eq!(test, sync.statistics().handled, 1u64);
    sync.disconnect();
    Ok(())
}

fn work_item_may_sleep(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let seen = Seen::new()?;
    let work_seen = seen.clone();
    sync.set_work_item(move |sync| {
        let context_right = may_sleep();
        sleep_ms(2);
        sync.call_synchronized(|trace| trace.value += 1);
        work_seen.record(context_right);
    })?;
    kunit_expect_eq!(test, sync.set_work_item(|_| {}), Err(EBUSY));
    sync.register_service_routine_with_context(
        |_, isr| IrqReturn::from_handled(isr.queue_work_item()),
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;
    lines.fire(0)?;
    kunit_expect!(test, wait_until(|| seen.runs() == 1));
    kunit_expect!(test, seen.context_right.load(Ordering::SeqCst));
    kunit_expect_eq!(test, sync.call_synchronized(|trace| trace.value), 1u64);
    // From process context too.
    kunit_expect!(test, sync.queue_work_item());
    kunit_expect!(test, wait_until(|| seen.runs() == 2));
    sync.disconnect();
    Ok(())
}

fn thread_routine_runs_when_woken(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let seen = Seen::new()?;
    let thread_seen = seen.clone();
    sync.set_thread_routine(move |sync| {
        let context_right = may_sleep();
        sleep_ms(1);
        sync.call_synchronized(|trace| trace.value += 1);
        thread_seen.record(context_right);
        IrqReturn::Handled
    })?;
    sync.register_service_routine_with_context(
        |trace, isr| {
            let first = isr.wake_thread();
            let second = isr.wake_thread();
            trace.record(u8::from(first) << 1 | u8::from(second));
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.connect(Flags::ONESHOT)?;
    lines.fire(0)?;
    kunit_expect!(test, wait_until(|| seen.runs() == 1));
    kunit_expect!(test, seen.context_right.load(Ordering::SeqCst));
    kunit_expect_eq!(test, &super::calls_of(&sync)[..], &[0b10u8][..]);
    kunit_expect_eq!(test, sync.call_synchronized(|trace| trace.value), 1u64);
    sync.disconnect();
    Ok(())
}

fn wake_thread_without_thread_routine_is_refused(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine_with_context(
        |trace, isr| {
            trace.record(u8::from(isr.wake_thread()));
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, super::fire_and_wait(&lines, 0, &sync)?);
    kunit_expect_eq!(test, &super::calls_of(&sync)[..], &[0u8][..]);
    sync.disconnect();
    Ok(())
}

fn oneshot_keeps_the_line_masked_until_the_thread_returns(test: &Test) -> Result {
    if cfg!(CONFIG_PREEMPT_RT) {
        test.skip("on PREEMPT_RT the primary handler is a thread too, and ONESHOT is dropped");
        return Ok(());
    }
    let lines = Arc::new(SimLines::new(1)?, GFP_KERNEL)?;
    lines.use_level_flow(0)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let seen = Seen::new()?;
    let (thread_seen, thread_lines) = (seen.clone(), lines.clone());
    sync.set_thread_routine(move |_| {
        thread_seen
            .flag
            .store(thread_lines.is_masked(0).unwrap_or(false), Ordering::SeqCst);
        thread_seen.record(may_sleep());
        IrqReturn::Handled
    })?;
    sync.register_service_routine_with_context(
        |_, isr| IrqReturn::from_handled(isr.wake_thread()),
        Placement::Last,
    )?;
    sync.connect(Flags::ONESHOT)?;
    // Through the line's own flow handler, which `fire()` would bypass.
    lines.handle(0)?;
    kunit_expect!(test, wait_until(|| seen.runs() == 1));
    kunit_expect!(test, seen.flag.load(Ordering::SeqCst));
    // Unmasked once the thread returned.
    kunit_expect!(test, wait_until(|| lines.is_masked(0) == Ok(false)));
    sync.disconnect();
    Ok(())
}

/// Errors a thread routine got, as errnos.
struct Refusals {
    disable: AtomicU32,
    connected_after: AtomicBool,
}

fn thread_routine_cannot_wait_for_itself(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let seen = Seen::new()?;
    let refusals = Arc::new(
        Refusals {
            disable: AtomicU32::new(0),
            connected_after: AtomicBool::new(false),
        },
        GFP_KERNEL,
    )?;
    let (thread_seen, thread_refusals) = (seen.clone(), refusals.clone());
    sync.set_thread_routine(move |sync| {
        // Each would wait for this routine: refused, with one warning.
        let disable = super::errno(sync.disable());
        sync.synchronize();
        sync.disconnect();
        thread_refusals
            .disable
            .store(disable.unsigned_abs(), Ordering::SeqCst);
        thread_refusals
            .connected_after
            .store(sync.is_connected(), Ordering::SeqCst);
        thread_seen.record(true);
        IrqReturn::Handled
    })?;
    sync.register_service_routine_with_context(
        |_, isr| IrqReturn::from_handled(isr.wake_thread()),
        Placement::Last,
    )?;
    sync.connect(Flags::ONESHOT)?;
    lines.fire(0)?;
    kunit_expect!(test, wait_until(|| seen.runs() == 1));
    kunit_expect_eq!(
        test,
        refusals.disable.load(Ordering::SeqCst),
        bindings::EDEADLK
    );
    kunit_expect!(test, refusals.connected_after.load(Ordering::SeqCst));
    kunit_expect_eq!(test, sync.disable_depth(), 0);
    sync.disconnect();
    Ok(())
}

/// A work item that takes a while, counting its starts and ends.
struct SlowWork {
    started: AtomicU32,
    finished: AtomicU32,
}

fn slow_work(sync: &InterruptSync<Trace>) -> Result<Arc<SlowWork>> {
    let work = Arc::new(
        SlowWork {
            started: AtomicU32::new(0),
            finished: AtomicU32::new(0),
        },
        GFP_KERNEL,
    )?;
    let counts = work.clone();
    sync.set_work_item(move |_| {
        counts.started.fetch_add(1, Ordering::SeqCst);
        sleep_ms(20);
        counts.finished.fetch_add(1, Ordering::SeqCst);
    })?;
    Ok(work)
}

fn disconnect_cancels_or_waits_for_queued_work(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let work = slow_work(&sync)?;
    // The DPC queues the work item: disconnecting stops both.
    sync.set_dpc(|sync| {
        sync.queue_work_item();
    })?;
    sync.register_service_routine_with_context(
        |_, isr| IrqReturn::from_handled(isr.queue_dpc()),
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;
    lines.fire_and_wait(0)?;
    sync.disconnect();
    let (started, finished) = (
        work.started.load(Ordering::SeqCst),
        work.finished.load(Ordering::SeqCst),
    );
    // Cancelled, or run to its end: never running after `disconnect()` returned.
    kunit_expect_eq!(test, started, finished);
    sleep_ms(40);
    kunit_expect_eq!(test, work.started.load(Ordering::SeqCst), started);
    Ok(())
}

fn drop_cancels_or_waits_for_queued_work(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    let work = slow_work(&sync)?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, sync.queue_work_item());
    // Queued again while running: dropping must wait for the run and cancel the queued one.
    kunit_expect!(
        test,
        wait_until(|| work.started.load(Ordering::SeqCst) == 1)
    );
    kunit_expect!(test, sync.queue_work_item());
    drop(sync);
    let (started, finished) = (
        work.started.load(Ordering::SeqCst),
        work.finished.load(Ordering::SeqCst),
    );
    kunit_expect_eq!(test, started, finished);
    sleep_ms(40);
    kunit_expect_eq!(test, work.started.load(Ordering::SeqCst), started);
    Ok(())
}

crate::kunit_suite!(
    "rust_irq_sync_deferred",
    [
        dpc_queued_while_pending_runs_once,
        dpc_runs_on_the_asked_cpu,
        work_item_may_sleep,
        thread_routine_runs_when_woken,
        wake_thread_without_thread_routine_is_refused,
        oneshot_keeps_the_line_masked_until_the_thread_returns,
        thread_routine_cannot_wait_for_itself,
        disconnect_cancels_or_waits_for_queued_work,
        drop_cancels_or_waits_for_queued_work,
    ]
);
