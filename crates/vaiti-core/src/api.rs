//! The JSON API's request and response bodies, shared by the server and its clients.
//!
//! Only ids, public material and [`Sealed`] ciphertext: see `docs/protocol.md` for the flows.

use serde::{Deserialize, Serialize};

use crate::ids::{ClinicId, KeyId, UserId};
use crate::model::{Account, AccountKeys, Certificate, Clinic, Recipient, Sealed, WrapScope};

/// `POST /api/v1/opaque/register` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterStart {
    /// The clinic of the new account.
    pub clinic: ClinicId,
    /// The new account, chosen by the client.
    pub user: UserId,
    /// OPAQUE `RegistrationRequest`.
    pub request: Sealed,
}

/// `POST /api/v1/opaque/register` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterResponse {
    /// OPAQUE `RegistrationResponse`.
    pub response: Sealed,
}

/// The first admin, as sent with a new clinic.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAdmin {
    /// The admin's user id, chosen by the client.
    pub id: UserId,
    /// The admin's email address, used to log in.
    pub login: String,
    /// The name shown to colleagues and patients in access logs.
    pub display_name: Option<String>,
    /// Public keys and sealed secrets.
    pub keys: AccountKeys,
    /// OPAQUE `RegistrationUpload`.
    pub opaque_upload: Sealed,
}

/// A certificate as sent by a client (the server fills in clinic, user and serial).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCertificate {
    /// The certificate body as signed.
    pub body: Sealed,
    /// The issuer's signature.
    pub signature: Sealed,
    /// The issuer's key id.
    pub issuer_key: KeyId,
    /// When the certificate expires.
    pub expires_at: i64,
}

/// A key wrap as sent by a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWrap {
    /// What the wrap carries.
    pub scope: WrapScope,
    /// Who it is for.
    pub recipient: Recipient,
    /// The recipient's public key id.
    pub recipient_key: KeyId,
    /// The wrap bytes.
    pub wrap: Sealed,
    /// The wrapper's signature.
    pub signature: Sealed,
}

/// `POST /api/v1/clinics` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateClinic {
    /// The new clinic's id, chosen by the client.
    pub id: ClinicId,
    /// The first manifest (version 1) as signed.
    pub manifest: Sealed,
    /// The root key's signature over it.
    pub manifest_signature: Sealed,
    /// The first admin.
    pub admin: NewAdmin,
    /// The admin's root-signed certificate (serial 1).
    pub certificate: NewCertificate,
    /// The root key wrapped to the admin and to escrow.
    pub root_wraps: Vec<NewWrap>,
}

/// `POST /api/v1/clinics` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClinicCreated {
    /// The clinic.
    pub clinic: ClinicId,
    /// Its first admin.
    pub admin: UserId,
}

/// `POST /api/v1/clinics/{clinic}/login/start` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginStart {
    /// A staff email or a patient handle.
    pub login: String,
    /// OPAQUE `CredentialRequest`.
    pub request: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/login/start` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginChallenge {
    /// Names this login attempt in the second round (base64url, 16 bytes).
    pub login_id: String,
    /// OPAQUE `CredentialResponse`.
    pub response: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/login/finish` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginFinish {
    /// From the challenge.
    pub login_id: String,
    /// OPAQUE `CredentialFinalization`.
    pub finalization: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/login/finish` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedIn {
    /// The bearer token for `Authorization: Bearer ...` (base64url, 32 bytes).
    pub token: String,
    /// The logged-in account.
    pub user: UserId,
    /// When the session ends.
    pub expires_at: i64,
}

/// `GET /api/v1/clinics/{clinic}/me` response: what the client needs to unlock itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The caller's account.
    pub account: Account,
    /// The caller's public keys and sealed secrets.
    pub keys: AccountKeys,
    /// The caller's certificates, oldest first.
    pub certificates: Vec<Certificate>,
    /// The clinic and its current manifest.
    pub clinic: Clinic,
}

/// `POST /api/v1/clinics/{clinic}/branches` request (admins only): a new manifest listing the
/// branch, and the branch's first directory key wrapped to the admin and to escrow.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateBranch {
    /// The manifest version the admin started from; the server refuses if it has moved on.
    pub expected_manifest_version: u64,
    /// The new manifest (version + 1) as signed by the root key.
    pub manifest: Sealed,
    /// The root key's signature over it.
    pub manifest_signature: Sealed,
    /// The branch's directory key wrapped to its holders (at least escrow and the admin).
    pub wraps: Vec<NewWrap>,
}

/// `GET /api/v1/clinics/{clinic}/wraps` response: the key wraps addressed to the caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyWraps {
    /// Oldest first.
    pub wraps: Vec<crate::model::KeyWrap>,
}

/// `GET /api/v1/clinics/{clinic}/directory` response: the clinic manifest and every certificate,
/// for clients to verify against the pinned root.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Directory {
    /// The clinic and its current manifest.
    pub clinic: Clinic,
    /// Every certificate of the clinic, by user then serial.
    pub certificates: Vec<Certificate>,
}
