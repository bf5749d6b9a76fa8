//! What the browser keeps between visits, in `localStorage`. Nothing readable about a patient is
//! ever stored: the device record holds only what the user chose to remember on their own
//! device, and everything else (what this device has seen of the log, note drafts) is sealed
//! under the account's cache key, which only a signed-in session holds.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

const DEVICE: &str = "vaiti.device";
const LANG: &str = "vaiti.lang";

fn local() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Reads a string; `None` when absent or storage is unavailable (private mode).
pub fn get(key: &str) -> Option<String> {
    local().and_then(|s| s.get_item(key).ok().flatten())
}

/// Writes a string; storage failures (quota, private mode) are reported to the caller.
pub fn set(key: &str, value: &str) -> Result<(), String> {
    local()
        .ok_or_else(|| "this browser does not allow local storage".to_string())?
        .set_item(key, value)
        .map_err(|_| "the browser refused to store data (is storage full?)".to_string())
}

/// Removes a key.
pub fn remove(key: &str) {
    if let Some(s) = local() {
        let _ = s.remove_item(key);
    }
}

/// Reads bytes stored with [`set_bytes`].
pub fn get_bytes(key: &str) -> Option<Vec<u8>> {
    get(key).and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
}

/// Writes bytes (base64url).
pub fn set_bytes(key: &str, value: &[u8]) -> Result<(), String> {
    set(key, &URL_SAFE_NO_PAD.encode(value))
}

/// What the user asked this browser to remember because it is their own device.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RememberedDevice {
    /// The clinic id (hex).
    pub clinic: String,
    /// The email or patient handle.
    pub login: String,
    /// The Secret Key in its printed form. Kept only on the user's explicit say-so: with it, the
    /// password alone signs in from this browser profile.
    pub secret_key: String,
}

/// The remembered device record, if any.
pub fn remembered() -> Option<RememberedDevice> {
    get(DEVICE).and_then(|v| serde_json::from_str(&v).ok())
}

/// Remembers this device (the user said it is their own).
pub fn remember(device: &RememberedDevice) -> Result<(), String> {
    let json = serde_json::to_string(device).map_err(|e| e.to_string())?;
    set(DEVICE, &json)
}

/// Forgets the device record (the Secret Key with it).
pub fn forget() {
    remove(DEVICE);
}

/// The saved interface language code.
pub fn language() -> Option<String> {
    get(LANG)
}

/// Saves the interface language code.
pub fn set_language(code: &str) {
    let _ = set(LANG, code);
}

/// The key of a per-account sealed item (`seen`, `draft.<chart>`).
pub fn account_key(clinic: &str, user: &str, item: &str) -> String {
    format!("vaiti.{clinic}.{user}.{item}")
}
