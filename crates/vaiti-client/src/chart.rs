//! Charts and notes (DESIGN.md flows 3–6): adding a patient, finding patients, the signed
//! chart-state chain, case keys, care-team changes, and writing, reading and amending notes.
//!
//! Everything the server returns is checked before use: each chart-state entry's signature, hash
//! chain and author; every record's envelope, signature, author role, version chain and the chart
//! state it claims to be written under; every wrap's signer. A note moved to another chart, an
//! unknown or reordered chart state, a member the chain does not show, or a forged signature is a
//! [`ClientError::Protocol`] or [`ClientError::Crypto`] error, never a silently wrong answer.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vaiti_core::api::{
    AppendChartState, ChartList, ChartSummary, ChartView, CreateChart, NewChartState, NewRecord,
    NewWrap, ObjectLocation, PutWraps,
};
use vaiti_core::signed::ChartStateV1;
use vaiti_core::{
    ChartId, ChartStateEntry, ObjectId, RecordVersion, Role, Sealed, UserId, WrapScope,
};
use vaiti_crypto::wrap::{Scope, WrapTarget};
use vaiti_crypto::{
    CaseKey, Context, DirectoryKey, EncryptionPublicKey, Envelope, Epoch, IdentityKey, Kind,
    OpenPolicy, RecordKey, SealedRecord, Signature, SignatureDomain, SignedEnvelope, Tier,
    signed_structure_hash,
};

use crate::ClientError;
use crate::conv::{core_key, crypto_chart, crypto_object, crypto_user};
use crate::hetu::Hetu;
use crate::session::{Member, Session};

const ZERO: [u8; 32] = [0; 32];

/// A patient's full identity record (sealed under the chart's identity key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientDetails {
    /// Full name.
    pub name: String,
    /// Finnish personal identity code, if the patient has one (validated).
    pub hetu: Option<String>,
    /// Birth date, YYYY-MM-DD.
    pub birth_date: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// The search card (sealed under the branch directory key): enough to find a patient, no more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SearchCard {
    name: String,
    birth_date: Option<String>,
}

/// A note's sealed content: the title is sealed too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct NoteContent {
    title: String,
    text: String,
    /// Why this version amends the previous one (none for the original).
    reason: Option<String>,
}

fn hex32(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn bad(what: &str) -> ClientError {
    ClientError::Protocol(what.to_string())
}

fn sealed_hash(s: &Sealed) -> Result<[u8; 32], ClientError> {
    s.as_bytes()
        .try_into()
        .map_err(|_| bad("a hash has the wrong length"))
}

/// A chart with its verified state chain.
#[derive(Debug)]
pub struct LoadedChart {
    /// What the server returned.
    pub view: ChartView,
    /// The verified state entries, in order.
    pub states: Vec<ChartStateV1>,
    hashes: Vec<[u8; 32]>,
}

impl LoadedChart {
    /// The current state.
    pub fn latest(&self) -> &ChartStateV1 {
        // `load` refuses a chart without states, so there is always one.
        &self.states[self.states.len() - 1]
    }

    fn latest_hash(&self) -> [u8; 32] {
        self.hashes[self.hashes.len() - 1]
    }

    fn state_by_hash(&self, hash: &[u8; 32]) -> Option<&ChartStateV1> {
        self.hashes
            .iter()
            .position(|h| h == hash)
            .map(|i| &self.states[i])
    }

    /// The chart id.
    pub fn id(&self) -> ChartId {
        self.view.chart.id
    }
}

/// Verifies a chart's state chain: signatures, hashes, sequence, and who may change what. The
/// first entry is signed by front desk or an admin of the branch; every later one by a clinician
/// of the previous care team; an epoch never goes back, and a removal always starts a new epoch.
fn verify_chain(
    s: &Session<'_>,
    chart: ChartId,
    entries: &[ChartStateEntry],
) -> Result<(Vec<ChartStateV1>, Vec<[u8; 32]>), ClientError> {
    if entries.is_empty() {
        return Err(bad("the chart has no state"));
    }
    let mut states: Vec<ChartStateV1> = Vec::new();
    let mut hashes = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let author = s.author(e.author)?;
        let signature = Signature::from_bytes(e.signature.as_bytes())?;
        author
            .verifying_key
            .verify(SignatureDomain::ChartState, e.body.as_bytes(), &signature)
            .map_err(|_| bad("a chart-state entry's signature does not verify"))?;
        let hash =
            signed_structure_hash(SignatureDomain::ChartState, e.body.as_bytes(), &signature);
        if hash != e.hash {
            return Err(bad("a chart-state entry's hash is wrong"));
        }
        let st: ChartStateV1 = serde_json::from_slice(e.body.as_bytes())
            .map_err(|_| bad("a chart-state entry is malformed"))?;
        let seq = i as u64 + 1;
        let prev = hashes.last().copied().unwrap_or(ZERO);
        if st.v != 1
            || st.clinic != s.me.account.clinic
            || st.chart != chart
            || st.seq != seq
            || e.seq != seq
            || st.prev != hex32(&prev)
            || st.author != e.author
            || st.branch != s_branch_of(&states, &st)
        {
            return Err(bad(
                "the chart's state chain is broken (reordered, cut, or from another chart)",
            ));
        }
        match states.last() {
            None => {
                let of_branch = author.has_role(Role::Admin)
                    || (author.has_role(Role::Frontdesk)
                        && author.certificate.branches.contains(&st.branch));
                if !of_branch || st.epoch != 1 || st.patient.is_some() {
                    return Err(bad(
                        "the chart's first state was not made by front desk or an admin of its branch",
                    ));
                }
            }
            Some(previous) => {
                let clinician =
                    previous.care_team.contains(&st.author) && author.has_role(Role::Therapist);
                // Front desk and admins of the branch may only add clinicians.
                let directory = (author.has_role(Role::Admin)
                    || (author.has_role(Role::Frontdesk)
                        && author.certificate.branches.contains(&st.branch)))
                    && previous.care_team.iter().all(|m| st.care_team.contains(m))
                    && st.care_team.len() > previous.care_team.len()
                    && st.epoch == previous.epoch
                    && st.patient == previous.patient;
                if !clinician && !directory {
                    return Err(bad(
                        "a care-team change was signed by someone outside the care team",
                    ));
                }
                // A removal starts a new key epoch; a clinician of the team may also start one
                // without a removal (after someone joined from outside the team, so that what
                // follows is sealed under keys they may have, and what came before under keys
                // they get only when a clinician confirms: `custody::history_sharing`).
                let removed = previous.care_team.iter().any(|m| !st.care_team.contains(m));
                let epoch_ok = if removed {
                    st.epoch == previous.epoch + 1
                } else {
                    st.epoch == previous.epoch || (clinician && st.epoch == previous.epoch + 1)
                };
                if !epoch_ok {
                    return Err(bad(
                        "a care-team removal did not start a new key epoch (or an epoch changed without one)",
                    ));
                }
            }
        }
        if st.created_at > author.valid_until {
            return Err(bad(
                "a chart-state entry claims a time after its author's certificate ended",
            ));
        }
        for m in &st.care_team {
            if !s.known.get(m).is_some_and(|x| x.has_role(Role::Therapist)) {
                return Err(bad(
                    "the care team names someone who is not a certified clinician",
                ));
            }
        }
        hashes.push(hash);
        states.push(st);
    }
    Ok((states, hashes))
}

fn s_branch_of(states: &[ChartStateV1], st: &ChartStateV1) -> vaiti_core::BranchId {
    states.first().map_or(st.branch, |first| first.branch)
}

/// Opens a chart for the user's default purpose ([`crate::access_log::default_purpose`]).
pub async fn load(s: &Session<'_>, chart: ChartId) -> Result<LoadedChart, ClientError> {
    load_for(s, chart, crate::access_log::default_purpose(s)).await
}

/// Opens a chart: a signed request, answered with the chart and the access-log leaf recording
/// its release, which must be our request's, name exactly the wraps received, and be included
/// in a signed checkpoint extending the last one this device accepted — otherwise nothing of the
/// answer is used. Then verifies the chart's state chain.
pub async fn load_for(
    s: &Session<'_>,
    chart: ChartId,
    purpose: vaiti_core::AccessPurpose,
) -> Result<LoadedChart, ClientError> {
    let signed = crate::access_log::sign_request(s, chart, purpose)?;
    let released: vaiti_core::api::ReleasedChart = s
        .api
        .post(
            &format!("{}/charts/{chart}/release", s.me.clinic_path()),
            &signed.body,
            &[],
        )
        .await
        .map_err(|e| match e {
            ClientError::Api { status: 404, .. } => {
                ClientError::Usage(format!("no chart {chart} that you may open"))
            }
            other => other,
        })?;
    let view = released.view;
    let detail = vaiti_log::detail_hash(&view.release_detail_parts(signed.body.request.as_bytes()));
    let releases_keys = view
        .wraps
        .iter()
        .any(|w| matches!(w.scope, vaiti_core::WrapScope::Case { .. }));
    // Case keys may only come with a key-release leaf; an identity read may be either.
    let actions: &[vaiti_log::Action] = if releases_keys {
        &[vaiti_log::Action::KeyRelease]
    } else {
        &[vaiti_log::Action::IdentityRead]
    };
    crate::access_log::verify_evidence(s, &signed, &released.log, actions, detail)?;
    if view.chart.id != chart || view.chart.clinic != s.me.account.clinic {
        return Err(bad("the server returned another chart"));
    }
    let (states, hashes) = verify_chain(s, chart, &view.states)?;
    s.remember(|seen| seen.chart(chart, &hashes))?;
    if states[0].branch != view.chart.branch {
        return Err(bad("the chart's branch differs from its signed state"));
    }
    Ok(LoadedChart {
        view,
        states,
        hashes,
    })
}

fn context_of(s: &Session<'_>, rv: &RecordVersion, tier: Option<Tier>) -> Context {
    Context {
        clinic: s.me.clinic,
        object: crypto_object(rv.object),
        object_version: rv.version,
        chart: Some(crypto_chart(rv.chart)),
        tier,
        epoch: Epoch(rv.epoch),
        author: crypto_user(rv.author),
        author_key: crate::conv::crypto_key(rv.author_key),
        created_at: rv.created_at,
        prev_version_hash: rv.prev_version_hash,
        chart_state_hash: rv.chart_state_hash,
    }
}

fn sealed_record(rv: &RecordVersion) -> Result<SealedRecord, ClientError> {
    Ok(SealedRecord {
        wrapped_key: Envelope::from_bytes(rv.wrapped_key.0.clone()),
        content: SignedEnvelope {
            envelope: Envelope::from_bytes(rv.envelope.0.clone()),
            signature: Signature::from_bytes(rv.signature.as_bytes())?,
        },
    })
}

fn version_hash(rv: &RecordVersion) -> Result<[u8; 32], ClientError> {
    Ok(sealed_record(rv)?.content.version_hash())
}

/// Opens one record version with `key`, checking author, kind, chart and context.
fn open_version<K: RecordKey>(
    s: &Session<'_>,
    key: &K,
    rv: &RecordVersion,
    kind: Kind,
    tier: Option<Tier>,
    chart: ChartId,
) -> Result<(Vec<u8>, Member), ClientError> {
    if rv.chart != chart || rv.kind != kind.to_byte() {
        return Err(bad("a record was moved from another chart or changed kind"));
    }
    let author = s.author(rv.author)?.clone();
    if rv.created_at > author.valid_until {
        return Err(bad(
            "a record claims a time after its author's certificate ended",
        ));
    }
    if core_key(author.verifying_key.key_id()) != rv.author_key {
        return Err(bad(
            "a record names a signing key its author is not certified with",
        ));
    }
    let ctx = context_of(s, rv, tier);
    let roles = author.author_roles();
    let plain = key.open_record(
        &sealed_record(rv)?,
        &OpenPolicy {
            allowed: &[kind],
            context: &ctx,
            author: &author.verifying_key,
            author_roles: &roles,
            newest_seen_version: None,
        },
    )?;
    Ok((plain.as_bytes().to_vec(), author))
}

/// Checks that `versions` of one object run 1, 2, 3… with each naming its predecessor's hash.
fn check_versions(versions: &[&RecordVersion]) -> Result<(), ClientError> {
    let mut prev = ZERO;
    for (i, rv) in versions.iter().enumerate() {
        if rv.version != i as u64 + 1 || rv.prev_version_hash != prev {
            return Err(bad(
                "a record's versions do not chain (a version is missing, replayed or reordered)",
            ));
        }
        prev = version_hash(rv)?;
    }
    Ok(())
}

/// Groups record versions by object, oldest object first, each in version order.
fn by_object(records: &[RecordVersion]) -> Vec<Vec<&RecordVersion>> {
    let mut order: Vec<ObjectId> = Vec::new();
    let mut groups: HashMap<ObjectId, Vec<&RecordVersion>> = HashMap::new();
    for r in records {
        if !groups.contains_key(&r.object) {
            order.push(r.object);
        }
        groups.entry(r.object).or_default().push(r);
    }
    order
        .into_iter()
        .filter_map(|o| groups.remove(&o))
        .map(|mut v| {
            v.sort_by_key(|r| r.version);
            v
        })
        .collect()
}

/// The chart's identity key: from the caller's own wrap, or through the branch directory key.
async fn identity_key(s: &Session<'_>, loaded: &LoadedChart) -> Result<IdentityKey, ClientError> {
    let chart = loaded.id();
    if let Some(w) = loaded
        .view
        .wraps
        .iter()
        .find(|w| w.scope == WrapScope::Identity { chart })
    {
        check_identity_wrapper(&loaded.states, w.wrapped_by, s.me.account.id)?;
        return s.unwrap(w, &Session::identity_target(chart));
    }
    let dw =
        loaded.view.directory_wrap.as_ref().ok_or_else(|| {
            ClientError::Usage("you hold no key to this patient's identity".into())
        })?;
    let dk = s.directory_key(loaded.view.chart.branch).await?;
    if dw.chart != chart || dw.epoch != dk.epoch().0 {
        return Err(bad(
            "the identity key's directory wrap is for another chart or epoch",
        ));
    }
    Ok(dk.unwrap_identity_key(
        &Envelope::from_bytes(dw.envelope.0.clone()),
        s.me.clinic,
        crypto_chart(chart),
    )?)
}

/// Refuses an identity key wrapped to `recipient` by someone who may not hand it to them
/// (`custody`).
fn check_identity_wrapper(
    states: &[ChartStateV1],
    wrapped_by: UserId,
    recipient: UserId,
) -> Result<(), ClientError> {
    if crate::custody::may_give_identity_key(states, wrapped_by, recipient) {
        Ok(())
    } else {
        Err(bad(
            "the identity key was wrapped by someone who may not hand it out",
        ))
    }
}

fn case_target(chart: ChartId, tier: Tier, epoch: u32) -> WrapTarget {
    WrapTarget {
        scope: Scope::Chart(crypto_chart(chart)),
        tier: Some(tier),
        epoch: Epoch(epoch),
    }
}

/// The case keys wrapped to the caller, by (tier, epoch).
fn case_keys(
    s: &Session<'_>,
    loaded: &LoadedChart,
) -> Result<HashMap<(u8, u32), CaseKey>, ClientError> {
    let chart = loaded.id();
    let mut keys = HashMap::new();
    for w in &loaded.view.wraps {
        if let WrapScope::Case {
            chart: c,
            tier,
            epoch,
        } = w.scope
        {
            if c != chart {
                return Err(bad("a case-key wrap is for another chart"));
            }
            // A removal's state and the new epoch's keys are written together, so a key of an
            // epoch the chain does not reach means the chain was cut.
            if epoch > loaded.latest().epoch {
                return Err(bad(
                    "a case key is of a later epoch than the chart's latest state: the chart's history was cut",
                ));
            }
            if !crate::custody::may_give_case_key(&loaded.states, w.wrapped_by, epoch) {
                return Err(bad(
                    "a case key was wrapped by someone who may not hand it out (not a clinician of the chart's care team at that epoch)",
                ));
            }
            let t = Tier::from_byte(tier).ok_or_else(|| bad("a case key has an unknown tier"))?;
            let key: CaseKey = s.unwrap(w, &case_target(chart, t, epoch))?;
            keys.insert((tier, epoch), key);
        }
    }
    Ok(keys)
}

/// Wraps the case keys of `epoch` (both tiers) to the care team, escrow and (shared tier) the
/// patient.
fn wrap_case_keys(
    s: &Session<'_>,
    chart: ChartId,
    state: &ChartStateV1,
    team: &CaseKey,
    shared: &CaseKey,
) -> Result<Vec<NewWrap>, ClientError> {
    let mut wraps = Vec::new();
    for (key, tier) in [(team, Tier::Team), (shared, Tier::Shared)] {
        let scope = WrapScope::Case {
            chart,
            tier: tier.to_byte(),
            epoch: state.epoch,
        };
        // Whom custody lets have this tier (the care team; the patient the shared tier), and
        // only current members: a care-team member whose certificate ended (left the clinic,
        // not yet removed from the team) gets no new keys.
        let states = std::slice::from_ref(state);
        let candidates = state.care_team.iter().chain(state.patient.as_ref());
        for m in candidates.filter(|m| {
            crate::custody::may_receive_case_key(states, **m, tier == Tier::Shared)
                && s.members.contains_key(m)
        }) {
            wraps.push(s.wrap_to_member(key, scope, *m)?);
        }
        wraps.push(s.wrap_to_escrow(key, scope)?);
    }
    Ok(wraps)
}

/// Makes the current epoch's case keys if nobody has yet (the first care-team clinician to open
/// the chart does), starts a new epoch when someone joined the team from outside it and has no key
/// of the current one, shares with keyless members the epochs custody lets them have unasked, and
/// returns the caller's case keys.
///
/// Older epochs reach a member added by front desk or an admin, or re-added after a removal,
/// only when a clinician confirms it ([`share_history`]): `custody::history_sharing` decides,
/// here and there.
async fn ensure_case_keys(
    s: &Session<'_>,
    loaded: &mut LoadedChart,
) -> Result<HashMap<(u8, u32), CaseKey>, ClientError> {
    let chart = loaded.id();
    let mut keys = case_keys(s, loaded)?;
    let epoch = loaded.latest().epoch;
    let in_team = loaded.latest().care_team.contains(&s.me.account.id);
    if !in_team {
        return Ok(keys);
    }
    if !keys.contains_key(&(Tier::Team.to_byte(), epoch)) {
        let c = crypto_chart(chart);
        let team = CaseKey::generate(c, Tier::Team, Epoch(epoch))?;
        let shared = CaseKey::generate(c, Tier::Shared, Epoch(epoch))?;
        let wraps = wrap_case_keys(s, chart, loaded.latest(), &team, &shared)?;
        match s
            .api
            .post_no_content(
                &format!("{}/charts/{chart}/wraps", s.me.clinic_path()),
                &PutWraps { wraps },
            )
            .await
        {
            Ok(()) => {}
            // Another clinician made this epoch's keys first: use theirs.
            Err(ClientError::Api { status: 409, .. }) => {}
            Err(e) => return Err(e),
        }
        *loaded = load(s, chart).await?;
        keys = case_keys(s, loaded)?;
    }
    // Members the server names as holding no key of the current epoch, who are certified.
    let keyless: Vec<UserId> = loaded
        .view
        .keyless
        .iter()
        .filter(|u| loaded.latest().care_team.contains(u) && s.members.contains_key(u))
        .copied()
        .collect();
    // Someone who joined from outside the team while this epoch's keys existed may not have
    // them unasked: a new epoch begins, with fresh keys for the whole team (them included), so
    // that what is written from now on is theirs to read and what came before waits for a
    // clinician's confirmation.
    let needs_epoch = keyless.iter().any(|u| {
        crate::custody::history_sharing(&loaded.states, *u, epoch)
            == crate::custody::Sharing::AfterConfirmation
    });
    if needs_epoch {
        match start_epoch(s, loaded).await {
            Ok(()) => {}
            // Someone else changed the chart meanwhile: the next opening looks again.
            Err(ClientError::Api { status: 409, .. }) => {}
            Err(e) => return Err(e),
        }
        *loaded = load(s, chart).await?;
        return case_keys(s, loaded);
    }
    let mut wraps = Vec::new();
    for user in keyless.iter().filter(|u| **u != s.me.account.id) {
        for ((tier, key_epoch), key) in &keys {
            if crate::custody::history_sharing(&loaded.states, *user, *key_epoch)
                == crate::custody::Sharing::Automatic
            {
                let scope = WrapScope::Case {
                    chart,
                    tier: *tier,
                    epoch: *key_epoch,
                };
                wraps.push(s.wrap_to_member(key, scope, *user)?);
            }
        }
    }
    if !wraps.is_empty() && keys.contains_key(&(Tier::Team.to_byte(), epoch)) {
        match s
            .api
            .post_no_content(
                &format!("{}/charts/{chart}/wraps", s.me.clinic_path()),
                &PutWraps { wraps },
            )
            .await
        {
            // Another clinician shared them first.
            Ok(()) | Err(ClientError::Api { status: 409, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(keys)
}

/// Starts the chart's next key epoch with the same care team (after someone joined from outside
/// it): see [`append_next_epoch`].
async fn start_epoch(s: &Session<'_>, loaded: &LoadedChart) -> Result<(), ClientError> {
    append_next_epoch(s, loaded, loaded.latest().clone()).await
}

/// Appends `next` (the latest state with this change's care team) as the chart's next state,
/// starting the next key epoch: signed by this clinician of the team, with fresh case keys
/// wrapped to the new state's team, escrow and (shared tier) the patient. A removal, a
/// re-addition and a rotation after an outside addition all end here.
async fn append_next_epoch(
    s: &Session<'_>,
    loaded: &LoadedChart,
    mut next: ChartStateV1,
) -> Result<(), ClientError> {
    let chart = loaded.id();
    next.epoch = loaded.latest().epoch + 1;
    let c = crypto_chart(chart);
    let team = CaseKey::generate(c, Tier::Team, Epoch(next.epoch))?;
    let shared = CaseKey::generate(c, Tier::Shared, Epoch(next.epoch))?;
    let wraps = wrap_case_keys(s, chart, &next, &team, &shared)?;
    let state = new_state(s, Some((loaded.latest(), loaded.latest_hash())), next)?;
    s.api
        .post_no_content(
            &format!("{}/charts/{chart}/state", s.me.clinic_path()),
            &AppendChartState { state, wraps },
        )
        .await
}

/// A member of the care team waiting for a clinician to share the chart's older case keys.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WaitingMember {
    /// The member.
    pub user: UserId,
    /// Their email and name.
    pub member: String,
    /// Their email (what [`share_history`] takes).
    pub login: String,
    /// Who added them to the care team (front desk, an admin, or the clinician who re-added
    /// them).
    pub added_by: String,
    /// When (seconds since the epoch).
    pub added_at: i64,
    /// The epochs of case keys the caller holds and would share.
    pub epochs: Vec<u32>,
}

/// Members of the chart's care team (other than the caller) who hold no key of some epoch the
/// caller holds and custody lets them have only after a clinician's confirmation.
fn waiting_members(
    s: &Session<'_>,
    loaded: &LoadedChart,
    keys: &HashMap<(u8, u32), CaseKey>,
) -> Vec<WaitingMember> {
    let mut out = Vec::new();
    for missing in &loaded.view.missing_epochs {
        let user = missing.user;
        if user == s.me.account.id || !s.members.contains_key(&user) {
            continue;
        }
        let epochs: Vec<u32> = missing
            .epochs
            .iter()
            .copied()
            .filter(|e| {
                keys.contains_key(&(Tier::Team.to_byte(), *e))
                    && crate::custody::history_sharing(&loaded.states, user, *e)
                        == crate::custody::Sharing::AfterConfirmation
            })
            .collect();
        let Some(joined) = crate::custody::joined_at(&loaded.states, user) else {
            continue;
        };
        if epochs.is_empty() {
            continue;
        }
        let added = &loaded.states[joined];
        let label = |u: UserId| s.known.get(&u).map_or_else(|| u.to_string(), Member::label);
        out.push(WaitingMember {
            user,
            member: label(user),
            login: s
                .known
                .get(&user)
                .map_or_else(|| user.to_string(), |m| m.certificate.login.clone()),
            added_by: label(added.author),
            added_at: added.created_at,
            epochs,
        });
    }
    out
}

/// The care-team members of `chart` waiting for the chart's older notes: each added by someone
/// outside the team (or re-added after a removal), with who added them and when. A clinician
/// of the team confirms with [`share_history`].
pub async fn waiting_for_history(
    s: &Session<'_>,
    chart: ChartId,
) -> Result<Vec<WaitingMember>, ClientError> {
    let mut loaded = load(s, chart).await?;
    require_care_team(s, &loaded)?;
    let keys = ensure_case_keys(s, &mut loaded).await?;
    Ok(waiting_members(s, &loaded, &keys))
}

/// A clinician of the care team confirms that `email`, a member of it, may read the chart's
/// earlier notes: every older epoch's case keys the caller holds are wrapped to them. Returns
/// the epochs shared.
pub async fn share_history(
    s: &Session<'_>,
    chart: ChartId,
    email: &str,
) -> Result<Vec<u32>, ClientError> {
    let mut loaded = load(s, chart).await?;
    require_care_team(s, &loaded)?;
    let member = s.staff_by_email(email)?.certificate.user;
    if !loaded.latest().care_team.contains(&member) {
        return Err(ClientError::Usage(format!(
            "{email} is not in the care team"
        )));
    }
    let keys = ensure_case_keys(s, &mut loaded).await?;
    let Some(waiting) = waiting_members(s, &loaded, &keys)
        .into_iter()
        .find(|w| w.user == member)
    else {
        return Ok(Vec::new());
    };
    let mut wraps = Vec::new();
    for ((tier, epoch), key) in &keys {
        if waiting.epochs.contains(epoch) {
            let scope = WrapScope::Case {
                chart,
                tier: *tier,
                epoch: *epoch,
            };
            wraps.push(s.wrap_to_member(key, scope, member)?);
        }
    }
    s.api
        .post_no_content(
            &format!("{}/charts/{chart}/wraps", s.me.clinic_path()),
            &PutWraps { wraps },
        )
        .await?;
    Ok(waiting.epochs)
}

fn new_state(
    s: &Session<'_>,
    previous: Option<(&ChartStateV1, [u8; 32])>,
    mut next: ChartStateV1,
) -> Result<NewChartState, ClientError> {
    next.seq = previous.map_or(1, |(p, _)| p.seq + 1);
    next.prev = hex32(&previous.map_or(ZERO, |(_, h)| h));
    next.author = s.me.account.id;
    next.created_at = s.now;
    let body = serde_json::to_vec(&next).map_err(|e| ClientError::Usage(e.to_string()))?;
    let signature = s.me.signing_key.sign(SignatureDomain::ChartState, &body);
    let hash = signed_structure_hash(SignatureDomain::ChartState, &body, &signature);
    Ok(NewChartState {
        seq: next.seq,
        body: Sealed(body),
        signature: Sealed(signature.to_bytes().to_vec()),
        hash: Sealed(hash.to_vec()),
    })
}

#[allow(clippy::too_many_arguments)]
fn seal_new<K: RecordKey>(
    s: &Session<'_>,
    key: &K,
    kind: Kind,
    chart: ChartId,
    object: ObjectId,
    version: u64,
    tier: Option<Tier>,
    epoch: u32,
    prev_version_hash: [u8; 32],
    chart_state_hash: [u8; 32],
    content: &[u8],
) -> Result<NewRecord, ClientError> {
    let ctx = Context {
        clinic: s.me.clinic,
        object: crypto_object(object),
        object_version: version,
        chart: Some(crypto_chart(chart)),
        tier,
        epoch: Epoch(epoch),
        author: crypto_user(s.me.account.id),
        author_key: s.me.signing_key.key_id(),
        created_at: s.now,
        prev_version_hash,
        chart_state_hash,
    };
    let sealed = key.seal_record(kind, &ctx, content, &s.me.signing_key)?;
    Ok(NewRecord {
        object,
        version,
        kind: kind.to_byte(),
        tier: tier.map_or(0, Tier::to_byte),
        epoch,
        author_key: core_key(s.me.signing_key.key_id()),
        created_at: s.now,
        prev_version_hash: Sealed(prev_version_hash.to_vec()),
        chart_state_hash: Sealed(chart_state_hash.to_vec()),
        wrapped_key: Sealed(sealed.wrapped_key.into_bytes()),
        envelope: Sealed(sealed.content.envelope.into_bytes()),
        signature: Sealed(sealed.content.signature.to_bytes().to_vec()),
    })
}

fn object_id() -> Result<ObjectId, ClientError> {
    ObjectId::generate()
        .map_err(|_| ClientError::Usage("the random number generator failed".into()))
}

/// Validates and normalises what a person typed about a new patient.
pub fn check_details(mut d: PatientDetails) -> Result<PatientDetails, ClientError> {
    d.name = d.name.trim().to_string();
    if d.name.is_empty() || d.name.chars().count() > 200 {
        return Err(ClientError::Usage(
            "the patient needs a name (at most 200 characters)".into(),
        ));
    }
    if let Some(h) = d.hetu.take() {
        let hetu = Hetu::parse(&h).map_err(|e| ClientError::Usage(e.to_string()))?;
        let (y, m, day) = hetu.birth_date();
        let born = format!("{y:04}-{m:02}-{day:02}");
        if let Some(b) = &d.birth_date
            && b.trim() != born
        {
            return Err(ClientError::Usage(format!(
                "the birth date {b} does not match the identity code (born {born})"
            )));
        }
        d.birth_date = Some(born);
        d.hetu = Some(hetu.as_str().to_string());
    }
    if let Some(b) = &d.birth_date {
        let ok = b.len() == 10
            && b.as_bytes()[4] == b'-'
            && b.as_bytes()[7] == b'-'
            && b.bytes()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !ok {
            return Err(ClientError::Usage(format!(
                "{b:?} is not a date like 1980-04-23"
            )));
        }
    }
    Ok(d)
}

/// Adds a patient (front desk or an admin of the branch): a new chart with its identity key,
/// identity record, search card, first state naming the care team, and the identity key wrapped
/// to the care team, escrow and the branch directory.
pub async fn add_patient(
    s: &Session<'_>,
    branch: &str,
    details: PatientDetails,
    therapists: &[String],
) -> Result<ChartId, ClientError> {
    let details = check_details(details)?;
    let entry = s.branch(branch)?.clone();
    let dk: DirectoryKey = s.directory_key(entry.id).await?;
    let mut care_team = Vec::new();
    for email in therapists {
        let m = s.staff_by_email(email)?;
        if !m.has_role(Role::Therapist) {
            return Err(ClientError::Usage(format!("{email} is not a therapist")));
        }
        if !care_team.contains(&m.certificate.user) {
            care_team.push(m.certificate.user);
        }
    }
    let chart = ChartId::generate()
        .map_err(|_| ClientError::Usage("the random number generator failed".into()))?;
    let ik = IdentityKey::generate(crypto_chart(chart))?;
    let state = ChartStateV1 {
        v: 1,
        clinic: s.me.account.clinic,
        chart,
        seq: 1,
        prev: String::new(),
        branch: entry.id,
        care_team: care_team.clone(),
        patient: None,
        epoch: 1,
        author: s.me.account.id,
        created_at: s.now,
    };
    let state = new_state(s, None, state)?;
    let state_hash = sealed_hash(&state.hash)?;
    let identity_json =
        serde_json::to_vec(&details).map_err(|e| ClientError::Usage(e.to_string()))?;
    let identity = seal_new(
        s,
        &ik,
        Kind::IdentityRecord,
        chart,
        object_id()?,
        1,
        None,
        0,
        ZERO,
        state_hash,
        &identity_json,
    )?;
    let card = SearchCard {
        name: details.name.clone(),
        birth_date: details.birth_date.clone(),
    };
    let card_json = serde_json::to_vec(&card).map_err(|e| ClientError::Usage(e.to_string()))?;
    let search_card = seal_new(
        s,
        &dk,
        Kind::SearchCard,
        chart,
        object_id()?,
        1,
        None,
        dk.epoch().0,
        ZERO,
        state_hash,
        &card_json,
    )?;
    let scope = WrapScope::Identity { chart };
    let mut wraps = vec![s.wrap_to_escrow(&ik, scope)?];
    for m in &care_team {
        wraps.push(s.wrap_to_member(&ik, scope, *m)?);
    }
    let body = CreateChart {
        chart,
        branch: entry.id,
        state,
        identity,
        search_card,
        directory_epoch: dk.epoch().0,
        directory_wrap: Sealed(dk.wrap_identity_key(&ik, s.me.clinic)?.into_bytes()),
        wraps,
    };
    s.api
        .post_no_content(&format!("{}/charts", s.me.clinic_path()), &body)
        .await?;
    Ok(chart)
}

/// A patient as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatientSummary {
    /// The chart.
    pub chart: ChartId,
    /// The branch's name.
    pub branch: String,
    /// The patient's name.
    pub name: String,
    /// Birth date, if known.
    pub birth_date: Option<String>,
}

fn branch_name(s: &Session<'_>, id: vaiti_core::BranchId) -> String {
    s.manifest
        .branches
        .iter()
        .find(|b| b.id == id)
        .map_or_else(|| id.to_string(), |b| b.name.clone())
}

/// Lists patients: a branch's directory (front desk and admins, from search cards), or without a
/// branch everything the caller may list — the directories of their branches and their own
/// caseload (from identity records). Never opens a note.
pub async fn list_patients(
    s: &Session<'_>,
    branch: Option<&str>,
) -> Result<Vec<PatientSummary>, ClientError> {
    let me = s.myself()?;
    let directory_branches: Vec<vaiti_core::BranchId> = match branch {
        Some(name) => vec![s.branch(name)?.id],
        None if me.has_role(Role::Admin) => s.manifest.branches.iter().map(|b| b.id).collect(),
        None if me.has_role(Role::Frontdesk) => me.certificate.branches.clone(),
        None => Vec::new(),
    };
    let mut out: Vec<PatientSummary> = Vec::new();
    for b in directory_branches {
        // No wrap at all is a usage matter (skip the branch unless it was asked for); a wrap
        // that fails a check is the server's doing and is reported.
        let dk = match s.directory_key(b).await {
            Ok(dk) => dk,
            Err(ClientError::Usage(_)) if branch.is_none() => continue,
            Err(e) => return Err(e),
        };
        for c in listed_charts(s, &format!("branch={b}&")).await? {
            if c.chart.branch != b {
                return Err(bad("the server listed a chart of another branch"));
            }
            let card = c
                .search_card
                .ok_or_else(|| bad("a chart has no search card"))?;
            if card.epoch != dk.epoch().0 {
                continue;
            }
            let (plain, _) = open_version(s, &dk, &card, Kind::SearchCard, None, c.chart.id)?;
            let card: SearchCard =
                serde_json::from_slice(&plain).map_err(|_| bad("a search card is malformed"))?;
            out.push(PatientSummary {
                chart: c.chart.id,
                branch: branch_name(s, b),
                name: card.name,
                birth_date: card.birth_date,
            });
        }
    }
    if branch.is_none() {
        for c in listed_charts(s, "").await? {
            if out.iter().any(|p| p.chart == c.chart.id) {
                continue;
            }
            let (Some(w), Some(rv)) = (c.identity_wrap.as_ref(), c.identity.as_ref()) else {
                continue;
            };
            let (states, hashes) = verify_chain(s, c.chart.id, &c.states)?;
            s.remember(|seen| seen.chart(c.chart.id, &hashes))?;
            if states[0].branch != c.chart.branch {
                return Err(bad("the chart's branch differs from its signed state"));
            }
            check_identity_wrapper(&states, w.wrapped_by, s.me.account.id)?;
            let ik: IdentityKey = s.unwrap(w, &Session::identity_target(c.chart.id))?;
            let (plain, _) = open_version(s, &ik, rv, Kind::IdentityRecord, None, c.chart.id)?;
            let d: PatientDetails = serde_json::from_slice(&plain)
                .map_err(|_| bad("an identity record is malformed"))?;
            out.push(PatientSummary {
                chart: c.chart.id,
                branch: branch_name(s, c.chart.branch),
                name: d.name,
                birth_date: d.birth_date,
            });
        }
    }
    Ok(out)
}

/// Finds patients whose name, birth date or chart id contains `text` (case-insensitive).
pub async fn find_patients(
    s: &Session<'_>,
    text: &str,
) -> Result<Vec<PatientSummary>, ClientError> {
    let needle = text.trim().to_lowercase();
    if needle.is_empty() {
        return Err(ClientError::Usage("give some text to search for".into()));
    }
    Ok(list_patients(s, None)
        .await?
        .into_iter()
        .filter(|p| {
            p.name.to_lowercase().contains(&needle)
                || p.birth_date.as_deref().is_some_and(|b| b.contains(&needle))
                || p.chart.to_string().contains(&needle)
        })
        .collect())
}

/// One chart's identity and care team.
#[derive(Debug, Clone, Serialize)]
pub struct PatientRecord {
    /// The chart.
    pub chart: ChartId,
    /// The branch's name.
    pub branch: String,
    /// The full identity record.
    pub details: PatientDetails,
    /// The care team (emails).
    pub care_team: Vec<String>,
    /// Whether the patient has a portal account.
    pub portal: bool,
    /// The current key epoch.
    pub epoch: u32,
}

/// Opens a chart's identity record (care team, patient, front desk and admins of the branch).
pub async fn show_patient(s: &Session<'_>, chart: ChartId) -> Result<PatientRecord, ClientError> {
    let loaded = load(s, chart).await?;
    identity_record(s, &loaded).await
}

/// The identity record of a loaded chart, opened and checked.
async fn identity_record(
    s: &Session<'_>,
    loaded: &LoadedChart,
) -> Result<PatientRecord, ClientError> {
    let chart = loaded.id();
    let ik = identity_key(s, loaded).await?;
    let versions = by_object(&loaded.view.identity);
    let versions = versions
        .first()
        .ok_or_else(|| bad("the chart has no identity record"))?;
    check_versions(versions)?;
    s.remember(|seen| seen.object(versions[0].object, versions.len() as u64))?;
    let latest = versions[versions.len() - 1];
    if loaded.state_by_hash(&latest.chart_state_hash).is_none() {
        return Err(bad(
            "the identity record names a chart state not in the chart's history",
        ));
    }
    let (plain, _) = open_version(s, &ik, latest, Kind::IdentityRecord, None, chart)?;
    let details: PatientDetails =
        serde_json::from_slice(&plain).map_err(|_| bad("an identity record is malformed"))?;
    let st = loaded.latest();
    Ok(PatientRecord {
        chart,
        branch: branch_name(s, loaded.view.chart.branch),
        details,
        care_team: st
            .care_team
            .iter()
            .map(|u| {
                s.members
                    .get(u)
                    .map_or_else(|| u.to_string(), |m| m.certificate.login.clone())
            })
            .collect(),
        portal: st.patient.is_some(),
        epoch: st.epoch,
    })
}

/// A chart opened once for its identity and every note the caller may read: what a
/// clinician's chart view shows, from a single logged key release.
#[derive(Debug, Clone, Serialize)]
pub struct OpenedChart {
    /// The identity record and care team.
    pub record: PatientRecord,
    /// Every note the caller may read, each with all its versions.
    pub notes: Vec<Note>,
    /// Members of the care team waiting for the caller to confirm they may read the chart's
    /// earlier notes ([`share_history`]).
    pub waiting: Vec<WaitingMember>,
}

/// Opens a chart for a clinician's chart view: one signed, logged release, then the identity
/// record and the notes, all checked as [`show_patient`] and [`list_notes`] check them.
pub async fn open_chart(s: &Session<'_>, chart: ChartId) -> Result<OpenedChart, ClientError> {
    let mut loaded = load(s, chart).await?;
    let record = identity_record(s, &loaded).await?;
    let keys = ensure_case_keys(s, &mut loaded).await?;
    let notes = open_notes(s, &loaded, &keys)?;
    let waiting = waiting_members(s, &loaded, &keys);
    Ok(OpenedChart {
        record,
        notes,
        waiting,
    })
}

/// Adds a clinician to the care team (a clinician of the care team): the next chart state, and
/// the identity key and every case key the caller holds wrapped to the new member.
pub async fn care_team_add(
    s: &Session<'_>,
    chart: ChartId,
    email: &str,
) -> Result<(), ClientError> {
    let mut loaded = load(s, chart).await?;
    let member = s.staff_by_email(email)?;
    if !member.has_role(Role::Therapist) {
        return Err(ClientError::Usage(format!("{email} is not a therapist")));
    }
    let user = member.certificate.user;
    if loaded.latest().care_team.contains(&user) {
        return Err(ClientError::Usage(format!(
            "{email} is already in the care team"
        )));
    }
    if !loaded.latest().care_team.contains(&s.me.account.id) {
        // Front desk or an admin of the branch: the new clinician gets the identity key now and
        // the case keys from a clinician of the team, who shares them on opening the chart.
        let me = s.myself()?;
        let of_branch = me.has_role(Role::Admin)
            || (me.has_role(Role::Frontdesk)
                && me.certificate.branches.contains(&loaded.view.chart.branch));
        if !of_branch {
            return Err(ClientError::Usage(
                "only a clinician of the care team, or front desk or an admin of the branch, can add to it".into(),
            ));
        }
        let mut next = loaded.latest().clone();
        next.care_team.push(user);
        let state = new_state(s, Some((loaded.latest(), loaded.latest_hash())), next)?;
        let mut wraps = Vec::new();
        // Someone who was in the team before holds the identity key already (it never changes).
        if !was_in_team(&loaded, user) {
            let ik = identity_key(s, &loaded).await?;
            wraps.push(s.wrap_to_member(&ik, WrapScope::Identity { chart }, user)?);
        }
        return s
            .api
            .post_no_content(
                &format!("{}/charts/{chart}/state", s.me.clinic_path()),
                &AppendChartState { state, wraps },
            )
            .await;
    }
    let keys = ensure_case_keys(s, &mut loaded).await?;
    let mut next = loaded.latest().clone();
    next.care_team.push(user);
    // Someone removed before comes back to a new epoch: the keys made to exclude them reach
    // them only when a clinician confirms (`share_history`), not by being added again. They
    // hold the identity key from before (it never changes).
    if was_in_team(&loaded, user) {
        return append_next_epoch(s, &loaded, next).await;
    }
    let state = new_state(s, Some((loaded.latest(), loaded.latest_hash())), next)?;
    let ik = identity_key(s, &loaded).await?;
    let mut wraps = vec![s.wrap_to_member(&ik, WrapScope::Identity { chart }, user)?];
    for ((tier, epoch), key) in &keys {
        wraps.push(s.wrap_to_member(
            key,
            WrapScope::Case {
                chart,
                tier: *tier,
                epoch: *epoch,
            },
            user,
        )?);
    }
    s.api
        .post_no_content(
            &format!("{}/charts/{chart}/state", s.me.clinic_path()),
            &AppendChartState { state, wraps },
        )
        .await
}

/// Removes a clinician from the care team: the next chart state starts a new key epoch, whose
/// case keys go to the remaining members, escrow and the patient — never to the removed member.
pub async fn care_team_remove(
    s: &Session<'_>,
    chart: ChartId,
    email: &str,
) -> Result<(), ClientError> {
    let loaded = load(s, chart).await?;
    require_care_team(s, &loaded)?;
    let user = s.known_staff_by_email(email)?.certificate.user;
    if !loaded.latest().care_team.contains(&user) {
        return Err(ClientError::Usage(format!(
            "{email} is not in the care team"
        )));
    }
    let mut next = loaded.latest().clone();
    next.care_team.retain(|m| *m != user);
    append_next_epoch(s, &loaded, next).await
}

/// Whether `user` was in the chart's care team at some state (and so received its identity key).
fn was_in_team(loaded: &LoadedChart, user: UserId) -> bool {
    loaded.states.iter().any(|st| st.care_team.contains(&user))
}

fn require_care_team(s: &Session<'_>, loaded: &LoadedChart) -> Result<(), ClientError> {
    if loaded.latest().care_team.contains(&s.me.account.id) {
        Ok(())
    } else {
        Err(ClientError::Usage(
            "only a clinician of the care team can do this".into(),
        ))
    }
}

/// For a patient's join: the chart state naming their account, and their identity key and
/// shared-tier case keys (every epoch the caller holds) wrapped to the key their binding names.
pub(crate) async fn patient_join(
    s: &Session<'_>,
    chart: ChartId,
    patient: UserId,
    key: &EncryptionPublicKey,
    inviter: UserId,
) -> Result<(NewChartState, Vec<NewWrap>), ClientError> {
    let mut loaded = load(s, chart).await?;
    require_care_team(s, &loaded)?;
    // Someone else's invite counts only if its signer could invite this chart's patient: a
    // clinician of the care team, or front desk or an admin of the chart's branch.
    if inviter != s.me.account.id {
        let latest = loaded.latest();
        let may = s.members.get(&inviter).is_some_and(|m| {
            let c = &m.certificate;
            (c.roles.contains(&Role::Therapist) && latest.care_team.contains(&inviter))
                || (c
                    .roles
                    .iter()
                    .any(|r| matches!(r, Role::Frontdesk | Role::Admin))
                    && c.branches.contains(&latest.branch))
        });
        if !may {
            return Err(ClientError::Protocol(
                "the invite's signer may not invite this chart's patient".into(),
            ));
        }
    }
    let keys = ensure_case_keys(s, &mut loaded).await?;
    let ik = identity_key(s, &loaded).await?;
    let wrap = |scope: WrapScope, w: vaiti_crypto::PublicWrap| NewWrap {
        scope,
        recipient: vaiti_core::Recipient::User { user: patient },
        recipient_key: core_key(key.key_id()),
        wrap: Sealed(w.bytes),
        signature: Sealed(w.signature.to_bytes().to_vec()),
    };
    let mut wraps = vec![wrap(
        WrapScope::Identity { chart },
        key.wrap(&ik, s.me.clinic, &s.me.signing_key)?,
    )];
    for ((tier, epoch), ck) in &keys {
        if *tier == Tier::Shared.to_byte() {
            wraps.push(wrap(
                WrapScope::Case {
                    chart,
                    tier: *tier,
                    epoch: *epoch,
                },
                key.wrap(ck, s.me.clinic, &s.me.signing_key)?,
            ));
        }
    }
    let mut next = loaded.latest().clone();
    next.patient = Some(patient);
    let state = new_state(s, Some((loaded.latest(), loaded.latest_hash())), next)?;
    Ok((state, wraps))
}

/// The tier names of the CLI and JSON.
pub fn tier_name(tier: u8) -> &'static str {
    if tier == Tier::Shared.to_byte() {
        "shared"
    } else {
        "team"
    }
}

/// Parses a tier name.
pub fn parse_tier(name: &str) -> Result<Tier, ClientError> {
    match name.trim() {
        "team" => Ok(Tier::Team),
        "shared" => Ok(Tier::Shared),
        other => Err(ClientError::Usage(format!(
            "the tier is team or shared, not {other:?}"
        ))),
    }
}

/// Writes a note (a clinician of the care team) under the current chart state and epoch.
pub async fn add_note(
    s: &Session<'_>,
    chart: ChartId,
    tier: Tier,
    title: &str,
    text: &str,
) -> Result<ObjectId, ClientError> {
    let mut loaded = load(s, chart).await?;
    require_care_team(s, &loaded)?;
    let keys = ensure_case_keys(s, &mut loaded).await?;
    let epoch = loaded.latest().epoch;
    let key = keys
        .get(&(tier.to_byte(), epoch))
        .ok_or_else(|| bad("the current case key is not wrapped to you"))?;
    let content = NoteContent {
        title: title.trim().to_string(),
        text: text.to_string(),
        reason: None,
    };
    let bytes = serde_json::to_vec(&content).map_err(|e| ClientError::Usage(e.to_string()))?;
    let note = object_id()?;
    let record = seal_new(
        s,
        key,
        Kind::Note,
        chart,
        note,
        1,
        Some(tier),
        epoch,
        ZERO,
        loaded.latest_hash(),
        &bytes,
    )?;
    s.api
        .post_no_content(
            &format!("{}/charts/{chart}/records", s.me.clinic_path()),
            &record,
        )
        .await?;
    Ok(note)
}

/// One version of a note, opened.
#[derive(Debug, Clone, Serialize)]
pub struct NoteVersion {
    /// 1 for the original.
    pub version: u64,
    /// Who wrote it (email).
    pub author: String,
    /// Their name as their certificate gives it, if it gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// When (seconds since the Unix epoch).
    pub created_at: i64,
    /// The title.
    pub title: String,
    /// The text.
    pub text: String,
    /// Why it amends the previous version.
    pub reason: Option<String>,
}

impl NoteVersion {
    /// The author for people to read: their name, or their login when the certificate has none.
    pub fn author_label(&self) -> &str {
        self.author_name.as_deref().unwrap_or(&self.author)
    }
}

/// A note with every version, opened and checked.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    /// The note.
    pub id: ObjectId,
    /// Its chart.
    pub chart: ChartId,
    /// `team` or `shared`.
    pub tier: &'static str,
    /// Every version, oldest first; the last is current.
    pub versions: Vec<NoteVersion>,
}

impl Note {
    /// The current version.
    pub fn current(&self) -> Option<&NoteVersion> {
        self.versions.last()
    }
}

fn open_notes(
    s: &Session<'_>,
    loaded: &LoadedChart,
    keys: &HashMap<(u8, u32), CaseKey>,
) -> Result<Vec<Note>, ClientError> {
    let chart = loaded.id();
    let mut notes = Vec::new();
    for versions in by_object(&loaded.view.notes) {
        check_versions(&versions)?;
        s.remember(|seen| seen.object(versions[0].object, versions.len() as u64))?;
        let tier_byte = versions[0].tier;
        let tier = Tier::from_byte(tier_byte).ok_or_else(|| bad("a note has an unknown tier"))?;
        let mut opened = Vec::new();
        for rv in &versions {
            if rv.tier != tier_byte {
                return Err(bad("a note's versions changed tier"));
            }
            let st = loaded.state_by_hash(&rv.chart_state_hash).ok_or_else(|| {
                bad("a note names a chart state that is not in the chart's history")
            })?;
            if st.epoch != rv.epoch || !st.care_team.contains(&rv.author) {
                return Err(bad(
                    "a note was written by someone outside the care team of its chart state, or under another epoch",
                ));
            }
            let key = keys.get(&(tier_byte, rv.epoch)).ok_or_else(|| {
                ClientError::Usage(
                    "you hold no key for some of this chart's notes: a clinician of its care team shares the keys when they next open the chart, and — for notes written before you were added by front desk or an admin, or re-added — when they confirm it (vaiti care-team share)".into(),
                )
            })?;
            let (plain, author) = open_version(s, key, rv, Kind::Note, Some(tier), chart)?;
            let content: NoteContent =
                serde_json::from_slice(&plain).map_err(|_| bad("a note is malformed"))?;
            opened.push(NoteVersion {
                version: rv.version,
                author: author.certificate.login.clone(),
                author_name: author.certificate.display_name.clone(),
                created_at: rv.created_at,
                title: content.title,
                text: content.text,
                reason: content.reason,
            });
        }
        notes.push(Note {
            id: versions[0].object,
            chart,
            tier: tier_name(tier_byte),
            versions: opened,
        });
    }
    Ok(notes)
}

/// Every note of a chart the caller may read (the care team: all; the patient: the shared tier).
pub async fn list_notes(s: &Session<'_>, chart: ChartId) -> Result<Vec<Note>, ClientError> {
    let mut loaded = load(s, chart).await?;
    let keys = ensure_case_keys(s, &mut loaded).await?;
    open_notes(s, &loaded, &keys)
}

/// One note with all its versions.
pub async fn show_note(s: &Session<'_>, note: ObjectId) -> Result<Note, ClientError> {
    let location: ObjectLocation = s
        .api
        .get(&format!("{}/objects/{note}", s.me.clinic_path()))
        .await
        .map_err(|e| match e {
            ClientError::Api { status: 404, .. } => {
                ClientError::Usage(format!("no note {note} that you may open"))
            }
            other => other,
        })?;
    if location.object != note {
        return Err(bad("the server located another object"));
    }
    list_notes(s, location.chart)
        .await?
        .into_iter()
        .find(|n| n.id == note)
        .ok_or_else(|| ClientError::Usage(format!("no note {note} that you may open")))
}

/// Amends a note: a new version with the new text and the reason; the original stays readable.
pub async fn amend_note(
    s: &Session<'_>,
    note: ObjectId,
    text: &str,
    reason: &str,
) -> Result<u64, ClientError> {
    if reason.trim().is_empty() {
        return Err(ClientError::Usage("an amendment needs a reason".into()));
    }
    let current = show_note(s, note).await?;
    let chart = current.chart;
    let mut loaded = load(s, chart).await?;
    require_care_team(s, &loaded)?;
    let keys = ensure_case_keys(s, &mut loaded).await?;
    let versions: Vec<&RecordVersion> = loaded
        .view
        .notes
        .iter()
        .filter(|r| r.object == note)
        .collect();
    let last = versions
        .iter()
        .max_by_key(|r| r.version)
        .ok_or_else(|| bad("the note vanished"))?;
    let tier = Tier::from_byte(last.tier).ok_or_else(|| bad("a note has an unknown tier"))?;
    let epoch = loaded.latest().epoch;
    let key = keys
        .get(&(tier.to_byte(), epoch))
        .ok_or_else(|| bad("the current case key is not wrapped to you"))?;
    let title = current
        .current()
        .map(|v| v.title.clone())
        .unwrap_or_default();
    let content = NoteContent {
        title,
        text: text.to_string(),
        reason: Some(reason.trim().to_string()),
    };
    let bytes = serde_json::to_vec(&content).map_err(|e| ClientError::Usage(e.to_string()))?;
    let version = last.version + 1;
    let record = seal_new(
        s,
        key,
        Kind::Note,
        chart,
        note,
        version,
        Some(tier),
        epoch,
        version_hash(last)?,
        loaded.latest_hash(),
        &bytes,
    )?;
    s.api
        .post_no_content(
            &format!("{}/charts/{chart}/records", s.me.clinic_path()),
            &record,
        )
        .await?;
    Ok(version)
}

/// Every chart `GET /charts?{filter}` lists, page by page (`filter` is empty or ends in `&`).
async fn listed_charts(s: &Session<'_>, filter: &str) -> Result<Vec<ChartSummary>, ClientError> {
    let mut charts = Vec::new();
    crate::api::all_pages(
        s.api,
        &format!("{}/charts?{filter}", s.me.clinic_path()),
        |list: ChartList| {
            charts.extend(list.charts);
            list.next
        },
    )
    .await?;
    Ok(charts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn kind_and_tier_bytes_agree_with_the_server_constants() {
        use vaiti_core::{record_kind, tier};
        use vaiti_crypto::{Kind, Tier};
        assert_eq!(record_kind::NOTE, Kind::Note.to_byte());
        assert_eq!(record_kind::IDENTITY_RECORD, Kind::IdentityRecord.to_byte());
        assert_eq!(record_kind::SEARCH_CARD, Kind::SearchCard.to_byte());
        assert_eq!(tier::TEAM, Tier::Team.to_byte());
        assert_eq!(tier::SHARED, Tier::Shared.to_byte());
    }
}
