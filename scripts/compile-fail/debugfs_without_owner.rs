// SPDX-License-Identifier: GPL-2.0
// expect: E0046

//! Must not compile: debugfs attributes that do not name the module serving their files, so
//! that an open file would not keep the module loaded.

use kernel::{c_str, debugfs, prelude::*};

module! {
    type: DebugfsWithoutOwner,
    name: "debugfs_without_owner",
    license: "GPL",
}

struct Value;

impl debugfs::Attributes for Value {
    type File = ();
    const FILES: &'static [debugfs::Attribute<()>] =
        &[debugfs::Attribute::read_only(c_str!("value"), ())];

    fn show(&self, _file: ()) -> Result<u64> {
        Ok(1)
    }
}

struct DebugfsWithoutOwner(Pin<KBox<debugfs::Directory<Value>>>);

impl kernel::Module for DebugfsWithoutOwner {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let directory = KBox::pin_init(
            debugfs::Directory::new(c_str!("debugfs_without_owner"), Value),
            GFP_KERNEL,
        )?;
        Ok(DebugfsWithoutOwner(directory))
    }
}
