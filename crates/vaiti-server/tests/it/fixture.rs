//! Fixtures more than one test module needs.

use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;
use vaiti_core::ClinicId;

/// A test clinic's root key: derived from the clinic id, so a test can sign the clinic's next
/// manifest without carrying the key around. (A real root key is random and never leaves the
/// admins' and escrow's wraps.)
pub(crate) fn root_key(clinic: ClinicId) -> vaiti_crypto::RootKey {
    vaiti_crypto::RootKey::from_seed(
        &sha2::Sha256::digest(format!("test root key {clinic}").as_bytes()).into(),
    )
}

/// Version `version` of `clinic`'s manifest, signed by its root key as an admin's client signs
/// it, as the request's `(manifest, manifest_signature)` in base64.
pub(crate) fn manifest(clinic: ClinicId, version: u64) -> (String, String) {
    let root = root_key(clinic);
    let body = json!({
        "v": 1,
        "clinic": clinic,
        "name": "Test clinic",
        "manifest_version": version,
        "root_key": hex_encode(&root.verifying_key().to_bytes()),
    });
    let bytes = serde_json::to_vec(&body).unwrap();
    let signature = root.sign_manifest(&bytes).to_bytes();
    (b64(&bytes), b64(&signature))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
