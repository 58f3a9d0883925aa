// SPDX-License-Identifier: GPL-2.0

//! InterruptSync benchmark: the Rust side of `make bench`.
//!
//! Times the same operations as the C module `irqsync_bench_baseline`:
//!
//! - `lock_roundtrip`: [`InterruptSync::call_synchronized`] on an empty closure;
//! - `isr_dispatch`: the dispatch of one service routine that counts the interrupt;
//! - `dispatch_{normal,all}_N`: the dispatch of a chain of N routines in
//!   [`DispatchMode::Normal`] and [`DispatchMode::All`]. Every routine counts its call; only the
//!   last handles the interrupt, so that both modes call all N.
//!
//! Interrupts are invoked through `generic_handle_irq_safe()` on an `irq_sim` line
//! ([`SimLine::handle`](kernel::irq::sim::SimLine::handle)). Each operation is timed over
//! `ITERATIONS` operations (`LOCK_ITERATIONS` for the lock), `ROUNDS` times; the fastest round
//! is printed in hundredths of a nanosecond per operation. Under QEMU's `-icount shift=0` a
//! nanosecond is one guest instruction. A lock round is short (0.3 ms against a 4 ms tick) so
//! that the fastest has no timer interrupt in it, and repeats exactly.

use kernel::fmt;
use kernel::irq::{sim::SimLines, DispatchMode, Flags, InterruptSync, IrqReturn, Placement};
use kernel::str::CString;
use kernel::time::Ktime;
use kernel::{new_interrupt_sync, prelude::*};

module! {
    type: Bench,
    name: "rust_irqsync_bench",
    author: "irqsync developers",
    description: "InterruptSync benchmark against the C baseline",
    license: "GPL",
}

const ITERATIONS: i64 = 100_000;
const LOCK_ITERATIONS: i64 = 10_000;
const ROUNDS: usize = 3;

/// The chain lengths timed in each dispatch mode.
const CHAIN_LENGTHS: [usize; 3] = [1, 4, 16];

/// Returns the fastest of `ROUNDS` runs of `iterations` calls of `operation`, in hundredths of
/// a nanosecond per call.
fn best_centi_ns(iterations: i64, mut operation: impl FnMut() -> Result) -> Result<i64> {
    let mut best = i64::MAX;
    for _ in 0..ROUNDS {
        let start = Ktime::ktime_get();
        for _ in 0..iterations {
            operation()?;
        }
        let elapsed = (Ktime::ktime_get() - start).to_ns();
        best = best.min(elapsed * 100 / iterations);
    }
    Ok(best)
}

fn print_result(name: &str, centi_ns: i64) {
    pr_info!(
        "irqsync-bench: rust {name} {}.{:02} ns\n",
        centi_ns / 100,
        centi_ns % 100
    );
}

/// A new object on the line of `lines`, which counts the calls of its routines.
fn new_counter(lines: &SimLines, mode: DispatchMode) -> Result<Pin<KBox<InterruptSync<u64>>>> {
    KBox::pin_init(
        new_interrupt_sync!(lines.irq(0)?, mode, 0u64, "rust_irqsync_bench"),
        GFP_KERNEL,
    )
}

/// Connects `sync`, times interrupts on its line, disconnects it, and checks that its routines
/// were called `calls_per_interrupt` times per interrupt.
fn time_dispatch(
    lines: &SimLines,
    sync: &InterruptSync<u64>,
    name: &str,
    calls_per_interrupt: u64,
) -> Result {
    let line = lines.line(0)?;
    sync.connect(Flags::NONE)?;
    let best = best_centi_ns(ITERATIONS, || line.handle());
    sync.disconnect();

    let best = best?;
    let expected = calls_per_interrupt * ROUNDS as u64 * ITERATIONS as u64;
    let calls = sync.call_synchronized(|calls| *calls);
    if calls != expected {
        pr_err!("irqsync-bench: rust {name} made {calls} calls, expected {expected}\n");
        return Err(EIO);
    }
    print_result(name, best);
    Ok(())
}

/// Times a chain of `length` routines in `mode`; all but the last pass the interrupt on.
fn time_chain(lines: &SimLines, mode: DispatchMode, length: usize) -> Result {
    let sync = new_counter(lines, mode)?;
    for index in 0..length {
        if index + 1 < length {
            sync.register_service_routine(
                |calls| {
                    *calls = calls.wrapping_add(1);
                    IrqReturn::None
                },
                Placement::Last,
            )?;
        } else {
            sync.register_service_routine(
                |calls| {
                    *calls = calls.wrapping_add(1);
                    IrqReturn::Handled
                },
                Placement::Last,
            )?;
        }
    }
    let mode_name = match mode {
        DispatchMode::Normal => "normal",
        DispatchMode::All => "all",
        DispatchMode::Repeat => "repeat",
    };
    let name = CString::try_from_fmt(fmt!("dispatch_{mode_name}_{length}"))?;
    time_dispatch(
        lines,
        &sync,
        name.to_str().map_err(|_| EINVAL)?,
        length as u64,
    )
}

struct Bench;

impl kernel::Module for Bench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let lines = SimLines::new(1)?;

        let sync = new_counter(&lines, DispatchMode::Normal)?;
        let lock = best_centi_ns(LOCK_ITERATIONS, || {
            sync.call_synchronized(|_| ());
            Ok(())
        })?;
        print_result("lock_roundtrip", lock);

        sync.register_service_routine(
            |calls| {
                *calls = calls.wrapping_add(1);
                IrqReturn::Handled
            },
            Placement::Last,
        )?;
        time_dispatch(&lines, &sync, "isr_dispatch", 1)?;

        for mode in [DispatchMode::Normal, DispatchMode::All] {
            for length in CHAIN_LENGTHS {
                time_chain(&lines, mode, length)?;
            }
        }
        Ok(Bench)
    }
}
