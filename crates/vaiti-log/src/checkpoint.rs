//! C2SP tlog checkpoints (<https://c2sp.org/tlog-checkpoint>) signed by the log's Ed25519 key.
//!
//! ```text
//! log.clinic.example
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — log.clinic.example Az3grlgt...
//! ```
//!
//! vaiti's profile is stricter than the spec in three documented ways: the origin must also be a
//! valid key name (no white space, no `+`; the spec only recommends this), the log's key name must
//! equal the origin (the spec says SHOULD), and extension lines — opaque and "NOT RECOMMENDED" —
//! are limited to [`MAX_EXTENSION_LINES`] lines without leading or trailing white space.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signer as _;

use crate::cosignature::{Cosignature, WitnessKey};
use crate::note::{NoteSignature, SIG_TYPE_ED25519, SignedNote, is_valid_key_name};
use crate::tree::Hash;
use crate::{Error, Result};

/// The most extension lines a checkpoint may carry.
pub const MAX_EXTENSION_LINES: usize = 8;

/// The body of a checkpoint: which log, how many leaves, and the root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines. [`Error::Malformed`] for an invalid origin.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self> {
        Self::with_extensions(origin, size, root, Vec::new())
    }

    /// A checkpoint with extension lines (each non-empty, without leading or trailing white space
    /// or control characters; at most [`MAX_EXTENSION_LINES`]).
    pub fn with_extensions(
        origin: &str,
        size: u64,
        root: Hash,
        extensions: Vec<String>,
    ) -> Result<Self> {
        if !is_valid_key_name(origin)
            || extensions.len() > MAX_EXTENSION_LINES
            || !extensions.iter().all(|e| is_valid_extension(e))
        {
            return Err(Error::Malformed);
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Parses a checkpoint body (the note text, with its final newline). Strict: origin line,
    /// tree size in decimal without leading zeros (`0` for the empty tree), canonical padded
    /// base64 of exactly 32 bytes, then optional extension lines; nothing else.
    pub fn parse_body(text: &str) -> Result<Self> {
        let body = text.strip_suffix('\n').ok_or(Error::Malformed)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(Error::Malformed);
        };
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        Self::with_extensions(origin, parse_size(size)?, parse_root(root)?, extensions)
    }

    /// The body text, ending in a newline: the bytes a log signs.
    pub fn to_body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash of the tree of [`Self::size`] leaves.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }
}

fn is_valid_extension(line: &str) -> bool {
    !line.is_empty() && !line.chars().any(char::is_control) && line.trim() == line
}

/// A tree size: ASCII decimal, no sign, no leading zeros, fits in a u64.
fn parse_size(s: &str) -> Result<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(Error::Malformed);
    }
    s.parse().map_err(|_| Error::Malformed)
}

fn parse_root(s: &str) -> Result<Hash> {
    let raw = BASE64.decode(s).map_err(|_| Error::Malformed)?;
    raw.try_into().map_err(|_| Error::Malformed)
}

/// The log's public key: the "known key" a client or witness verifies checkpoints with.
///
/// Its key name is the log's origin; its key ID is
/// `SHA-256(name || 0x0A || 0x01 || public key)[:4]` (signature type 0x01, plain Ed25519).
#[derive(Clone, PartialEq, Eq)]
pub struct LogKey {
    name: String,
    key: ed25519_dalek::VerifyingKey,
    key_id: u32,
}

crate::note::named_ed25519_key!(LogKey, SIG_TYPE_ED25519, "log key (the log's origin)");

impl LogKey {
    /// Verifies a signed note against this key, per the signed-note rules: lines from other keys
    /// (another name or another key ID) are ignored; every line from this key must verify
    /// (strict Ed25519: no malleable or small-order encodings), and there must be at least one.
    pub fn verify_note(&self, note: &SignedNote) -> Result<()> {
        let mut verified = false;
        for sig in note.signatures() {
            if !sig.is_from(&self.name, self.key_id) {
                continue;
            }
            let bytes: [u8; 64] = sig
                .signature()
                .try_into()
                .map_err(|_| Error::BadSignature)?;
            self.key
                .verify_strict(
                    note.text().as_bytes(),
                    &ed25519_dalek::Signature::from_bytes(&bytes),
                )
                .map_err(|_| Error::BadSignature)?;
            verified = true;
        }
        if verified {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }
}

/// The log's signing key. Secret: not `Clone`, zeroized on drop (by `ed25519-dalek`), printed
/// without its key material.
pub struct LogSigningKey {
    name: String,
    key: ed25519_dalek::SigningKey,
    public: LogKey,
}

impl LogSigningKey {
    /// The signing key for the log named `name` (its origin) from a 32-byte Ed25519 seed. This
    /// crate draws no randomness: the caller generates the seed (e.g. with `getrandom`) and keeps
    /// it secret.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self> {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = LogKey::new(name, &key.verifying_key().to_bytes())?;
        Ok(Self {
            name: name.to_owned(),
            key,
            public,
        })
    }

    /// The public half.
    pub fn log_key(&self) -> LogKey {
        self.public.clone()
    }

    /// Signs a checkpoint of this log. [`Error::InvalidArgument`] if its origin is not this key's
    /// name.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<SignedCheckpoint> {
        if checkpoint.origin() != self.name {
            return Err(Error::InvalidArgument);
        }
        let text = checkpoint.to_body();
        let signature = self.key.sign(text.as_bytes()).to_bytes().to_vec();
        let line = NoteSignature::new(&self.name, self.public.key_id, signature)?;
        let note = SignedNote::new(text, vec![line])?;
        Ok(SignedCheckpoint {
            checkpoint: checkpoint.clone(),
            note,
        })
    }

    /// Signs an arbitrary note text (ending in a newline) with this key, as a plain C2SP Ed25519
    /// note signature. For interoperability tests; logs sign checkpoints with [`Self::sign`].
    pub fn sign_note_text(&self, text: &str) -> Result<SignedNote> {
        let signature = self.key.sign(text.as_bytes()).to_bytes().to_vec();
        let line = NoteSignature::new(&self.name, self.public.key_id, signature)?;
        SignedNote::new(text.to_owned(), vec![line])
    }
}

impl core::fmt::Debug for LogSigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LogSigningKey({}, [redacted])", self.name)
    }
}

/// A checkpoint whose log signature has been verified (or that this process just signed),
/// together with every signature line of its note, cosignatures included.
///
/// The only ways to get one are [`SignedCheckpoint::verify`] and [`LogSigningKey::sign`], so
/// holding one means the log's signature is good; cosignatures are checked separately with
/// [`SignedCheckpoint::verify_cosignature`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: SignedNote,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint strictly and verifies the log's signature: the note must be
    /// canonical, its text a checkpoint whose origin is `log`'s name, and it must carry a valid
    /// signature from `log` (every line claiming to be from `log` must verify).
    pub fn verify(bytes: &[u8], log: &LogKey) -> Result<Self> {
        let note = SignedNote::parse(bytes)?;
        let checkpoint = Checkpoint::parse_body(note.text())?;
        if checkpoint.origin() != log.name() {
            return Err(Error::BadSignature);
        }
        log.verify_note(&note)?;
        Ok(Self { checkpoint, note })
    }

    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The whole note, with every signature line.
    pub fn note(&self) -> &SignedNote {
        &self.note
    }

    /// The canonical encoding of the note.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }

    /// Finds and verifies `witness`'s cosignature; returns it (with its timestamp) so the caller
    /// can apply its maximum age ([`Cosignature::ensure_fresh`]). [`Error::BadSignature`] if
    /// there is none or it does not verify.
    pub fn verify_cosignature(&self, witness: &WitnessKey) -> Result<Cosignature> {
        let line = self
            .note
            .signatures()
            .iter()
            .find(|s| s.is_from(witness.name(), witness.key_id()))
            .ok_or(Error::BadSignature)?;
        witness.verify(&self.checkpoint, line)
    }

    /// Verifies a cosignature line from `witness` over this checkpoint and adds it to the note
    /// (what the server does with a witness's submission). [`Error::Malformed`] if the note
    /// already has a line from that witness key or is full.
    pub fn add_cosignature(
        &mut self,
        witness: &WitnessKey,
        line: NoteSignature,
    ) -> Result<Cosignature> {
        if !line.is_from(witness.name(), witness.key_id()) {
            return Err(Error::BadSignature);
        }
        let cosignature = witness.verify(&self.checkpoint, &line)?;
        self.note.add_signature(line)?;
        Ok(cosignature)
    }
}
