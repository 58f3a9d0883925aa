// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `rust_irq_sync_line_control`: disabling and enabling the lines of an
//! [`InterruptSync`], affinity hints, the try-lock and nesting objects of one call site.

use super::{
    dispatched, errno, expect_waits_for_slow_routine, job, new_sync, online_cpus, recorder,
    spawn_on_cpu, wait_until, Trace,
};
use crate::{
    irq::{sim::SimLines, DispatchMode, Flags, InterruptSync, IrqReturn, Placement},
    kunit_expect, kunit_expect_eq,
    kunit_suite::Test,
    new_interrupt_sync,
    prelude::*,
    sync::Arc,
};
use core::sync::atomic::{AtomicBool, Ordering};

/// Fires line `index` and returns whether `sync` dispatched it: false when the line is
/// disabled, since the interrupt core then keeps the interrupt from the handlers.
fn fire_reaches(lines: &SimLines, sync: &InterruptSync<Trace>) -> Result<bool> {
    let before = dispatched(sync.statistics());
    lines.fire_and_wait(0)?;
    Ok(dispatched(sync.statistics()) > before)
}

fn enotconn() -> i32 {
    -(bindings::ENOTCONN as i32)
}

fn disable_nests_and_enable_restores(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    kunit_expect_eq!(test, errno(sync.disable()), enotconn());
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_reaches(&lines, &sync)?);
    sync.disable()?;
    sync.disable_nosync()?;
    kunit_expect_eq!(test, sync.disable_depth(), 2);
    kunit_expect!(test, !fire_reaches(&lines, &sync)?);
    sync.enable()?;
    kunit_expect_eq!(test, sync.disable_depth(), 1);
    kunit_expect!(test, !fire_reaches(&lines, &sync)?);
    sync.enable()?;
    kunit_expect!(test, fire_reaches(&lines, &sync)?);
    // One enable too many: refused, where C would warn.
    kunit_expect_eq!(test, sync.enable(), Err(EINVAL));
    sync.disconnect();
    kunit_expect_eq!(test, errno(sync.enable()), enotconn());
    Ok(())
}

fn no_autoen_connects_disabled(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine(recorder(1, IrqReturn::Handled), Placement::Last)?;
    sync.connect(Flags::NO_AUTOEN)?;
    kunit_expect_eq!(test, sync.disable_depth(), 1);
    kunit_expect!(test, !fire_reaches(&lines, &sync)?);
    sync.enable()?;
    kunit_expect!(test, fire_reaches(&lines, &sync)?);
    sync.disconnect();
    Ok(())
}

fn disconnect_while_disabled_leaves_a_shared_line_enabled(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let first = new_sync(&lines, 0, DispatchMode::Normal)?;
    let second = new_sync(&lines, 0, DispatchMode::Normal)?;
    first.register_service_routine(recorder(1, IrqReturn::None), Placement::Last)?;
    second.register_service_routine(recorder(2, IrqReturn::Handled), Placement::Last)?;
    first.connect(Flags::SHARED)?;
    second.connect(Flags::SHARED)?;
    first.disable()?;
    first.disable_nosync()?;
    kunit_expect!(test, !fire_reaches(&lines, &second)?);
    // Disconnecting enables the line as often as `first` disabled it.
    first.disconnect();
    kunit_expect_eq!(test, first.disable_depth(), 0);
    kunit_expect!(test, fire_reaches(&lines, &second)?);
    // Connected again, `first` starts enabled.
    first.connect(Flags::SHARED)?;
    kunit_expect!(test, fire_reaches(&lines, &first)?);
    first.disconnect();
    second.disconnect();
    Ok(())
}

fn routine_disables_its_lines(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.register_service_routine_with_context(
        |trace, isr| {
            // The first interrupt disables the line, as a driver that must quiesce its device.
            if trace.len == 0 {
                trace.record(u8::from(isr.disable_nosync().is_ok()));
            } else {
                trace.record(2);
            }
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.connect(Flags::NONE)?;
    kunit_expect!(test, fire_reaches(&lines, &sync)?);
    kunit_expect_eq!(test, sync.disable_depth(), 1);
    kunit_expect!(test, !fire_reaches(&lines, &sync)?);
    // Re-enabled from process context, as a driver does once the device is serviced. The
    // interrupt that came while disabled may be replayed now, before the next one.
    sync.enable()?;
    kunit_expect!(test, fire_reaches(&lines, &sync)?);
    let calls = super::calls_of(&sync);
    kunit_expect_eq!(test, calls.first().copied(), Some(1));
    kunit_expect!(
        test,
        calls.len() >= 2 && calls[1..].iter().all(|&call| call == 2)
    );
    sync.disconnect();
    Ok(())
}

fn disable_waits_for_a_routine_on_another_cpu(test: &Test) -> Result {
    // Had `disable()` not waited, the routine would still spin when it returns.
    expect_waits_for_slow_routine(test, |sync| {
        if let Some(sync) = sync {
            if sync.disable().is_ok() {
                let _ = sync.enable();
            }
        }
    })
}

fn try_call_synchronized_while_another_cpu_holds_the_lock(test: &Test) -> Result {
    if online_cpus() < 2 {
        test.skip("needs two online CPUs");
        return Ok(());
    }
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
    kunit_expect_eq!(test, sync.try_call_synchronized(|trace| trace.len), Some(0));
    let holding = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let release = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let (job_sync, job_holding, job_release) = (sync.clone(), holding.clone(), release.clone());
    spawn_on_cpu(
        1,
        job(move || {
            job_sync.call_synchronized(|trace| {
                job_holding.store(true, Ordering::SeqCst);
                let start = crate::time::Ktime::ktime_get();
                while !job_release.load(Ordering::SeqCst)
                    && (crate::time::Ktime::ktime_get() - start).to_ms() < 2000
                {
                    core::hint::spin_loop();
                }
                trace.value = 7;
            });
            job_holding.store(false, Ordering::SeqCst);
        })?,
    )?;
    let mut refused = false;
    super::run_on_cpu(0, || {
        if wait_until(|| holding.load(Ordering::SeqCst)) {
            refused = sync.try_call_synchronized(|trace| trace.value).is_none();
        }
        release.store(true, Ordering::SeqCst);
    })?;
    kunit_expect!(test, refused);
    kunit_expect!(test, wait_until(|| !holding.load(Ordering::SeqCst)));
    kunit_expect_eq!(
        test,
        sync.try_call_synchronized(|trace| trace.value),
        Some(7)
    );
    Ok(())
}

fn nested_objects_of_one_call_site(test: &Test) -> Result {
    let lines = SimLines::new(2)?;
    // Made at one call site, as per-vector objects are in a loop: one lockdep class.
    let mut objects = KVec::new();
    for index in 0..2 {
        objects.push(new_sync(&lines, index, DispatchMode::Normal)?, GFP_KERNEL)?;
    }
    let (outer, inner) = (&objects[0], &objects[1]);
    inner.call_synchronized(|trace| trace.value = 5);
    // Without the nesting level lockdep would report taking the class's lock again.
    let value = outer.call_synchronized(|outer_trace| {
        outer_trace.value = 1;
        inner.call_synchronized_nested(1, |inner_trace| inner_trace.value) + outer_trace.value
    });
    kunit_expect_eq!(test, value, 6u64);
    Ok(())
}

fn affinity_hint_needs_a_connected_line_and_an_online_cpu(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    kunit_expect_eq!(test, errno(sync.set_affinity_hint(0, 0)), enotconn());
    sync.connect(Flags::NONE)?;
    kunit_expect_eq!(test, sync.set_affinity_hint(1, 0), Err(EINVAL));
    kunit_expect_eq!(test, sync.set_affinity_hint(0, u32::MAX), Err(EINVAL));
    kunit_expect_eq!(test, sync.set_affinity_hint(0, online_cpus() - 1), Ok(()));
    // Disconnecting clears the hint, which `free_irq()` would warn about.
    sync.disconnect();
    Ok(())
}

fn connection_routines_run_under_the_lock(test: &Test) -> Result {
    let lines = SimLines::new(1)?;
    let sync = new_sync(&lines, 0, DispatchMode::Normal)?;
    sync.set_connection_routines(
        |trace| {
            trace.value += u64::from(crate::irq::local_interrupts_disabled());
            trace.record(b'c');
        },
        |trace| trace.record(b'd'),
    )?;
    kunit_expect_eq!(
        test,
        sync.set_connection_routines(|_| {}, |_| {}),
        Err(EBUSY)
    );
    sync.connect(Flags::NONE)?;
    sync.disconnect();
    sync.connect(Flags::NONE)?;
    sync.disconnect();
    kunit_expect_eq!(test, &super::calls_of(&sync)[..], &b"cdcd"[..]);
    // Under the lock, with interrupts disabled, both times (but on PREEMPT_RT).
    if !cfg!(CONFIG_PREEMPT_RT) {
        kunit_expect_eq!(test, sync.call_synchronized(|trace| trace.value), 2u64);
    }
    Ok(())
}

crate::kunit_suite!(
    "rust_irq_sync_line_control",
    [
        disable_nests_and_enable_restores,
        no_autoen_connects_disabled,
        disconnect_while_disabled_leaves_a_shared_line_enabled,
        routine_disables_its_lines,
        disable_waits_for_a_routine_on_another_cpu,
        try_call_synchronized_while_another_cpu_holds_the_lock,
        nested_objects_of_one_call_site,
        affinity_hint_needs_a_connected_line_and_an_online_cpu,
        connection_routines_run_under_the_lock,
    ]
);
