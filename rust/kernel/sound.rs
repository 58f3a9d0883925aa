// SPDX-License-Identifier: GPL-2.0

//! Sound cards: the ALSA card a driver registers its devices on.
//!
//! A driver creates a [`Card`] for its device, adds a [`pcm`] device to it, sets its names and
//! registers it; dropping the card unregisters and frees it with everything on it, after the
//! last open file is closed.
//!
//! C header: [`include/sound/core.h`](srctree/include/sound/core.h)

use crate::{
    bindings,
    device::Device,
    error::{to_result, Result},
    ffi::c_char,
    str::CStr,
    ThisModule,
};
use core::ptr::{addr_of_mut, NonNull};

#[cfg(CONFIG_SND_PCM)]
pub mod pcm;

/// An ALSA sound card, freed on drop.
///
/// # Invariants
///
/// `card` was created by `snd_card_new()` and is not freed until the object is dropped.
pub struct Card {
    card: NonNull<bindings::snd_card>,
}

// SAFETY: A card can be registered and freed from any thread; ALSA serialises what needs it.
unsafe impl Send for Card {}

// SAFETY: The methods taking `&self` only pass the card to ALSA, which locks what it changes.
unsafe impl Sync for Card {}

impl Card {
    /// Creates a card for `parent`, with the first free index and identifier `id`, owned by
    /// `module` (which stays loaded while the card's devices are open).
    pub fn new(parent: &Device, id: &CStr, module: &'static ThisModule) -> Result<Self> {
        let mut card = core::ptr::null_mut();
        // SAFETY: `parent` is a valid device, `id` a valid string, `card` a valid place for the
        // result; no extra private area is asked for.
        to_result(unsafe {
            bindings::snd_card_new(
                parent.as_raw(),
                -1,
                id.as_char_ptr(),
                module.as_ptr(),
                0,
                &mut card,
            )
        })?;
        // INVARIANT: `snd_card_new()` succeeded.
        Ok(Self {
            card: NonNull::new(card).ok_or(crate::error::code::ENOMEM)?,
        })
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::snd_card {
        self.card.as_ptr()
    }

    /// Sets the driver name, the short name and the long name `/proc/asound/cards` shows; too
    /// long names are cut.
    ///
    /// Meant to be called before [`Card::register`]: from then on user space may read the names
    /// while they change, as with a C driver that sets them late.
    pub fn set_names(&self, driver: &CStr, short_name: &CStr, long_name: &CStr) {
        let card = self.as_raw();
        // SAFETY: By the type invariant the card is valid. The names are arrays of the card
        // that the driver owns, as in C; they are written through raw pointers, without a
        // reference to the card, which ALSA may be reading and changing at the same time.
        unsafe {
            copy_name(addr_of_mut!((*card).driver), driver);
            copy_name(addr_of_mut!((*card).shortname), short_name);
            copy_name(addr_of_mut!((*card).longname), long_name);
        }
    }

    /// Registers the card and its devices, which user space can open from then on.
    pub fn register(&self) -> Result {
        // SAFETY: The card is valid.
        to_result(unsafe { bindings::snd_card_register(self.as_raw()) })
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the card is valid and not yet freed. This disconnects
        // it and waits until its last open file is closed.
        unsafe { bindings::snd_card_free(self.as_raw()) };
    }
}

/// Copies `name` into the C string array at `dst`, cut to fit, NUL-terminated.
///
/// Writes through the raw pointer only: the array is usually a field of a C structure that ALSA
/// may access concurrently, to which no Rust reference may be made.
///
/// # Safety
///
/// `dst` must be valid for writes of `N` bytes.
pub(crate) unsafe fn copy_name<const N: usize>(dst: *mut [c_char; N], name: &CStr) {
    let Some(room) = N.checked_sub(1) else {
        return;
    };
    let bytes = name.as_bytes();
    let len = bytes.len().min(room);
    let dst = dst.cast::<c_char>();
    // SAFETY: `dst` is valid for writes of `N > len` bytes (the caller's guarantee), `bytes` for
    // reads of `len` bytes; a `CStr` is not part of a C array being written, so they do not
    // overlap, and `u8` and `c_char` have the same layout.
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), dst, len);
        dst.add(len).write(0);
    }
}
