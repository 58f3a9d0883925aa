// SPDX-License-Identifier: GPL-2.0

//! What `ethtool` asks of a network driver: its link settings and its own counters.
//!
//! The operations are optional methods of [`Driver`]: [`Driver::link_settings`] answers
//! `ethtool IFACE`, and [`Driver::ETHTOOL_STATISTICS`] with [`Driver::ethtool_statistics`]
//! answer `ethtool -S IFACE`. Without them the stack's defaults answer: the driver's name and
//! the bus address of its device for `ethtool -i`, whether the carrier is on for the link. The
//! offloads announced with [`super::device::Builder::set_features`] are switched with
//! `ethtool -K`: the stack then stops asking the driver for them.
//!
//! C header: [`include/linux/ethtool.h`](srctree/include/linux/ethtool.h)

use super::device::{Device, Driver};
use crate::{bindings, ffi::c_int};

/// The longest name of a counter, its NUL included (`ETH_GSTRING_LEN`).
pub const STATISTIC_NAME_LEN: usize = bindings::ETH_GSTRING_LEN as usize;

/// A link's speed and duplex, as [`Driver::link_settings`] reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkSettings {
    /// The speed in Mb/s, when the link is up.
    pub speed_mbps: u32,
    /// Whether the link is full duplex.
    pub full_duplex: bool,
}

/// The ethtool operations of a driver `T`.
pub(crate) struct Operations<T: Driver>(core::marker::PhantomData<T>);

impl<T: Driver> Operations<T> {
    const NAMES_FIT: () = {
        let mut i = 0;
        while i < T::ETHTOOL_STATISTICS.len() {
            assert!(
                T::ETHTOOL_STATISTICS[i].len_with_nul() <= STATISTIC_NAME_LEN,
                "an ethtool counter's name is longer than ETH_GSTRING_LEN"
            );
            i += 1;
        }
    };

    pub(crate) const OPS: bindings::ethtool_ops = {
        #[allow(clippy::let_unit_value)]
        let () = Self::NAMES_FIT;
        let statistics = T::HAS_ETHTOOL_STATISTICS;
        bindings::ethtool_ops {
            get_link: Some(bindings::ethtool_op_get_link),
            get_link_ksettings: if T::HAS_LINK_SETTINGS {
                Some(get_link_ksettings::<T>)
            } else {
                None
            },
            get_sset_count: if statistics {
                Some(get_sset_count::<T>)
            } else {
                None
            },
            get_strings: if statistics {
                Some(get_strings::<T>)
            } else {
                None
            },
            get_ethtool_stats: if statistics {
                Some(get_ethtool_stats::<T>)
            } else {
                None
            },
            // SAFETY: All other operations may be null.
            ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
        }
    };
}

/// `get_link_ksettings`: the speed and duplex the driver reports, on twisted pair.
///
/// # Safety
///
/// Called by the stack, under the RTNL, with a registered device made for `T` and a valid
/// `settings`.
unsafe extern "C" fn get_link_ksettings<T: Driver>(
    dev: *mut bindings::net_device,
    settings: *mut bindings::ethtool_link_ksettings,
) -> c_int {
    // SAFETY: The device is registered, so its data is initialised and alive.
    let (data, device) = unsafe { (super::device::data::<T>(dev), Device::from_raw(dev)) };
    let link = data.link_settings(device);
    // SAFETY: `settings` is valid for writes, by the safety requirements; the stack zeroed it.
    let base = unsafe { &mut (*settings).base };
    base.port = bindings::PORT_TP as u8;
    if device.carrier_ok() {
        base.speed = link.speed_mbps;
        base.duplex = if link.full_duplex {
            bindings::DUPLEX_FULL
        } else {
            bindings::DUPLEX_HALF
        } as u8;
    } else {
        base.speed = bindings::SPEED_UNKNOWN as u32;
        base.duplex = bindings::DUPLEX_UNKNOWN as u8;
    }
    0
}

/// `get_sset_count`: the number of the driver's counters.
///
/// # Safety
///
/// Called by the stack with a registered device made for `T`.
unsafe extern "C" fn get_sset_count<T: Driver>(
    _dev: *mut bindings::net_device,
    set: c_int,
) -> c_int {
    match u32::try_from(set) {
        Ok(bindings::ethtool_stringset_ETH_SS_STATS) => {
            // Few: the names are checked to fit the C table at build time.
            T::ETHTOOL_STATISTICS.len() as c_int
        }
        _ => -(bindings::EOPNOTSUPP as c_int),
    }
}

/// `get_strings`: the names of the driver's counters, `ETH_GSTRING_LEN` bytes each.
///
/// # Safety
///
/// Called by the stack with `data` valid for writes of `ETH_GSTRING_LEN` bytes per counter
/// that [`get_sset_count`] reported.
unsafe extern "C" fn get_strings<T: Driver>(
    _dev: *mut bindings::net_device,
    set: u32,
    data: *mut u8,
) {
    if set != bindings::ethtool_stringset_ETH_SS_STATS {
        return;
    }
    for (i, name) in T::ETHTOOL_STATISTICS.iter().enumerate() {
        let bytes = name.as_bytes_with_nul();
        // SAFETY: The table has `STATISTIC_NAME_LEN` bytes per counter, by the safety
        // requirements, and each name fits one (`NAMES_FIT`).
        unsafe {
            let slot = data.add(i * STATISTIC_NAME_LEN);
            core::ptr::write_bytes(slot, 0, STATISTIC_NAME_LEN);
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), slot, bytes.len());
        }
    }
}

/// `get_ethtool_stats`: the values of the driver's counters.
///
/// # Safety
///
/// Called by the stack with a registered device made for `T`, and `data` valid for writes of
/// one `u64` per counter that [`get_sset_count`] reported.
unsafe extern "C" fn get_ethtool_stats<T: Driver>(
    dev: *mut bindings::net_device,
    _stats: *mut bindings::ethtool_stats,
    data: *mut u64,
) {
    // SAFETY: The device is registered, so its data is initialised and alive.
    let (driver, device) = unsafe { (super::device::data::<T>(dev), Device::from_raw(dev)) };
    // SAFETY: `data` holds one value per counter, by the safety requirements; the stack zeroed
    // them.
    let values = unsafe { core::slice::from_raw_parts_mut(data, T::ETHTOOL_STATISTICS.len()) };
    driver.ethtool_statistics(device, values);
}
