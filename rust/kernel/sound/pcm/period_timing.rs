// SPDX-License-Identifier: GPL-2.0

//! How regularly a device completes periods: the mean interval between period interrupts and
//! its standard deviation (the jitter).

/// The intervals between the period completions of a stream, summed up as they arrive.
///
/// An interrupt routine calls [`PeriodTiming::record`] at every period completion;
/// [`PeriodTiming::mean_and_jitter_us`] then gives the mean interval and its standard deviation.
///
/// Nothing in it can overflow or panic, whatever the timestamps: intervals of hours or years,
/// `i64::MIN` and `i64::MAX` timestamps and a clock that goes backwards are all taken. An
/// interval is counted in whole microseconds; an interval during which the clock went backwards
/// counts as zero, and one longer than `i64::MAX` nanoseconds as `i64::MAX` nanoseconds. The
/// count and the sums saturate: the sum of squares is kept in 128 bits and the sum in 64, so
/// neither saturates before 2^64 microseconds (more than half a million years) of intervals.
///
/// # Examples
///
/// Periods of 10 ms, alternately 100 µs early and late:
///
/// ```
/// use kernel::sound::pcm::PeriodTiming;
///
/// let mut timing = PeriodTiming::new();
/// assert_eq!(timing.mean_and_jitter_us(), (0, 0));
/// let mut now_ns = 1_000_000_000i64;
/// for i in 0..101 {
///     timing.record(now_ns);
///     now_ns += if i % 2 == 0 { 9_900_000 } else { 10_100_000 };
/// }
/// assert_eq!(timing.intervals(), 100);
/// assert_eq!(timing.mean_and_jitter_us(), (10_000, 100));
/// ```
///
/// A pause of two hours between two periods, whose square in microseconds does not fit in 64
/// bits; then many regular periods:
///
/// ```
/// use kernel::sound::pcm::PeriodTiming;
///
/// const HOUR_NS: i64 = 3_600_000_000_000;
///
/// let mut timing = PeriodTiming::new();
/// timing.record(0);
/// timing.record(10_000_000);
/// timing.record(10_000_000 + 2 * HOUR_NS);
/// // Two intervals, of 10 ms and 2 h: their mean, and half their difference.
/// assert_eq!(timing.mean_and_jitter_us(), (3_600_005_000, 3_599_995_000));
///
/// let mut now_ns = 10_000_000 + 2 * HOUR_NS;
/// for _ in 0..100_000 {
///     now_ns += 10_000_000;
///     timing.record(now_ns);
/// }
/// assert_eq!(timing.intervals(), 100_002);
/// let (mean, jitter) = timing.mean_and_jitter_us();
/// // 8200.01 s over 100002 intervals; the one long interval dominates the deviation.
/// assert_eq!(mean, 81_998);
/// assert!(jitter > 22_000_000 && jitter < 23_000_000);
/// ```
///
/// Timestamps at the ends of the range, and a clock that goes backwards:
///
/// ```
/// use kernel::sound::pcm::PeriodTiming;
///
/// // From i64::MIN to i64::MAX: the difference saturates at i64::MAX nanoseconds.
/// let mut timing = PeriodTiming::new();
/// timing.record(i64::MIN);
/// timing.record(i64::MAX);
/// assert_eq!(timing.mean_and_jitter_us(), (i64::MAX as u64 / 1000, 0));
///
/// // Backwards: that interval counts as zero, and the next one is measured from the earlier
/// // time.
/// let mut timing = PeriodTiming::new();
/// timing.record(1_000_000_000);
/// timing.record(1_010_000_000);
/// timing.record(i64::MIN);
/// timing.record(i64::MIN + 10_000_000);
/// assert_eq!(timing.intervals(), 3);
/// assert_eq!(timing.mean_and_jitter_us(), (6_666, 4_714));
///
/// // Alternately the longest and a backwards interval, until the sum saturates: the results
/// // are no longer exact, but stay within the intervals.
/// let longest_us = i64::MAX as u64 / 1000;
/// let mut timing = PeriodTiming::new();
/// for _ in 0..2100 {
///     timing.record(i64::MIN);
///     timing.record(i64::MAX);
/// }
/// assert_eq!(timing.intervals(), 4199);
/// let (mean, jitter) = timing.mean_and_jitter_us();
/// assert!(mean > longest_us / 4 && mean <= longest_us);
/// assert!(jitter > longest_us / 4 && jitter <= longest_us);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodTiming {
    /// When the last period completed, in nanoseconds; `None` before the first.
    last_ns: Option<i64>,
    /// The number of intervals: one less than the number of periods.
    intervals: u64,
    /// The sum of the intervals, in microseconds.
    sum_us: u64,
    /// The sum of their squares, in square microseconds.
    sum_squares_us: u128,
}

impl PeriodTiming {
    /// Creates an empty record: no period completed yet.
    pub const fn new() -> Self {
        Self {
            last_ns: None,
            intervals: 0,
            sum_us: 0,
            sum_squares_us: 0,
        }
    }

    /// Records that a period completed at `now_ns` nanoseconds (of `ktime_get()`, say).
    ///
    /// Cheap, and callable in any context, interrupt routines included.
    pub fn record(&mut self, now_ns: i64) {
        if let Some(last_ns) = self.last_ns {
            // A clock that went backwards measures no time.
            let interval_us = (now_ns.saturating_sub(last_ns).max(0) / 1000).unsigned_abs();
            self.intervals = self.intervals.saturating_add(1);
            self.sum_us = self.sum_us.saturating_add(interval_us);
            // The square of a 64-bit value always fits in 128 bits.
            self.sum_squares_us = self
                .sum_squares_us
                .saturating_add(u128::from(interval_us) * u128::from(interval_us));
        }
        self.last_ns = Some(now_ns);
    }

    /// Returns the number of intervals recorded: one less than the number of periods.
    pub fn intervals(&self) -> u64 {
        self.intervals
    }

    /// Returns the mean interval and its standard deviation (the jitter), in microseconds,
    /// rounded down; zeros before two periods completed.
    pub fn mean_and_jitter_us(&self) -> (u64, u64) {
        let n = self.intervals;
        if n == 0 {
            return (0, 0);
        }
        let mean = self.sum_us / n;
        // The variance is (Σx² - (Σx)²/n) / n; (Σx)² fits in 128 bits as Σx fits in 64. Once
        // the sums saturate, the difference may not be positive any more: it is then zero.
        let sum = u128::from(self.sum_us);
        let spread = self.sum_squares_us.saturating_sub(div_u128(sum * sum, n));
        (mean, integer_sqrt(div_u128(spread, n)))
    }
}

/// Returns `dividend / divisor` (rounded down), or zero if `divisor` is zero.
///
/// Long division, one bit at a time: the compiler would call `__udivti3`, which the kernel does
/// not provide.
fn div_u128(dividend: u128, divisor: u64) -> u128 {
    if divisor == 0 {
        return 0;
    }
    let divisor = u128::from(divisor);
    let (mut quotient, mut remainder) = (0u128, 0u128);
    for bit in (0..u128::BITS - dividend.leading_zeros()).rev() {
        // `remainder < divisor < 2^64` before the shift, so it cannot overflow.
        remainder = (remainder << 1) | ((dividend >> bit) & 1);
        if remainder >= divisor {
            remainder -= divisor;
            quotient |= 1u128 << bit;
        }
    }
    quotient
}

/// Returns the square root of `value`, rounded down.
fn integer_sqrt(value: u128) -> u64 {
    // The root is in `low..high` throughout: `low² <= value < high²`. The square root of
    // `u128::MAX` is below 2^64, and every `middle` is below `high`, so `middle²` fits.
    let (mut low, mut high) = (0u128, 1u128 << 64);
    while high - low > 1 {
        let middle = low + ((high - low) >> 1);
        if middle * middle <= value {
            low = middle;
        } else {
            high = middle;
        }
    }
    // `low < high <= 2^64`, so the conversion cannot fail.
    u64::try_from(low).unwrap_or(u64::MAX)
}
