//! Envelope v1: the one format for every symmetrically encrypted thing.
//!
//! ```text
//! magic "VT" | version u8 | suite u8 | kind u8 | key_id 16 | key_commitment 32 | nonce 24 | ciphertext | tag 16
//! ```
//! The plaintext is `u32 length || content || zero padding` to the PADMÉ size; the associated data
//! is the header followed by the fixed-layout [`Context`]. `docs/formats.md` specifies every byte;
//! the frozen vectors in `tests/vectors/` pin them.

use chacha20poly1305::{AeadInOut as _, Tag, XNonce};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroize as _;

use crate::error::{Error, Result, random_bytes};
use crate::ids::{ChartId, ClinicId, Epoch, KeyId, ObjectId, Tier, UserId};
use crate::keys::KeyMaterial;
use crate::sign::{Signature, SignatureDomain, SigningKey, VerifyingKey};

/// The two magic bytes that open every envelope.
pub const MAGIC: [u8; 2] = *b"VT";
/// The only envelope version this build reads or writes.
pub const VERSION_1: u8 = 0x01;
/// Suite 1: XChaCha20-Poly1305, HKDF-SHA256 key commitment and key derivation, PADMÉ padding.
pub const SUITE_1: u8 = 0x01;
/// Header length: magic 2, version, suite, kind, key id 16, commitment 32, nonce 24.
pub const HEADER_LEN: usize = 2 + 1 + 1 + 1 + 16 + 32 + 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Length of the fixed-layout context.
pub const CONTEXT_LEN: usize = 16 + 16 + 8 + 1 + 16 + 1 + 4 + 16 + 16 + 8 + 32 + 32;
/// The largest content one envelope may carry (64 MiB): scanned documents fit, runaway input does not.
pub const MAX_CONTENT_LEN: usize = 64 * 1024 * 1024;

/// What an envelope holds. Every kind has one byte; readers accept only the kinds allowed where
/// the envelope was found (the allow-list), so a search card can never be served as a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A session or progress note (its title is sealed inside it). Authored by a therapist.
    Note,
    /// An autosaved draft of a note, sealed like the note. Authored by a therapist.
    NoteDraft,
    /// A patient's full identity record (name, HETU, birth date, contacts, guardians).
    IdentityRecord,
    /// A patient's search card (name, birth date) under a branch directory key.
    SearchCard,
    /// A patient's answers to a questionnaire.
    QuestionnaireResponse,
    /// The client's local cache, under a cache key only its user holds. Not signed.
    LocalCache,
    /// A content key wrapped under a case, identity or directory key.
    ContentKeyWrap,
    /// An Account Key wrapped under the KEK from OPAQUE.
    AccountKeyWrap,
    /// A user's HPKE decryption key wrapped under their Account Key.
    DecryptionKeyWrap,
    /// A user's signing key wrapped under their Account Key.
    SigningKeyWrap,
    /// The local cache key wrapped under the Account Key.
    CacheKeyWrap,
    /// The pinned clinic root fingerprint, sealed under the Account Key so a server cannot swap it.
    RootPin,
    /// A chart's identity key wrapped under its branch's directory key (front desk's access).
    IdentityKeyWrap,
    /// A patient's report of an access-log entry they do not recognise ("I don't recognise
    /// this"): their own words, under a one-report key wrapped to the clinic's admins and
    /// auditors. Authored by the chart's patient.
    AccessReport,
}

impl Kind {
    /// Every kind, in byte order (for tests and tools).
    pub const ALL: [Kind; 14] = [
        Kind::Note,
        Kind::NoteDraft,
        Kind::IdentityRecord,
        Kind::SearchCard,
        Kind::QuestionnaireResponse,
        Kind::LocalCache,
        Kind::AccessReport,
        Kind::ContentKeyWrap,
        Kind::AccountKeyWrap,
        Kind::DecryptionKeyWrap,
        Kind::SigningKeyWrap,
        Kind::CacheKeyWrap,
        Kind::RootPin,
        Kind::IdentityKeyWrap,
    ];

    /// The kind byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            Kind::Note => 0x01,
            Kind::NoteDraft => 0x02,
            Kind::IdentityRecord => 0x03,
            Kind::SearchCard => 0x04,
            Kind::QuestionnaireResponse => 0x05,
            Kind::LocalCache => 0x06,
            Kind::AccessReport => 0x07,
            Kind::ContentKeyWrap => 0x41,
            Kind::AccountKeyWrap => 0x42,
            Kind::DecryptionKeyWrap => 0x43,
            Kind::SigningKeyWrap => 0x44,
            Kind::CacheKeyWrap => 0x45,
            Kind::RootPin => 0x46,
            Kind::IdentityKeyWrap => 0x47,
        }
    }

    /// Parses a kind byte.
    pub fn from_byte(byte: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.to_byte() == byte)
    }

    /// Whether this kind is content sealed by a [`ContentKey`](crate::ContentKey) (as opposed to
    /// a key or pin wrapped by a key-encryption key).
    pub const fn is_content(self) -> bool {
        self.to_byte() < 0x40
    }

    /// Whether an envelope of this kind carries an author signature. Only the local cache, which
    /// nobody but its own user can read or write, does not.
    pub const fn is_signed(self) -> bool {
        self.is_content() && !matches!(self, Kind::LocalCache)
    }

    /// Which roles may author content of this kind. A reader rejects e.g. a "progress note" signed
    /// by a patient's key even if the signature is valid.
    pub const fn allowed_authors(self) -> &'static [AuthorRole] {
        match self {
            Kind::Note | Kind::NoteDraft => &[AuthorRole::Therapist],
            Kind::IdentityRecord | Kind::SearchCard => &[
                AuthorRole::FrontDesk,
                AuthorRole::Therapist,
                AuthorRole::Admin,
            ],
            Kind::QuestionnaireResponse => &[AuthorRole::Patient, AuthorRole::Therapist],
            Kind::AccessReport => &[AuthorRole::Patient],
            _ => &[],
        }
    }
}

/// The role under which an author's key is certified (from their certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthorRole {
    /// A clinic administrator.
    Admin,
    /// A therapist (clinician).
    Therapist,
    /// Front desk staff.
    FrontDesk,
    /// An auditor (reads access logs).
    Auditor,
    /// A patient.
    Patient,
}

/// The fixed-layout context bound into every envelope's associated data and author signature.
///
/// Fields that do not apply to an object are zero (ids are never zero, see [`crate::ids`]). The
/// reader rebuilds the context from the record's metadata; an envelope moved to another object,
/// version, chart, tier, epoch or author fails to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The clinic the object belongs to.
    pub clinic: ClinicId,
    /// The object (stable across versions).
    pub object: ObjectId,
    /// The object's version, starting at 1.
    pub object_version: u64,
    /// The chart, for chart objects.
    pub chart: Option<ChartId>,
    /// The case-key tier, for notes.
    pub tier: Option<Tier>,
    /// The key epoch (0 where epochs do not apply).
    pub epoch: Epoch,
    /// The author's user id.
    pub author: UserId,
    /// The author's signing key id (zero for unsigned kinds).
    pub author_key: KeyId,
    /// When the version was written, seconds since the Unix epoch (UTC).
    pub created_at: i64,
    /// Hash of the previous version ([`SignedEnvelope::version_hash`]); zero for version 1.
    pub prev_version_hash: [u8; 32],
    /// Hash of the chart state the author saw when writing; zero for non-chart objects.
    pub chart_state_hash: [u8; 32],
}

impl Context {
    /// The exact context bytes for an envelope of `kind` (see `docs/formats.md`).
    pub fn encode(&self, kind: Kind) -> [u8; CONTEXT_LEN] {
        let mut out = [0u8; CONTEXT_LEN];
        let mut w = Writer {
            buf: &mut out,
            pos: 0,
        };
        w.put(self.clinic.as_bytes());
        w.put(self.object.as_bytes());
        w.put(&self.object_version.to_be_bytes());
        w.put(&[kind.to_byte()]);
        w.put(
            self.chart
                .map(|c| c.to_bytes())
                .as_ref()
                .unwrap_or(&[0u8; 16]),
        );
        w.put(&[self.tier.map_or(0, Tier::to_byte)]);
        w.put(&self.epoch.0.to_be_bytes());
        w.put(self.author.as_bytes());
        w.put(self.author_key.as_bytes());
        w.put(&self.created_at.to_be_bytes());
        w.put(&self.prev_version_hash);
        w.put(&self.chart_state_hash);
        out
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        // Callers write a fixed layout into a buffer of exactly its size.
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.pos += bytes.len();
    }
}

/// Decrypted content. Its whole allocation (including capacity beyond its length) is wiped when
/// it is dropped.
///
/// Ours rather than `Zeroizing<Vec<u8>>` because that wipes a `Vec` byte by byte with volatile
/// writes, which made opening a 64 KiB note a third slower; `[u8]::zeroize` fills in bulk behind
/// an optimisation barrier, with the same guarantee.
pub struct Plaintext(Vec<u8>);

impl Plaintext {
    /// The content.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl core::ops::Deref for Plaintext {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        self.0.as_mut_slice().zeroize();
        self.0.spare_capacity_mut().zeroize();
    }
}

impl core::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Plaintext([redacted], {} bytes)", self.0.len())
    }
}

impl PartialEq for Plaintext {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.as_slice().ct_eq(other.0.as_slice()))
    }
}

/// A parsed envelope header (the first [`HEADER_LEN`] bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// What the envelope holds.
    pub kind: Kind,
    /// The id of the key it was sealed under.
    pub key_id: KeyId,
    /// HKDF-derived commitment to that key.
    pub key_commitment: [u8; 32],
    /// The XChaCha20 nonce.
    pub nonce: [u8; 24],
}

/// An envelope: header, ciphertext and tag, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    bytes: Vec<u8>,
}

impl core::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Envelope({} bytes)", self.bytes.len())
    }
}

impl Envelope {
    /// Takes stored bytes. Nothing is checked until the envelope is opened.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self { bytes }
    }

    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Consumes the envelope, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Parses and checks the header: magic, version, suite, kind and length.
    ///
    /// Order matters: an unknown version or suite is reported as such before anything else is
    /// looked at, and is never read under another version's rules.
    pub fn header(&self) -> Result<Header> {
        parse_header(&self.bytes)
    }

    /// SHA-256 over the whole envelope: what the author signature covers (with the context).
    fn digest(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }
}

fn parse_header(bytes: &[u8]) -> Result<Header> {
    let magic = bytes.get(0..2).ok_or(Error::Malformed)?;
    if magic != MAGIC {
        return Err(Error::Malformed);
    }
    let version = *bytes.get(2).ok_or(Error::Malformed)?;
    if version != VERSION_1 {
        return Err(Error::UnsupportedVersion);
    }
    let suite = *bytes.get(3).ok_or(Error::Malformed)?;
    if suite != SUITE_1 {
        return Err(Error::UnsupportedSuite);
    }
    if bytes.len() < HEADER_LEN + TAG_LEN {
        return Err(Error::Malformed);
    }
    let kind = bytes
        .get(4)
        .copied()
        .and_then(Kind::from_byte)
        .ok_or(Error::Malformed)?;
    let field = |range: core::ops::Range<usize>| bytes.get(range).ok_or(Error::Malformed);
    let key_id: [u8; 16] = field(5..21)?.try_into().map_err(|_| Error::Malformed)?;
    let key_commitment: [u8; 32] = field(21..53)?.try_into().map_err(|_| Error::Malformed)?;
    let nonce: [u8; 24] = field(53..77)?.try_into().map_err(|_| Error::Malformed)?;
    Ok(Header {
        kind,
        key_id: KeyId::from_bytes(key_id),
        key_commitment,
        nonce,
    })
}

fn write_header(kind: Kind, key: &KeyMaterial, nonce: &[u8; 24], out: &mut Vec<u8>) {
    out.extend_from_slice(&MAGIC);
    out.push(VERSION_1);
    out.push(SUITE_1);
    out.push(kind.to_byte());
    out.extend_from_slice(key.key_id().as_bytes());
    out.extend_from_slice(key.commitment());
    out.extend_from_slice(nonce);
}

/// The PADMÉ padded length of `len` bytes (Nikitin et al., "Reducing Metadata Leakage from
/// Encrypted Files and Communication with PURBs", 2019): at most ~12 % overhead, and a length
/// reveals only O(log log n) bits.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - u64::from(len.leading_zeros()); // floor(log2 len)
    let s = 64 - u64::from(e.leading_zeros()); // floor(log2 e) + 1
    let last_bits = e - s;
    let mask = (1u64 << last_bits) - 1;
    (len + mask) & !mask
}

/// The smallest plaintext (prefix + content + padding) of a content kind. PADMÉ alone pads a
/// 40-byte search card in 4-byte steps, so its size would track the length of a patient's name,
/// and a questionnaire's answers would betray which questionnaire it is; below this floor every
/// content envelope is the same size. Key material (kinds 0x40 and up) has fixed sizes anyway.
pub const MIN_CONTENT_PLAINTEXT: u64 = 512;

/// The padded plaintext length of an envelope of `kind` whose content is `content_len` bytes.
pub fn padded_plaintext_len(kind: Kind, content_len: u64) -> u64 {
    let unpadded = 4 + content_len;
    if kind.is_content() {
        padme(unpadded.max(MIN_CONTENT_PLAINTEXT))
    } else {
        padme(unpadded)
    }
}

/// The length prefix and padded plaintext length for `content_len` bytes of content.
fn padded_len(kind: Kind, content_len: usize) -> Result<(u32, usize)> {
    if content_len > MAX_CONTENT_LEN {
        return Err(Error::InvalidParameter);
    }
    let len = u32::try_from(content_len).map_err(|_| Error::InvalidParameter)?;
    let total = usize::try_from(padded_plaintext_len(kind, u64::from(len)))
        .map_err(|_| Error::InvalidParameter)?;
    Ok((len, total))
}

/// Checks the length prefix and that every padding byte is zero and the padded size is exactly
/// the one [`padded_plaintext_len`] gives; returns the content range. Any deviation is
/// `Malformed`: there is one encoding only.
fn unpad(kind: Kind, plaintext: &[u8]) -> Result<core::ops::Range<usize>> {
    let prefix: [u8; 4] = plaintext
        .get(..4)
        .ok_or(Error::Malformed)?
        .try_into()
        .map_err(|_| Error::Malformed)?;
    let len = u32::from_be_bytes(prefix) as usize;
    let end = len.checked_add(4).ok_or(Error::Malformed)?;
    if end > plaintext.len() || padded_plaintext_len(kind, len as u64) != plaintext.len() as u64 {
        return Err(Error::Malformed);
    }
    let padding = plaintext.get(end..).ok_or(Error::Malformed)?;
    if padding.iter().fold(0u8, |acc, b| acc | b) != 0 {
        return Err(Error::Malformed);
    }
    Ok(4..end)
}

/// Seals `content` under `key` with a caller-chosen nonce. Every public path draws the nonce at
/// random; the frozen-vector generator passes a fixed one.
///
/// The plaintext is laid out directly in the output buffer and encrypted in place, so no separate
/// plaintext copy exists to be wiped afterwards.
pub(crate) fn seal_with_nonce(
    key: &KeyMaterial,
    kind: Kind,
    context: &Context,
    content: &[u8],
    nonce: &[u8; 24],
) -> Result<Envelope> {
    let (len, padded) = padded_len(kind, content.len())?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + padded + TAG_LEN);
    write_header(kind, key, nonce, &mut bytes);
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(content);
    bytes.resize(HEADER_LEN + padded, 0);
    encrypt_in_place(key, kind, context, nonce, bytes)
}

/// Encrypts a chosen, already padded plaintext (only the vector tooling builds malformed ones).
#[cfg(feature = "test-vectors")]
pub(crate) fn seal_raw_with_nonce(
    key: &KeyMaterial,
    kind: Kind,
    context: &Context,
    plaintext: &[u8],
    nonce: &[u8; 24],
) -> Result<Envelope> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    write_header(kind, key, nonce, &mut bytes);
    bytes.extend_from_slice(plaintext);
    encrypt_in_place(key, kind, context, nonce, bytes)
}

/// `bytes` holds the header followed by the padded plaintext: encrypts the plaintext in place and
/// appends the tag. On failure the plaintext is wiped before the buffer is freed.
fn encrypt_in_place(
    key: &KeyMaterial,
    kind: Kind,
    context: &Context,
    nonce: &[u8; 24],
    mut bytes: Vec<u8>,
) -> Result<Envelope> {
    let mut aad = [0u8; HEADER_LEN + CONTEXT_LEN];
    let (aad_head, aad_ctx) = aad.split_at_mut(HEADER_LEN);
    let (head, body) = bytes.split_at_mut(HEADER_LEN);
    aad_head.copy_from_slice(head);
    aad_ctx.copy_from_slice(&context.encode(kind));
    match key
        .aead()
        .encrypt_inout_detached(&XNonce::from(*nonce), &aad, body.into())
    {
        Ok(tag) => {
            bytes.extend_from_slice(&tag);
            Ok(Envelope { bytes })
        }
        Err(_) => {
            bytes.zeroize();
            Err(Error::InvalidParameter)
        }
    }
}

pub(crate) fn seal(
    key: &KeyMaterial,
    kind: Kind,
    context: &Context,
    content: &[u8],
) -> Result<Envelope> {
    let mut nonce = [0u8; 24];
    random_bytes(&mut nonce)?;
    seal_with_nonce(key, kind, context, content, &nonce)
}

/// Steps 1–4 of the open order: allow-list, key id, key commitment, AEAD open. Returns the
/// padded plaintext; the caller checks the signature and version before unpadding.
fn decrypt(
    key: &KeyMaterial,
    envelope: &Envelope,
    allowed: &[Kind],
    context: &Context,
) -> Result<(Kind, Plaintext)> {
    let header = envelope.header()?;
    if !allowed.contains(&header.kind) {
        return Err(Error::NotAllowed);
    }
    if header.key_id != key.key_id() {
        return Err(Error::WrongKey);
    }
    if !bool::from(header.key_commitment.ct_eq(key.commitment())) {
        return Err(Error::DecryptionFailed);
    }
    let bytes = envelope.as_bytes();
    let (head, rest) = bytes.split_at(HEADER_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut aad = [0u8; HEADER_LEN + CONTEXT_LEN];
    let (aad_head, aad_ctx) = aad.split_at_mut(HEADER_LEN);
    aad_head.copy_from_slice(head);
    aad_ctx.copy_from_slice(&context.encode(header.kind));
    let mut plaintext = Plaintext(ciphertext.to_vec());
    let tag = Tag::try_from(tag).map_err(|_| Error::Malformed)?;
    key.aead()
        .decrypt_inout_detached(
            &XNonce::from(header.nonce),
            &aad,
            plaintext.0.as_mut_slice().into(),
            &tag,
        )
        .map_err(|_| Error::DecryptionFailed)?;
    Ok((header.kind, plaintext))
}

/// Strips the length prefix and padding in place: one move, and no second secret copy to wipe.
fn unpadded(kind: Kind, mut plaintext: Plaintext) -> Result<Plaintext> {
    let range = unpad(kind, &plaintext)?;
    let len = range.len();
    plaintext.0.copy_within(range, 0);
    // Truncation leaves the tail in spare capacity, which `Plaintext` wipes on drop.
    plaintext.0.truncate(len);
    Ok(plaintext)
}

/// Opens an unsigned envelope (a wrap, or the local cache).
pub(crate) fn open(
    key: &KeyMaterial,
    envelope: &Envelope,
    allowed: &[Kind],
    context: &Context,
) -> Result<Plaintext> {
    let (kind, plaintext) = decrypt(key, envelope, allowed, context)?;
    unpadded(kind, plaintext)
}

/// An envelope with its author's signature beside it, as stored for every signed kind.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedEnvelope {
    /// The envelope.
    pub envelope: Envelope,
    /// The author's signature over SHA-256(envelope) || context.
    pub signature: Signature,
}

impl SignedEnvelope {
    /// The hash that names this version: the next version's `prev_version_hash`.
    /// SHA-256 over a label, the envelope and the signature.
    pub fn version_hash(&self) -> [u8; 32] {
        Sha256::new()
            .chain_update(b"vaiti v1 version hash")
            .chain_update(self.envelope.as_bytes())
            .chain_update(self.signature.to_bytes())
            .finalize()
            .into()
    }
}

fn signature_payload(envelope: &Envelope, kind: Kind, context: &Context) -> Vec<u8> {
    let mut payload = Vec::with_capacity(32 + CONTEXT_LEN);
    payload.extend_from_slice(&envelope.digest());
    payload.extend_from_slice(&context.encode(kind));
    payload
}

pub(crate) fn sign(
    envelope: Envelope,
    kind: Kind,
    context: &Context,
    author: &SigningKey,
) -> Result<SignedEnvelope> {
    if context.author_key != author.key_id() {
        return Err(Error::InvalidParameter);
    }
    let signature = author.sign(
        SignatureDomain::Record,
        &signature_payload(&envelope, kind, context),
    );
    Ok(SignedEnvelope {
        envelope,
        signature,
    })
}

/// What a reader expects of a signed envelope: where it was found and who wrote it.
#[derive(Debug, Clone, Copy)]
pub struct OpenPolicy<'a> {
    /// The kinds allowed in the place the envelope came from (the allow-list).
    pub allowed: &'a [Kind],
    /// The context rebuilt from the record's metadata.
    pub context: &'a Context,
    /// The author's certified signing key.
    pub author: &'a VerifyingKey,
    /// The roles the author's certificate grants.
    pub author_roles: &'a [AuthorRole],
    /// The newest version of this object the reader has seen, if any.
    pub newest_seen_version: Option<u64>,
}

pub(crate) fn open_signed(
    key: &KeyMaterial,
    signed: &SignedEnvelope,
    policy: &OpenPolicy<'_>,
) -> Result<Plaintext> {
    let (kind, plaintext) = decrypt(key, &signed.envelope, policy.allowed, policy.context)?;
    if !kind.is_signed() {
        return Err(Error::NotAllowed);
    }
    if policy.context.author_key != policy.author.key_id() {
        return Err(Error::BadSignature);
    }
    policy.author.verify(
        SignatureDomain::Record,
        &signature_payload(&signed.envelope, kind, policy.context),
        &signed.signature,
    )?;
    if !kind
        .allowed_authors()
        .iter()
        .any(|r| policy.author_roles.contains(r))
    {
        return Err(Error::NotAllowed);
    }
    if policy
        .newest_seen_version
        .is_some_and(|newest| policy.context.object_version < newest)
    {
        return Err(Error::RolledBack);
    }
    unpadded(kind, plaintext)
}
