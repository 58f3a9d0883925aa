// SPDX-License-Identifier: GPL-2.0

//! Legacy descriptors, 16 bytes: the buffer address, then one 64-bit word with the length,
//! command or status and errors.

pub(crate) const WORDS: usize = 2;
pub(crate) const BYTES: usize = 16;

pub(crate) const TX_CMD_EOP: u64 = 1 << 24;
pub(crate) const TX_CMD_IFCS: u64 = 1 << 25;
pub(crate) const TX_CMD_RS: u64 = 1 << 27;
/// Part of a frame the device cuts into TCP segments.
pub(crate) const TX_CMD_TSE: u64 = 1 << 26;
/// Interrupt delay: the TX-done interrupt waits for `TIDV`/`TADV`, as in the C driver.
pub(crate) const TX_CMD_IDE: u64 = 1 << 31;
pub(crate) const TX_STATUS_DD: u64 = 1 << 32;
/// Extended descriptors: a context descriptor (type 0) sets up checksum insertion for
/// the data descriptors (type 1) that follow.
pub(crate) const TX_CMD_DEXT: u64 = 1 << 29;
pub(crate) const TX_TYPE_DATA: u64 = 1 << 20;
pub(crate) const TX_TYPE_MASK: u64 = 0xf << 20;
/// Data descriptor options: insert the IPv4 header checksum, and the TCP/UDP checksum, as
/// the context says.
pub(crate) const TX_OPTION_IXSM: u64 = 1 << 40;
pub(crate) const TX_OPTION_TXSM: u64 = 1 << 41;
pub(crate) const TX_LENGTH_MASK: u64 = 0xf_ffff;
/// Context descriptor, first word: where the IPv4 header checksum starts, goes and ends,
/// and where the TCP/UDP checksum starts and goes (it ends with the frame).
pub(crate) const CONTEXT_IPCSS_SHIFT: u32 = 0;
pub(crate) const CONTEXT_IPCSO_SHIFT: u32 = 8;
pub(crate) const CONTEXT_IPCSE_SHIFT: u32 = 16;
pub(crate) const CONTEXT_TUCSS_SHIFT: u32 = 32;
pub(crate) const CONTEXT_TUCSO_SHIFT: u32 = 40;
/// Context descriptor, second word: the frame is TCP over IPv4; then the bytes of headers
/// and of payload per segment. The payload's length is in `TX_LENGTH_MASK`.
pub(crate) const CONTEXT_CMD_TCP: u64 = 1 << 24;
pub(crate) const CONTEXT_CMD_IP: u64 = 1 << 25;
pub(crate) const CONTEXT_HDRLEN_SHIFT: u32 = 40;
pub(crate) const CONTEXT_MSS_SHIFT: u32 = 48;

pub(crate) const RX_STATUS_DD: u64 = 1 << 32;
pub(crate) const RX_STATUS_EOP: u64 = 1 << 33;
/// The device did not verify the frame's checksums.
pub(crate) const RX_STATUS_IXSM: u64 = 1 << 34;
/// The device verified the frame's UDP or TCP checksum: good unless `RX_ERROR_TCPE` says.
pub(crate) const RX_STATUS_UDPCS: u64 = 1 << 36;
pub(crate) const RX_STATUS_TCPCS: u64 = 1 << 37;
/// The TCP or UDP checksum, or the IPv4 header checksum, is bad.
pub(crate) const RX_ERROR_TCPE: u64 = 1 << 45;
pub(crate) const RX_ERROR_IPE: u64 = 1 << 46;
pub(crate) const RX_ERRORS_SHIFT: u32 = 40;
/// The errors that make a frame bad (`E1000_RXD_ERR_FRAME_ERR_MASK`): CRC, symbol, sequence,
/// carrier extension and receive data errors. A bad checksum is not one: such frames go to
/// the stack, which verifies them itself.
pub(crate) const RX_FRAME_ERRORS: u8 = 0x97;
pub(crate) const LENGTH_MASK: u64 = 0xffff;

/// Whether a receive descriptor's second word says the device verified the frame's TCP or
/// UDP checksum and its IPv4 header checksum, if any, and found them good
/// (`e1000_rx_checksum()`).
pub(crate) fn rx_checksum_good(word: u64) -> bool {
    word & RX_STATUS_IXSM == 0
        && word & (RX_ERROR_TCPE | RX_ERROR_IPE) == 0
        && word & (RX_STATUS_TCPCS | RX_STATUS_UDPCS) != 0
}

/// Whether a transmit descriptor's second word is that of a context descriptor.
pub(crate) fn is_context(word: u64) -> bool {
    word & TX_CMD_DEXT != 0 && word & TX_TYPE_MASK == 0
}
