//! Ed25519 signatures, domain-separated and suite-tagged.
//!
//! Every signature in vaiti is over `label || 0x00 || suite || payload`, where the label names the
//! structure being signed (a record, a wrap, a certificate, ...). A signature made for one structure
//! therefore never verifies as another, even when the payload bytes coincide. Signatures are
//! serialised as the suite byte followed by the 64 signature bytes, and verified with
//! `verify_strict` (no malleable or small-order encodings).

use core::fmt;

use ed25519_dalek::Signer as _;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result, random_bytes};
use crate::ids::KeyId;

/// Signature suite 1: Ed25519 (RFC 8032, strict verification) over the labelled message.
pub const SIGNATURE_SUITE_ED25519: u8 = 0x01;

/// Length of a serialised [`Signature`]: suite byte + 64.
pub const SIGNATURE_LEN: usize = 65;

/// Which structure a signature covers. Each has its own label; see `docs/formats.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureDomain {
    /// An envelope's author signature.
    Record,
    /// A public-key (HPKE) wrap, signed by whoever wrapped it.
    Wrap,
    /// A key-directory certificate (root-signed for staff, clinician-signed for patients).
    Certificate,
    /// The root-signed clinic manifest.
    Manifest,
    /// A chart-state update (care team, epoch, patient account).
    ChartState,
    /// An invite, signed by the inviter (role, branch, email or chart, expiry, invite key).
    Invite,
    /// An invitee's binding of their new keys to an invite.
    InviteBinding,
    /// A client's signed request for a key release, logged by the server.
    LogRequest,
    /// The revocation of an account (an admin's for staff, a member of staff's for a patient).
    Revocation,
}

impl SignatureDomain {
    /// The label that separates this domain from every other.
    pub const fn label(self) -> &'static [u8] {
        match self {
            SignatureDomain::Record => b"vaiti v1 record",
            SignatureDomain::Wrap => b"vaiti v1 wrap",
            SignatureDomain::Certificate => b"vaiti v1 certificate",
            SignatureDomain::Manifest => b"vaiti v1 manifest",
            SignatureDomain::ChartState => b"vaiti v1 chart state",
            SignatureDomain::Invite => b"vaiti v1 invite",
            SignatureDomain::InviteBinding => b"vaiti v1 invite binding",
            SignatureDomain::LogRequest => b"vaiti v1 log request",
            SignatureDomain::Revocation => b"vaiti v1 revocation",
        }
    }
}

/// The exact bytes that are signed: `label || 0x00 || suite || payload`.
fn signed_message(domain: SignatureDomain, payload: &[u8]) -> Vec<u8> {
    let label = domain.label();
    let mut msg = Vec::with_capacity(label.len() + 2 + payload.len());
    msg.extend_from_slice(label);
    msg.push(0x00);
    msg.push(SIGNATURE_SUITE_ED25519);
    msg.extend_from_slice(payload);
    msg
}

/// Key id of a public key: the first 16 bytes of SHA-256 over a per-algorithm label and the key
/// (`docs/formats.md` §1).
pub(crate) fn public_key_id(label: &[u8], public: &[u8]) -> KeyId {
    let digest = Sha256::new()
        .chain_update(label)
        .chain_update(public)
        .finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    KeyId::from_bytes(id)
}

/// Key id of an Ed25519 public key.
pub(crate) fn ed25519_key_id(public: &[u8; 32]) -> KeyId {
    public_key_id(b"vaiti v1 key id ed25519", public)
}

/// A detached signature with its suite byte.
#[derive(Clone, PartialEq, Eq)]
pub struct Signature {
    bytes: [u8; 64],
}

impl Signature {
    /// Serialises as `suite || 64 bytes`.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        let mut out = [0u8; SIGNATURE_LEN];
        out[0] = SIGNATURE_SUITE_ED25519;
        out[1..].copy_from_slice(&self.bytes);
        out
    }

    /// Parses `suite || 64 bytes`. An unknown suite is an error, never a fallback.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (&suite, rest) = bytes.split_first().ok_or(Error::Malformed)?;
        if suite != SIGNATURE_SUITE_ED25519 {
            return Err(Error::UnsupportedSuite);
        }
        let bytes: [u8; 64] = rest.try_into().map_err(|_| Error::Malformed)?;
        Ok(Self { bytes })
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(..)")
    }
}

/// A user's Ed25519 signing key. Secret: zeroized on drop, not `Clone`, printed as `[redacted]`.
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// A fresh random signing key.
    pub fn generate() -> Result<Self> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        random_bytes(seed.as_mut())?;
        Ok(Self::from_seed(&seed))
    }

    /// Rebuilds a key from its 32-byte seed (as unwrapped from storage).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            inner: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// The seed, for wrapping under the Account Key. Handle as a secret.
    pub(crate) fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.inner.to_bytes())
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            inner: self.inner.verifying_key(),
        }
    }

    /// This key's id (that of its public half).
    pub fn key_id(&self) -> KeyId {
        self.verifying_key().key_id()
    }

    /// Signs `payload` in `domain`.
    pub fn sign(&self, domain: SignatureDomain, payload: &[u8]) -> Signature {
        let sig = self.inner.sign(&signed_message(domain, payload));
        Signature {
            bytes: sig.to_bytes(),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([redacted])")
    }
}

/// An Ed25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    inner: ed25519_dalek::VerifyingKey,
}

impl VerifyingKey {
    /// Parses a 32-byte public key; rejects encodings that are not valid points.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| Error::Malformed)?;
        let inner =
            ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| Error::Malformed)?;
        Ok(Self { inner })
    }

    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.inner.to_bytes()
    }

    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        ed25519_key_id(&self.inner.to_bytes())
    }

    /// Verifies `signature` over `payload` in `domain`, strictly.
    pub fn verify(
        &self,
        domain: SignatureDomain,
        payload: &[u8],
        signature: &Signature,
    ) -> Result<()> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.bytes);
        self.inner
            .verify_strict(&signed_message(domain, payload), &sig)
            .map_err(|_| Error::BadSignature)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({:?})", self.key_id())
    }
}

/// The clinic root key: signs the clinic manifest and staff certificates, nothing else.
///
/// It is a key, not a person: it is wrapped to every admin and to escrow, so admins can come and go.
pub struct RootKey {
    inner: SigningKey,
}

impl RootKey {
    /// A fresh root key, made once when a clinic is created.
    pub fn generate() -> Result<Self> {
        Ok(Self {
            inner: SigningKey::generate()?,
        })
    }

    /// Rebuilds the root key from its seed (after unwrapping it).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            inner: SigningKey::from_seed(seed),
        }
    }

    pub(crate) fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        self.inner.seed()
    }

    /// The public half, which clients pin through its fingerprint.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.inner.verifying_key()
    }

    /// The root fingerprint printed on every Emergency Kit: SHA-256 over a label and the public key.
    pub fn fingerprint(&self) -> RootFingerprint {
        RootFingerprint::of(&self.verifying_key())
    }

    /// Signs a clinic manifest.
    pub fn sign_manifest(&self, manifest: &[u8]) -> Signature {
        self.inner.sign(SignatureDomain::Manifest, manifest)
    }

    /// Signs a staff certificate.
    pub fn sign_certificate(&self, certificate: &[u8]) -> Signature {
        self.inner.sign(SignatureDomain::Certificate, certificate)
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey([redacted])")
    }
}

/// The fingerprint of a clinic's root public key, which clients pin.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RootFingerprint(pub [u8; 32]);

impl RootFingerprint {
    /// Computes the fingerprint of a root public key.
    pub fn of(root: &VerifyingKey) -> Self {
        let digest = Sha256::new()
            .chain_update(b"vaiti v1 root fingerprint")
            .chain_update(root.to_bytes())
            .finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest);
        Self(out)
    }

    /// Whether `root` is the key this fingerprint pins.
    pub fn matches(&self, root: &VerifyingKey) -> bool {
        use subtle::ConstantTimeEq as _;
        bool::from(Self::of(root).0.ct_eq(&self.0))
    }
}

impl fmt::Debug for RootFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootFingerprint(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The hash that names a signed structure (a chart-state entry, an invite): SHA-256 over the
/// domain's label, the body's length (8 bytes, big-endian), the body and the signature. The next
/// entry of a hash chain names its predecessor by this value.
pub fn signed_structure_hash(
    domain: SignatureDomain,
    body: &[u8],
    signature: &Signature,
) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"vaiti v1 structure hash")
        .chain_update(domain.label())
        .chain_update((body.len() as u64).to_be_bytes())
        .chain_update(body)
        .chain_update(signature.to_bytes())
        .finalize()
        .into()
}
