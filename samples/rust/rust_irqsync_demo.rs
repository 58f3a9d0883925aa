// SPDX-License-Identifier: GPL-2.0

//! InterruptSync demo: one simulated card, three interrupt sources, three dispatch modes.
//!
//! The card has a DMA engine, a codec and a timer that share one interrupt line, as the
//! functions of a PortCls adapter share one `IInterruptSync`. Each source has a status bit; its
//! service routine handles the interrupt only when that bit is set, and acknowledges it by
//! clearing the bit. Process context plays the hardware: it sets status bits through
//! `call_synchronized` and fires the line. The module prints what ran, in which order.
//!
//! The last part defers work as a KMDF driver does: the DMA routine queues the object's DPC,
//! which completes the transfer in softirq context, and the codec routine wakes the object's
//! thread routine, which may sleep talking to the codec.

use kernel::delay::poll_timeout;
use kernel::irq::{
    sim::SimLines, DispatchMode, Flags, InterruptSync, IrqReturn, IsrContext, Placement,
};
use kernel::{new_interrupt_sync, prelude::*};

module! {
    type: Demo,
    name: "rust_irqsync_demo",
    author: "irqsync developers",
    description: "InterruptSync demo on simulated interrupt lines",
    license: "GPL",
}

const DMA: u32 = 1 << 0;
const CODEC: u32 = 1 << 1;
const TIMER: u32 = 1 << 2;

/// The state the routines share with process context.
struct Card {
    /// Pending interrupt causes, as a status register would hold them.
    status: u32,
    /// Events the FIFO still holds (Repeat mode).
    fifo: u32,
    /// Names of the routines that ran for the last interrupt, in order.
    trace: [&'static str; 16],
    trace_len: usize,
    /// DMA transfers the DPC completed, and codec events the thread routine served.
    transfers_completed: u32,
    codec_events_served: u32,
}

impl Card {
    fn new() -> Self {
        Card {
            status: 0,
            fifo: 0,
            trace: [""; 16],
            trace_len: 0,
            transfers_completed: 0,
            codec_events_served: 0,
        }
    }

    fn record(&mut self, entry: &'static str) {
        if let Some(slot) = self.trace.get_mut(self.trace_len) {
            *slot = entry;
            self.trace_len += 1;
        }
    }
}

/// A routine for the source whose status bit is `cause`: handles it only when it is pending.
fn source(name: &'static str, cause: u32) -> impl FnMut(&mut Card) -> IrqReturn + Send {
    move |card| {
        if card.status & cause == 0 {
            card.record(name);
            return IrqReturn::None;
        }
        card.status &= !cause;
        card.record(name);
        IrqReturn::Handled
    }
}

fn new_card(
    lines: &SimLines,
    index: usize,
    mode: DispatchMode,
) -> Result<Pin<KBox<InterruptSync<Card>>>> {
    let sync = KBox::pin_init(
        new_interrupt_sync!(lines.irq(index)?, mode, Card::new(), "rust_irqsync_demo"),
        GFP_KERNEL,
    )?;
    // Registered codec, timer, then the DMA engine at the head: the chain is dma, codec, timer.
    sync.register_service_routine(source("codec", CODEC), Placement::Last)?;
    sync.register_service_routine(source("timer", TIMER), Placement::Last)?;
    sync.register_service_routine(source("dma", DMA), Placement::First)?;
    Ok(sync)
}

/// Sets `causes` as the hardware would, fires the line and prints which routines ran.
fn interrupt(lines: &SimLines, index: usize, sync: &InterruptSync<Card>, causes: u32) -> Result {
    sync.call_synchronized(|card| {
        card.status |= causes;
        card.trace_len = 0;
    });
    lines.fire_and_wait(index)?;

    let (trace, len, left) =
        sync.call_synchronized(|card| (card.trace, card.trace_len, card.status));
    pr_info!(
        "  status {causes:#05b}: routines called {:?}, still pending {left:#05b}\n",
        &trace[..len]
    );
    Ok(())
}

fn print_statistics(sync: &InterruptSync<Card>) {
    let statistics = sync.statistics();
    pr_info!(
        "  irq {}: {} handled, {} unhandled (IRQ_NONE), {} stopped by the repeat limit\n",
        sync.irq(),
        statistics.handled,
        statistics.unhandled,
        statistics.repeat_limit_hits
    );
}

fn normal_mode(lines: &SimLines) -> Result {
    pr_info!("Normal mode: routines in order, stop at the first that handles\n");
    let sync = new_card(lines, 0, DispatchMode::Normal)?;
    sync.connect(Flags::NONE)?;
    interrupt(lines, 0, &sync, CODEC)?;
    // The DMA engine handles first and dispatch stops: the timer waits for the next interrupt.
    interrupt(lines, 0, &sync, DMA | TIMER)?;
    interrupt(lines, 0, &sync, 0)?;
    // A cause nobody serves: IRQ_NONE, so the kernel's spurious-interrupt detection sees it.
    interrupt(lines, 0, &sync, 0)?;
    sync.disconnect();
    print_statistics(&sync);
    Ok(())
}

fn all_mode(lines: &SimLines) -> Result {
    pr_info!("All mode: every routine once per interrupt\n");
    let sync = new_card(lines, 1, DispatchMode::All)?;
    sync.connect(Flags::NONE)?;
    interrupt(lines, 1, &sync, DMA | TIMER)?;
    interrupt(lines, 1, &sync, CODEC)?;
    sync.disconnect();
    print_statistics(&sync);
    Ok(())
}

fn repeat_mode(lines: &SimLines) -> Result {
    pr_info!("Repeat mode: passes over the routines until one handles nothing\n");
    let sync = KBox::pin_init(
        new_interrupt_sync!(
            lines.irq(2)?,
            DispatchMode::Repeat,
            Card::new(),
            "rust_irqsync_demo"
        ),
        GFP_KERNEL,
    )?;
    // A FIFO that yields one event per call, and a quiet codec.
    sync.register_service_routine(
        |card| {
            if card.fifo == 0 {
                card.record("fifo (empty)");
                return IrqReturn::None;
            }
            card.fifo -= 1;
            card.record("fifo");
            IrqReturn::Handled
        },
        Placement::Last,
    )?;
    sync.register_service_routine(source("codec", CODEC), Placement::Last)?;
    sync.connect(Flags::NONE)?;
    sync.call_synchronized(|card| card.fifo = 3);
    interrupt(lines, 2, &sync, 0)?;
    sync.disconnect();
    print_statistics(&sync);
    Ok(())
}

fn synchronized_calls(lines: &SimLines) -> Result {
    pr_info!("call_synchronized: any return type, interrupts excluded while it runs\n");
    let sync = new_card(lines, 0, DispatchMode::Normal)?;
    sync.connect(Flags::SHARED)?;

    // Like NdisMSynchronizeWithInterruptEx returning the routine's BOOLEAN.
    let was_idle = sync.call_synchronized(|card| {
        let idle = card.status == 0;
        card.status |= TIMER;
        idle
    });
    pr_info!("  bool: the card was idle before arming the timer: {was_idle}\n");

    // Like CallSynchronizedRoutine returning an NTSTATUS: here a Result.
    let arm_dma = |card: &mut Card| -> Result<u32> {
        if card.status & DMA != 0 {
            return Err(EBUSY);
        }
        card.status |= DMA;
        Ok(card.status)
    };
    pr_info!(
        "  Result: arming DMA: {:?}\n",
        sync.call_synchronized(arm_dma)
    );
    pr_info!(
        "  Result: arming DMA again: {:?}\n",
        sync.call_synchronized(arm_dma)
    );

    lines.fire_and_wait(0)?;
    lines.fire_and_wait(0)?;
    let left = sync.call_synchronized(|card| card.status);
    pr_info!("  after two interrupts, still pending: {left:#05b}\n");
    pr_info!(
        "  connecting again: {:?}; the line's number: {}\n",
        sync.connect(Flags::SHARED),
        sync.irq()
    );
    // With CONFIG_DEBUG_SHIRQ, freeing a shared line calls the handler once more: the quiet card
    // answers IRQ_NONE, and the statistics count it.
    sync.disconnect();
    print_statistics(&sync);
    Ok(())
}

/// A routine for the source whose status bit is `cause` that leaves the rest of the work to
/// `defer`, which gets the routine's context: queue the DPC, wake the thread.
fn deferring_source(
    name: &'static str,
    cause: u32,
    defer: fn(&IsrContext<'_, Card>) -> bool,
) -> impl FnMut(&mut Card, &IsrContext<'_, Card>) -> IrqReturn + Send {
    let mut handle = source(name, cause);
    move |card, isr| {
        let handled = handle(card);
        if handled.is_handled() {
            defer(isr);
        }
        handled
    }
}

fn deferred_work(lines: &SimLines) -> Result {
    pr_info!("Deferred work: the DMA routine queues the DPC, the codec routine wakes the thread\n");
    let sync = KBox::pin_init(
        new_interrupt_sync!(
            lines.irq(3)?,
            DispatchMode::All,
            Card::new(),
            "rust_irqsync_demo"
        ),
        GFP_KERNEL,
    )?;
    sync.set_dpc(|sync| {
        let completed = sync.call_synchronized(|card| {
            card.transfers_completed += 1;
            card.transfers_completed
        });
        pr_info!("  DPC (softirq, outside the lock): DMA transfer {completed} completed\n");
    })?;
    sync.set_thread_routine(|sync| {
        // A codec behind a slow bus: the thread may sleep.
        kernel::delay::usleep_range(100, 200);
        let served = sync.call_synchronized(|card| {
            card.codec_events_served += 1;
            card.codec_events_served
        });
        pr_info!("  thread routine (may sleep, outside the lock): codec event {served} served\n");
        IrqReturn::Handled
    })?;
    sync.register_service_routine_with_context(
        deferring_source("dma", DMA, |isr| isr.queue_dpc()),
        Placement::Last,
    )?;
    sync.register_service_routine_with_context(
        deferring_source("codec", CODEC, |isr| isr.wake_thread()),
        Placement::Last,
    )?;
    // The thread routine makes the connection threaded; ONESHOT keeps a level line masked until
    // the thread has run.
    sync.connect(Flags::ONESHOT)?;
    interrupt(lines, 3, &sync, DMA | CODEC)?;
    let done =
        || sync.call_synchronized(|card| (card.transfers_completed, card.codec_events_served));
    poll_timeout(|| done() == (1, 1), 1000, 2_000_000)?;
    sync.disconnect();
    Ok(())
}

struct Demo;

impl kernel::Module for Demo {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("InterruptSync demo: a card with DMA, codec and timer sources on one line\n");
        let lines = SimLines::new(4)?;
        normal_mode(&lines)?;
        all_mode(&lines)?;
        repeat_mode(&lines)?;
        synchronized_calls(&lines)?;
        deferred_work(&lines)?;
        pr_info!("demo finished\n");
        Ok(Demo)
    }
}
