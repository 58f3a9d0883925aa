// SPDX-License-Identifier: GPL-2.0

//! Registers of the 8254x and 82574 controllers (memory BAR 0) and their bits, and the helpers
//! that read them.

use kernel::{delay, pci};

pub(crate) const SIZE: usize = 0x20000;

pub(crate) const CTRL: usize = 0x0000;
pub(crate) const STATUS: usize = 0x0008;
pub(crate) const EERD: usize = 0x0014;
pub(crate) const ICR: usize = 0x00c0;
pub(crate) const ITR: usize = 0x00c4;
pub(crate) const IMS: usize = 0x00d0;
pub(crate) const IMC: usize = 0x00d8;
pub(crate) const RCTL: usize = 0x0100;
pub(crate) const TCTL: usize = 0x0400;
pub(crate) const TIPG: usize = 0x0410;
pub(crate) const RDBAL: usize = 0x2800;
pub(crate) const RDH: usize = 0x2810;
pub(crate) const RDT: usize = 0x2818;
pub(crate) const RDTR: usize = 0x2820;
pub(crate) const RADV: usize = 0x282c;
pub(crate) const TDBAL: usize = 0x3800;
pub(crate) const TDH: usize = 0x3810;
pub(crate) const TDT: usize = 0x3818;
pub(crate) const TIDV: usize = 0x3820;
pub(crate) const TADV: usize = 0x382c;
/// Missed packets: frames dropped for lack of a receive descriptor (cleared by reading).
pub(crate) const MPC: usize = 0x4010;
/// Receive checksum control.
pub(crate) const RXCSUM: usize = 0x5000;
pub(crate) const MTA: usize = 0x5200;
pub(crate) const MTA_COUNT: usize = 128;
pub(crate) const RAL0: usize = 0x5400;
pub(crate) const RAH0: usize = 0x5404;

pub(crate) const CTRL_SLU: u32 = 1 << 6;
pub(crate) const STATUS_LU: u32 = 1 << 1;
pub(crate) const RAH_AV: u32 = 1 << 31;

pub(crate) const ICR_TXDW: u32 = 1 << 0;
pub(crate) const ICR_LSC: u32 = 1 << 2;
pub(crate) const ICR_RXDMT0: u32 = 1 << 4;
pub(crate) const ICR_RXO: u32 = 1 << 6;
pub(crate) const ICR_RXT0: u32 = 1 << 7;
/// The causes the driver serves.
pub(crate) const INTERRUPTS: u32 = ICR_TXDW | ICR_LSC | ICR_RXDMT0 | ICR_RXO | ICR_RXT0;

pub(crate) const RCTL_EN: u32 = 1 << 1;
pub(crate) const RCTL_UPE: u32 = 1 << 3;
pub(crate) const RCTL_MPE: u32 = 1 << 4;
/// Long packets: the device hands frames over 1522 bytes to the driver, which drops them
/// against the MTU and counts them.
pub(crate) const RCTL_LPE: u32 = 1 << 5;
pub(crate) const RCTL_BAM: u32 = 1 << 15;
pub(crate) const RCTL_SECRC: u32 = 1 << 26;

/// The device verifies IPv4 header checksums, and TCP and UDP checksums, of the frames it
/// receives, and says so in their descriptors.
pub(crate) const RXCSUM_IPOFL: u32 = 1 << 8;
pub(crate) const RXCSUM_TUOFL: u32 = 1 << 9;

pub(crate) const TCTL_EN: u32 = 1 << 1;
pub(crate) const TCTL_PSP: u32 = 1 << 3;
pub(crate) const TCTL_CT: u32 = 0x0f << 4;
pub(crate) const TCTL_COLD: u32 = 0x3f << 12;
pub(crate) const TIPG_COPPER: u32 = 0x0060_200a;

/// Interrupt throttling, delays in 1.024 us units and the throttle in 256 ns units: the
/// C driver's defaults. At most 20000 interrupts a second, or 4000 while the traffic is
/// bulk (see `Moderation`).
pub(crate) const ITR_DEFAULT: u32 = 195;
pub(crate) const ITR_BULK: u32 = 976;
pub(crate) const RDTR_DEFAULT: u32 = 0;
pub(crate) const RADV_DEFAULT: u32 = 8;
pub(crate) const TIDV_DEFAULT: u32 = 8;
pub(crate) const TADV_DEFAULT: u32 = 32;

/// The registers of one controller.
pub(crate) type Registers = pci::Bar<SIZE>;

/// Whether `value`, read from a register, says the device is gone: after a surprise removal,
/// reads return all ones, which no register the driver reads ever holds otherwise.
pub(crate) fn is_gone(value: u32) -> bool {
    value == u32::MAX
}

/// Makes the device take the register writes before this call, as a read does
/// (`E1000_WRITE_FLUSH()`), then gives it 10 ms to finish the DMA of the frame it may be moving,
/// as `e1000_down()` does once it has disabled receive and transmit. May sleep.
pub(crate) fn flush_and_settle(registers: &Registers) {
    registers.read32(STATUS);
    delay::usleep_range(10_000, 20_000);
}
