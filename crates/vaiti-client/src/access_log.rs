//! The client's side of the access log (`docs/access-log.md`): signed requests, the evidence a
//! release must come with, and the patient-visible log of a chart.
//!
//! Every chart opening is a signed request. The answer must carry the leaf recording it — our own
//! signature in it, our own key, the chart, the purpose, and a detail hash over the request and
//! every wrap handed out — included in a checkpoint signed by the clinic's log key that extends
//! the last checkpoint this device accepted. Without all of that the client refuses to use what
//! came with it: a chart opened through vaiti is a chart in the log.

use vaiti_core::api::{
    ChartAccessLog, ChartAccessLogPage, ChartLogLeaf, LogEvidence, SignedRequest,
};
use vaiti_core::signed::ReleaseRequestV1;
use vaiti_core::{AccessPurpose, ChartId, Role, Sealed, UserId};
use vaiti_crypto::SignatureDomain;
use vaiti_log::{Action, ChartLink, InclusionProof, Leaf, LogKey, Purpose, SignedCheckpoint};

use crate::ClientError;
use crate::session::Session;

fn bad(what: &str) -> ClientError {
    ClientError::Protocol(format!("the access log: {what}"))
}

/// A request this client signed, kept to check the leaf that records it.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    /// What goes to the server.
    pub(crate) body: SignedRequest,
    /// Our signature (65 bytes), which the leaf must carry.
    pub(crate) signature: [u8; 65],
    /// Our signing key's id, which the leaf must name.
    pub(crate) key_id: [u8; 16],
    /// The chart.
    pub(crate) chart: ChartId,
    /// The stated purpose.
    pub(crate) purpose: AccessPurpose,
}

/// The purpose a user states: the session's, else by default treatment for clinicians and
/// patients, audit for auditors, administration for front desk and admins.
pub fn default_purpose(s: &Session<'_>) -> AccessPurpose {
    if let Some(p) = s.purpose {
        return p;
    }
    let roles = &s.me.account.roles;
    if s.me.account.kind == vaiti_core::AccountKind::Patient || roles.contains(&Role::Therapist) {
        AccessPurpose::Treatment
    } else if roles.contains(&Role::Auditor) {
        AccessPurpose::Audit
    } else {
        AccessPurpose::Administration
    }
}

pub(crate) fn log_purpose(p: AccessPurpose) -> Purpose {
    match p {
        AccessPurpose::Treatment => Purpose::Treatment,
        AccessPurpose::Administration => Purpose::Administration,
        AccessPurpose::Audit => Purpose::Audit,
        AccessPurpose::Emergency => Purpose::Emergency,
    }
}

/// Signs a request about `chart` (label `vaiti v1 log request`).
pub(crate) fn sign_request(
    s: &Session<'_>,
    chart: ChartId,
    purpose: AccessPurpose,
) -> Result<Signed, ClientError> {
    let nonce = *vaiti_core::ObjectId::generate()
        .map_err(|_| ClientError::Usage("the random number generator failed".into()))?
        .as_bytes();
    let request = ReleaseRequestV1 {
        v: 1,
        clinic: s.me.account.clinic,
        chart,
        user: s.me.account.id,
        purpose,
        // The session's clock (the library reads no clock itself: it also runs in browsers);
        // the server accepts it within 5 minutes of its own.
        time: s.now,
        nonce: hex::encode(nonce),
    };
    let bytes = serde_json::to_vec(&request).map_err(|e| ClientError::Usage(e.to_string()))?;
    let signature =
        s.me.signing_key
            .sign(SignatureDomain::LogRequest, &bytes)
            .to_bytes();
    let known_log_size = s.remember(|seen| Ok(seen.log.as_ref().map_or(0, |(size, _)| *size)))?;
    Ok(Signed {
        body: SignedRequest {
            request: Sealed(bytes),
            signature: Sealed(signature.to_vec()),
            known_log_size,
        },
        signature,
        key_id: s.me.signing_key.key_id().to_bytes(),
        chart,
        purpose,
    })
}

/// The clinic's log key from the verified manifest.
fn log_key(s: &Session<'_>) -> Result<LogKey, ClientError> {
    let vkey = s.manifest.log_key.as_deref().ok_or_else(|| {
        bad("the clinic's manifest names no log key yet, so nothing can be opened with proof that it was logged: an admin of the clinic must run any vaiti command (for example `vaiti sync`) first")
    })?;
    LogKey::from_vkey(vkey).map_err(|_| bad("the manifest's log key is malformed"))
}

/// Verifies the evidence that comes with an answer to `signed`: the leaf is our request's
/// (our signature, our key, the chart, the purpose, an allowed action, the expected detail hash),
/// it is included in a checkpoint signed by the clinic's log key, and that checkpoint extends the
/// last one this device accepted. Returns the leaf and the checkpoint's size and root.
pub(crate) fn verify_evidence(
    s: &Session<'_>,
    signed: &Signed,
    ev: &LogEvidence,
    actions: &[Action],
    detail: [u8; 32],
) -> Result<(Leaf, u64, [u8; 32]), ClientError> {
    let key = log_key(s)?;
    let checkpoint = SignedCheckpoint::verify(ev.checkpoint.as_bytes(), &key)
        .map_err(|_| bad("the checkpoint is not signed by the clinic's log key"))?;
    let (size, root) = (
        checkpoint.checkpoint().size(),
        *checkpoint.checkpoint().root(),
    );
    let leaf = Leaf::decode(ev.leaf.as_bytes()).map_err(|_| bad("the leaf is malformed"))?;
    if leaf.request_signature != signed.signature
        || leaf.actor_key != signed.key_id
        || leaf.actor != *s.me.account.id.as_bytes()
        || leaf.clinic != *s.me.account.clinic.as_bytes()
        || leaf.chart != *signed.chart.as_bytes()
        || leaf.purpose != log_purpose(signed.purpose)
        || !actions.contains(&leaf.action)
        || leaf.detail != detail
    {
        return Err(bad(
            "the server did not answer with the leaf recording this request (the release is not logged)",
        ));
    }
    InclusionProof::from_bytes(ev.index, size, ev.inclusion.as_bytes())
        .and_then(|p| p.verify(&leaf.hash(), &root))
        .map_err(|_| bad("the leaf recording this request is not in the signed checkpoint"))?;
    s.remember(|seen| {
        crate::checkpoint::accept_checkpoint(seen, size, root, ev.consistency.as_bytes())
    })?;
    Ok((leaf, size, root))
}

/// One entry of a chart's access log, verified.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccessEntry {
    /// The leaf's index in the clinic's log (what `access-log report` names).
    pub index: u64,
    /// When (seconds since the Unix epoch, server time).
    pub time: i64,
    /// What: `key release` (notes opened), `identity read`, `record write`, `chart-state change`,
    /// `log read`, `patient report`, ...
    pub action: &'static str,
    /// Why: `treatment`, `administration`, `audit`, `emergency`, or `none`.
    pub purpose: &'static str,
    /// Who: the user id (none for an entry without an actor).
    pub actor: Option<UserId>,
    /// Their display name from their certificate, if they gave one.
    pub name: Option<String>,
    /// Their email (staff) or portal handle (patient), from their certificate.
    pub login: Option<String>,
    /// Their roles (`patient` for a patient).
    pub roles: Vec<String>,
    /// Whether the request was signed by the actor's key.
    pub signed: bool,
}

/// The name of an action, as shown to patients.
pub fn action_name(a: Action) -> &'static str {
    match a {
        Action::KeyRelease => "key release",
        Action::IdentityRead => "identity read",
        Action::RecordWrite => "record write",
        Action::ChartStateChange => "chart-state change",
        Action::DirectoryChange => "directory change",
        Action::Login => "login",
        Action::LoginFailed => "failed login",
        Action::AdminAction => "admin action",
        Action::PatientReport => "patient report",
        Action::EscrowUse => "escrow use",
        Action::LogRead => "log read",
        Action::AppRelease => "app release",
        _ => "unknown",
    }
}

/// The name of a purpose.
pub fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::Treatment => "treatment",
        Purpose::Administration => "administration",
        Purpose::Audit => "audit",
        Purpose::Emergency => "emergency",
        _ => "none",
    }
}

/// Reads and verifies a chart's access log: every leaf included in the signed checkpoint, the
/// chart's chain complete from its first leaf to the leaf recording this reading (so no entry
/// was left out), the checkpoint extending the last one this device accepted. The server answers
/// the newest leaves with the signed reading and older ones in further pages, proved against the
/// same checkpoint; the chain is checked over all of them.
pub async fn chart_log(
    s: &Session<'_>,
    chart: ChartId,
    purpose: AccessPurpose,
) -> Result<Vec<AccessEntry>, ClientError> {
    let signed = sign_request(s, chart, purpose)?;
    let answer: ChartAccessLog = s
        .api
        .post(
            &format!("{}/charts/{chart}/access-log", s.me.clinic_path()),
            &signed.body,
            &[],
        )
        .await
        .map_err(|e| match e {
            ClientError::Api { status: 404, .. } => ClientError::Usage(format!(
                "no chart {chart} whose access log you may read (patients read their own; auditors and admins any)"
            )),
            other => other,
        })?;
    let detail = vaiti_log::detail_hash(&[signed.body.request.as_bytes()]);
    let (own, size, root) = verify_evidence(s, &signed, &answer.log, &[Action::LogRead], detail)?;
    let mut pages = vec![answer.leaves];
    let mut before = answer.next;
    while let Some(b) = before {
        let page: ChartAccessLogPage = s
            .api
            .get(&format!(
                "{}/charts/{chart}/access-log?reading={}&size={size}&before={b}",
                s.me.clinic_path(),
                answer.log.index
            ))
            .await?;
        // Each page strictly older than the one before it, so paging ends.
        let oldest = page.leaves.first().map(|l| l.index);
        if oldest.is_none() || page.leaves.iter().any(|l| l.index >= b) {
            return Err(bad("a page of the chart's access log is out of order"));
        }
        before = page.next;
        if before.is_some_and(|n| Some(n) > oldest) {
            return Err(bad("a page of the chart's access log is out of order"));
        }
        pages.push(page.leaves);
    }
    let mut listed: Vec<ChartLogLeaf> = pages.into_iter().rev().flatten().collect();
    listed.sort_by_key(|l| l.index);
    let mut leaves = Vec::with_capacity(listed.len() + 1);
    for l in &listed {
        let leaf = Leaf::decode(l.leaf.as_bytes()).map_err(|_| bad("a leaf is malformed"))?;
        InclusionProof::from_bytes(l.index, size, l.inclusion.as_bytes())
            .and_then(|p| p.verify(&leaf.hash(), &root))
            .map_err(|_| bad("a leaf of the chart is not in the signed checkpoint"))?;
        leaves.push((l.index, leaf));
    }
    leaves.push((answer.log.index, own));
    check_chart_chain(chart, &leaves)?;
    Ok(leaves
        .into_iter()
        .map(|(index, leaf)| entry(s, index, &leaf))
        .collect())
}

/// Checks that `leaves` (index order) are all of `chart` and form its whole chain: the first
/// names no previous leaf, each later one names the one before it.
pub(crate) fn check_chart_chain(chart: ChartId, leaves: &[(u64, Leaf)]) -> Result<(), ClientError> {
    let mut previous: Option<ChartLink> = None;
    for (index, leaf) in leaves {
        if leaf.chart != *chart.as_bytes() {
            return Err(bad(
                "the server mixed another chart's entries into this chart's log",
            ));
        }
        if leaf.chart_previous != previous {
            return Err(bad(
                "the chart's access history is not complete: an entry was left out, reordered or changed",
            ));
        }
        previous = Some(ChartLink {
            index: *index,
            hash: leaf.hash(),
        });
    }
    Ok(())
}

fn entry(s: &Session<'_>, index: u64, leaf: &Leaf) -> AccessEntry {
    let actor = (leaf.actor != [0; 16]).then(|| UserId::from_bytes(leaf.actor));
    let member = actor.and_then(|a| s.known.get(&a));
    let (name, login, roles) = match member {
        Some(m) => {
            let roles = if m.certificate.kind == crate::directory::CertificateKind::Patient {
                vec!["patient".to_string()]
            } else {
                m.certificate
                    .roles
                    .iter()
                    .map(|r| r.as_str().to_string())
                    .collect()
            };
            (
                m.certificate.display_name.clone(),
                Some(m.certificate.login.clone()),
                roles,
            )
        }
        None => (None, None, Vec::new()),
    };
    AccessEntry {
        index,
        time: leaf.time,
        action: action_name(leaf.action),
        purpose: purpose_name(leaf.purpose),
        actor,
        name,
        login,
        roles,
        signed: leaf.request_signature != [0; 65],
    }
}

/// What `vaiti log verify` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogVerified {
    /// The size of the checkpoint verified against (the newest this device accepted).
    pub size: u64,
    /// Its root (hex).
    pub root: String,
    /// Whether the whole tree was recomputed from every stored leaf (auditors and admins).
    pub recomputed: bool,
    /// How many charts' chains were checked complete (when recomputed).
    pub charts: usize,
}

/// Checks the server's log against the checkpoint this device accepted (signed by the clinic's
/// log key, consistent with every earlier one: done on opening the session). Auditors and
/// admins also fetch every stored leaf and recompute the tree, so a leaf deleted, edited or
/// reordered in the database is caught even when the stored subtree hashes were edited to
/// agree; and every chart's chain is checked complete across the whole log.
pub async fn verify_log(s: &Session<'_>) -> Result<LogVerified, ClientError> {
    log_key(s)?;
    let (size, root_hex) = s
        .remember(|seen| Ok(seen.log.clone()))?
        .ok_or_else(|| bad("this device has accepted no checkpoint yet"))?;
    let roles = &s.me.account.roles;
    let may_read = s.me.account.kind == vaiti_core::AccountKind::Staff
        && (roles.contains(&Role::Auditor) || roles.contains(&Role::Admin));
    if !may_read {
        return Ok(LogVerified {
            size,
            root: root_hex,
            recomputed: false,
            charts: 0,
        });
    }
    let mut frontier = vaiti_log::Frontier::default();
    let mut chains: std::collections::HashMap<[u8; 16], ChartLink> =
        std::collections::HashMap::new();
    let mut start = 0u64;
    while start < size {
        let end = size.min(start + vaiti_core::api::MAX_LOG_LEAVES_PAGE);
        let page: vaiti_core::api::LogLeaves = s
            .api
            .get(&format!(
                "{}/log/leaves?start={start}&end={end}",
                s.me.clinic_path()
            ))
            .await?;
        if page.start != start || page.leaves.len() as u64 != end - start {
            return Err(bad("the server answered with another run of leaves"));
        }
        let mut expected_nodes = Vec::new();
        for (offset, bytes) in page.leaves.iter().enumerate() {
            let index = start + offset as u64;
            let leaf = Leaf::decode(bytes.as_bytes())
                .map_err(|_| bad(&format!("leaf {index} is malformed")))?;
            if leaf.clinic != *s.me.account.clinic.as_bytes() {
                return Err(bad(&format!("leaf {index} is another clinic's")));
            }
            let hash = leaf.hash();
            if leaf.chart != [0; 16] {
                let previous = chains.get(&leaf.chart).copied();
                if leaf.chart_previous != previous {
                    return Err(bad(&format!(
                        "leaf {index} does not follow its chart's previous leaf: a chart's history was cut, reordered or changed"
                    )));
                }
                chains.insert(leaf.chart, ChartLink { index, hash });
            } else if leaf.chart_previous.is_some() {
                return Err(bad(&format!("leaf {index} links a chart it does not name")));
            }
            frontier
                .append_leaf_hash_with(hash, |id, h| expected_nodes.push((id, *h)))
                .map_err(|_| bad("the log is too large"))?;
        }
        if page.nodes.len() != expected_nodes.len() {
            return Err(bad(
                "the server's stored tree nodes do not match its leaves",
            ));
        }
        for (stored, (id, hash)) in page.nodes.iter().zip(&expected_nodes) {
            if stored.level != id.level
                || stored.index != id.index
                || stored.hash.as_bytes() != hash.as_slice()
            {
                return Err(bad(&format!(
                    "the stored tree node at level {} index {} does not match the leaves below it: the tree was edited in the database",
                    id.level, id.index
                )));
            }
        }
        start = end;
    }
    if hex::encode(frontier.root()) != root_hex {
        return Err(bad(
            "the stored leaves do not make the tree the signed checkpoint commits to: leaves were deleted, edited or reordered in the database",
        ));
    }
    Ok(LogVerified {
        size,
        root: root_hex,
        recomputed: true,
        charts: chains.len(),
    })
}
