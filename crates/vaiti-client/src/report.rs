//! Patient reports (`docs/access-log.md` "Patient reports"): a patient flags an entry of their
//! chart's access log that they do not recognise, and the clinic's admins and auditors read it.
//!
//! The reason is the patient's own words, so it never leaves the device in plaintext. It is
//! sealed as an `AccessReport` envelope (`docs/formats.md` §2.8) under a fresh one-report key,
//! signed by the patient, with a context that binds the clinic, the chart, the reported entry, the
//! report's id and its time; the key is wrapped (HPKE) to each current admin and auditor in the
//! verified directory, and to nobody else. The filing is a signed request, and the answer must
//! carry the `PatientReport` leaf recording it (our signature, the report id as its object, a
//! detail hash over the request and the sealed report), included in a checkpoint that extends the
//! last one this device accepted.
//!
//! A reader opens each report with their own wrap and checks everything it depends on: the
//! author is the certified patient *of the chart the report names*, the signature and the
//! context (so a report the server moved to another chart, entry or report id does not open).

use vaiti_core::report::{
    MAX_REASON_CHARS, NewReport, PatientReport, ReportFiled, ReportList, ReportWrap,
};
use vaiti_core::signed::ReleaseRequestV1;
use vaiti_core::{AccessPurpose, AccountKind, ChartId, ObjectId, Role, Sealed, UserId};
use vaiti_crypto::wrap::{PublicWrap, Scope, WrapTarget};
use vaiti_crypto::{
    Envelope, Epoch, Kind, OpenPolicy, ReportKey, Signature, SignedEnvelope, report_context,
};
use vaiti_log::Action;

use crate::ClientError;
use crate::access_log::{chart_log, sign_request, verify_evidence};
use crate::conv::{core_key, crypto_chart, crypto_object, crypto_user};
use crate::directory::CertificateKind;
use crate::session::{Member, Session};

/// A report this device filed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FiledReport {
    /// The report's id.
    pub report: ObjectId,
    /// The chart (the patient's own).
    pub chart: ChartId,
    /// The access-log entry reported.
    pub entry: u64,
    /// The index of the `PatientReport` leaf that records the report in the access log.
    pub log_index: u64,
    /// How many admins and auditors can read it.
    pub readers: usize,
}

/// A report as an admin or auditor reads it: verified and opened on this device.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpenedReport {
    /// The report's id.
    pub report: ObjectId,
    /// The chart whose access log it is about.
    pub chart: ChartId,
    /// The access-log entry reported.
    pub entry: u64,
    /// The patient who filed it.
    pub reporter: UserId,
    /// The patient's portal handle, from their certificate.
    pub reporter_login: String,
    /// When it was filed (seconds since the Unix epoch).
    pub time: i64,
    /// The patient's words; none when the report was not wrapped to this reader (they were not
    /// an admin or auditor in the patient's directory when it was filed).
    pub reason: Option<String>,
}

impl core::fmt::Debug for OpenedReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenedReport")
            .field("report", &self.report)
            .field("chart", &self.chart)
            .field("entry", &self.entry)
            .field("reporter", &self.reporter)
            .field("time", &self.time)
            .field("reason", &self.reason.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

fn protocol(what: String) -> ClientError {
    ClientError::Protocol(format!("a patient report: {what}"))
}

/// What the `PatientReport` leaf's detail hash covers, in this order: the signed request, the
/// report id, the entry index (u64, big-endian), the sealed reason and its author signature.
fn report_detail(body: &NewReport) -> [u8; 32] {
    vaiti_log::detail_hash(&[
        body.request.request.as_bytes(),
        body.report.as_bytes(),
        &body.entry.to_be_bytes(),
        body.envelope.as_bytes(),
        body.signature.as_bytes(),
    ])
}

/// The members who may read a report: current admins and auditors (staff), by user id.
fn readers<'s>(s: &'s Session<'_>) -> Vec<(&'s UserId, &'s Member)> {
    let mut readers: Vec<(&UserId, &Member)> = s
        .members
        .iter()
        .filter(|(_, m)| crate::custody::may_receive_report(m))
        .collect();
    readers.sort_by_key(|(id, _)| **id);
    readers
}

/// A patient reports entry `entry` of their chart's access log ("I don't recognise this").
///
/// Reads and verifies the chart's access log first and refuses an entry that is not in it;
/// seals `reason` (at most 2,000 characters) so that exactly the clinic's current admins and
/// auditors can read it; and checks that the report is recorded in the access log.
pub async fn report(s: &Session<'_>, entry: u64, reason: &str) -> Result<FiledReport, ClientError> {
    if s.me.account.kind != AccountKind::Patient {
        return Err(ClientError::Usage(
            "only a patient reports an entry of their own chart's access log".into(),
        ));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ClientError::Usage(
            "say in a few words why you do not recognise the entry (--reason)".into(),
        ));
    }
    let chars = reason.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(ClientError::Usage(format!(
            "the reason is {chars} characters long; keep it to {MAX_REASON_CHARS}"
        )));
    }
    let chart = s
        .myself()?
        .certificate
        .chart
        .ok_or_else(|| ClientError::Usage("your certificate names no chart".into()))?;
    // Only an entry this device verified in the chart's log can be reported.
    let entries = chart_log(s, chart, AccessPurpose::Treatment).await?;
    if !entries.iter().any(|e| e.index == entry) {
        return Err(ClientError::Usage(format!(
            "entry #{entry} is not in your chart's access log (`vaiti access-log` lists its entries)"
        )));
    }
    let readers = readers(s);
    if readers.is_empty() {
        return Err(ClientError::Usage(
            "the clinic has no admin or auditor who could read a report".into(),
        ));
    }

    let signed = sign_request(s, chart, AccessPurpose::Treatment)?;
    let request: ReleaseRequestV1 = serde_json::from_slice(signed.body.request.as_bytes())
        .map_err(|e| ClientError::Usage(e.to_string()))?;
    let report = ObjectId::generate()
        .map_err(|_| ClientError::Usage("the random number generator failed".into()))?;
    let context = report_context(
        s.me.clinic,
        crypto_object(report),
        crypto_chart(chart),
        entry,
        crypto_user(s.me.account.id),
        s.me.signing_key.key_id(),
        request.time,
    );
    let key = ReportKey::generate(crypto_chart(chart))?;
    let sealed = key.seal_report(&context, reason.as_bytes(), &s.me.signing_key)?;
    let mut wraps = Vec::with_capacity(readers.len());
    for (user, member) in &readers {
        let w = member
            .encryption_key
            .wrap(&key, s.me.clinic, &s.me.signing_key)?;
        wraps.push(ReportWrap {
            recipient: **user,
            recipient_key: core_key(member.encryption_key.key_id()),
            wrap: Sealed(w.bytes),
            signature: Sealed(w.signature.to_bytes().to_vec()),
        });
    }
    let body = NewReport {
        request: signed.body.clone(),
        report,
        entry,
        envelope: Sealed(sealed.envelope.into_bytes()),
        signature: Sealed(sealed.signature.to_bytes().to_vec()),
        wraps,
    };
    let answer: ReportFiled = s
        .api
        .post(
            &format!("{}/charts/{chart}/reports", s.me.clinic_path()),
            &body,
            &[],
        )
        .await
        .map_err(|e| match e {
            ClientError::Api { status: 404, .. } => ClientError::Usage(format!(
                "the server does not know entry #{entry} as one of your chart's"
            )),
            other => other,
        })?;
    if answer.report != report {
        return Err(protocol("the server answered about another report".into()));
    }
    let (leaf, _, _) = verify_evidence(
        s,
        &signed,
        &answer.log,
        &[Action::PatientReport],
        report_detail(&body),
    )?;
    if leaf.object != *report.as_bytes() {
        return Err(protocol(
            "the access-log leaf does not name the report (it is not logged)".into(),
        ));
    }
    Ok(FiledReport {
        report,
        chart,
        entry,
        log_index: answer.log.index,
        readers: body.wraps.len(),
    })
}

/// The clinic's patient reports, for admins and auditors: each verified and opened on this
/// device. A report that does not verify (moved to another chart, entry or report id, or not
/// signed by the chart's certified patient) is a hard error naming it.
pub async fn reports(s: &Session<'_>) -> Result<Vec<OpenedReport>, ClientError> {
    let me = s.myself()?;
    if !(me.has_role(Role::Admin) || me.has_role(Role::Auditor)) {
        return Err(ClientError::Usage(
            "only admins and auditors read patients' reports".into(),
        ));
    }
    let list: ReportList = s
        .api
        .get(&format!("{}/reports", s.me.clinic_path()))
        .await
        .map_err(|e| match e {
            ClientError::Api { status: 404, .. } => ClientError::Usage(
                "the server does not let this account read reports (admins and auditors do)".into(),
            ),
            other => other,
        })?;
    list.reports.iter().map(|r| open_report(s, r)).collect()
}

fn open_report(s: &Session<'_>, r: &PatientReport) -> Result<OpenedReport, ClientError> {
    let id = r.id;
    if r.clinic != s.me.account.clinic {
        return Err(protocol(format!("report {id} is another clinic's")));
    }
    let reporter = s.author(r.reporter)?;
    if reporter.certificate.kind != CertificateKind::Patient
        || reporter.certificate.chart != Some(r.chart)
    {
        return Err(protocol(format!(
            "report {id} is not by the certified patient of chart {} (the server moved it to another chart)",
            r.chart
        )));
    }
    if r.created_at > reporter.valid_until {
        return Err(protocol(format!(
            "report {id} is dated after its author's certificate ended"
        )));
    }
    let reason = match r.wraps.iter().find(|w| w.recipient == s.me.account.id) {
        None => None,
        Some(w) => {
            let failed = |e: vaiti_crypto::Error| {
                protocol(format!(
                    "report {id} does not open: it was changed, or moved to another chart, entry or report ({e})"
                ))
            };
            let public = PublicWrap {
                bytes: w.wrap.0.clone(),
                signature: Signature::from_bytes(w.signature.as_bytes()).map_err(failed)?,
            };
            let key: ReportKey =
                s.me.decryption_key
                    .unwrap(
                        &public,
                        s.me.clinic,
                        &WrapTarget {
                            scope: Scope::Chart(crypto_chart(r.chart)),
                            tier: None,
                            epoch: Epoch(0),
                        },
                        &reporter.verifying_key,
                    )
                    .map_err(failed)?;
            let context = report_context(
                s.me.clinic,
                crypto_object(id),
                crypto_chart(r.chart),
                r.entry,
                crypto_user(r.reporter),
                reporter.verifying_key.key_id(),
                r.created_at,
            );
            let sealed = SignedEnvelope {
                envelope: Envelope::from_bytes(r.envelope.0.clone()),
                signature: Signature::from_bytes(r.signature.as_bytes()).map_err(failed)?,
            };
            let roles = reporter.author_roles();
            let plain = key
                .open_report(
                    &sealed,
                    &OpenPolicy {
                        allowed: &[Kind::AccessReport],
                        context: &context,
                        author: &reporter.verifying_key,
                        author_roles: &roles,
                        newest_seen_version: None,
                    },
                )
                .map_err(failed)?;
            Some(
                String::from_utf8(plain.to_vec())
                    .map_err(|_| protocol(format!("report {id} is not text")))?,
            )
        }
    };
    Ok(OpenedReport {
        report: id,
        chart: r.chart,
        entry: r.entry,
        reporter: r.reporter,
        reporter_login: reporter.certificate.login.clone(),
        time: r.created_at,
        reason,
    })
}
