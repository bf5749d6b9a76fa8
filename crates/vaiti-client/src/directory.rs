//! The clinic manifest and key-directory certificates: JSON bodies signed over their exact bytes.
//!
//! The signer serialises the body once and signs those bytes (label `vaiti v1 manifest` or
//! `vaiti v1 certificate`); the bytes are stored and served as they are, and a verifier parses
//! them only after the signature checks. Field order is fixed by the struct definitions.

use serde::{Deserialize, Serialize};
use vaiti_core::{BranchId, ClinicId, Role, Sealed, UserId};
use vaiti_crypto::{
    AuthorRole, EncryptionPublicKey, RootFingerprint, RootKey, Signature, SignatureDomain,
    VerifyingKey,
};

use crate::ClientError;

fn hex32(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A branch as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchEntry {
    /// The branch.
    pub id: BranchId,
    /// Its name (public configuration, not patient data).
    pub name: String,
    /// Its current directory key's id (hex).
    pub directory_key: String,
    /// The directory key's epoch.
    pub epoch: u32,
}

/// Clinic manifest, version 1 (`docs/protocol.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestV1 {
    /// Always 1.
    pub v: u8,
    /// The clinic.
    pub clinic: ClinicId,
    /// The clinic's name.
    pub name: String,
    /// 1, 2, 3, ...: clients refuse to go backwards.
    pub manifest_version: u64,
    /// The root public key (Ed25519, hex).
    pub root_key: String,
    /// The escrow public key (X-Wing, base64url).
    pub escrow_key: Sealed,
    /// Shares needed to rebuild the escrow key.
    pub escrow_threshold: u8,
    /// Shares made.
    pub escrow_shares: u8,
    /// The clinic's branches.
    pub branches: Vec<BranchEntry>,
    /// When this manifest version was made.
    pub created_at: i64,
    /// The access log's verifier key (C2SP `name+keyid+base64`), once an admin's client has
    /// adopted the key the server signs the clinic's log with. From then on every client checks
    /// the log's checkpoints against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_key: Option<String>,
    /// The access log's witnesses: their C2SP verifier keys (`name+keyid+base64`, signature
    /// type 0x04, `cosignature/v1`). When any are listed, every client requires co-signatures
    /// from [`Self::witness_quorum`] of them, each no older than [`Self::witness_max_age_s`]
    /// ([`crate::witness`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<String>,
    /// How many distinct listed witnesses must have co-signed (0 means 1 when witnesses are
    /// listed).
    #[serde(default, skip_serializing_if = "is_zero_u8")]
    pub witness_quorum: u8,
    /// The oldest a co-signature may be, in seconds (0 means
    /// [`crate::witness::DEFAULT_MAX_AGE_S`]).
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub witness_max_age_s: u64,
}

fn is_zero_u8(n: &u8) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

impl ManifestV1 {
    /// Serialises and signs with the root key.
    pub fn sign(&self, root: &RootKey) -> Result<(Vec<u8>, Signature), ClientError> {
        let bytes = serde_json::to_vec(self).map_err(|e| ClientError::Usage(e.to_string()))?;
        let signature = root.sign_manifest(&bytes);
        Ok((bytes, signature))
    }

    /// Verifies a stored manifest against the pinned root fingerprint, then parses it.
    pub fn verify(
        bytes: &[u8],
        signature: &[u8],
        pin: &RootFingerprint,
    ) -> Result<(Self, VerifyingKey), ClientError> {
        // Find the root key the manifest claims, check it is the pinned one, then the signature.
        let claimed: ManifestV1 = serde_json::from_slice(bytes)
            .map_err(|_| ClientError::Protocol("the clinic manifest is malformed".into()))?;
        let root_bytes = hex::decode(&claimed.root_key)
            .map_err(|_| ClientError::Protocol("the clinic manifest is malformed".into()))?;
        let root = VerifyingKey::from_bytes(&root_bytes)?;
        if !pin.matches(&root) {
            return Err(ClientError::Protocol(
                "the clinic's root key is not the one pinned on this device (Emergency Kit fingerprint)".into(),
            ));
        }
        root.verify(
            SignatureDomain::Manifest,
            bytes,
            &Signature::from_bytes(signature)?,
        )?;
        if claimed.v != 1 {
            return Err(ClientError::Protocol("unsupported manifest version".into()));
        }
        Ok((claimed, root))
    }

    /// The escrow public key.
    pub fn escrow_public_key(&self) -> Result<EncryptionPublicKey, ClientError> {
        Ok(EncryptionPublicKey::from_bytes(self.escrow_key.as_bytes())?)
    }
}

/// Whose certificate it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertificateKind {
    /// A member of staff (root-signed).
    Staff,
    /// A patient (signed by the inviting clinician, scoped to a chart).
    Patient,
}

/// Key-directory certificate, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateV1 {
    /// Always 1.
    pub v: u8,
    /// The clinic.
    pub clinic: ClinicId,
    /// The certified user.
    pub user: UserId,
    /// Staff or patient.
    pub kind: CertificateKind,
    /// The staff email or the patient's random handle.
    pub login: String,
    /// A staff member's display name.
    pub display_name: Option<String>,
    /// Staff roles.
    pub roles: Vec<Role>,
    /// Staff branches.
    pub branches: Vec<BranchId>,
    /// A patient's chart.
    pub chart: Option<vaiti_core::ChartId>,
    /// X-Wing public key (base64url).
    pub encryption_key: Sealed,
    /// Ed25519 public key (hex).
    pub verifying_key: String,
    /// 1, 2, 3, ... per user.
    pub serial: u64,
    /// When issued.
    pub issued_at: i64,
    /// When it expires.
    pub expires_at: i64,
    /// The issuer's signing key id (hex).
    pub issuer: String,
}

impl CertificateV1 {
    /// Serialises and signs with the root key (staff certificates).
    pub fn sign_with_root(&self, root: &RootKey) -> Result<(Vec<u8>, Signature), ClientError> {
        let bytes = serde_json::to_vec(self).map_err(|e| ClientError::Usage(e.to_string()))?;
        let signature = root.sign_certificate(&bytes);
        Ok((bytes, signature))
    }

    /// Serialises and signs with a clinician's key (patient certificates).
    pub fn sign_with(
        &self,
        issuer: &vaiti_crypto::SigningKey,
    ) -> Result<(Vec<u8>, Signature), ClientError> {
        let bytes = serde_json::to_vec(self).map_err(|e| ClientError::Usage(e.to_string()))?;
        let signature = issuer.sign(SignatureDomain::Certificate, &bytes);
        Ok((bytes, signature))
    }

    /// Verifies a certificate issued by `issuer` and parses it; checks clinic and expiry.
    pub fn verify(
        bytes: &[u8],
        signature: &[u8],
        issuer: &VerifyingKey,
        clinic: ClinicId,
        now: i64,
    ) -> Result<Self, ClientError> {
        issuer.verify(
            SignatureDomain::Certificate,
            bytes,
            &Signature::from_bytes(signature)?,
        )?;
        let cert: CertificateV1 = serde_json::from_slice(bytes)
            .map_err(|_| ClientError::Protocol("a certificate is malformed".into()))?;
        if cert.v != 1 || cert.clinic != clinic {
            return Err(ClientError::Protocol(
                "a certificate is for another clinic or version".into(),
            ));
        }
        if now >= cert.expires_at {
            return Err(ClientError::Protocol("a certificate has expired".into()));
        }
        if cert.issuer != hex32(issuer.key_id().as_bytes()) {
            return Err(ClientError::Protocol(
                "a certificate names another issuer".into(),
            ));
        }
        Ok(cert)
    }
}

/// A certificate that checked out, with its keys parsed.
#[derive(Debug, Clone)]
pub struct Member {
    /// The certificate.
    pub certificate: CertificateV1,
    /// The member's X-Wing public key.
    pub encryption_key: EncryptionPublicKey,
    /// The member's Ed25519 public key.
    pub verifying_key: VerifyingKey,
    /// The end of the certificate's life: its expiry, or its revocation if earlier. A former
    /// member's signatures count only on what they signed before this time.
    pub valid_until: i64,
    /// The verified signed revocation of the account, if there is one: who revoked it, when.
    pub revoked: Option<Revoked>,
}

/// A verified, signed revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked {
    /// Who revoked the account.
    pub by: vaiti_core::UserId,
    /// When.
    pub at: i64,
}

impl Member {
    pub(crate) fn parse(certificate: CertificateV1) -> Result<Self, ClientError> {
        let encryption_key =
            EncryptionPublicKey::from_bytes(certificate.encryption_key.as_bytes())?;
        let verifying_key = VerifyingKey::from_bytes(
            &hex::decode(&certificate.verifying_key)
                .map_err(|_| ClientError::Protocol("a certificate is malformed".into()))?,
        )?;
        Ok(Self {
            valid_until: certificate.expires_at,
            revoked: None,
            certificate,
            encryption_key,
            verifying_key,
        })
    }

    /// Whether the member is staff holding `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.certificate.kind == CertificateKind::Staff && self.certificate.roles.contains(&role)
    }

    /// The roles an author signs records under.
    pub fn author_roles(&self) -> Vec<AuthorRole> {
        if self.certificate.kind == CertificateKind::Patient {
            return vec![AuthorRole::Patient];
        }
        self.certificate
            .roles
            .iter()
            .map(|r| match r {
                Role::Admin => AuthorRole::Admin,
                Role::Therapist => AuthorRole::Therapist,
                Role::Frontdesk => AuthorRole::FrontDesk,
                Role::Auditor => AuthorRole::Auditor,
            })
            .collect()
    }

    /// A label for people: the login (email or handle) and display name.
    pub fn label(&self) -> String {
        match &self.certificate.display_name {
            Some(n) => format!("{n} <{}>", self.certificate.login),
            None => self.certificate.login.clone(),
        }
    }
}
