// SPDX-License-Identifier: GPL-2.0

//! InterruptSync benchmark: the Rust side of `make bench`.
//!
//! Times the same two operations as the C module `irqsync_bench_baseline`:
//!
//! - lock: [`InterruptSync::call_synchronized`] on an empty closure;
//! - isr: the dispatch of one service routine that counts the interrupt, invoked through
//!   `generic_handle_irq_safe()` on an `irq_sim` line ([`SimLines::handle`]).
//!
//! Each is timed over `ITERATIONS` operations, `ROUNDS` times; the fastest round is printed in
//! hundredths of a nanosecond per operation.

use kernel::irq::{sim::SimLines, DispatchMode, Flags, InterruptSync, IrqReturn, Placement};
use kernel::time::Ktime;
use kernel::{new_interrupt_sync, prelude::*};

module! {
    type: Bench,
    name: "rust_irqsync_bench",
    author: "irqsync developers",
    description: "InterruptSync benchmark against the C baseline",
    license: "GPL",
}

const ITERATIONS: i64 = 200_000;
const ROUNDS: usize = 5;

/// Returns the fastest of `ROUNDS` runs of `ITERATIONS` calls of `operation`, in hundredths of
/// a nanosecond per call.
fn best_centi_ns(mut operation: impl FnMut() -> Result) -> Result<i64> {
    let mut best = i64::MAX;
    for _ in 0..ROUNDS {
        let start = Ktime::ktime_get();
        for _ in 0..ITERATIONS {
            operation()?;
        }
        let elapsed = (Ktime::ktime_get() - start).to_ns();
        best = best.min(elapsed * 100 / ITERATIONS);
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

struct Bench;

impl kernel::Module for Bench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let lines = SimLines::new(1)?;
        let sync: Pin<KBox<InterruptSync<u64>>> = KBox::pin_init(
            new_interrupt_sync!(
                lines.irq(0)?,
                DispatchMode::Normal,
                0u64,
                "rust_irqsync_bench"
            ),
            GFP_KERNEL,
        )?;

        let lock = best_centi_ns(|| {
            sync.call_synchronized(|_| ());
            Ok(())
        })?;

        sync.register_service_routine(
            |interrupts| {
                *interrupts += 1;
                IrqReturn::Handled
            },
            Placement::Last,
        )?;
        sync.connect(Flags::NONE)?;
        let isr = best_centi_ns(|| lines.handle(0));
        sync.disconnect();

        let expected = ROUNDS as u64 * ITERATIONS as u64;
        let interrupts = sync.call_synchronized(|interrupts| *interrupts);
        if interrupts != expected {
            pr_err!("irqsync-bench: rust handled {interrupts} interrupts, expected {expected}\n");
            return Err(EIO);
        }
        print_result("lock_roundtrip", lock);
        print_result("isr_dispatch", isr?);
        Ok(Bench)
    }
}
