// SPDX-License-Identifier: GPL-2.0

//! Checksum insertion and TCP segmentation by the device: the context descriptor that asks for
//! them, worked out from what the stack asks of a frame.

use super::descriptor;
use kernel::{
    net::skb::{ChecksumRequest, Segmentation, SkBuff},
    prelude::*,
};

/// What the device does to a frame besides sending it, as the context descriptor before the
/// frame says, and what the frame's data descriptors say in turn.
pub(crate) struct Offload {
    pub(crate) context: [u64; descriptor::WORDS],
    pub(crate) data_command: u64,
    /// The frames the device cuts the frame into: the stack's count (`gso_segs`), or 1 if the
    /// frame is not cut.
    pub(crate) segments: u16,
    /// The bytes of headers that each segment after the first repeats; 0 if the frame is not
    /// cut.
    pub(crate) header_len: usize,
}

impl Offload {
    /// Inserts a TCP or UDP checksum where `request` says; `None` if its offsets do not fit
    /// the context descriptor's bytes.
    fn checksum(request: ChecksumRequest) -> Option<Self> {
        let start = u8::try_from(request.start).ok()?;
        let at = u8::try_from(request.start.checked_add(request.offset)?).ok()?;
        Some(Self {
            context: [
                u64::from(start) << descriptor::CONTEXT_TUCSS_SHIFT
                    | u64::from(at) << descriptor::CONTEXT_TUCSO_SHIFT,
                descriptor::TX_CMD_DEXT,
            ],
            data_command: descriptor::TX_CMD_DEXT
                | descriptor::TX_TYPE_DATA
                | descriptor::TX_OPTION_TXSM,
            segments: 1,
            header_len: 0,
        })
    }

    /// Cuts a TCP over IPv4 frame of `frame_len` bytes as `cut` says into `segments` segments
    /// (the stack's count), inserting both checksums in each segment; `None` if an offset or
    /// length does not fit its field.
    fn segmentation(cut: &Segmentation, frame_len: usize, segments: u16) -> Option<Self> {
        let ip_start = u8::try_from(cut.network_offset).ok()?;
        let ip_checksum = u8::try_from(cut.ip_checksum_offset()).ok()?;
        let ip_end = u16::try_from(cut.transport_offset.checked_sub(1)?).ok()?;
        let tcp_start = u8::try_from(cut.transport_offset).ok()?;
        let tcp_checksum = u8::try_from(cut.tcp_checksum_offset()).ok()?;
        let header_len = u8::try_from(cut.header_len).ok()?;
        let mss = u16::try_from(cut.segment_size).ok()?;
        let payload = u64::try_from(frame_len.checked_sub(cut.header_len)?).ok()?;
        if payload > descriptor::TX_LENGTH_MASK {
            return None;
        }
        Some(Self {
            context: [
                u64::from(ip_start) << descriptor::CONTEXT_IPCSS_SHIFT
                    | u64::from(ip_checksum) << descriptor::CONTEXT_IPCSO_SHIFT
                    | u64::from(ip_end) << descriptor::CONTEXT_IPCSE_SHIFT
                    | u64::from(tcp_start) << descriptor::CONTEXT_TUCSS_SHIFT
                    | u64::from(tcp_checksum) << descriptor::CONTEXT_TUCSO_SHIFT,
                payload
                    | descriptor::CONTEXT_CMD_TCP
                    | descriptor::CONTEXT_CMD_IP
                    | descriptor::TX_CMD_TSE
                    | descriptor::TX_CMD_DEXT
                    | u64::from(header_len) << descriptor::CONTEXT_HDRLEN_SHIFT
                    | u64::from(mss) << descriptor::CONTEXT_MSS_SHIFT,
            ],
            data_command: descriptor::TX_CMD_DEXT
                | descriptor::TX_TYPE_DATA
                | descriptor::TX_CMD_TSE
                | descriptor::TX_OPTION_IXSM
                | descriptor::TX_OPTION_TXSM,
            segments: segments.max(1),
            header_len: cut.header_len,
        })
    }

    /// Whether the device cuts the frame into segments, rather than only inserting its
    /// checksum.
    pub(crate) fn cuts(&self) -> bool {
        self.header_len != 0
    }

    /// The offload `skb` needs, if any, its headers made ready for it. A frame to checksum
    /// whose offsets the context cannot hold is checksummed here. An error means the frame
    /// cannot be sent.
    pub(crate) fn for_frame(skb: &mut SkBuff) -> Result<Option<Self>> {
        if let Some(cut) = skb.prepare_segmentation()? {
            return Self::segmentation(&cut, skb.len(), skb.gso_segs())
                .map(Some)
                .ok_or(EINVAL);
        }
        let Some(request) = skb.checksum_request() else {
            return Ok(None);
        };
        match Self::checksum(request) {
            Some(offload) => Ok(Some(offload)),
            None => skb.checksum_in_software().map(|()| None),
        }
    }
}
