//! The C2SP signed-note format (<https://c2sp.org/signed-note>), strictly.
//!
//! ```text
//! <text, ending in a newline>
//! <blank line>
//! — <key name> <base64(4-byte key ID || signature)>
//! ...
//! ```
//!
//! [`SignedNote::parse`] accepts exactly the notes that [`SignedNote::to_bytes`] produces, so
//! parse → serialize is the identity: valid UTF-8 without control characters other than `\n` (so
//! no CR), at most [`MAX_NOTE_BYTES`], a final newline, at least one and at most
//! [`MAX_SIGNATURES`] signature lines, each `U+2014 U+0020 name U+0020 base64` with a valid key
//! name and canonical, padded standard base64 of at least 5 bytes, and no two lines for the same
//! (key name, key ID). Parsing verifies nothing: the text must be ignored until a signature from a
//! trusted key has been checked ([`crate::SignedCheckpoint::verify`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// The largest note accepted, in bytes. Room for the 16 signatures the spec requires verifiers to
/// accept even if they were post-quantum (about 5 kB each); vaiti's own notes are a few hundred
/// bytes.
pub const MAX_NOTE_BYTES: usize = 128 * 1024;

/// The most signature lines accepted (the spec requires accepting at least 16).
pub const MAX_SIGNATURES: usize = 32;

/// The signature line prefix: EM DASH (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// Signature type byte of plain Ed25519 note signatures (a log's checkpoint signature).
pub(crate) const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 checkpoint cosignatures (`cosignature/v1`).
pub(crate) const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;

/// Whether `name` is a valid key name: non-empty, no Unicode white space, no `+`. vaiti also
/// requires this of checkpoint origins, since a log's key name is its origin.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// The C2SP key ID: the first four bytes, big-endian, of
/// `SHA-256(name || 0x0A || signature type || public key)`.
pub fn key_id(name: &str, signature_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', signature_type]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The verifier key (vkey) text `name+hex(key ID)+base64(type || public key)`.
pub(crate) fn encode_vkey(name: &str, signature_type: u8, public_key: &[u8; 32]) -> String {
    let mut material = Vec::with_capacity(33);
    material.push(signature_type);
    material.extend_from_slice(public_key);
    format!(
        "{name}+{:08x}+{}",
        key_id(name, signature_type, public_key),
        BASE64.encode(material)
    )
}

/// Parses a vkey of the given signature type with a 32-byte public key. Strict: lowercase hex key
/// ID that matches the one computed, canonical base64.
pub(crate) fn decode_vkey(vkey: &str, signature_type: u8) -> Result<(String, [u8; 32])> {
    // The name and the hex key ID contain no `+`; the base64 part may.
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(material)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Malformed);
    };
    if !is_valid_key_name(name)
        || id_hex.len() != 8
        || !id_hex
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Error::Malformed);
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| Error::Malformed)?;
    let material = BASE64.decode(material).map_err(|_| Error::Malformed)?;
    let (&kind, key) = material.split_first().ok_or(Error::Malformed)?;
    let key: [u8; 32] = key.try_into().map_err(|_| Error::Malformed)?;
    if kind != signature_type || key_id(name, signature_type, &key) != id {
        return Err(Error::Malformed);
    }
    Ok((name.to_owned(), key))
}

/// One signature line of a note: who signed (key name and key ID) and the signature bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line. [`Error::Malformed`] for an invalid key name or an empty signature.
    pub fn new(name: &str, key_id: u32, signature: Vec<u8>) -> Result<Self> {
        if !is_valid_key_name(name) || signature.is_empty() {
            return Err(Error::Malformed);
        }
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signature,
        })
    }

    /// Parses one line, without its final newline: `— name base64`.
    pub fn parse_line(line: &str) -> Result<Self> {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(Error::Malformed)?;
        let (name, b64) = rest.split_once(' ').ok_or(Error::Malformed)?;
        if !is_valid_key_name(name) {
            return Err(Error::Malformed);
        }
        let raw = BASE64.decode(b64).map_err(|_| Error::Malformed)?;
        if raw.len() < 5 {
            return Err(Error::Malformed);
        }
        let (id, signature) = raw.split_at(4);
        Ok(Self {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            signature: signature.to_vec(),
        })
    }

    /// The line, without its final newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}", self.name, BASE64.encode(raw))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature bytes after the key ID (for a cosignature: timestamp and signature).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Whether this line claims to be from the key `(name, key_id)`.
    pub(crate) fn is_from(&self, name: &str, key_id: u32) -> bool {
        self.name == name && self.key_id == key_id
    }
}

impl core::fmt::Debug for NoteSignature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "NoteSignature({} {:08x})", self.name, self.key_id)
    }
}

/// A parsed, unverified signed note: text and signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// A note with the given text and signatures. [`Error::Malformed`] unless the text is a valid
    /// note text (ends in a newline, no control characters but newlines) and the signatures are
    /// 1..=[`MAX_SIGNATURES`] lines with distinct (name, key ID).
    pub fn new(text: String, signatures: Vec<NoteSignature>) -> Result<Self> {
        let note = Self { text, signatures };
        // Re-parsing the serialization checks every rule in one place.
        let bytes = note.to_bytes();
        if Self::parse(&bytes)? != note {
            return Err(Error::Malformed);
        }
        Ok(note)
    }

    /// Parses a note strictly (see the module documentation). Verifies no signature.
    pub fn parse(input: &[u8]) -> Result<Self> {
        if input.len() > MAX_NOTE_BYTES {
            return Err(Error::Malformed);
        }
        let s = core::str::from_utf8(input).map_err(|_| Error::Malformed)?;
        if s.chars().any(|c| c < ' ' && c != '\n') {
            return Err(Error::Malformed);
        }
        if !s.ends_with('\n') {
            return Err(Error::Malformed);
        }
        // The text is separated from the signatures by the last blank line.
        let split = s.rfind("\n\n").ok_or(Error::Malformed)?;
        let text = &s[..=split];
        let sigs = &s[split + 2..];
        if sigs.is_empty() {
            return Err(Error::Malformed);
        }
        let mut signatures: Vec<NoteSignature> = Vec::new();
        // `sigs` ends with '\n' and contains no blank line, so every line is non-empty.
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(Error::Malformed);
            }
            let sig = NoteSignature::parse_line(line)?;
            if signatures.iter().any(|s| s.is_from(&sig.name, sig.key_id)) {
                return Err(Error::Malformed);
            }
            signatures.push(sig);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The canonical encoding: text, blank line, one line per signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + 1 + 128 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
            out.push('\n');
        }
        out.into_bytes()
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line. [`Error::Malformed`] if a line from the same (name, key ID) is
    /// already present or the note already has [`MAX_SIGNATURES`] lines or would exceed
    /// [`MAX_NOTE_BYTES`].
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<()> {
        if self.signatures.len() >= MAX_SIGNATURES
            || self
                .signatures
                .iter()
                .any(|s| s.is_from(&sig.name, sig.key_id))
        {
            return Err(Error::Malformed);
        }
        let line_len = sig.to_line().len() + 1;
        let current: usize = self.to_bytes().len();
        if current + line_len > MAX_NOTE_BYTES {
            return Err(Error::Malformed);
        }
        self.signatures.push(sig);
        Ok(())
    }
}

/// The part log keys and witness keys share: a key name, a strictly parsed Ed25519 public key
/// that is not of small order, and the key ID for one signature type. Generates the constructor,
/// the C2SP verifier-key conversions, the accessors and a `Debug` that prints name and key ID.
macro_rules! named_ed25519_key {
    ($ty:ident, $sig_type:expr, $what:literal) => {
        impl $ty {
            #[doc = concat!("The ", $what, " named `name` with the 32-byte Ed25519 `public_key`.")]
            /// [`Error::Malformed`](crate::Error::Malformed) for an invalid name or a public key
            /// that is not a valid point or has small order.
            pub fn new(name: &str, public_key: &[u8; 32]) -> crate::Result<Self> {
                if !crate::note::is_valid_key_name(name) {
                    return Err(crate::Error::Malformed);
                }
                let key = ed25519_dalek::VerifyingKey::from_bytes(public_key)
                    .map_err(|_| crate::Error::Malformed)?;
                // A small-order key "verifies" forged signatures under lax rules; refuse it
                // outright (verification is `verify_strict` as well).
                if key.is_weak() {
                    return Err(crate::Error::Malformed);
                }
                Ok(Self {
                    name: name.to_owned(),
                    key,
                    key_id: crate::note::key_id(name, $sig_type, public_key),
                })
            }

            /// Parses a C2SP verifier key, `name+hex(key ID)+base64(type || public key)`.
            pub fn from_vkey(vkey: &str) -> crate::Result<Self> {
                let (name, key) = crate::note::decode_vkey(vkey, $sig_type)?;
                Self::new(&name, &key)
            }

            /// The C2SP verifier key text.
            pub fn to_vkey(&self) -> String {
                crate::note::encode_vkey(&self.name, $sig_type, &self.key.to_bytes())
            }

            /// The key name.
            pub fn name(&self) -> &str {
                &self.name
            }

            /// The key ID.
            pub fn key_id(&self) -> u32 {
                self.key_id
            }

            /// The 32-byte public key.
            pub fn public_key(&self) -> [u8; 32] {
                self.key.to_bytes()
            }
        }

        impl core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({}+{:08x})", stringify!($ty), self.name, self.key_id)
            }
        }
    };
}
pub(crate) use named_ed25519_key;
