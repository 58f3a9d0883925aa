// SPDX-License-Identifier: GPL-2.0

//! Interrupt moderation: the interrupt rate follows the traffic, as in the C driver.

use super::{
    regs::{self, Registers},
    traffic::Traffic,
};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Interrupt moderation, as the C driver does by default: fewer interrupts while either
/// direction moves bulk traffic. Only `open` and the poll use it, never at once.
pub(crate) struct Moderation {
    tx_bulk: AtomicBool,
    rx_bulk: AtomicBool,
    /// What the throttle registers hold.
    throttle: AtomicU32,
}

impl Moderation {
    pub(crate) fn new() -> Self {
        Self {
            tx_bulk: AtomicBool::new(false),
            rx_bulk: AtomicBool::new(false),
            throttle: AtomicU32::new(regs::ITR_DEFAULT),
        }
    }

    /// Starts again from the default rate.
    pub(crate) fn reset(&self, registers: &Registers, throttles: &[usize]) {
        self.tx_bulk.store(false, Ordering::Relaxed);
        self.rx_bulk.store(false, Ordering::Relaxed);
        self.throttle.store(regs::ITR_DEFAULT, Ordering::Relaxed);
        write_throttles(registers, throttles, regs::ITR_DEFAULT);
    }

    /// Classes what a poll `sent` and `received`, and changes the rate if the class changed.
    pub(crate) fn update(
        &self,
        registers: &Registers,
        throttles: &[usize],
        sent: Traffic,
        received: Traffic,
    ) {
        // A class only changes with traffic (`Traffic::is_bulk`).
        if sent.packets == 0 && received.packets == 0 {
            return;
        }
        let tx_bulk = sent.is_bulk(self.tx_bulk.load(Ordering::Relaxed));
        let rx_bulk = received.is_bulk(self.rx_bulk.load(Ordering::Relaxed));
        self.tx_bulk.store(tx_bulk, Ordering::Relaxed);
        self.rx_bulk.store(rx_bulk, Ordering::Relaxed);
        let throttle = if tx_bulk || rx_bulk {
            regs::ITR_BULK
        } else {
            regs::ITR_DEFAULT
        };
        if self.throttle.swap(throttle, Ordering::Relaxed) != throttle {
            write_throttles(registers, throttles, throttle);
        }
    }
}

/// Writes `value` to each of the registers `throttles`.
fn write_throttles(registers: &Registers, throttles: &[usize], value: u32) {
    for &throttle in throttles {
        // The throttle registers are constants within the BAR: the write cannot fail.
        let _ = registers.try_write32(value, throttle);
    }
}
