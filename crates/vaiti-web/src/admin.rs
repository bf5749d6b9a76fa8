//! Administration: branches, staff invitations and joins, alerts, decoys, patients' reports and
//! the access log's full check.
//!
//! Admins see all of it. Auditors read alerts and patients' reports and check the log; the server
//! refuses them the rest (`docs/protocol.md` "Detection", `docs/access-log.md`), so the screen
//! does not offer it. Work that needs the clinic root key (a branch, certifying a new member of
//! staff) unwraps it on this device for that operation only, exactly as the CLI does.

use leptos::prelude::*;
use vaiti_client::access_log::{LogVerified, verify_log};
use vaiti_client::admin::create_branch;
use vaiti_client::detection::{
    ListedAlert, acknowledge_alert, create_decoy_chart, list_alerts, register_decoy,
};
use vaiti_client::invite::{
    DEFAULT_INVITE_S, InviteStatus, complete_invites, invite_staff, list_invites, revoke_invite,
};
use vaiti_client::report::{OpenedReport, reports};
use vaiti_core::{AlertId, AlertKind, ChartId, InviteId, InviteKind, InviteState, Role};

use crate::app::{Ctx, Notice, now_s, use_ctx, with_session};
use crate::chart::fmt_time;
use crate::frontdesk::{InviteCodeBox, focus_element, looks_like_email};
use crate::i18n::Key;
use crate::text::finnish_cmp;

/// How many alerts the screen lists (newest first).
const ALERTS_SHOWN: u32 = 200;

// ---- Pure logic ----

/// The interface string for a role.
pub fn role_key(role: Role) -> Key {
    match role {
        Role::Admin => Key::RoleAdmin,
        Role::Therapist => Key::RoleTherapist,
        Role::Frontdesk => Key::RoleFrontdesk,
        Role::Auditor => Key::RoleAuditor,
    }
}

/// Checks a staff invitation before anything is signed: the first thing to fix and the field to
/// move focus to. Therapists and front desk work in a branch (front desk gets its patient
/// directory); admins and auditors are clinic-wide and may have none.
pub fn check_staff_invite(
    email: &str,
    roles: &[Role],
    branches: &[String],
) -> Result<(), (Key, &'static str)> {
    if !looks_like_email(email.trim()) {
        return Err((Key::ErrEmailFormat, "staff-email"));
    }
    if roles.is_empty() {
        return Err((Key::ErrNoRole, "staff-role-admin"));
    }
    if branches.is_empty()
        && roles
            .iter()
            .any(|r| matches!(r, Role::Therapist | Role::Frontdesk))
    {
        return Err((Key::ErrStaffBranch, "staff-branch-0"));
    }
    Ok(())
}

/// What an invite's state means to its inviter now (an open invite past its expiry is dead).
pub fn invite_state_key(state: InviteState, expires_at: i64, now: i64) -> Key {
    match state {
        InviteState::Open if expires_at <= now => Key::InviteExpired,
        InviteState::Open => Key::InviteOpen,
        InviteState::Bound => Key::InviteBound,
        InviteState::Completed => Key::InviteCompleted,
        InviteState::Revoked => Key::InviteRevoked,
    }
}

/// What revoking does for an invite in a given state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Revoke the invite; with `account`, also the account made with it (a bound invite's
    /// account cannot be certified once its invite is gone, so it goes too).
    Invite {
        /// Whether the account goes too.
        account: bool,
    },
    /// The join is complete: revoke the member's account (their sessions and certificates).
    Account,
}

/// The revocation offered for an invite, if any.
pub fn revocation(state: InviteState, expires_at: i64, now: i64) -> Option<Revocation> {
    match state {
        InviteState::Open if expires_at > now => Some(Revocation::Invite { account: false }),
        InviteState::Bound => Some(Revocation::Invite { account: true }),
        InviteState::Completed => Some(Revocation::Account),
        InviteState::Open | InviteState::Revoked => None,
    }
}

/// The interface string for an alert's kind.
pub fn alert_kind_key(kind: AlertKind) -> Key {
    match kind {
        AlertKind::DecoyAccess => Key::AlertDecoy,
        AlertKind::ChartOpeningRate => Key::AlertRate,
        AlertKind::FailedLoginBurst => Key::AlertLogins,
        AlertKind::PatientReport => Key::AlertReport,
    }
}

/// An alert's details for people: a string and its values. Never a chart (the alert has none).
pub fn alert_detail(
    kind: AlertKind,
    count: u64,
    window_s: u64,
    log_index: Option<u64>,
) -> (Key, Vec<String>) {
    let minutes = (window_s / 60).max(1).to_string();
    match kind {
        AlertKind::DecoyAccess => (Key::AlertDecoyDetail, Vec::new()),
        AlertKind::ChartOpeningRate => (Key::AlertRateDetail, vec![count.to_string(), minutes]),
        AlertKind::FailedLoginBurst => (Key::AlertLoginsDetail, vec![count.to_string(), minutes]),
        AlertKind::PatientReport => match log_index {
            Some(i) => (Key::AlertReportDetail, vec![i.to_string()]),
            None => (Key::AlertReportNoEntry, Vec::new()),
        },
    }
}

fn fill_detail(ctx: Ctx, (key, values): &(Key, Vec<String>)) -> String {
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    ctx.tf(*key, &refs)
}

// ---- Components ----

/// The administration screen.
#[component]
pub fn AdminHome() -> impl IntoView {
    let ctx = use_ctx();
    let user = ctx.signed_in();
    let admin = user.as_ref().is_some_and(|u| u.has_role(Role::Admin));
    let auditor = user.as_ref().is_some_and(|u| u.has_role(Role::Auditor));
    let branches = RwSignal::new(None::<Vec<String>>);
    let error = RwSignal::new(None::<String>);
    let load_branches = move || {
        let Some(user) = ctx.signed_in() else { return };
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                let mut names: Vec<String> =
                    s.manifest.branches.iter().map(|b| b.name.clone()).collect();
                names.sort_by(|a, b| finnish_cmp(a, b));
                Ok(names)
            })
            .await;
            match result {
                Ok(names) => branches.set(Some(names)),
                Err(e) => {
                    branches.set(Some(Vec::new()));
                    error.set(Some(ctx.error_text(&e)));
                }
            }
        });
    };
    load_branches();
    let reload = Callback::new(move |()| load_branches());
    view! {
        <section aria-labelledby="admin-title">
            <h1 id="admin-title">{move || ctx.t(Key::AdminTitle)}</h1>
            <p class="help">{move || ctx.t(Key::AdminNativeHint)}</p>
            {(!admin && auditor).then(|| view! { <p class="help">{move || ctx.t(Key::AuditorScope)}</p> })}
            <Notice message=error/>
            <BranchesCard branches=branches reload=reload admin=admin/>
            {admin.then(|| view! { <StaffCard branches=branches/> })}
            {(admin || auditor).then(|| view! { <AlertsCard can_acknowledge=admin/> })}
            {admin.then(|| view! { <DecoysCard branches=branches/> })}
            {(admin || auditor).then(|| view! { <ReportsCard/> })}
            {(admin || auditor).then(|| view! { <LogCheckCard/> })}
        </section>
    }
}

/// The clinic's branches; admins add one (a new root-signed manifest).
#[component]
fn BranchesCard(
    branches: RwSignal<Option<Vec<String>>>,
    reload: Callback<()>,
    admin: bool,
) -> impl IntoView {
    let ctx = use_ctx();
    let name = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        done.set(None);
        let n = name.get_untracked().trim().to_string();
        if n.is_empty() {
            error.set(Some(ctx.t(Key::ErrRequired).into()));
            focus_element("new-branch");
            return;
        }
        let Some(user) = ctx.signed_in() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                create_branch(s.api, s.me, &n, s.now).await
            })
            .await;
            busy.set(false);
            match result {
                Ok(_) => {
                    done.set(Some(ctx.tf(Key::BranchCreated, &[&n])));
                    name.set(String::new());
                    reload.run(());
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    view! {
        <section class="card" id="admin-branches" aria-labelledby="branches-title">
            <h2 id="branches-title">{move || ctx.t(Key::Branches)}</h2>
            {move || match branches.get() {
                None => view! { <p class="muted" role="status">{ctx.t(Key::Loading)}</p> }.into_any(),
                Some(list) if list.is_empty() => view! { <p>{ctx.t(Key::NoBranches)}</p> }.into_any(),
                Some(list) => view! {
                    <ul data-testid="branch-list">{list.into_iter().map(|b| view! { <li>{b}</li> }).collect_view()}</ul>
                }
                    .into_any(),
            }}
            {admin.then(|| view! {
                <h3>{move || ctx.t(Key::NewBranch)}</h3>
                <p class="help">{move || ctx.t(Key::BranchesHelp)}</p>
                <form class="inline" on:submit=create novalidate=true>
                    <label for="new-branch">{move || ctx.t(Key::NewBranchName)}</label>
                    <input id="new-branch" autocomplete="off" bind:value=name/>
                    <button type="submit" disabled=move || busy.get()>
                        {move || if busy.get() { ctx.t(Key::CreatingBranch) } else { ctx.t(Key::CreateBranch) }}
                    </button>
                </form>
                <Notice message=done kind="ok"/>
                <Notice message=error/>
            })}
        </section>
    }
}

/// Staff: invite by email, roles and branches (the code shown once); the admin's invites with
/// their state; revoking; completing joins.
#[component]
fn StaffCard(branches: RwSignal<Option<Vec<String>>>) -> impl IntoView {
    let ctx = use_ctx();
    let email = RwSignal::new(String::new());
    let roles = RwSignal::new(Vec::<Role>::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let code = RwSignal::new(None::<(String, i64)>);
    let invites = RwSignal::new(None::<Vec<InviteStatus>>);
    let list_error = RwSignal::new(None::<String>);
    let list_done = RwSignal::new(None::<String>);
    let joining = RwSignal::new(false);

    let load_invites = move || {
        let Some(user) = ctx.signed_in() else { return };
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| list_invites(s).await).await {
                Ok(mut list) => {
                    // Newest first: the one just made is on top.
                    list.sort_by_key(|i| std::cmp::Reverse(i.expires_at));
                    invites.set(Some(list));
                }
                Err(e) => {
                    invites.set(Some(Vec::new()));
                    list_error.set(Some(ctx.error_text(&e)));
                }
            }
        });
    };
    load_invites();

    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let (e, r, b) = (
            email.get_untracked().trim().to_string(),
            roles.get_untracked(),
            chosen.get_untracked(),
        );
        if let Err((key, field)) = check_staff_invite(&e, &r, &b) {
            error.set(Some(ctx.t(key).into()));
            focus_element(field);
            return;
        }
        let Some(user) = ctx.signed_in() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                invite_staff(s, &e, &r, &b, DEFAULT_INVITE_S).await
            })
            .await;
            busy.set(false);
            match result {
                Ok(created) => {
                    code.set(Some((created.code.to_printed(), created.expires_at)));
                    email.set(String::new());
                    roles.set(Vec::new());
                    chosen.set(Vec::new());
                    focus_element("staff-invite-code-box");
                    load_invites();
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };

    let complete = move |_| {
        let Some(user) = ctx.signed_in() else { return };
        list_error.set(None);
        list_done.set(None);
        joining.set(true);
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| complete_invites(s).await).await;
            joining.set(false);
            match result {
                Ok(done) if done.is_empty() => {
                    list_done.set(Some(ctx.t(Key::NoJoinsPending).into()))
                }
                Ok(done) => {
                    let who: Vec<&str> = done.iter().map(|j| j.login.as_str()).collect();
                    list_done.set(Some(ctx.tf(
                        Key::JoinsCompleted,
                        &[&done.len().to_string(), &who.join(", ")],
                    )));
                    load_invites();
                }
                Err(e) => list_error.set(Some(ctx.error_text(&e))),
            }
        });
    };

    let revoke = move |id: InviteId, what: Revocation, who: String| {
        if what == Revocation::Account {
            let question = ctx.tf(Key::ConfirmRevokeAccount, &[&who]);
            let confirmed = web_sys::window()
                .and_then(|w| w.confirm_with_message(&question).ok())
                .unwrap_or(false);
            if !confirmed {
                return;
            }
        }
        let account = !matches!(what, Revocation::Invite { account: false });
        let Some(user) = ctx.signed_in() else { return };
        list_error.set(None);
        list_done.set(None);
        leptos::task::spawn_local(async move {
            let result =
                with_session(user, None, async |s| revoke_invite(s, id, account).await).await;
            match result {
                Ok(()) => {
                    list_done.set(Some(ctx.t(Key::RevokeDone).into()));
                    load_invites();
                }
                Err(e) => list_error.set(Some(ctx.error_text(&e))),
            }
        });
    };

    let role_boxes = Role::ALL
        .into_iter()
        .map(|role| {
            let id = format!("staff-role-{}", role.as_str());
            view! {
                <div class="check">
                    <input
                        type="checkbox"
                        id=id.clone()
                        prop:checked=move || roles.with(|r| r.contains(&role))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            roles.update(|r| {
                                r.retain(|x| *x != role);
                                if on {
                                    r.push(role);
                                }
                            });
                        }
                    />
                    <label for=id>{move || ctx.t(role_key(role))}</label>
                </div>
            }
        })
        .collect_view();

    let branch_boxes = move || {
        branches
            .get()
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let id = format!("staff-branch-{i}");
                let (n1, n2) = (name.clone(), name.clone());
                view! {
                    <div class="check">
                        <input
                            type="checkbox"
                            id=id.clone()
                            prop:checked=move || chosen.with(|c| c.contains(&n1))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                chosen.update(|c| {
                                    c.retain(|x| x != &n2);
                                    if on {
                                        c.push(n2.clone());
                                    }
                                });
                            }
                        />
                        <label for=id>{name}</label>
                    </div>
                }
            })
            .collect_view()
    };

    let invite_rows = move || {
        let now = now_s();
        invites
            .get()
            .unwrap_or_default()
            .into_iter()
            .map(|i| {
                let who = match (i.kind, &i.email) {
                    (InviteKind::Staff, Some(e)) => e.clone(),
                    _ => ctx.t(Key::PatientPortalInvite).to_string(),
                };
                let state = invite_state_key(i.state, i.expires_at, now);
                let action = revocation(i.state, i.expires_at, now).map(|what| {
                    let label_key = if what == Revocation::Account {
                        Key::RevokeAccount
                    } else {
                        Key::Revoke
                    };
                    let aria = format!("{} — {}", ctx.t(label_key), who);
                    let (id, who) = (i.invite, who.clone());
                    view! {
                        <button type="button" class="quiet" aria-label=aria on:click=move |_| revoke(id, what, who.clone())>
                            {move || ctx.t(label_key)}
                        </button>
                    }
                });
                let expires = i.expires_at;
                view! {
                    <tr data-invite-state=format!("{:?}", i.state).to_lowercase()>
                        <td>{who}</td>
                        <td>{move || ctx.t(state)}</td>
                        <td>{move || fmt_time(expires, ctx.lang.get())}</td>
                        <td>{action}</td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <section class="card" id="admin-staff" aria-labelledby="staff-title">
            <h2 id="staff-title">{move || ctx.t(Key::Staff)}</h2>
            <h3>{move || ctx.t(Key::InviteStaff)}</h3>
            <form on:submit=invite novalidate=true>
                <div class="field">
                    <label for="staff-email">{move || ctx.t(Key::Email)}</label>
                    <input id="staff-email" type="email" autocomplete="off" bind:value=email/>
                </div>
                <fieldset class="choices">
                    <legend>{move || ctx.t(Key::Roles)}</legend>
                    {role_boxes}
                </fieldset>
                <fieldset class="choices">
                    <legend>{move || ctx.t(Key::StaffBranches)}</legend>
                    <p class="help">{move || ctx.t(Key::StaffBranchesHelp)}</p>
                    {branch_boxes}
                </fieldset>
                <Notice message=error/>
                <button type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { ctx.t(Key::CreatingInvite) } else { ctx.t(Key::SendInvite) }}
                </button>
            </form>
            {move || code.get().map(|(c, expires_at)| view! {
                <InviteCodeBox
                    code=c
                    expires_at=expires_at
                    testid="staff-invite-code"
                    done=Callback::new(move |()| code.set(None))
                />
            })}
            <h3>{move || ctx.t(Key::Invites)}</h3>
            <p class="help">{move || ctx.t(Key::InvitesHelp)}</p>
            <p>
                <button type="button" on:click=complete disabled=move || joining.get()>
                    {move || if joining.get() { ctx.t(Key::Working) } else { ctx.t(Key::CompleteJoins) }}
                </button>
                <button type="button" class="quiet" on:click=move |_| load_invites()>{move || ctx.t(Key::Refresh)}</button>
            </p>
            <Notice message=list_done kind="ok"/>
            <Notice message=list_error/>
            {move || match invites.with(|i| i.as_ref().map(Vec::is_empty)) {
                None => view! { <p class="muted" role="status">{ctx.t(Key::Loading)}</p> }.into_any(),
                Some(true) => view! { <p>{ctx.t(Key::NoInvites)}</p> }.into_any(),
                Some(false) => view! {
                    <table class="invites" data-testid="invites-list">
                        <thead>
                            <tr>
                                <th scope="col">{ctx.t(Key::InviteFor)}</th>
                                <th scope="col">{ctx.t(Key::Status)}</th>
                                <th scope="col">{ctx.t(Key::Expires)}</th>
                                <th scope="col"><span class="sr-only">{ctx.t(Key::Revoke)}</span></th>
                            </tr>
                        </thead>
                        <tbody>{invite_rows}</tbody>
                    </table>
                }
                    .into_any(),
            }}
        </section>
    }
}

/// The clinic's alerts, newest first; admins acknowledge them.
#[component]
fn AlertsCard(can_acknowledge: bool) -> impl IntoView {
    let ctx = use_ctx();
    let alerts = RwSignal::new(None::<Vec<ListedAlert>>);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let load = move || {
        let Some(user) = ctx.signed_in() else { return };
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| list_alerts(s, ALERTS_SHOWN).await).await {
                Ok(list) => alerts.set(Some(list)),
                Err(e) => {
                    alerts.set(Some(Vec::new()));
                    error.set(Some(ctx.error_text(&e)));
                }
            }
        });
    };
    load();
    let acknowledge = move |id: AlertId| {
        let Some(user) = ctx.signed_in() else { return };
        error.set(None);
        done.set(None);
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| acknowledge_alert(s, id).await).await {
                Ok(()) => {
                    done.set(Some(ctx.t(Key::Acknowledged).into()));
                    load();
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    let rows = move || {
        alerts
            .get()
            .unwrap_or_default()
            .into_iter()
            .map(|ListedAlert { alert: a, actor_login }| {
                let who = actor_login
                    .or_else(|| a.actor.map(|u| u.to_string()))
                    .unwrap_or_else(|| "—".into());
                let detail = alert_detail(a.kind, a.count, a.window_s, a.log_index);
                let kind_key = alert_kind_key(a.kind);
                let created = a.created_at;
                let status = match a.acknowledged_at {
                    Some(at) => view! {
                        <span>{move || ctx.tf(Key::AcknowledgedAt, &[&fmt_time(at, ctx.lang.get())])}</span>
                    }
                        .into_any(),
                    None if can_acknowledge => {
                        let id = a.id;
                        let aria = move || {
                            format!(
                                "{} — {}, {}",
                                ctx.t(Key::Acknowledge),
                                ctx.t(kind_key),
                                fmt_time(created, ctx.lang.get())
                            )
                        };
                        view! {
                            <button type="button" aria-label=aria on:click=move |_| acknowledge(id)>
                                {move || ctx.t(Key::Acknowledge)}
                            </button>
                        }
                            .into_any()
                    }
                    None => view! { <span>{move || ctx.t(Key::NotAcknowledged)}</span> }.into_any(),
                };
                view! {
                    <tr data-alert-kind=a.kind.as_str() data-acknowledged=a.acknowledged_at.is_some().to_string()>
                        <td>{move || fmt_time(created, ctx.lang.get())}</td>
                        <td>{move || ctx.t(kind_key)}</td>
                        <td>{who}</td>
                        <td>{move || fill_detail(ctx, &detail)}</td>
                        <td>{status}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card" id="admin-alerts" aria-labelledby="alerts-title">
            <h2 id="alerts-title">{move || ctx.t(Key::Alerts)}</h2>
            <p class="help">{move || ctx.t(Key::AlertsHelp)}</p>
            <p><button type="button" class="quiet" on:click=move |_| load()>{move || ctx.t(Key::Refresh)}</button></p>
            <Notice message=done kind="ok"/>
            <Notice message=error/>
            {move || match alerts.with(|a| a.as_ref().map(Vec::is_empty)) {
                None => view! { <p class="muted" role="status">{ctx.t(Key::Loading)}</p> }.into_any(),
                Some(true) => view! { <p data-testid="alerts-empty">{ctx.t(Key::NoAlerts)}</p> }.into_any(),
                Some(false) => view! {
                    <table class="alerts" data-testid="alerts-list" aria-labelledby="alerts-title">
                        <thead>
                            <tr>
                                <th scope="col">{ctx.t(Key::When)}</th>
                                <th scope="col">{ctx.t(Key::Kind)}</th>
                                <th scope="col">{ctx.t(Key::Who)}</th>
                                <th scope="col">{ctx.t(Key::Details)}</th>
                                <th scope="col">{ctx.t(Key::Status)}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                    .into_any(),
            }}
        </section>
    }
}

/// Decoy charts: made like any patient's chart on this device, then registered with the server.
#[component]
fn DecoysCard(branches: RwSignal<Option<Vec<String>>>) -> impl IntoView {
    let ctx = use_ctx();
    let branch = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    // A chart made but not yet registered: offered for registering again.
    let unregistered = RwSignal::new(None::<ChartId>);
    // The first branch until the user picks one.
    Effect::new(move |_| {
        if branch.with_untracked(String::is_empty)
            && let Some(first) = branches.with(|b| b.as_ref().and_then(|b| b.first().cloned()))
        {
            branch.set(first);
        }
    });
    let report =
        move |chart: ChartId, registered: Result<(), vaiti_client::ClientError>| match registered {
            Ok(()) => {
                unregistered.set(None);
                done.set(Some(ctx.tf(Key::DecoyCreated, &[&chart.to_string()])));
            }
            Err(e) => {
                unregistered.set(Some(chart));
                error.set(Some(ctx.tf(
                    Key::DecoyNotRegistered,
                    &[&chart.to_string(), &ctx.error_text(&e)],
                )));
            }
        };
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        done.set(None);
        let b = branch.get_untracked();
        if b.is_empty() {
            error.set(Some(ctx.t(Key::NoBranches).into()));
            focus_element("decoy-branch");
            return;
        }
        let Some(user) = ctx.signed_in() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                let chart = create_decoy_chart(s, &b).await?;
                // Registered at once: until then the chart is an ordinary, listed one.
                Ok((chart, register_decoy(s, chart).await))
            })
            .await;
            busy.set(false);
            match result {
                Ok((chart, registered)) => report(chart, registered),
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    let register_again = move |_| {
        let Some(chart) = unregistered.get_untracked() else {
            return;
        };
        let Some(user) = ctx.signed_in() else { return };
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result =
                with_session(user, None, async |s| Ok(register_decoy(s, chart).await)).await;
            busy.set(false);
            match result {
                Ok(registered) => report(chart, registered),
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    view! {
        <section class="card" id="admin-decoys" aria-labelledby="decoys-title">
            <h2 id="decoys-title">{move || ctx.t(Key::Decoys)}</h2>
            <p>{move || ctx.t(Key::DecoysHelp)}</p>
            <p class="help">{move || ctx.t(Key::DecoyOperatorNote)}</p>
            <form class="inline" on:submit=create>
                <label for="decoy-branch">{move || ctx.t(Key::Branch)}</label>
                <select id="decoy-branch" on:change=move |ev| branch.set(event_target_value(&ev))>
                    {move || {
                        branches
                            .get()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|name| {
                                let (n, value) = (name.clone(), name.clone());
                                view! { <option value=value selected=move || branch.get() == n>{name}</option> }
                            })
                            .collect_view()
                    }}
                </select>
                <button type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { ctx.t(Key::CreatingDecoy) } else { ctx.t(Key::CreateDecoy) }}
                </button>
            </form>
            <Notice message=done kind="ok"/>
            <Notice message=error/>
            <Show when=move || unregistered.with(Option::is_some)>
                <button type="button" on:click=register_again disabled=move || busy.get()>
                    {move || ctx.t(Key::RegisterDecoyAgain)}
                </button>
            </Show>
        </section>
    }
}

/// Patients' "I don't recognise this" reports, opened on demand (each is decrypted here).
#[component]
fn ReportsCard() -> impl IntoView {
    let ctx = use_ctx();
    let list = RwSignal::new(None::<Vec<OpenedReport>>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let open = move |_| {
        let Some(user) = ctx.signed_in() else { return };
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| reports(s).await).await;
            busy.set(false);
            match result {
                Ok(mut r) => {
                    r.sort_by_key(|x| std::cmp::Reverse(x.time));
                    list.set(Some(r));
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    let rows = move || {
        list.get()
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let time = r.time;
                let reason = r.reason.clone();
                view! {
                    <tr>
                        <td>{move || fmt_time(time, ctx.lang.get())}</td>
                        <td><code>{r.chart.to_string()}</code></td>
                        <td>{r.entry}</td>
                        <td>{r.reporter_login.clone()}</td>
                        <td class="note-text">
                            {move || reason.clone().unwrap_or_else(|| ctx.t(Key::ReportUnreadable).to_string())}
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card" id="admin-reports" aria-labelledby="reports-title">
            <h2 id="reports-title">{move || ctx.t(Key::Reports)}</h2>
            <p class="help">{move || ctx.t(Key::ReportsHelp)}</p>
            <p>
                <button type="button" on:click=open disabled=move || busy.get()>
                    {move || if busy.get() { ctx.t(Key::Decrypting) } else { ctx.t(Key::OpenReports) }}
                </button>
            </p>
            <Notice message=error/>
            {move || match list.with(|l| l.as_ref().map(Vec::is_empty)) {
                None => ().into_any(),
                Some(true) => view! { <p role="status">{ctx.t(Key::NoReports)}</p> }.into_any(),
                Some(false) => view! {
                    <table class="reports" data-testid="reports-list">
                        <thead>
                            <tr>
                                <th scope="col">{ctx.t(Key::When)}</th>
                                <th scope="col">{ctx.t(Key::ChartId)}</th>
                                <th scope="col">{ctx.t(Key::LogEntry)}</th>
                                <th scope="col">{ctx.t(Key::Reporter)}</th>
                                <th scope="col">{ctx.t(Key::Reason)}</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                    .into_any(),
            }}
        </section>
    }
}

/// The access log's full check: every leaf fetched and the tree recomputed on this device.
#[component]
fn LogCheckCard() -> impl IntoView {
    let ctx = use_ctx();
    let result = RwSignal::new(None::<LogVerified>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let check = move |_| {
        let Some(user) = ctx.signed_in() else { return };
        error.set(None);
        result.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = with_session(user, None, async |s| verify_log(s).await).await;
            busy.set(false);
            match r {
                Ok(v) => result.set(Some(v)),
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    view! {
        <section class="card" id="admin-log" aria-labelledby="log-title">
            <h2 id="log-title">{move || ctx.t(Key::VerifyLog)}</h2>
            <p class="help">{move || ctx.t(Key::VerifyLogHelp)}</p>
            <p>
                <button type="button" on:click=check disabled=move || busy.get()>
                    {move || if busy.get() { ctx.t(Key::Verifying) } else { ctx.t(Key::VerifyLog) }}
                </button>
            </p>
            <Notice message=error/>
            {move || result.get().map(|v| {
                let text = if v.recomputed {
                    ctx.tf(Key::LogRecomputed, &[&v.size.to_string(), &v.charts.to_string(), &v.root])
                } else {
                    ctx.tf(Key::LogCheckedOnly, &[&v.size.to_string(), &v.root])
                };
                view! { <p class="ok fingerprint" role="status" data-testid="log-verified">{text}</p> }
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn staff_invites_are_checked_before_signing() {
        let helsinki = vec!["Helsinki".to_string()];
        assert_eq!(
            check_staff_invite("eero@x.fi", &[Role::Therapist], &helsinki),
            Ok(())
        );
        // Admins and auditors are clinic-wide.
        assert_eq!(check_staff_invite("a@x.fi", &[Role::Admin], &[]), Ok(()));
        assert_eq!(check_staff_invite("a@x.fi", &[Role::Auditor], &[]), Ok(()));
        assert_eq!(
            check_staff_invite("eero", &[Role::Therapist], &helsinki),
            Err((Key::ErrEmailFormat, "staff-email"))
        );
        assert_eq!(
            check_staff_invite("eero@x.fi", &[], &helsinki),
            Err((Key::ErrNoRole, "staff-role-admin"))
        );
        for role in [Role::Therapist, Role::Frontdesk] {
            assert_eq!(
                check_staff_invite("eero@x.fi", &[Role::Admin, role], &[]),
                Err((Key::ErrStaffBranch, "staff-branch-0"))
            );
        }
    }

    #[test]
    fn invite_states_read_as_the_inviter_needs() {
        let now = 1_000;
        assert_eq!(
            invite_state_key(InviteState::Open, now + 1, now),
            Key::InviteOpen
        );
        assert_eq!(
            invite_state_key(InviteState::Open, now, now),
            Key::InviteExpired
        );
        assert_eq!(
            invite_state_key(InviteState::Bound, now - 1, now),
            Key::InviteBound
        );
        assert_eq!(
            invite_state_key(InviteState::Completed, 0, now),
            Key::InviteCompleted
        );
        assert_eq!(
            invite_state_key(InviteState::Revoked, now + 9, now),
            Key::InviteRevoked
        );
    }

    #[test]
    fn revoking_offers_what_the_server_accepts() {
        let now = 1_000;
        assert_eq!(
            revocation(InviteState::Open, now + 1, now),
            Some(Revocation::Invite { account: false })
        );
        // An expired open invite can no longer be used: nothing to revoke.
        assert_eq!(revocation(InviteState::Open, now, now), None);
        assert_eq!(
            revocation(InviteState::Bound, 0, now),
            Some(Revocation::Invite { account: true })
        );
        assert_eq!(
            revocation(InviteState::Completed, 0, now),
            Some(Revocation::Account)
        );
        assert_eq!(revocation(InviteState::Revoked, now + 1, now), None);
    }

    #[test]
    fn alert_details_name_counts_never_charts() {
        assert_eq!(
            alert_detail(AlertKind::ChartOpeningRate, 31, 600, None),
            (
                Key::AlertRateDetail,
                vec!["31".to_string(), "10".to_string()]
            )
        );
        assert_eq!(
            alert_detail(AlertKind::FailedLoginBurst, 10, 300, None),
            (
                Key::AlertLoginsDetail,
                vec!["10".to_string(), "5".to_string()]
            )
        );
        // A window under a minute still reads as one minute, never zero.
        assert_eq!(
            alert_detail(AlertKind::FailedLoginBurst, 3, 30, None).1[1],
            "1"
        );
        assert_eq!(
            alert_detail(AlertKind::PatientReport, 1, 0, Some(42)),
            (Key::AlertReportDetail, vec!["42".to_string()])
        );
        assert_eq!(
            alert_detail(AlertKind::PatientReport, 1, 0, None).0,
            Key::AlertReportNoEntry
        );
        assert_eq!(
            alert_detail(AlertKind::DecoyAccess, 1, 0, None),
            (Key::AlertDecoyDetail, vec![])
        );
        let kinds: std::collections::HashSet<Key> =
            AlertKind::ALL.into_iter().map(alert_kind_key).collect();
        assert_eq!(kinds.len(), AlertKind::ALL.len());
        let roles: std::collections::HashSet<Key> = Role::ALL.into_iter().map(role_key).collect();
        assert_eq!(roles.len(), Role::ALL.len());
    }

    #[test]
    fn placeholders_in_alert_strings_match_their_values() {
        use crate::i18n::{Lang, tr};
        for (kind, log_index) in [
            (AlertKind::DecoyAccess, None),
            (AlertKind::ChartOpeningRate, None),
            (AlertKind::FailedLoginBurst, None),
            (AlertKind::PatientReport, Some(7)),
            (AlertKind::PatientReport, None),
        ] {
            let (key, values) = alert_detail(kind, 2, 120, log_index);
            for lang in Lang::ALL {
                let text = crate::i18n::fill(
                    tr(lang, key),
                    &values.iter().map(String::as_str).collect::<Vec<_>>(),
                );
                assert!(!text.contains('{'), "{key:?} in {lang:?}: {text}");
            }
        }
    }
}
