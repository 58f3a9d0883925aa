// SPDX-License-Identifier: GPL-2.0

//! Receive filters: unicast to the device's address, broadcast, and multicast to the addresses
//! the stack asks for, through the chip's 4096-bit hash table (`MTA`); everything in
//! promiscuous mode.

use super::regs::{self, Registers};
use kernel::{
    net::device::{Device, MulticastList, ETH_ALEN},
    prelude::*,
};

/// What `RCTL` always has: broadcasts accepted, the check sequence stripped, long frames
/// handed to the driver (which drops them against the MTU and counts them).
pub(crate) const RCTL_BASE: u32 = regs::RCTL_BAM | regs::RCTL_SECRC | regs::RCTL_LPE;

/// The multicast hash table: one bit per hash of an address, 32 to a register.
pub(crate) struct MulticastTable([u32; regs::MTA_COUNT]);

impl MulticastTable {
    /// The bit of `address`: its bits 36 to 47, as `RCTL.MO` = 0 says (`e1000_hash_mc_addr()`).
    fn hash(address: &[u8; ETH_ALEN]) -> usize {
        (usize::from(address[4]) >> 4 | usize::from(address[5]) << 4) & 0xfff
    }

    /// The table with the bits of every address of `multicast`.
    fn of(multicast: &MulticastList<'_>) -> Self {
        let mut table = Self([0; regs::MTA_COUNT]);
        multicast.for_each(|address| {
            let hash = Self::hash(address);
            // The hash has 12 bits: its upper 7 name one of the 128 registers.
            if let Some(register) = table.0.get_mut(hash >> 5) {
                *register |= 1 << (hash & 0x1f);
            }
        });
        table
    }

    /// Programs the table into the device.
    pub(crate) fn write(&self, registers: &Registers) -> Result {
        for (index, bits) in self.0.iter().enumerate() {
            registers.try_write32(*bits, regs::MTA + 4 * index)?;
        }
        Ok(())
    }
}

/// The filter bits of `RCTL` for `dev`'s flags and `multicast` addresses, and the hash table
/// of the addresses, unless every multicast frame is taken.
pub(crate) fn for_device(
    dev: &Device,
    multicast: &MulticastList<'_>,
) -> (u32, Option<MulticastTable>) {
    if dev.is_promiscuous() {
        (RCTL_BASE | regs::RCTL_UPE | regs::RCTL_MPE, None)
    } else if dev.wants_all_multicast() {
        (RCTL_BASE | regs::RCTL_MPE, None)
    } else {
        (RCTL_BASE, Some(MulticastTable::of(multicast)))
    }
}
