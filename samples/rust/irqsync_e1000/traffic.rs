// SPDX-License-Identifier: GPL-2.0

//! Frames and bytes, counted as the device puts them on the wire.

use super::ring::MIN_FRAME;

/// Frames and bytes: what one poll handled in one direction, or what one frame to send becomes
/// on the wire.
///
/// Sums wrap, as the kernel's 64-bit counters do.
#[derive(Clone, Copy, Default)]
pub(crate) struct Traffic {
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
}

impl Traffic {
    /// What a frame of `len` bytes becomes on the wire, worked out when it is queued as the C
    /// driver does (`e1000_tx_map()`): `segments` frames, each after the first repeating the
    /// frame's `header_len` bytes of headers. A frame shorter than the shortest on the wire is
    /// padded to it. (The C driver repeats `skb_headlen()` bytes, which is the headers for
    /// frames that TCP builds; the device repeats exactly the headers.)
    pub(crate) fn on_wire(len: usize, segments: u16, header_len: usize) -> Traffic {
        let packets = u64::from(segments.max(1));
        let repeated = (packets - 1).saturating_mul(header_len as u64);
        Traffic {
            packets,
            bytes: repeated.saturating_add(len.max(MIN_FRAME) as u64),
        }
    }

    /// These totals and `other` together.
    pub(crate) fn plus(self, other: Traffic) -> Traffic {
        Traffic {
            packets: self.packets.wrapping_add(other.packets),
            bytes: self.bytes.wrapping_add(other.bytes),
        }
    }

    /// What was added to these totals since `earlier`.
    pub(crate) fn since(self, earlier: Traffic) -> Traffic {
        Traffic {
            packets: self.packets.wrapping_sub(earlier.packets),
            bytes: self.bytes.wrapping_sub(earlier.bytes),
        }
    }

    /// Whether this traffic, in one poll, is bulk, given whether the last poll's was: the C
    /// driver's rules (`e1000_update_itr()`), without its lowest-latency class, as in its
    /// default "dynamic conservative" mode.
    pub(crate) fn is_bulk(self, was_bulk: bool) -> bool {
        let Traffic { packets, bytes } = self;
        if packets == 0 {
            return was_bulk;
        }
        let per_packet = bytes / packets;
        if was_bulk {
            !(bytes > 25000 && packets > 35 || bytes < 6000)
        } else if bytes > 10000 {
            packets < 10 || per_packet > 1200
        } else {
            per_packet > 2000
        }
    }
}
