// SPDX-License-Identifier: GPL-2.0

//! The EEPROM, read word by word through `EERD`, and the MAC address it holds.

use super::regs::{self, Registers};
use kernel::{delay::poll_timeout, dev_warn, net::device::ETH_ALEN, pci, prelude::*};

/// Where a controller's `EERD` register keeps its bits, which moved between generations.
pub(crate) struct EepromRead {
    /// Set to start a read; cleared by the device.
    pub(crate) start: u32,
    /// Set by the device when the data is there.
    pub(crate) done: u32,
    /// Where the word's address goes.
    pub(crate) address_shift: u32,
}

/// Where the data read is in `EERD`, on every generation.
const EERD_DATA_SHIFT: u32 = 16;

/// Reads word `address` of the EEPROM through `EERD`: `ETIMEDOUT` if the read does not end
/// within 10 ms, `ENODEV` if the device is gone (its all-ones registers say done at once).
fn read_eeprom(registers: &Registers, layout: &EepromRead, address: u32) -> Result<u16> {
    registers.write32(address << layout.address_shift | layout.start, regs::EERD);
    let mut value = 0;
    poll_timeout(
        || {
            value = registers.read32(regs::EERD);
            value & layout.done != 0
        },
        10,
        10_000,
    )?;
    if regs::is_gone(value) {
        return Err(ENODEV);
    }
    Ok((value >> EERD_DATA_SHIFT) as u16)
}

/// Reads the MAC address from the EEPROM (words 0 to 2), or else from receive address 0, which
/// the device loads from the EEPROM at reset; `ENODEV` if the device is gone.
pub(crate) fn read_mac_address(
    pdev: &pci::Device,
    registers: &Registers,
    layout: &EepromRead,
) -> Result<[u8; ETH_ALEN]> {
    let mut address = [0u8; ETH_ALEN];
    let from_eeprom = (0..ETH_ALEN / 2).try_for_each(|word| {
        let value = read_eeprom(registers, layout, word as u32)?.to_le_bytes();
        address[2 * word..2 * word + 2].copy_from_slice(&value);
        Ok::<(), Error>(())
    });
    match from_eeprom {
        Ok(()) => Ok(address),
        Err(e) if e == ENODEV => Err(e),
        Err(_) => {
            dev_warn!(pdev, "EEPROM does not answer; using receive address 0\n");
            let (low, high) = (registers.read32(regs::RAL0), registers.read32(regs::RAH0));
            if regs::is_gone(low) && regs::is_gone(high) {
                return Err(ENODEV);
            }
            address[..4].copy_from_slice(&low.to_le_bytes());
            address[4..].copy_from_slice(&high.to_le_bytes()[..2]);
            Ok(address)
        }
    }
}
