//! Who may do what: every authorisation rule of the server, in one place, with names.
//!
//! Handlers never look at roles themselves. A route's first gate is its extractor —
//! [`Gated`] for rules about the caller alone, [`OnChart`] for rules about the caller and the
//! chart named in the path — so a refused caller is turned away before the request body is even
//! read; finer rules that depend on the body (which branch, which kind of invite) are the named
//! functions below. [`ROUTES`] lists every route of the router with its gate; the route-policy
//! test checks the router against it and the insider matrix checks every role against it.
//!
//! Roles count only once certified: an account exists (and may log in) the moment its holder
//! signs up, but until the inviter's client has certified it — a certificate the server stores
//! and nobody has revoked — it holds no role here: it may finish its own sign-up (log in, read
//! the public directory and log heads) and nothing else. This is defence in depth behind the
//! clients, which trust only certified keys.
//!
//! Refusals: a rule about a chart answers 404 (whether a chart exists is not the caller's
//! business unless they may see it); any other rule answers 403.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use vaiti_core::signed::ChartStateV1;
use vaiti_core::{AccountKind, BranchId, Chart, ChartId, InviteKind, Role};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Who may call a route: the gate its handler's extractor applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone, without a session (health, the API document, logging in, signing up with an
    /// invite, looking an invite up by its secret-derived id).
    Anyone,
    /// The operator, with the clinic-creation token.
    Operator,
    /// A witness, with a co-signature by a key the clinic manifest lists (the signature is the
    /// credential).
    Witness,
    /// Any live session, certified or not: one's own account, password and wraps, the public
    /// directory and the log's signed heads.
    Session,
    /// A certified account of either kind.
    Certified,
    /// A certified member of staff (finer rules in the handler: see the `may_*` functions).
    Staff,
    /// A certified admin.
    Admin,
    /// A certified admin or auditor.
    AdminOrAuditor,
    /// The chart's care team, front desk or an admin of its branch, or its patient (404 to
    /// anyone else).
    ChartReader,
    /// The chart's care team, or front desk or an admin of its branch (404 to anyone else).
    ChartStaff,
    /// A clinician of the chart's care team (404 to anyone else).
    CareTeam,
    /// The chart's own patient (404 to anyone else).
    ChartPatient,
    /// The chart's own patient, or a certified admin or auditor (404 to anyone else).
    ChartLogReader,
}

/// A route and its gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `get` or `post`.
    pub method: &'static str,
    /// The path as the OpenAPI document writes it.
    pub path: &'static str,
    /// Who may call it.
    pub who: Who,
}

const fn route(method: &'static str, path: &'static str, who: Who) -> Route {
    Route { method, path, who }
}

/// Every route of [`crate::router`] with who may call it. A route the router has and this table
/// lacks fails the route-policy test.
pub const ROUTES: &[Route] = &[
    route("get", "/api/v1/health", Who::Anyone),
    route("get", "/api/v1/openapi.json", Who::Anyone),
    route("post", "/api/v1/opaque/register", Who::Anyone),
    route("post", "/api/v1/clinics", Who::Operator),
    route("post", "/api/v1/clinics/{clinic}/login/start", Who::Anyone),
    route("post", "/api/v1/clinics/{clinic}/login/finish", Who::Anyone),
    route("post", "/api/v1/clinics/{clinic}/logout", Who::Session),
    route("get", "/api/v1/clinics/{clinic}/me", Who::Session),
    route(
        "post",
        "/api/v1/clinics/{clinic}/password/start",
        Who::Session,
    ),
    route("post", "/api/v1/clinics/{clinic}/password", Who::Session),
    route("get", "/api/v1/clinics/{clinic}/directory", Who::Session),
    route("get", "/api/v1/clinics/{clinic}/wraps", Who::Session),
    route("post", "/api/v1/clinics/{clinic}/branches", Who::Admin),
    route("post", "/api/v1/clinics/{clinic}/certificates", Who::Staff),
    route("post", "/api/v1/clinics/{clinic}/manifest", Who::Admin),
    route("post", "/api/v1/clinics/{clinic}/invites", Who::Staff),
    route("get", "/api/v1/clinics/{clinic}/invites", Who::Staff),
    route(
        "get",
        "/api/v1/clinics/{clinic}/invites/{invite}",
        Who::Anyone,
    ),
    route(
        "post",
        "/api/v1/clinics/{clinic}/invites/{invite}/complete",
        Who::Staff,
    ),
    route(
        "post",
        "/api/v1/clinics/{clinic}/invites/{invite}/revoke",
        Who::Staff,
    ),
    route("post", "/api/v1/clinics/{clinic}/signup", Who::Anyone),
    route("post", "/api/v1/clinics/{clinic}/charts", Who::Staff),
    route("get", "/api/v1/clinics/{clinic}/charts", Who::Certified),
    route(
        "post",
        "/api/v1/clinics/{clinic}/charts/{chart}/release",
        Who::ChartReader,
    ),
    route(
        "post",
        "/api/v1/clinics/{clinic}/charts/{chart}/access-log",
        Who::ChartLogReader,
    ),
    route(
        "get",
        "/api/v1/clinics/{clinic}/charts/{chart}/access-log",
        Who::ChartLogReader,
    ),
    route(
        "get",
        "/api/v1/clinics/{clinic}/log/leaves",
        Who::AdminOrAuditor,
    ),
    route(
        "post",
        "/api/v1/clinics/{clinic}/charts/{chart}/reports",
        Who::ChartPatient,
    ),
    route(
        "get",
        "/api/v1/clinics/{clinic}/reports",
        Who::AdminOrAuditor,
    ),
    route(
        "post",
        "/api/v1/clinics/{clinic}/charts/{chart}/state",
        Who::ChartStaff,
    ),
    route(
        "post",
        "/api/v1/clinics/{clinic}/charts/{chart}/wraps",
        Who::CareTeam,
    ),
    route(
        "post",
        "/api/v1/clinics/{clinic}/charts/{chart}/records",
        Who::ChartStaff,
    ),
    route(
        "get",
        "/api/v1/clinics/{clinic}/objects/{object}",
        Who::Certified,
    ),
    route(
        "get",
        "/api/v1/clinics/{clinic}/log/checkpoint",
        Who::Session,
    ),
    route(
        "get",
        "/api/v1/clinics/{clinic}/log/inclusion",
        Who::Session,
    ),
    route(
        "get",
        "/api/v1/clinics/{clinic}/log/consistency",
        Who::Session,
    ),
    route("get", "/api/v1/clinics/{clinic}/log/witness", Who::Anyone),
    route(
        "post",
        "/api/v1/clinics/{clinic}/log/cosignatures",
        Who::Witness,
    ),
    route(
        "get",
        "/api/v1/clinics/{clinic}/alerts",
        Who::AdminOrAuditor,
    ),
    route(
        "post",
        "/api/v1/clinics/{clinic}/alerts/{alert}/acknowledge",
        Who::Admin,
    ),
    route("post", "/api/v1/clinics/{clinic}/decoys", Who::Admin),
];

// ---------------------------------------------------------------------------------------------
// The rules.
// ---------------------------------------------------------------------------------------------

/// How the caller relates to a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// A clinician in the latest chart state's care team: everything.
    CareTeam,
    /// The chart's patient: identity and the shared tier.
    Patient,
    /// Front desk or an admin of the chart's branch: search card and identity, never notes.
    Directory,
}

/// Whether the caller holds `role` here: a member of staff whose account lists it and who is
/// certified. Before certification an account holds no role.
pub(crate) fn has_role(caller: &Caller, role: Role) -> bool {
    caller.certified
        && caller.account.kind == AccountKind::Staff
        && caller.account.roles.contains(&role)
}

/// Whether `user` holds a live certificate: issued, not revoked, not expired. Before that an
/// account holds no role and may not be named in a care team or receive a report.
pub(crate) async fn is_certified(
    state: &AppState,
    clinic: vaiti_core::ClinicId,
    user: vaiti_core::UserId,
) -> Result<bool, ApiError> {
    let now = state.now();
    Ok(state
        .store
        .latest_certificate(clinic, user)
        .await?
        .is_some_and(|c| c.revoked_at.is_none() && c.expires_at > now))
}

/// A certified member of staff.
pub(crate) fn is_staff(caller: &Caller) -> bool {
    caller.certified && caller.account.kind == AccountKind::Staff
}

/// A certified admin.
pub(crate) fn is_admin(caller: &Caller) -> bool {
    has_role(caller, Role::Admin)
}

/// A certified clinician (the therapist role).
pub(crate) fn is_clinician(caller: &Caller) -> bool {
    has_role(caller, Role::Therapist)
}

/// Who reads the whole clinic's log, alerts and reports: a certified admin or auditor.
pub(crate) fn reads_clinic_log(caller: &Caller) -> bool {
    has_role(caller, Role::Admin) || has_role(caller, Role::Auditor)
}

/// Who may be named in a care team: an active, certified clinician.
pub(crate) fn may_be_in_care_team(account: &vaiti_core::Account, certified: bool) -> bool {
    certified
        && account.kind == AccountKind::Staff
        && account.status == vaiti_core::AccountStatus::Active
        && account.roles.contains(&Role::Therapist)
}

/// Whom a patient's report may be wrapped to: an active, certified admin or auditor.
pub(crate) fn receives_reports(account: &vaiti_core::Account, certified: bool) -> bool {
    certified
        && account.kind == AccountKind::Staff
        && account.status == vaiti_core::AccountStatus::Active
        && (account.roles.contains(&Role::Admin) || account.roles.contains(&Role::Auditor))
}

/// Who holds a branch's directory key (adds patients, reads search cards, may add clinicians to
/// a care team): a certified admin, or certified front desk of that branch.
pub(crate) fn holds_directory(caller: &Caller, branch: BranchId) -> bool {
    has_role(caller, Role::Admin)
        || (has_role(caller, Role::Frontdesk) && caller.account.branches.contains(&branch))
}

/// The caller's access to a chart given its row and latest state, if any.
pub(crate) fn chart_access(
    caller: &Caller,
    chart: &Chart,
    latest: Option<&ChartStateV1>,
) -> Option<Access> {
    if !caller.certified {
        return None;
    }
    let user = caller.session.user;
    match caller.account.kind {
        AccountKind::Patient => latest
            .filter(|s| s.patient == Some(user))
            .map(|_| Access::Patient),
        AccountKind::Staff => {
            if is_clinician(caller) && latest.is_some_and(|s| s.care_team.contains(&user)) {
                Some(Access::CareTeam)
            } else if holds_directory(caller, chart.branch) {
                Some(Access::Directory)
            } else {
                None
            }
        }
    }
}

/// Whether an access passes a chart gate.
pub(crate) fn admits_chart(who: Who, caller: &Caller, access: Option<Access>) -> bool {
    match who {
        Who::ChartReader => access.is_some(),
        Who::ChartStaff => matches!(access, Some(Access::CareTeam | Access::Directory)),
        Who::CareTeam => access == Some(Access::CareTeam),
        Who::ChartPatient => access == Some(Access::Patient),
        Who::ChartLogReader => access == Some(Access::Patient) || reads_clinic_log(caller),
        _ => false,
    }
}

/// Whether a caller passes a gate that is not about a chart.
pub(crate) fn admits(who: Who, caller: &Caller) -> bool {
    match who {
        Who::Anyone | Who::Operator | Who::Witness | Who::Session => true,
        Who::Certified => caller.certified,
        Who::Staff => is_staff(caller),
        Who::Admin => is_admin(caller),
        Who::AdminOrAuditor => reads_clinic_log(caller),
        Who::ChartReader
        | Who::ChartStaff
        | Who::CareTeam
        | Who::ChartPatient
        | Who::ChartLogReader => false,
    }
}

/// Who may make an invite of `kind`: an admin for staff; for a patient, the chart's care team
/// or its branch's front desk or admins (`access` is the caller's access to the invite's chart).
pub(crate) fn may_invite(caller: &Caller, kind: InviteKind, access: Option<Access>) -> bool {
    match kind {
        InviteKind::Staff => is_admin(caller),
        InviteKind::Patient => matches!(access, Some(Access::CareTeam | Access::Directory)),
    }
}

/// Who may complete or revoke an invite: its inviter, an admin for a staff invite, or a
/// clinician of the chart's care team for a patient invite.
pub(crate) fn may_handle_invite(
    caller: &Caller,
    inviter: vaiti_core::UserId,
    kind: InviteKind,
    care_team_of_chart: bool,
) -> bool {
    is_staff(caller)
        && (inviter == caller.session.user
            || (kind == InviteKind::Staff && is_admin(caller))
            || (kind == InviteKind::Patient && care_team_of_chart && is_clinician(caller)))
}

/// Who may revoke the account an invite of `kind` made (on top of handling the invite): an
/// admin for a member of staff; for a patient's portal account, whoever may handle the invite.
/// Clients accept the signed revocation by the same rule (`vaiti_client::custody::may_revoke`).
pub(crate) fn may_revoke_account(caller: &Caller, kind: InviteKind) -> bool {
    match kind {
        InviteKind::Staff => is_admin(caller),
        InviteKind::Patient => is_staff(caller),
    }
}

/// Who may wrap a chart's case keys to anyone: a clinician of its care team — never front desk
/// or an admin, whatever chart states they signed, and never the chart's creator as such.
pub(crate) fn may_wrap_case_keys(access: Option<Access>) -> bool {
    access == Some(Access::CareTeam)
}

/// Who may issue a certificate of `kind` (or renew one): the root's holders, the admins, for
/// staff; a clinician for a patient of their care team.
pub(crate) fn may_certify(caller: &Caller, kind: AccountKind, care_team_of_patient: bool) -> bool {
    match kind {
        AccountKind::Staff => is_admin(caller),
        AccountKind::Patient => is_clinician(caller) && care_team_of_patient,
    }
}

/// Which records of a chart an access may see: the care team all, the patient their shared
/// notes, the directory everything but notes.
pub(crate) fn may_see_record(access: Access, kind: u8, record_tier: u8) -> bool {
    match access {
        Access::CareTeam => true,
        Access::Patient => {
            kind == vaiti_core::record_kind::NOTE && record_tier == vaiti_core::tier::SHARED
        }
        Access::Directory => kind != vaiti_core::record_kind::NOTE,
    }
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// `Ok` if `allowed`, else 403 with `message`.
pub(crate) fn require(allowed: bool, message: &str) -> Result<(), ApiError> {
    if allowed {
        Ok(())
    } else {
        Err(forbidden(message))
    }
}

// ---------------------------------------------------------------------------------------------
// The gates, as extractors.
// ---------------------------------------------------------------------------------------------

/// A gate's rule, named by a marker type.
pub(crate) trait Gate {
    /// Who passes.
    const WHO: Who;
    /// What a refused caller is told (a 403).
    const REFUSAL: &'static str;
}

/// A caller who passed the gate `G` (a rule about the caller alone).
pub(crate) struct Gated<G> {
    pub(crate) caller: Caller,
    gate: PhantomData<G>,
}

impl<G: Gate + Send + Sync> FromRequestParts<AppState> for Gated<G> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        require(admits(G::WHO, &caller), G::REFUSAL)?;
        Ok(Gated {
            caller,
            gate: PhantomData,
        })
    }
}

/// A caller who passed the chart gate `G` for the chart named in the path, with what the
/// decision rested on.
pub(crate) struct OnChart<G> {
    pub(crate) caller: Caller,
    pub(crate) chart: Chart,
    pub(crate) latest: Option<ChartStateV1>,
    /// The caller's access (`None` for an admin or auditor reading the log of a chart they
    /// have no other access to).
    pub(crate) access: Option<Access>,
    gate: PhantomData<G>,
}

impl<G: Gate + Send + Sync> FromRequestParts<AppState> for OnChart<G> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Path(params) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found())?;
        let chart_id = params
            .get("chart")
            .and_then(|c| c.parse::<ChartId>().ok())
            .ok_or_else(|| ApiError::bad_request("the chart id in the path is malformed"))?;
        let (chart, latest, access) = looked_up(state, &caller, chart_id).await?;
        if !admits_chart(G::WHO, &caller, access) {
            return Err(ApiError::not_found());
        }
        Ok(OnChart {
            caller,
            chart,
            latest,
            access,
            gate: PhantomData,
        })
    }
}

/// The chart, its latest state and the caller's access; 404 if there is no such chart. Naming
/// a decoy raises its alert before any check, granted or refused.
pub(crate) async fn looked_up(
    state: &AppState,
    caller: &Caller,
    chart: ChartId,
) -> Result<(Chart, Option<ChartStateV1>, Option<Access>), ApiError> {
    let clinic = caller.session.clinic;
    crate::alerts::chart_named(state, clinic, chart, caller.session.user).await;
    let row = state
        .store
        .chart(clinic, chart)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let latest = crate::charts::latest_state(state, clinic, chart).await?;
    let access = chart_access(caller, &row, latest.as_ref());
    Ok((row, latest, access))
}

/// The caller's access to a chart, or 404.
pub(crate) async fn access(
    state: &AppState,
    caller: &Caller,
    chart: ChartId,
) -> Result<(Chart, Option<ChartStateV1>, Access), ApiError> {
    let (row, latest, access) = looked_up(state, caller, chart).await?;
    let access = access.ok_or_else(ApiError::not_found)?;
    Ok((row, latest, access))
}

macro_rules! gates {
    ($($(#[$doc:meta])* $name:ident => $who:ident, $refusal:literal;)*) => {
        $(
            $(#[$doc])*
            pub(crate) struct $name;
            impl Gate for $name {
                const WHO: Who = Who::$who;
                const REFUSAL: &'static str = $refusal;
            }
        )*
    };
}

gates! {
    /// [`Who::Certified`].
    CertifiedGate => Certified, "your account is not certified yet: the person who invited you must complete your join";
    /// [`Who::Staff`].
    StaffGate => Staff, "only certified members of staff can do this";
    /// [`Who::Admin`].
    AdminGate => Admin, "only a certified admin can do this";
    /// [`Who::AdminOrAuditor`].
    LogReaderGate => AdminOrAuditor, "only a certified admin or auditor can do this";
    /// [`Who::ChartReader`].
    ChartReaderGate => ChartReader, "no such chart";
    /// [`Who::ChartStaff`].
    ChartStaffGate => ChartStaff, "no such chart";
    /// [`Who::CareTeam`].
    CareTeamGate => CareTeam, "no such chart";
    /// [`Who::ChartPatient`].
    ChartPatientGate => ChartPatient, "no such chart";
    /// [`Who::ChartLogReader`].
    ChartLogReaderGate => ChartLogReader, "no such chart";
}

/// Certified account of either kind.
pub(crate) type Certified = Gated<CertifiedGate>;
/// Certified member of staff.
pub(crate) type Staff = Gated<StaffGate>;
/// Certified admin.
pub(crate) type Admin = Gated<AdminGate>;
/// Certified admin or auditor.
pub(crate) type LogReader = Gated<LogReaderGate>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[..i]
                    .iter()
                    .any(|o| o.method == r.method && o.path == r.path),
                "{} {} is listed twice",
                r.method,
                r.path
            );
        }
    }

    #[test]
    fn chart_gates_are_exactly_the_chart_routes() {
        for r in ROUTES {
            let chart_gate = matches!(
                r.who,
                Who::ChartReader
                    | Who::ChartStaff
                    | Who::CareTeam
                    | Who::ChartPatient
                    | Who::ChartLogReader
            );
            assert_eq!(
                chart_gate,
                r.path.contains("{chart}"),
                "{} {}: a chart gate needs the chart in the path, and a chart route a chart gate",
                r.method,
                r.path
            );
        }
    }
}
