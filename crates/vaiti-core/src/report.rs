//! Patient reports (`docs/access-log.md` "Patient reports"): a patient flags an entry of their
//! chart's access log that they do not recognise. What the server stores and serves is ids,
//! times and ciphertext: the patient's words are an `AccessReport` envelope under a one-report key
//! that the patient's client wrapped to each of the clinic's admins and auditors.

use serde::{Deserialize, Serialize};

use crate::api::{LogEvidence, SignedRequest};
use crate::ids::{ChartId, ClinicId, KeyId, ObjectId, UserId};
use crate::model::Sealed;

/// The longest reason a client accepts, in characters.
pub const MAX_REASON_CHARS: usize = 2000;
/// The largest sealed report the server accepts, in bytes: a 2,000-character reason is at most
/// 8,000 bytes of UTF-8, which pads and seals to 8,285 bytes.
pub const MAX_REPORT_ENVELOPE_BYTES: usize = 9 * 1024;
/// The most wraps (admins and auditors) one report may carry.
pub const MAX_REPORT_WRAPS: usize = 64;

/// A report's key wrapped to one reader (an admin or auditor), signed by the reporting patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportWrap {
    /// The reader.
    pub recipient: UserId,
    /// The reader's X-Wing public key id (the wrap is bound to it).
    pub recipient_key: KeyId,
    /// The wrap bytes ("VW" format, carried kind 0x85).
    pub wrap: Sealed,
    /// The patient's signature over it.
    pub signature: Sealed,
}

/// `POST /api/v1/clinics/{clinic}/charts/{chart}/reports` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewReport {
    /// The patient's signed request (as for a release): the leaf recording the report carries
    /// its signature.
    pub request: SignedRequest,
    /// The report's id, chosen by the client (it is bound into the sealed report).
    pub report: ObjectId,
    /// The index of the access-log entry reported; it must be a leaf of this chart.
    pub entry: u64,
    /// The sealed reason (envelope kind `AccessReport`).
    pub envelope: Sealed,
    /// The patient's author signature over it.
    pub signature: Sealed,
    /// The report key wrapped to each current admin and auditor.
    pub wraps: Vec<ReportWrap>,
}

/// `POST /api/v1/clinics/{clinic}/charts/{chart}/reports` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportFiled {
    /// The report's id.
    pub report: ObjectId,
    /// The `PatientReport` leaf recording it (object = the report id), with its proofs.
    pub log: LogEvidence,
}

/// A patient report as stored, and as listed to an admin or auditor (with only the caller's
/// own wraps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatientReport {
    /// The clinic.
    pub clinic: ClinicId,
    /// The report.
    pub id: ObjectId,
    /// The chart whose access log it is about.
    pub chart: ChartId,
    /// The access-log entry reported.
    pub entry: u64,
    /// The patient who filed it.
    pub reporter: UserId,
    /// The sealed reason.
    pub envelope: Sealed,
    /// The patient's author signature over it.
    pub signature: Sealed,
    /// The report key, wrapped to its readers.
    pub wraps: Vec<ReportWrap>,
    /// When it was filed: the time of the patient's signed request (bound into the envelope).
    pub created_at: i64,
}

/// `GET /api/v1/clinics/{clinic}/reports` response: the clinic's reports, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportList {
    /// The reports, each with only the caller's wraps.
    pub reports: Vec<PatientReport>,
}
