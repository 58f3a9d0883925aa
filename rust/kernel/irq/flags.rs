// SPDX-License-Identifier: GPL-2.0

//! Flags for requesting an interrupt line.
//!
//! C header: [`include/linux/interrupt.h`](srctree/include/linux/interrupt.h)

use core::ops::{BitOr, BitOrAssign};

/// Flags given when an interrupt line is requested (the C `IRQF_*` constants).
///
/// Flags combine with `|`.
///
/// # Examples
///
/// ```
/// use kernel::irq::Flags;
///
/// let flags = Flags::SHARED | Flags::TRIGGER_HIGH;
/// assert!(flags.contains(Flags::SHARED));
/// assert!(!Flags::NONE.contains(Flags::SHARED));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u32);

impl Flags {
    /// No flags: an exclusive line with the trigger the platform configured.
    pub const NONE: Flags = Flags(0);

    /// The line may be shared by several handlers; each must return
    /// [`IrqReturn::None`](super::IrqReturn::None) when its device did not interrupt.
    pub const SHARED: Flags = Flags(bindings::IRQF_SHARED);

    /// Sharing mismatches are expected: do not warn about them.
    pub const PROBE_SHARED: Flags = Flags(bindings::IRQF_PROBE_SHARED);

    /// Rising edge triggered.
    pub const TRIGGER_RISING: Flags = Flags(bindings::IRQF_TRIGGER_RISING);

    /// Falling edge triggered.
    pub const TRIGGER_FALLING: Flags = Flags(bindings::IRQF_TRIGGER_FALLING);

    /// Level triggered, active high.
    pub const TRIGGER_HIGH: Flags = Flags(bindings::IRQF_TRIGGER_HIGH);

    /// Level triggered, active low.
    pub const TRIGGER_LOW: Flags = Flags(bindings::IRQF_TRIGGER_LOW);

    /// Keep the line enabled during system suspend.
    pub const NO_SUSPEND: Flags = Flags(bindings::IRQF_NO_SUSPEND);

    /// Resume the line early, during syscore, rather than at device resume.
    pub const EARLY_RESUME: Flags = Flags(bindings::IRQF_EARLY_RESUME);

    /// On a line shared with a `NO_SUSPEND` user, run this handler after suspend too.
    pub const COND_SUSPEND: Flags = Flags(bindings::IRQF_COND_SUSPEND);

    /// Keep the line masked after the primary handler until the thread handler has run: what a
    /// level-triggered line needs when it is handled in a thread.
    pub const ONESHOT: Flags = Flags(bindings::IRQF_ONESHOT);

    /// Leave the line disabled when it is requested, until it is explicitly enabled. Not
    /// allowed with [`Flags::SHARED`].
    pub const NO_AUTOEN: Flags = Flags(bindings::IRQF_NO_AUTOEN);

    /// Returns whether all of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Returns `self` without the flags of `other`.
    pub const fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// Returns the value C expects.
    pub(crate) const fn into_inner(self) -> u32 {
        self.0
    }
}

impl BitOr for Flags {
    type Output = Flags;

    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}
