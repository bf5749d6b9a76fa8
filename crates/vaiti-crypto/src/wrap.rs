//! Public-key wraps: handing a key to another user (or to escrow) with HPKE.
//!
//! HPKE (RFC 9180) base mode with the X-Wing hybrid KEM (ML-KEM-768 + X25519,
//! draft-connolly-cfrg-xwing-kem-06, HPKE KEM id 0x647a), HKDF-SHA256 and ChaCha20-Poly1305.
//! Post-quantum from day one: a wrap stolen today must stay closed for a patient's lifetime.
//!
//! A wrap names what it carries (kind, scope, tier, epoch, carried key id), to whom (recipient
//! key id) and by whom (wrapper key id). The HPKE `info` binds the clinic and all of that, and the
//! wrapper signs the clinic id and a hash of the whole wrap, so a server can neither forge a wrap
//! nor move one to another chart, tier, epoch, recipient or clinic.

use core::fmt;

use hpke::{Deserializable as _, Kem as _, OpModeR, OpModeS, Serializable as _};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result, random_bytes};
use crate::ids::{BranchId, ChartId, ClinicId, Epoch, KeyId, Tier};
use crate::keys::{CaseKey, DirectoryKey, IdentityKey, KeyMaterial, ReportKey};
use crate::sign::{RootKey, Signature, SignatureDomain, SigningKey, VerifyingKey};

type Kem = hpke::kem::XWing;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// Magic bytes of a public-key wrap.
pub const WRAP_MAGIC: [u8; 2] = *b"VW";
/// The only wrap version this build reads or writes.
pub const WRAP_VERSION_1: u8 = 0x01;
/// Wrap suite 1: HPKE base mode, X-Wing (draft-connolly-cfrg-xwing-kem-06), HKDF-SHA256,
/// ChaCha20-Poly1305. The byte pins that exact X-Wing specification version.
pub const WRAP_SUITE_XWING_06: u8 = 0x01;
/// X-Wing public key length.
pub const PUBLIC_KEY_LEN: usize = 1216;
/// X-Wing encapsulation length.
pub const ENCAPSULATION_LEN: usize = 1120;
/// Wrap header length (everything before the encapsulation).
pub const WRAP_HEADER_LEN: usize = 2 + 1 + 1 + 1 + 1 + 16 + 1 + 4 + 16 + 16 + 16;
/// Total wrap length: header, encapsulation, 32-byte key and 16-byte tag.
pub const WRAP_LEN: usize = WRAP_HEADER_LEN + ENCAPSULATION_LEN + 32 + 16;

const INFO_LABEL: &[u8] = b"vaiti v1 wrap";

/// Key id of an X-Wing public key.
fn xwing_key_id(public: &[u8]) -> KeyId {
    crate::sign::public_key_id(b"vaiti v1 key id x-wing", public)
}

/// A user's (or the escrow's) HPKE public key, to which others wrap keys.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionPublicKey {
    inner: <Kem as hpke::Kem>::PublicKey,
    key_id: KeyId,
}

impl EncryptionPublicKey {
    /// Parses a 1,216-byte X-Wing public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let inner =
            <Kem as hpke::Kem>::PublicKey::from_bytes(bytes).map_err(|_| Error::Malformed)?;
        Ok(Self {
            inner,
            key_id: xwing_key_id(bytes),
        })
    }

    /// The 1,216-byte encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes().to_vec()
    }

    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Wraps `key` to this public key, signed by `wrapper`.
    ///
    /// The caller must already have checked that this key is certified, current and belongs to the
    /// intended recipient (the client's key directory does that); this function binds it.
    pub fn wrap<K: Wrappable>(
        &self,
        key: &K,
        clinic: ClinicId,
        wrapper: &SigningKey,
    ) -> Result<PublicWrap> {
        let mut seed = [0u8; 64];
        random_bytes(&mut seed)?;
        self.wrap_with_randomness(key, clinic, wrapper, seed)
    }

    pub(crate) fn wrap_with_randomness<K: Wrappable>(
        &self,
        key: &K,
        clinic: ClinicId,
        wrapper: &SigningKey,
        randomness: [u8; 64],
    ) -> Result<PublicWrap> {
        let target = key.target();
        let header = WrapHeader {
            kind: K::KIND,
            target,
            carried_key_id: key.carried_key_id(),
            recipient_key_id: self.key_id,
            wrapper_key_id: wrapper.key_id(),
        }
        .encode();
        let info = wrap_info(clinic, &header);
        let secret = key.secret_bytes();
        let mut rng = FixedRng {
            bytes: Zeroizing::new(randomness),
            pos: 0,
            overdrawn: false,
        };
        let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<Aead, Kdf, Kem>(
            &OpModeS::Base,
            &self.inner,
            &info,
            secret.as_ref(),
            &header,
            &mut rng,
        )
        .map_err(|_| Error::InvalidParameter)?;
        if rng.overdrawn {
            return Err(Error::Rng);
        }
        let mut bytes = Vec::with_capacity(WRAP_LEN);
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&enc.to_bytes());
        bytes.extend_from_slice(&ciphertext);
        if bytes.len() != WRAP_LEN {
            return Err(Error::InvalidParameter);
        }
        let signature = wrapper.sign(
            SignatureDomain::Wrap,
            &wrap_signature_payload(clinic, &bytes),
        );
        Ok(PublicWrap { bytes, signature })
    }
}

impl fmt::Debug for EncryptionPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionPublicKey({:?})", self.key_id)
    }
}

/// Serves HPKE exactly the randomness drawn (fallibly, from the OS) beforehand, so an RNG failure
/// is an error rather than a panic inside the dependency. X-Wing encapsulation draws 64 bytes; if
/// HPKE ever asked for more, `overdrawn` is set and the wrap is refused rather than made with
/// predictable bytes.
struct FixedRng {
    bytes: Zeroizing<[u8; 64]>,
    pos: usize,
    overdrawn: bool,
}

impl hpke::rand_core::TryRng for FixedRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> core::result::Result<(), Self::Error> {
        for d in dest.iter_mut() {
            match self.bytes.get(self.pos) {
                Some(b) => *d = *b,
                None => self.overdrawn = true,
            }
            self.pos = self.pos.saturating_add(1);
        }
        Ok(())
    }
}

impl hpke::rand_core::TryCryptoRng for FixedRng {}

/// A user's (or the escrow's) HPKE private key. Secret: zeroized on drop, not `Clone`.
pub struct DecryptionKey {
    seed: Zeroizing<[u8; 32]>,
    inner: <Kem as hpke::Kem>::PrivateKey,
    public: EncryptionPublicKey,
}

impl DecryptionKey {
    /// A fresh key pair.
    pub fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        random_bytes(seed.as_mut())?;
        Self::from_seed(seed.as_ref())
    }

    /// Rebuilds the key pair from its 32-byte X-Wing seed (the X-Wing private key).
    pub fn from_seed(seed: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = seed.try_into().map_err(|_| Error::Malformed)?;
        let inner =
            <Kem as hpke::Kem>::PrivateKey::from_bytes(&arr).map_err(|_| Error::Malformed)?;
        let public_inner = Kem::sk_to_pk(&inner);
        let public_bytes = public_inner.to_bytes();
        let public = EncryptionPublicKey {
            key_id: xwing_key_id(&public_bytes),
            inner: public_inner,
        };
        Ok(Self {
            seed: Zeroizing::new(arr),
            inner,
            public,
        })
    }

    pub(crate) fn seed(&self) -> &Zeroizing<[u8; 32]> {
        &self.seed
    }

    /// The public half.
    pub fn public_key(&self) -> &EncryptionPublicKey {
        &self.public
    }

    /// This key's id (that of its public half).
    pub fn key_id(&self) -> KeyId {
        self.public.key_id
    }

    /// Unwraps a key that `wrapper` wrapped to this key.
    ///
    /// Checks, in order: format and suite, kind, that it was wrapped to this key, the wrapper's
    /// signature, that it carries what the caller asked for (`expected`), the HPKE decryption
    /// (whose `info` binds all of it again), and that the unwrapped key is the one the wrap names.
    pub fn unwrap<K: Wrappable>(
        &self,
        wrap: &PublicWrap,
        clinic: ClinicId,
        expected: &WrapTarget,
        wrapper: &VerifyingKey,
    ) -> Result<K> {
        let header = WrapHeader::parse(&wrap.bytes)?;
        if header.kind != K::KIND {
            return Err(Error::NotAllowed);
        }
        if header.recipient_key_id != self.key_id() {
            return Err(Error::WrongKey);
        }
        if header.wrapper_key_id != wrapper.key_id() {
            return Err(Error::BadSignature);
        }
        wrapper.verify(
            SignatureDomain::Wrap,
            &wrap_signature_payload(clinic, &wrap.bytes),
            &wrap.signature,
        )?;
        if &header.target != expected {
            return Err(Error::NotAllowed);
        }
        let head = wrap.bytes.get(..WRAP_HEADER_LEN).ok_or(Error::Malformed)?;
        let enc_bytes = wrap
            .bytes
            .get(WRAP_HEADER_LEN..WRAP_HEADER_LEN + ENCAPSULATION_LEN)
            .ok_or(Error::Malformed)?;
        let ciphertext = wrap
            .bytes
            .get(WRAP_HEADER_LEN + ENCAPSULATION_LEN..)
            .ok_or(Error::Malformed)?;
        let enc =
            <Kem as hpke::Kem>::EncappedKey::from_bytes(enc_bytes).map_err(|_| Error::Malformed)?;
        let info = wrap_info(clinic, head);
        let secret = Zeroizing::new(
            hpke::single_shot_open::<Aead, Kdf, Kem>(
                &OpModeR::Base,
                &self.inner,
                &enc,
                &info,
                ciphertext,
                head,
            )
            .map_err(|_| Error::DecryptionFailed)?,
        );
        let key = K::rebuild(&secret, &header.target)?;
        if key.carried_key_id() != header.carried_key_id {
            return Err(Error::DecryptionFailed);
        }
        Ok(key)
    }
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecryptionKey([redacted])")
    }
}

/// A key wrapped to a public key, with the wrapper's signature.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicWrap {
    /// The wrap bytes (`docs/formats.md`, "Public-key wrap v1").
    pub bytes: Vec<u8>,
    /// The wrapper's signature (label "vaiti v1 wrap") over clinic id || SHA-256(bytes).
    pub signature: Signature,
}

impl fmt::Debug for PublicWrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicWrap({} bytes)", self.bytes.len())
    }
}

impl PublicWrap {
    /// The parsed header, for routing a wrap before unwrapping it.
    pub fn header(&self) -> Result<WrapHeader> {
        WrapHeader::parse(&self.bytes)
    }
}

/// What a wrapped key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// The whole clinic (the root key).
    Clinic,
    /// One branch (a directory key).
    Branch(BranchId),
    /// One chart (identity and case keys).
    Chart(ChartId),
}

impl Scope {
    fn encode(self) -> (u8, [u8; 16]) {
        match self {
            Scope::Clinic => (0, [0; 16]),
            Scope::Branch(b) => (1, b.to_bytes()),
            Scope::Chart(c) => (2, c.to_bytes()),
        }
    }

    fn decode(tag: u8, id: [u8; 16]) -> Result<Self> {
        match tag {
            0 if id == [0; 16] => Ok(Scope::Clinic),
            1 => Ok(Scope::Branch(BranchId::from_bytes(id))),
            2 => Ok(Scope::Chart(ChartId::from_bytes(id))),
            _ => Err(Error::Malformed),
        }
    }
}

/// Where a wrapped key belongs: its scope, tier and epoch. The unwrapper states what it expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WrapTarget {
    /// Clinic, branch, chart or user.
    pub scope: Scope,
    /// The case-key tier, if any.
    pub tier: Option<Tier>,
    /// The epoch (0 where epochs do not apply).
    pub epoch: Epoch,
}

/// What kind of key a public-key wrap carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WrappedKind {
    /// A [`CaseKey`].
    CaseKey,
    /// An [`IdentityKey`].
    IdentityKey,
    /// A [`DirectoryKey`].
    DirectoryKey,
    /// The clinic [`RootKey`].
    RootKey,
    /// A one-report [`ReportKey`] (a patient's report, wrapped to admins and auditors).
    ReportKey,
}

impl WrappedKind {
    const fn to_byte(self) -> u8 {
        match self {
            WrappedKind::CaseKey => 0x81,
            WrappedKind::IdentityKey => 0x82,
            WrappedKind::DirectoryKey => 0x83,
            WrappedKind::RootKey => 0x84,
            WrappedKind::ReportKey => 0x85,
        }
    }

    fn from_byte(b: u8) -> Result<Self> {
        Ok(match b {
            0x81 => WrappedKind::CaseKey,
            0x82 => WrappedKind::IdentityKey,
            0x83 => WrappedKind::DirectoryKey,
            0x84 => WrappedKind::RootKey,
            0x85 => WrappedKind::ReportKey,
            _ => return Err(Error::Malformed),
        })
    }
}

/// The parsed header of a public-key wrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapHeader {
    /// What is carried.
    pub kind: WrappedKind,
    /// Where it belongs.
    pub target: WrapTarget,
    /// The id of the carried key.
    pub carried_key_id: KeyId,
    /// The recipient's public key id.
    pub recipient_key_id: KeyId,
    /// The wrapper's signing key id.
    pub wrapper_key_id: KeyId,
}

impl WrapHeader {
    fn encode(&self) -> [u8; WRAP_HEADER_LEN] {
        let mut out = [0u8; WRAP_HEADER_LEN];
        let (tag, id) = self.target.scope.encode();
        let mut v = Vec::with_capacity(WRAP_HEADER_LEN);
        v.extend_from_slice(&WRAP_MAGIC);
        v.push(WRAP_VERSION_1);
        v.push(WRAP_SUITE_XWING_06);
        v.push(self.kind.to_byte());
        v.push(tag);
        v.extend_from_slice(&id);
        v.push(self.target.tier.map_or(0, Tier::to_byte));
        v.extend_from_slice(&self.target.epoch.0.to_be_bytes());
        v.extend_from_slice(self.carried_key_id.as_bytes());
        v.extend_from_slice(self.recipient_key_id.as_bytes());
        v.extend_from_slice(self.wrapper_key_id.as_bytes());
        out.copy_from_slice(&v);
        out
    }

    fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.get(0..2) != Some(&WRAP_MAGIC[..]) {
            return Err(Error::Malformed);
        }
        if bytes.get(2) != Some(&WRAP_VERSION_1) {
            return Err(if bytes.len() > 2 {
                Error::UnsupportedVersion
            } else {
                Error::Malformed
            });
        }
        if bytes.get(3) != Some(&WRAP_SUITE_XWING_06) {
            return Err(if bytes.len() > 3 {
                Error::UnsupportedSuite
            } else {
                Error::Malformed
            });
        }
        if bytes.len() != WRAP_LEN {
            return Err(Error::Malformed);
        }
        let b = |i: usize| bytes.get(i).copied().ok_or(Error::Malformed);
        let id16 = |start: usize| -> Result<[u8; 16]> {
            bytes
                .get(start..start + 16)
                .ok_or(Error::Malformed)?
                .try_into()
                .map_err(|_| Error::Malformed)
        };
        let kind = WrappedKind::from_byte(b(4)?)?;
        let scope = Scope::decode(b(5)?, id16(6)?)?;
        let tier = match b(22)? {
            0 => None,
            t => Some(Tier::from_byte(t).ok_or(Error::Malformed)?),
        };
        let epoch_bytes: [u8; 4] = bytes
            .get(23..27)
            .ok_or(Error::Malformed)?
            .try_into()
            .map_err(|_| Error::Malformed)?;
        Ok(Self {
            kind,
            target: WrapTarget {
                scope,
                tier,
                epoch: Epoch(u32::from_be_bytes(epoch_bytes)),
            },
            carried_key_id: KeyId::from_bytes(id16(27)?),
            recipient_key_id: KeyId::from_bytes(id16(43)?),
            wrapper_key_id: KeyId::from_bytes(id16(59)?),
        })
    }
}

fn wrap_info(clinic: ClinicId, header: &[u8]) -> Vec<u8> {
    let mut info = Vec::with_capacity(INFO_LABEL.len() + 1 + 16 + header.len());
    info.extend_from_slice(INFO_LABEL);
    info.push(0x00);
    info.extend_from_slice(clinic.as_bytes());
    info.extend_from_slice(header);
    info
}

fn wrap_signature_payload(clinic: ClinicId, wrap_bytes: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(48);
    payload.extend_from_slice(clinic.as_bytes());
    payload.extend_from_slice(&Sha256::digest(wrap_bytes));
    payload
}

/// Keys that may be wrapped to a public key.
pub trait Wrappable: private::Sealed + Sized {
    /// What the wrap says it carries.
    const KIND: WrappedKind;
    /// Where the key belongs.
    fn target(&self) -> WrapTarget;
    /// The carried key's id, checked again after unwrapping.
    fn carried_key_id(&self) -> KeyId;
    #[doc(hidden)]
    fn secret_bytes(&self) -> Zeroizing<[u8; 32]>;
    #[doc(hidden)]
    fn rebuild(secret: &[u8], target: &WrapTarget) -> Result<Self>;
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::CaseKey {}
    impl Sealed for super::IdentityKey {}
    impl Sealed for super::DirectoryKey {}
    impl Sealed for super::RootKey {}
    impl Sealed for super::ReportKey {}
}

impl Wrappable for CaseKey {
    const KIND: WrappedKind = WrappedKind::CaseKey;
    fn target(&self) -> WrapTarget {
        WrapTarget {
            scope: Scope::Chart(self.chart()),
            tier: Some(self.tier()),
            epoch: self.epoch(),
        }
    }
    fn carried_key_id(&self) -> KeyId {
        self.key_id()
    }
    fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.material.secret())
    }
    fn rebuild(secret: &[u8], target: &WrapTarget) -> Result<Self> {
        match (target.scope, target.tier) {
            (Scope::Chart(chart), Some(tier)) => Ok(CaseKey::from_parts(
                KeyMaterial::from_bytes(secret)?,
                chart,
                tier,
                target.epoch,
            )),
            _ => Err(Error::Malformed),
        }
    }
}

impl Wrappable for IdentityKey {
    const KIND: WrappedKind = WrappedKind::IdentityKey;
    fn target(&self) -> WrapTarget {
        WrapTarget {
            scope: Scope::Chart(self.chart()),
            tier: None,
            epoch: Epoch(0),
        }
    }
    fn carried_key_id(&self) -> KeyId {
        self.key_id()
    }
    fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.material.secret())
    }
    fn rebuild(secret: &[u8], target: &WrapTarget) -> Result<Self> {
        match (target.scope, target.tier, target.epoch) {
            (Scope::Chart(chart), None, Epoch(0)) => Ok(IdentityKey::from_parts(
                KeyMaterial::from_bytes(secret)?,
                chart,
            )),
            _ => Err(Error::Malformed),
        }
    }
}

impl Wrappable for DirectoryKey {
    const KIND: WrappedKind = WrappedKind::DirectoryKey;
    fn target(&self) -> WrapTarget {
        WrapTarget {
            scope: Scope::Branch(self.branch()),
            tier: None,
            epoch: self.epoch(),
        }
    }
    fn carried_key_id(&self) -> KeyId {
        self.key_id()
    }
    fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.material.secret())
    }
    fn rebuild(secret: &[u8], target: &WrapTarget) -> Result<Self> {
        match (target.scope, target.tier) {
            (Scope::Branch(branch), None) => Ok(DirectoryKey::from_parts(
                KeyMaterial::from_bytes(secret)?,
                branch,
                target.epoch,
            )),
            _ => Err(Error::Malformed),
        }
    }
}

impl Wrappable for RootKey {
    const KIND: WrappedKind = WrappedKind::RootKey;
    fn target(&self) -> WrapTarget {
        WrapTarget {
            scope: Scope::Clinic,
            tier: None,
            epoch: Epoch(0),
        }
    }
    fn carried_key_id(&self) -> KeyId {
        self.verifying_key().key_id()
    }
    fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.seed()
    }
    fn rebuild(secret: &[u8], target: &WrapTarget) -> Result<Self> {
        if *target
            != (WrapTarget {
                scope: Scope::Clinic,
                tier: None,
                epoch: Epoch(0),
            })
        {
            return Err(Error::Malformed);
        }
        let seed: [u8; 32] = secret.try_into().map_err(|_| Error::Malformed)?;
        let seed = Zeroizing::new(seed);
        Ok(RootKey::from_seed(&seed))
    }
}

impl Wrappable for ReportKey {
    const KIND: WrappedKind = WrappedKind::ReportKey;
    fn target(&self) -> WrapTarget {
        WrapTarget {
            scope: Scope::Chart(self.chart()),
            tier: None,
            epoch: Epoch(0),
        }
    }
    fn carried_key_id(&self) -> KeyId {
        self.key_id()
    }
    fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*self.material.secret())
    }
    fn rebuild(secret: &[u8], target: &WrapTarget) -> Result<Self> {
        match (target.scope, target.tier, target.epoch) {
            (Scope::Chart(chart), None, Epoch(0)) => Ok(ReportKey::from_parts(
                KeyMaterial::from_bytes(secret)?,
                chart,
            )),
            _ => Err(Error::Malformed),
        }
    }
}
