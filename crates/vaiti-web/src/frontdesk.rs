//! Front desk: the patient directory (find, show identity, assign a therapist, portal invites)
//! and adding a patient, with the identity code checked as it is typed.
//!
//! Nothing here reaches a note. The directory lists search cards (name and birth date, sealed
//! under the branch directory key); "show identity" opens only the identity record, a logged
//! identity read; and the front desk role holds no case key, so even a hand-made request would
//! get nothing it could decrypt. There is deliberately no link from these screens to a chart.

use leptos::prelude::*;
use vaiti_client::ClientError;
use vaiti_client::chart::{
    PatientDetails, PatientRecord, PatientSummary, add_patient, care_team_add, list_patients,
    show_patient,
};
use vaiti_client::hetu::{Hetu, HetuError};
use vaiti_client::invite::{DEFAULT_INVITE_S, invite_patient};
use vaiti_client::session::Session;
use vaiti_core::{BranchId, ChartId, Role};

use crate::app::{Ctx, Notice, Screen, SignedIn, use_ctx, with_session};
use crate::caseload::PatientList;
use crate::chart::fmt_time;
use crate::i18n::Key;
use crate::text::finnish_cmp;

// ---- Pure logic: the identity-code field and the new-patient form ----

/// The number of characters in a HETU.
const HETU_LEN: usize = 11;

/// What the identity-code field says while it is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HetuStatus {
    /// Nothing typed: the patient may have no code.
    Empty,
    /// Still typing, and every character so far can be right where it is.
    Partial(usize),
    /// A valid code.
    Valid {
        /// The code, normalised (upper case, trimmed).
        hetu: String,
        /// The birth date it encodes, `YYYY-MM-DD`.
        born: String,
        /// Whether it is a temporary code (individual number 900–999, also used for test data).
        temporary: bool,
    },
    /// Wrong, and why.
    Invalid(HetuError),
}

/// Whether `c` is a century sign. Asked of [`Hetu::parse`] itself (with a valid date around it)
/// so the list of signs lives in one place.
fn is_century_sign(c: char) -> bool {
    !matches!(
        Hetu::parse(&format!("010100{c}9000")),
        Err(HetuError::CenturySign | HetuError::Shape)
    )
}

/// The first mistake already visible in a code still being typed, if any: a character that
/// cannot be right where it is, or (once the date and sign are in) a date that does not exist, or
/// (once the individual number is in) a number never issued. Completing the prefix with a
/// temporary individual number and any check character lets [`Hetu::parse`] judge the date: it
/// checks the date before the individual number and the check character.
fn early_error(text: &str) -> Option<HetuError> {
    for (i, c) in text.chars().enumerate() {
        let fits = if i == 6 {
            is_century_sign(c)
        } else {
            c.is_ascii_digit()
        };
        if !fits {
            return Some(if i == 6 {
                HetuError::CenturySign
            } else {
                HetuError::Shape
            });
        }
    }
    // Every character so far is ASCII, so byte slicing is character slicing.
    if let Some(head) = text.get(..7)
        && Hetu::parse(&format!("{head}9000")) == Err(HetuError::Date)
    {
        return Some(HetuError::Date);
    }
    if let Some(head) = text.get(..10)
        && Hetu::parse(&format!("{head}0")) == Err(HetuError::IndividualNumber)
    {
        return Some(HetuError::IndividualNumber);
    }
    None
}

/// Judges the identity-code field as typed so far (run on every input).
pub fn hetu_status(input: &str) -> HetuStatus {
    let text = input.trim();
    if text.is_empty() {
        return HetuStatus::Empty;
    }
    let typed = text.chars().count();
    if typed < HETU_LEN {
        return match early_error(text) {
            Some(e) => HetuStatus::Invalid(e),
            None => HetuStatus::Partial(typed),
        };
    }
    match Hetu::parse(text) {
        Ok(h) => {
            let (y, m, d) = h.birth_date();
            HetuStatus::Valid {
                hetu: h.as_str().to_string(),
                born: format!("{y:04}-{m:02}-{d:02}"),
                temporary: h.is_temporary(),
            }
        }
        Err(e) => HetuStatus::Invalid(e),
    }
}

/// The interface string for a HETU mistake.
pub fn hetu_error_key(e: HetuError) -> Key {
    match e {
        HetuError::CenturySign => Key::HetuErrCentury,
        HetuError::Date => Key::HetuErrDate,
        HetuError::IndividualNumber => Key::HetuErrIndividual,
        HetuError::Checksum => Key::HetuErrChecksum,
        // `Shape`, and any kind a later version adds: the format itself is the safe advice.
        _ => Key::HetuErrShape,
    }
}

/// What the new-patient form holds, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientForm {
    /// Full name.
    pub name: String,
    /// Identity code (may be empty).
    pub hetu: String,
    /// Birth date as the date field gives it (`YYYY-MM-DD`), used only without a HETU.
    pub birth_date: String,
    /// Phone (optional).
    pub phone: String,
    /// Email (optional).
    pub email: String,
}

/// Field ids of the new-patient form (the labels point at them; errors move focus to them).
pub mod field {
    /// Branch select.
    pub const BRANCH: &str = "patient-branch";
    /// Name.
    pub const NAME: &str = "patient-name";
    /// Identity code.
    pub const HETU: &str = "patient-hetu";
    /// Birth date.
    pub const BIRTH_DATE: &str = "patient-birth-date";
    /// Phone.
    pub const PHONE: &str = "patient-phone";
    /// Email.
    pub const EMAIL: &str = "patient-email";
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// Whether `s` is a real calendar date written `YYYY-MM-DD` (years 1800–2999).
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: core::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            (1800..=2999).contains(&y) && d >= 1 && d <= days_in_month(y, m)
        }
        _ => false,
    }
}

/// Whether `s` looks like an email address: something, `@`, a domain with a dot, no spaces.
/// (The server never sees it; this only catches typos.)
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !s.chars().any(char::is_whitespace)
        && !domain.contains('@')
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        && !domain.ends_with('.')
}

/// The details to seal, or the first thing to fix: its message and the field to move focus to.
/// With a valid HETU the birth date is the one it encodes (the date field shows it, read-only).
pub fn patient_details(form: &PatientForm) -> Result<PatientDetails, (Key, &'static str)> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err((Key::ErrPatientName, field::NAME));
    }
    let (hetu, birth_date) = match hetu_status(&form.hetu) {
        HetuStatus::Valid { hetu, born, .. } => (Some(hetu), Some(born)),
        HetuStatus::Empty => {
            let typed = form.birth_date.trim();
            if typed.is_empty() {
                (None, None)
            } else if is_date(typed) {
                (None, Some(typed.to_string()))
            } else {
                return Err((Key::ErrBirthDate, field::BIRTH_DATE));
            }
        }
        HetuStatus::Partial(_) | HetuStatus::Invalid(_) => {
            return Err((Key::ErrHetuFix, field::HETU));
        }
    };
    let email = form.email.trim();
    if !email.is_empty() && !looks_like_email(email) {
        return Err((Key::ErrEmailFormat, field::EMAIL));
    }
    let optional = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    Ok(PatientDetails {
        name: name.to_string(),
        hetu,
        birth_date,
        email: optional(email),
        phone: optional(&form.phone),
    })
}

/// A therapist who can join a care team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TherapistChoice {
    /// Their login (email): what `add_patient` and `care_team_add` take.
    pub login: String,
    /// Name and email, for people.
    pub label: String,
}

/// A branch the user may add patients to, with its therapists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchChoice {
    /// The branch's name.
    pub name: String,
    /// Its therapists, in Finnish alphabetical order.
    pub therapists: Vec<TherapistChoice>,
}

/// A member of staff, as far as the choices need them.
#[derive(Debug, Clone)]
pub struct StaffEntry {
    /// Login (email).
    pub login: String,
    /// Name and email.
    pub label: String,
    /// Their roles.
    pub roles: Vec<Role>,
    /// The branches they work in.
    pub branches: Vec<BranchId>,
}

/// The branches a user may register patients in — every branch for an admin (`mine` is
/// `None`), their own for front desk — each with the therapists who work there.
pub fn branch_choices(
    branches: &[(BranchId, String)],
    mine: Option<&[BranchId]>,
    staff: &[StaffEntry],
) -> Vec<BranchChoice> {
    branches
        .iter()
        .filter(|(id, _)| mine.is_none_or(|m| m.contains(id)))
        .map(|(id, name)| {
            let mut therapists: Vec<TherapistChoice> = staff
                .iter()
                .filter(|m| m.roles.contains(&Role::Therapist) && m.branches.contains(id))
                .map(|m| TherapistChoice {
                    login: m.login.clone(),
                    label: m.label.clone(),
                })
                .collect();
            therapists.sort_by(|a, b| finnish_cmp(&a.label, &b.label));
            BranchChoice {
                name: name.clone(),
                therapists,
            }
        })
        .collect()
}

/// The user's branch choices from a verified session (certified members only).
fn directory_choices(s: &Session<'_>) -> Result<Vec<BranchChoice>, ClientError> {
    let me = s.myself()?;
    let mine = (!me.has_role(Role::Admin)).then(|| me.certificate.branches.clone());
    let branches: Vec<(BranchId, String)> = s
        .manifest
        .branches
        .iter()
        .map(|b| (b.id, b.name.clone()))
        .collect();
    let staff: Vec<StaffEntry> = s
        .members
        .values()
        .filter(|m| m.has_role(Role::Therapist))
        .map(|m| StaffEntry {
            login: m.certificate.login.clone(),
            label: m.label(),
            roles: m.certificate.roles.clone(),
            branches: m.certificate.branches.clone(),
        })
        .collect();
    Ok(branch_choices(&branches, mine.as_deref(), &staff))
}

/// Whether this user may invite the patient of a chart whose care team is `care_team` (logins):
/// a therapist of the care team, or front desk or an admin (who only ever see the charts of
/// their own branches). A join the front desk starts waits for a clinician of the care team to
/// confirm it, since completing it hands the patient the shared notes.
pub fn may_invite_patient(user: &SignedIn, care_team: &[String]) -> bool {
    completes_own_invite(user, care_team)
        || user.has_role(Role::Frontdesk)
        || user.has_role(Role::Admin)
}

/// Whether this user's portal invites complete on their own device (a clinician of the care
/// team) rather than waiting for the care team's confirmation.
fn completes_own_invite(user: &SignedIn, care_team: &[String]) -> bool {
    user.has_role(Role::Therapist)
        && care_team
            .iter()
            .any(|l| l.eq_ignore_ascii_case(&user.me.account.login))
}

/// Moves keyboard focus to the element `id` (a field to fix, a result to read) once the screen
/// has been redrawn, so an element that a signal just brought in is already there.
pub fn focus_element(id: &str) {
    let id = id.to_string();
    request_animation_frame(move || {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&id))
            && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
        {
            let _ = el.focus();
        }
    });
}

/// Copies `text` to the clipboard; false when the browser refuses (or has no clipboard, as on
/// a page not served over HTTPS).
async fn copy_text(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    let has_clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .is_ok_and(|c| !c.is_undefined() && !c.is_null());
    if !has_clipboard {
        return false;
    }
    let promise = navigator.clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

// ---- Components ----

/// A new invite code, shown once: the code (selectable, copyable), how to hand it over, when it
/// expires. "Done" forgets it.
#[component]
pub fn InviteCodeBox(
    /// The code (`V1.…`).
    code: String,
    /// When it expires (seconds since the epoch).
    expires_at: i64,
    /// The `data-testid` of the code element (browser tests read the code from it).
    testid: &'static str,
    /// Called when the user is done with it.
    done: Callback<()>,
) -> impl IntoView {
    let ctx = use_ctx();
    let copied = RwSignal::new(None::<String>);
    let to_copy = StoredValue::new(code.clone());
    let copy = move |_| {
        let text = to_copy.get_value();
        leptos::task::spawn_local(async move {
            let key = if copy_text(&text).await {
                Key::Copied
            } else {
                Key::CopyFailed
            };
            copied.set(Some(ctx.t(key).to_string()));
        });
    };
    let box_id = format!("{testid}-box");
    view! {
        <div class="invite-code" id=box_id.clone() tabindex="-1" role="group" aria-labelledby=format!("{box_id}-what")>
            <p class="warning" id=format!("{box_id}-what")>{move || ctx.t(Key::InviteCreated)}</p>
            <p><code class="code" tabindex="0" data-testid=testid>{code}</code></p>
            <p class="help">{move || ctx.tf(Key::InviteExpires, &[&fmt_time(expires_at, ctx.lang.get())])}</p>
            <button type="button" on:click=copy>{move || ctx.t(Key::CopyCode)}</button>
            <button type="button" on:click=move |_| done.run(())>{move || ctx.t(Key::CodeHandedOver)}</button>
            <p class="muted" role="status">{move || copied.get()}</p>
        </div>
    }
}

/// "Invite to the portal" for one chart, then the code, once.
#[component]
pub fn PortalInvite(
    /// The patient's chart.
    chart: ChartId,
    /// Whether the patient already has a portal account (a new invite replaces it).
    #[prop(optional)]
    already: bool,
    /// Whether a clinician of the care team must confirm the patient's sign-up (an invite from
    /// the front desk).
    #[prop(optional)]
    needs_confirmation: bool,
) -> impl IntoView {
    let ctx = use_ctx();
    let code = RwSignal::new(None::<(String, i64)>);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let invite = move |_| {
        let Some(user) = ctx.signed_in() else { return };
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                invite_patient(s, chart, DEFAULT_INVITE_S).await
            })
            .await;
            busy.set(false);
            match result {
                Ok(created) => {
                    code.set(Some((created.code.to_printed(), created.expires_at)));
                    focus_element("invite-code-box");
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    view! {
        <div class="portal-invite">
            {already.then(|| view! { <p class="help">{move || ctx.t(Key::InviteReplaces)}</p> })}
            {needs_confirmation.then(|| view! { <p class="help">{move || ctx.t(Key::InviteConfirmedByTeam)}</p> })}
            <Notice message=error/>
            {move || match code.get() {
                None => view! {
                    <button type="button" on:click=invite disabled=move || busy.get()>
                        {move || if busy.get() { ctx.t(Key::CreatingInvite) } else { ctx.t(Key::InvitePatient) }}
                    </button>
                }
                    .into_any(),
                Some((c, expires_at)) => view! {
                    <InviteCodeBox
                        code=c
                        expires_at=expires_at
                        testid="invite-code"
                        done=Callback::new(move |()| code.set(None))
                    />
                }
                    .into_any(),
            }}
        </div>
    }
}

/// The portal part of a patient's card: the invite for a care-team therapist, otherwise who
/// can make it.
fn portal_section(ctx: Ctx, chart: ChartId, care_team: &[String], portal: bool) -> AnyView {
    let user = ctx.signed_in();
    let allowed = user
        .as_ref()
        .is_some_and(|u| may_invite_patient(u, care_team));
    let confirm = !user
        .as_ref()
        .is_some_and(|u| completes_own_invite(u, care_team));
    if allowed {
        view! { <PortalInvite chart=chart already=portal needs_confirmation=confirm/> }.into_any()
    } else {
        view! { <p class="help">{move || ctx.t(Key::InviteOnlyCareTeam)}</p> }.into_any()
    }
}

/// One patient's identity (never notes), with care-team assignment and the portal invite.
#[component]
fn IdentityCard(
    record: PatientRecord,
    /// The therapists of the patient's branch.
    therapists: Vec<TherapistChoice>,
    /// Opens the record again (after a change).
    reload: Callback<ChartId>,
    /// What a change did, shown by the screen (the card is redrawn when the record reloads).
    done: RwSignal<Option<String>>,
    close: Callback<()>,
) -> impl IntoView {
    let ctx = use_ctx();
    let chart = record.chart;
    let d = record.details.clone();
    let row = move |k: Key, v: Option<String>| {
        v.filter(|v| !v.is_empty())
            .map(|v| view! { <dt>{move || ctx.t(k)}</dt><dd>{v}</dd> })
    };
    let team = record.care_team.clone();
    let team_text = if team.is_empty() {
        None
    } else {
        Some(team.join(", "))
    };
    let candidates: Vec<TherapistChoice> = therapists
        .into_iter()
        .filter(|t| !team.iter().any(|l| l.eq_ignore_ascii_case(&t.login)))
        .collect();
    let chosen = RwSignal::new(
        candidates
            .first()
            .map(|t| t.login.clone())
            .unwrap_or_default(),
    );
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let assign = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(user) = ctx.signed_in() else { return };
        let who = chosen.get_untracked();
        if who.is_empty() {
            error.set(Some(ctx.t(Key::ErrRequired).into()));
            focus_element("assign-therapist");
            return;
        }
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result =
                with_session(user, None, async |s| care_team_add(s, chart, &who).await).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    done.set(Some(ctx.t(Key::TherapistAdded).into()));
                    reload.run(chart);
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    let assign_form = (!candidates.is_empty()).then(|| {
        view! {
            <form class="inline" on:submit=assign>
                <label for="assign-therapist">{move || ctx.t(Key::AssignTherapist)}</label>
                <select id="assign-therapist" on:change=move |ev| chosen.set(event_target_value(&ev))>
                    {candidates
                        .into_iter()
                        .map(|t| view! { <option value=t.login.clone()>{t.label}</option> })
                        .collect_view()}
                </select>
                <button type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { ctx.t(Key::Working) } else { ctx.t(Key::AddToCareTeam) }}
                </button>
            </form>
        }
    });
    let name = d.name.clone();
    let portal = record.portal;
    view! {
        <section class="card" id="identity-card" data-testid="identity-card" tabindex="-1" aria-labelledby="identity-card-title">
            <h2 id="identity-card-title">{move || ctx.tf(Key::IdentityOf, &[&name])}</h2>
            <dl>
                {row(Key::Name, Some(d.name.clone()))}
                {row(Key::Hetu, d.hetu.clone())}
                {row(Key::BirthDate, d.birth_date.clone())}
                {row(Key::Phone, d.phone.clone())}
                {row(Key::Email, d.email.clone())}
                {row(Key::Branch, Some(record.branch.clone()))}
                <dt>{move || ctx.t(Key::CareTeam)}</dt>
                <dd>{move || team_text.clone().unwrap_or_else(|| ctx.t(Key::NoCareTeam).to_string())}</dd>
                <dt>{move || ctx.t(Key::PortalAccount)}</dt>
                <dd>{move || if portal { ctx.t(Key::PortalInUse) } else { ctx.t(Key::PortalNotYet) }}</dd>
            </dl>
            {assign_form}
            <Notice message=error/>
            {portal_section(ctx, chart, &record.care_team, record.portal)}
            <p>
                <button type="button" class="quiet" on:click=move |_| close.run(())>{move || ctx.t(Key::Close)}</button>
            </p>
        </section>
    }
}

/// The patient directory for front desk and admins: filter, show identity, assign a therapist,
/// invite to the portal. Never a way to notes.
#[component]
pub fn Patients() -> impl IntoView {
    let ctx = use_ctx();
    let patients = RwSignal::new(None::<Vec<PatientSummary>>);
    let choices = RwSignal::new(Vec::<BranchChoice>::new());
    let filter = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let selected = RwSignal::new(None::<PatientRecord>);
    let opening = RwSignal::new(false);
    let done = RwSignal::new(None::<String>);

    let load = move || {
        let Some(user) = ctx.signed_in() else { return };
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                let list = list_patients(s, None).await?;
                // The choices only serve "assign a therapist": without them the list still works.
                Ok((list, directory_choices(s).unwrap_or_default()))
            })
            .await;
            match result {
                Ok((list, c)) => {
                    patients.set(Some(list));
                    choices.set(c);
                }
                Err(e) => {
                    patients.set(Some(Vec::new()));
                    error.set(Some(ctx.error_text(&e)));
                }
            }
        });
    };
    load();

    let open_identity = move |chart: ChartId| {
        let Some(user) = ctx.signed_in() else { return };
        error.set(None);
        opening.set(true);
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| show_patient(s, chart).await).await;
            opening.set(false);
            match result {
                Ok(record) => {
                    selected.set(Some(record));
                    focus_element("identity-card");
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    let show = Callback::new(move |p: PatientSummary| {
        done.set(None);
        open_identity(p.chart);
    });
    let reload = Callback::new(move |chart: ChartId| open_identity(chart));
    let close = Callback::new(move |()| {
        selected.set(None);
        done.set(None);
        focus_element("patient-filter");
    });

    let user = ctx.signed_in();
    let frontdesk_only = user.as_ref().is_some_and(|u| !u.has_role(Role::Therapist));
    let may_add = user
        .as_ref()
        .is_some_and(|u| u.has_role(Role::Frontdesk) || u.has_role(Role::Admin));

    view! {
        <section aria-labelledby="patients-title">
            <h1 id="patients-title">{move || ctx.t(Key::Patients)}</h1>
            <p class="help">{move || ctx.t(Key::PatientsHelp)}</p>
            {frontdesk_only.then(|| view! { <p class="help">{move || ctx.t(Key::NoNoteAccess)}</p> })}
            {may_add.then(|| view! {
                <p>
                    <button type="button" on:click=move |_| ctx.go(Screen::AddPatient)>{move || ctx.t(Key::AddPatient)}</button>
                </p>
            })}
            <Notice message=error/>
            <Notice message=done kind="ok"/>
            <Show when=move || opening.get()>
                <p class="muted" role="status">{move || ctx.t(Key::OpeningIdentity)}</p>
            </Show>
            {move || selected.get().map(|record| {
                let therapists = choices.with(|c| {
                    c.iter()
                        .find(|b| b.name == record.branch)
                        .map(|b| b.therapists.clone())
                        .unwrap_or_default()
                });
                view! { <IdentityCard record=record therapists=therapists reload=reload done=done close=close/> }
            })}
            <h2 class="sr-only">{move || ctx.t(Key::FindPatients)}</h2>
            <PatientList patients=patients filter=filter action=Key::ShowIdentity open=show/>
        </section>
    }
}

/// What was added, to show after saving.
#[derive(Debug, Clone)]
struct Added {
    chart: ChartId,
    details: PatientDetails,
    branch: String,
    team: Vec<String>,
}

/// Add a patient: branch, name, identity code checked as it is typed, birth date (from the code
/// when there is one), contacts, and the care team.
#[component]
pub fn AddPatient() -> impl IntoView {
    let ctx = use_ctx();
    let choices = RwSignal::new(None::<Vec<BranchChoice>>);
    let branch = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let hetu = RwSignal::new(String::new());
    let birth = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let team = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let added = RwSignal::new(None::<Added>);

    if let Some(user) = ctx.signed_in() {
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| directory_choices(s)).await {
                Ok(list) => {
                    if let Some(first) = list.first() {
                        branch.set(first.name.clone());
                    } else {
                        error.set(Some(ctx.t(Key::ErrNoBranch).into()));
                    }
                    choices.set(Some(list));
                }
                Err(e) => {
                    choices.set(Some(Vec::new()));
                    error.set(Some(ctx.error_text(&e)));
                }
            }
        });
    }

    let status = Memo::new(move |_| hetu.with(|h| hetu_status(h)));
    // The help is a live region: it changes (and is read out) only when the code turns valid
    // or a mistake appears, not on every key press.
    let hetu_help = move || match status.get() {
        HetuStatus::Empty | HetuStatus::Partial(_) => ctx.t(Key::HetuHelp).to_string(),
        HetuStatus::Valid {
            born, temporary, ..
        } => {
            let key = if temporary {
                Key::HetuTemporary
            } else {
                Key::HetuValid
            };
            ctx.tf(key, &[&born])
        }
        HetuStatus::Invalid(e) => ctx.t(hetu_error_key(e)).to_string(),
    };
    let hetu_class = move || match status.get() {
        HetuStatus::Valid { .. } => "help ok",
        HetuStatus::Invalid(_) => "help error",
        _ => "help",
    };
    let born_from_hetu = move || match status.get() {
        HetuStatus::Valid { born, .. } => Some(born),
        _ => None,
    };

    let therapists = move || {
        let b = branch.get();
        choices.with(|c| {
            c.as_ref()
                .and_then(|c| c.iter().find(|x| x.name == b))
                .map(|x| x.therapists.clone())
                .unwrap_or_default()
        })
    };

    let reset = move || {
        for s in [name, hetu, birth, phone, email] {
            s.set(String::new());
        }
        team.set(Vec::new());
        error.set(None);
        added.set(None);
        focus_element(field::NAME);
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let form = PatientForm {
            name: name.get_untracked(),
            hetu: hetu.get_untracked(),
            birth_date: birth.get_untracked(),
            phone: phone.get_untracked(),
            email: email.get_untracked(),
        };
        let details = match patient_details(&form) {
            Ok(d) => d,
            Err((key, field_id)) => {
                error.set(Some(ctx.t(key).into()));
                focus_element(field_id);
                return;
            }
        };
        let b = branch.get_untracked();
        if b.is_empty() {
            error.set(Some(ctx.t(Key::ErrNoBranch).into()));
            focus_element(field::BRANCH);
            return;
        }
        let therapists = team.get_untracked();
        let Some(user) = ctx.signed_in() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let shown = details.clone();
            let result = with_session(user, None, async |s| {
                add_patient(s, &b, details, &therapists).await
            })
            .await;
            busy.set(false);
            match result {
                Ok(chart) => {
                    added.set(Some(Added {
                        chart,
                        details: shown,
                        branch: b,
                        team: therapists,
                    }));
                    focus_element("patient-added");
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };

    let form = move || {
        view! {
            <form on:submit=submit novalidate=true>
                <div class="field">
                    <label for=field::BRANCH>{move || ctx.t(Key::Branch)}</label>
                    <select
                        id=field::BRANCH
                        on:change=move |ev| {
                            branch.set(event_target_value(&ev));
                            team.set(Vec::new());
                        }
                    >
                        {move || {
                            choices
                                .get()
                                .unwrap_or_default()
                                .into_iter()
                                .map(|c| {
                                    let (n, value) = (c.name.clone(), c.name.clone());
                                    view! { <option value=value selected=move || branch.get() == n>{c.name}</option> }
                                })
                                .collect_view()
                        }}
                    </select>
                </div>
                <div class="field">
                    <label for=field::NAME>{move || ctx.t(Key::Name)}</label>
                    <input id=field::NAME autocomplete="off" required=true bind:value=name/>
                </div>
                <div class="field">
                    <label for=field::HETU>{move || ctx.t(Key::Hetu)}</label>
                    <input
                        id=field::HETU
                        autocomplete="off"
                        spellcheck="false"
                        maxlength="14"
                        aria-describedby="patient-hetu-help"
                        aria-invalid=move || matches!(status.get(), HetuStatus::Invalid(_)).then_some("true")
                        bind:value=hetu
                    />
                    <p class=hetu_class id="patient-hetu-help" data-testid="hetu-status" aria-live="polite">{hetu_help}</p>
                </div>
                <div class="field">
                    <label for=field::BIRTH_DATE>{move || ctx.t(Key::BirthDate)}</label>
                    <input
                        id=field::BIRTH_DATE
                        type="date"
                        aria-describedby="patient-birth-date-help"
                        readonly=move || born_from_hetu().is_some()
                        prop:value=move || born_from_hetu().unwrap_or_else(|| birth.get())
                        on:input=move |ev| {
                            if !matches!(status.get_untracked(), HetuStatus::Valid { .. }) {
                                birth.set(event_target_value(&ev));
                            }
                        }
                    />
                    <p class="help" id="patient-birth-date-help">
                        {move || if born_from_hetu().is_some() { ctx.t(Key::BirthDateFromHetu) } else { ctx.t(Key::BirthDateHelp) }}
                    </p>
                </div>
                <div class="field">
                    <label for=field::PHONE>{move || format!("{} {}", ctx.t(Key::Phone), ctx.t(Key::Optional))}</label>
                    <input id=field::PHONE type="tel" autocomplete="off" bind:value=phone/>
                </div>
                <div class="field">
                    <label for=field::EMAIL>{move || format!("{} {}", ctx.t(Key::Email), ctx.t(Key::Optional))}</label>
                    <input id=field::EMAIL type="email" autocomplete="off" bind:value=email/>
                </div>
                <fieldset class="choices">
                    <legend>{move || ctx.t(Key::CareTeam)}</legend>
                    <p class="help">{move || ctx.t(Key::CareTeamHelp)}</p>
                    {move || {
                        let list = therapists();
                        if list.is_empty() {
                            return view! { <p class="help">{ctx.t(Key::NoTherapistsInBranch)}</p> }.into_any();
                        }
                        list.into_iter()
                            .enumerate()
                            .map(|(i, t)| {
                                let id = format!("patient-therapist-{i}");
                                let login = t.login.clone();
                                let login2 = t.login.clone();
                                view! {
                                    <div class="check">
                                        <input
                                            type="checkbox"
                                            id=id.clone()
                                            prop:checked=move || team.with(|v| v.contains(&login))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                team.update(|v| {
                                                    v.retain(|x| x != &login2);
                                                    if on {
                                                        v.push(login2.clone());
                                                    }
                                                });
                                            }
                                        />
                                        <label for=id>{t.label}</label>
                                    </div>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }}
                </fieldset>
                <Notice message=error/>
                <button type="submit" class="primary" disabled=move || busy.get() || choices.with(Option::is_none)>
                    {move || if busy.get() { ctx.t(Key::AddingPatient) } else { ctx.t(Key::SavePatient) }}
                </button>
            </form>
        }
    };

    let result = move |a: Added| {
        let row = move |k: Key, v: Option<String>| {
            v.filter(|v| !v.is_empty())
                .map(|v| view! { <dt>{move || ctx.t(k)}</dt><dd>{v}</dd> })
        };
        let team_text = (!a.team.is_empty()).then(|| a.team.join(", "));
        view! {
            <section class="card" id="patient-added" data-testid="patient-added" tabindex="-1" aria-labelledby="patient-added-title">
                <h2 id="patient-added-title" class="ok">{move || ctx.t(Key::PatientAdded)}</h2>
                <dl>
                    {row(Key::Name, Some(a.details.name.clone()))}
                    {row(Key::Hetu, a.details.hetu.clone())}
                    {row(Key::BirthDate, a.details.birth_date.clone())}
                    {row(Key::Phone, a.details.phone.clone())}
                    {row(Key::Email, a.details.email.clone())}
                    {row(Key::Branch, Some(a.branch.clone()))}
                    <dt>{move || ctx.t(Key::CareTeam)}</dt>
                    <dd>{move || team_text.clone().unwrap_or_else(|| ctx.t(Key::NoCareTeam).to_string())}</dd>
                </dl>
                {portal_section(ctx, a.chart, &a.team, false)}
                <p class="actions">
                    <button type="button" on:click=move |_| reset()>{move || ctx.t(Key::AddAnother)}</button>
                    <button type="button" on:click=move |_| ctx.go(Screen::Patients)>{move || ctx.t(Key::ToPatientList)}</button>
                </p>
            </section>
        }
    };

    view! {
        <section class="narrow-form" aria-labelledby="add-patient-title">
            <h1 id="add-patient-title">{move || ctx.t(Key::AddPatient)}</h1>
            <p class="help">{move || ctx.t(Key::NoNoteAccess)}</p>
            {move || match added.get() {
                Some(a) => result(a).into_any(),
                None => form().into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// A valid HETU built independently of `Hetu::parse` (the published check rule).
    fn make(day: u32, month: u32, year: u32, sign: char, individual: u32) -> String {
        let yy = year % 100;
        let n = (day * 10_000 + month * 100 + yy) * 1000 + individual;
        let check = "0123456789ABCDEFHJKLMNPRSTUVWXY"
            .chars()
            .nth((n % 31) as usize)
            .unwrap();
        format!("{day:02}{month:02}{yy:02}{sign}{individual:03}{check}")
    }

    #[test]
    fn a_valid_code_shows_its_birth_date_as_typed() {
        assert_eq!(
            hetu_status(" 131052-308t "),
            HetuStatus::Valid {
                hetu: "131052-308T".into(),
                born: "1952-10-13".into(),
                temporary: false
            }
        );
        let temp = make(1, 1, 2024, 'B', 901);
        assert_eq!(
            hetu_status(&temp),
            HetuStatus::Valid {
                hetu: temp.clone(),
                born: "2024-01-01".into(),
                temporary: true
            }
        );
    }

    #[test]
    fn every_prefix_of_a_valid_code_is_partial_not_an_error() {
        assert_eq!(hetu_status(""), HetuStatus::Empty);
        assert_eq!(hetu_status("   "), HetuStatus::Empty);
        let codes = [
            "131052-308T".to_string(),
            make(29, 2, 2000, 'A', 123),
            make(31, 12, 1899, '+', 2),
            make(1, 1, 2024, 'b', 999),
        ];
        for code in &codes {
            for n in 1..HETU_LEN {
                assert_eq!(
                    hetu_status(&code[..n]),
                    HetuStatus::Partial(n),
                    "{}",
                    &code[..n]
                );
            }
        }
    }

    #[test]
    fn mistakes_show_as_soon_as_they_are_typed() {
        assert_eq!(hetu_status("13a"), HetuStatus::Invalid(HetuError::Shape));
        assert_eq!(
            hetu_status("131052G"),
            HetuStatus::Invalid(HetuError::CenturySign)
        );
        assert_eq!(
            hetu_status("131052ä"),
            HetuStatus::Invalid(HetuError::CenturySign)
        );
        // 30 February, and 29 February 1900 (not a leap year), are known once the sign is typed.
        assert_eq!(hetu_status("300290-"), HetuStatus::Invalid(HetuError::Date));
        assert_eq!(
            hetu_status("290200-1"),
            HetuStatus::Invalid(HetuError::Date)
        );
        assert_eq!(
            hetu_status("290200A1"),
            HetuStatus::Partial(8),
            "2000 was a leap year"
        );
        assert_eq!(hetu_status("010190-00"), HetuStatus::Partial(9));
        assert_eq!(
            hetu_status("010190-001"),
            HetuStatus::Invalid(HetuError::IndividualNumber)
        );
        assert_eq!(
            hetu_status("131052-308U"),
            HetuStatus::Invalid(HetuError::Checksum)
        );
        assert_eq!(
            hetu_status("131052-308TT"),
            HetuStatus::Invalid(HetuError::Shape)
        );
        assert_eq!(
            hetu_status("ääääää-ääää"),
            HetuStatus::Invalid(HetuError::Shape)
        );
    }

    #[test]
    fn every_century_sign_is_accepted_in_either_case() {
        for c in "+-YXWVUABCDEFyxwvuabcdef".chars() {
            assert!(is_century_sign(c), "{c}");
        }
        for c in "GZ0*é ".chars() {
            assert!(!is_century_sign(c), "{c:?}");
        }
    }

    #[test]
    fn every_hetu_error_has_its_own_message() {
        let keys: std::collections::HashSet<Key> = [
            HetuError::Shape,
            HetuError::CenturySign,
            HetuError::Date,
            HetuError::IndividualNumber,
            HetuError::Checksum,
        ]
        .into_iter()
        .map(hetu_error_key)
        .collect();
        assert_eq!(keys.len(), 5);
    }

    fn form(name: &str, hetu: &str, birth: &str) -> PatientForm {
        PatientForm {
            name: name.into(),
            hetu: hetu.into(),
            birth_date: birth.into(),
            ..PatientForm::default()
        }
    }

    #[test]
    fn the_form_takes_the_birth_date_from_a_valid_code() {
        // A different date typed before the code was entered is ignored: the code decides.
        let d =
            patient_details(&form("  Maija Meikäläinen ", "131052-308t", "1999-01-01")).unwrap();
        assert_eq!(d.name, "Maija Meikäläinen");
        assert_eq!(d.hetu.as_deref(), Some("131052-308T"));
        assert_eq!(d.birth_date.as_deref(), Some("1952-10-13"));
        assert_eq!((d.phone, d.email), (None, None));
        // What the form makes passes the library's own check unchanged.
        let d = patient_details(&form("Maija", "131052-308T", "")).unwrap();
        assert_eq!(vaiti_client::chart::check_details(d.clone()).unwrap(), d);
    }

    #[test]
    fn the_form_says_which_field_to_fix() {
        assert_eq!(
            patient_details(&form(" ", "", "")).unwrap_err(),
            (Key::ErrPatientName, field::NAME)
        );
        assert_eq!(
            patient_details(&form(&"x".repeat(201), "", ""))
                .unwrap_err()
                .1,
            field::NAME
        );
        assert_eq!(
            patient_details(&form("A", "131052-30", "")).unwrap_err(),
            (Key::ErrHetuFix, field::HETU)
        );
        assert_eq!(
            patient_details(&form("A", "131052-308U", ""))
                .unwrap_err()
                .1,
            field::HETU
        );
        assert_eq!(
            patient_details(&form("A", "", "1980-02-30")).unwrap_err(),
            (Key::ErrBirthDate, field::BIRTH_DATE)
        );
        let mut f = form("A", "", "1980-04-23");
        f.email = "maija at example.fi".into();
        assert_eq!(
            patient_details(&f).unwrap_err(),
            (Key::ErrEmailFormat, field::EMAIL)
        );
        f.email = " maija@example.fi ".into();
        f.phone = " 040 123 4567 ".into();
        let d = patient_details(&f).unwrap();
        assert_eq!(d.birth_date.as_deref(), Some("1980-04-23"));
        assert_eq!(d.email.as_deref(), Some("maija@example.fi"));
        assert_eq!(d.phone.as_deref(), Some("040 123 4567"));
        assert_eq!(d.hetu, None);
        // Neither a code nor a date: allowed (the patient may not know or have one).
        assert_eq!(
            patient_details(&form("A", "", "")).unwrap().birth_date,
            None
        );
    }

    #[test]
    fn dates_and_emails() {
        assert!(is_date("2000-02-29"));
        assert!(!is_date("1900-02-29"));
        for bad in [
            "",
            "1980-4-23",
            "1980/04/23",
            "19800423xx",
            "1980-13-01",
            "1980-00-10",
            "0980-01-01",
            "1980-01-+1",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
        assert!(looks_like_email("a@b.fi"));
        for bad in [
            "a@b", "@b.fi", "a@@b.fi", "a b@c.fi", "a@b.", "a@.fi", "ab.fi",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }

    #[test]
    fn branch_choices_follow_the_user_and_list_only_that_branchs_therapists() {
        let (h, t) = (BranchId::from_bytes([1; 16]), BranchId::from_bytes([2; 16]));
        let branches = vec![(h, "Helsinki".to_string()), (t, "Tampere".to_string())];
        let staff = |login: &str, roles: &[Role], branches: &[BranchId]| StaffEntry {
            login: login.into(),
            label: login.into(),
            roles: roles.to_vec(),
            branches: branches.to_vec(),
        };
        let members = vec![
            staff("öhman@x.fi", &[Role::Therapist], &[h]),
            staff("aalto@x.fi", &[Role::Therapist, Role::Frontdesk], &[h, t]),
            staff("desk@x.fi", &[Role::Frontdesk], &[h]),
            staff("tampere@x.fi", &[Role::Therapist], &[t]),
        ];
        // Front desk of Helsinki: only Helsinki, its therapists in Finnish order.
        let mine = branch_choices(&branches, Some(&[h]), &members);
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].name, "Helsinki");
        let logins: Vec<&str> = mine[0]
            .therapists
            .iter()
            .map(|t| t.login.as_str())
            .collect();
        assert_eq!(logins, ["aalto@x.fi", "öhman@x.fi"]);
        // An admin: every branch.
        let all = branch_choices(&branches, None, &members);
        assert_eq!(all.len(), 2);
        let logins: Vec<&str> = all[1].therapists.iter().map(|t| t.login.as_str()).collect();
        assert_eq!(logins, ["aalto@x.fi", "tampere@x.fi"]);
        // No branch of one's own: nothing to choose.
        assert!(branch_choices(&branches, Some(&[]), &members).is_empty());
    }
}
