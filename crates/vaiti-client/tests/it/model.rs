//! A stateful model test: random sequences of clinic operations by random actors, run against a
//! fresh clinic on the real server (SQLite, in process), each step checked against a small model
//! of who may read and do what.
//!
//! The suites elsewhere walk flows in one fixed order; the defects that order hides (a portal
//! patient once made every later staff join fail) are found here. Each case founds a clinic with
//! one admin and one branch, then applies a sequence of [`Op`]s: invite and sign up staff and
//! patients, sync (which completes joins), confirm portal joins, add patients, add and remove
//! care-team members, write and amend notes, revoke accounts, change passwords, add branches.
//! Operations pick their actor among those the model says may do it, so sequences make progress;
//! a trespass operation has an actor the model says may *not* write a note try. After every
//! step, every signed-up account's device opens the clinic directory, and:
//! - front desk and admins list each of their branches' patients: exactly the model's;
//! - everyone lists every chart's notes: a clinician of the care team holding the keys, and the
//!   chart's certified patient (shared tier), read exactly the model's notes and texts; everyone
//!   else reads nothing.
//!
//! At the end of a case every certified member of staff syncs (the admin first), and the checks
//! run once more.
//!
//! The rules are written one function per "may X" on [`Model`], and the way case keys travel
//! (who holds which epoch) in [`Model::opened_by_clinician`] and the operations' `apply_*`
//! functions, so a changed rule is a change in one place.
//!
//! Runs with a few cases in `cargo test` (and so in `cargo xtask test`); more with
//! `VAITI_MODEL_CASES=N` or `cargo xtask model N`. `VAITI_MODEL_OPS` sets the longest sequence.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use vaiti_client::ClientError;
use vaiti_client::account::{NewClinic, Unlocked, change_password, create_clinic, login};
use vaiti_client::api::Api;
use vaiti_client::chart::{
    PatientDetails, add_note, add_patient, amend_note, care_team_add, care_team_remove, list_notes,
    list_patients,
};
use vaiti_client::invite::{
    DEFAULT_INVITE_S, InviteCode, NewMember, complete_invites, confirm_join, invite_patient,
    invite_staff, pending_joins, revoke_invite, signup,
};
use vaiti_client::session::Session;
use vaiti_core::{ChartId, InviteId, ObjectId, Role};
use vaiti_crypto::{ClinicId, SecretKey, Tier};

use crate::support::{TOKEN, now, random_name, start_server};

/// Cases per run unless `VAITI_MODEL_CASES` says otherwise: small enough for CI.
const DEFAULT_CASES: u32 = 3;
/// The longest operation sequence unless `VAITI_MODEL_OPS` says otherwise.
const DEFAULT_OPS: usize = 14;
const ADMIN_EMAIL: &str = "admin@malli.example";

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

// ---------------------------------------------------------------------------------------------
// Operations.
// ---------------------------------------------------------------------------------------------

/// One step. The `u8`s pick among the candidates the model offers at that point (modulo their
/// number); a step with no candidate does nothing.
#[derive(Clone, Debug)]
enum Op {
    /// The admin invites a member of staff: a therapist, front desk, or both, to a branch.
    InviteStaff { role: u8, branch: u8 },
    /// Someone invited signs up on their own device and logs in.
    SignUp { who: u8 },
    /// A certified member of staff syncs (completes the joins they are waiting to complete).
    Sync { who: u8 },
    /// Front desk or an admin adds a patient, with a therapist in the care team or none.
    AddPatient { who: u8, therapist: u8 },
    /// Someone who may invites a chart's patient to the portal.
    InvitePatient { who: u8, chart: u8 },
    /// A clinician confirms a portal join someone else started.
    Confirm { who: u8 },
    /// Someone who may adds a therapist to a chart's care team.
    CareTeamAdd { who: u8, chart: u8, therapist: u8 },
    /// A clinician of a care team removes a member (perhaps themselves).
    CareTeamRemove { who: u8, chart: u8, member: u8 },
    /// A clinician of a care team writes a note.
    WriteNote { who: u8, chart: u8, shared: bool },
    /// A clinician of a care team amends a note.
    AmendNote { who: u8, note: u8 },
    /// Someone who may not write a note of a chart tries.
    Trespass { who: u8, chart: u8 },
    /// An account is revoked by whoever invited it.
    Revoke { who: u8 },
    /// Someone changes their password and logs in again.
    ChangePassword { who: u8 },
    /// The admin adds a branch.
    CreateBranch,
}

fn op() -> impl Strategy<Value = Op> {
    let b = any::<u8>;
    prop_oneof![
        3 => (b(), b()).prop_map(|(role, branch)| Op::InviteStaff { role, branch }),
        4 => b().prop_map(|who| Op::SignUp { who }),
        3 => b().prop_map(|who| Op::Sync { who }),
        2 => (b(), b()).prop_map(|(who, therapist)| Op::AddPatient { who, therapist }),
        2 => (b(), b()).prop_map(|(who, chart)| Op::InvitePatient { who, chart }),
        2 => b().prop_map(|who| Op::Confirm { who }),
        2 => (b(), b(), b()).prop_map(|(who, chart, therapist)| Op::CareTeamAdd { who, chart, therapist }),
        1 => (b(), b(), b()).prop_map(|(who, chart, member)| Op::CareTeamRemove { who, chart, member }),
        3 => (b(), b(), any::<bool>()).prop_map(|(who, chart, shared)| Op::WriteNote { who, chart, shared }),
        1 => (b(), b()).prop_map(|(who, note)| Op::AmendNote { who, note }),
        1 => (b(), b()).prop_map(|(who, chart)| Op::Trespass { who, chart }),
        1 => b().prop_map(|who| Op::Revoke { who }),
        1 => b().prop_map(|who| Op::ChangePassword { who }),
        1 => Just(Op::CreateBranch),
    ]
}

// ---------------------------------------------------------------------------------------------
// The model.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Invited, not signed up.
    Invited,
    /// Signed up (an active account), not certified yet.
    Bound,
    Certified,
    Revoked,
}

#[derive(Clone, Debug)]
enum Kind {
    Staff {
        roles: Vec<Role>,
        branches: Vec<usize>,
    },
    Patient {
        chart: usize,
    },
}

/// An account (or an invite that will make one).
#[derive(Debug)]
struct Actor {
    kind: Kind,
    /// The staff email (the patient's handle once signed up).
    login: String,
    status: Status,
    invite: InviteId,
    /// Who made the invite (an index into the actors).
    inviter: usize,
    code: Option<InviteCode>,
    secret_key: Option<SecretKey>,
    password: String,
    device: Option<Device>,
}

#[derive(Debug)]
struct Device {
    api: Api,
    me: Unlocked,
}

#[derive(Debug)]
struct ChartModel {
    id: ChartId,
    branch: usize,
    /// The care team, in the order the chart states list it.
    team: Vec<usize>,
    epoch: u32,
    patient: Option<usize>,
    /// Epochs whose case keys exist.
    keys_made: BTreeSet<u32>,
    /// Which epochs' case keys each actor holds (a patient: the shared tier's).
    holds: HashMap<usize, BTreeSet<u32>>,
    /// Everyone who was ever in the care team.
    ever_in: BTreeSet<usize>,
    /// How each member of the team joined it last (`custody::history_sharing`'s facts).
    joined: HashMap<usize, Joined>,
}

/// How a member joined the care team.
#[derive(Clone, Copy, Debug)]
struct Joined {
    /// The epoch of the state that added them.
    epoch: u32,
    /// In the first state, or added by a clinician of the team and never in it before: every
    /// epoch reaches them unasked.
    trusted: bool,
    /// The state that added them started its epoch (a clinician re-adding them).
    started: bool,
}

#[derive(Debug)]
struct NoteModel {
    id: ObjectId,
    chart: usize,
    shared: bool,
    /// The epoch of each version.
    epochs: Vec<u32>,
    /// The current text.
    text: String,
    /// Who was a reader when a version was written: the certified clinicians of the care team
    /// and, for a shared note, the certified patient.
    readers_at_write: BTreeSet<usize>,
}

struct Model {
    url: String,
    clinic: ClinicId,
    branches: Vec<String>,
    actors: Vec<Actor>,
    charts: Vec<ChartModel>,
    notes: Vec<NoteModel>,
    serial: usize,
}

const ADMIN: usize = 0;

impl Model {
    fn active(&self, a: usize) -> bool {
        matches!(self.actors[a].status, Status::Bound | Status::Certified)
    }

    fn certified(&self, a: usize) -> bool {
        self.actors[a].status == Status::Certified
    }

    fn has_role(&self, a: usize, role: Role) -> bool {
        matches!(&self.actors[a].kind, Kind::Staff { roles, .. } if roles.contains(&role))
    }

    fn of_branch(&self, a: usize, branch: usize) -> bool {
        matches!(&self.actors[a].kind, Kind::Staff { branches, .. } if branches.contains(&branch))
    }

    fn in_team(&self, a: usize, c: usize) -> bool {
        self.charts[c].team.contains(&a)
    }

    fn holds(&self, a: usize, c: usize) -> BTreeSet<u32> {
        self.charts[c].holds.get(&a).cloned().unwrap_or_default()
    }

    fn next_name(&mut self, what: &str) -> String {
        self.serial += 1;
        format!("{what}{}", self.serial)
    }

    // --- Who may do what: one function per rule. ---------------------------------------------

    /// Inviting staff: an admin holding the clinic root key (the founding admin).
    fn may_invite_staff(&self, a: usize) -> bool {
        a == ADMIN
    }

    /// Adding a patient to a branch: front desk of the branch, or an admin.
    fn may_add_patient(&self, a: usize, branch: usize) -> bool {
        self.certified(a)
            && (self.has_role(a, Role::Admin)
                || (self.has_role(a, Role::Frontdesk) && self.of_branch(a, branch)))
    }

    /// Being a care-team member: a certified, unrevoked therapist.
    fn may_join_team(&self, a: usize) -> bool {
        self.certified(a) && self.has_role(a, Role::Therapist)
    }

    /// Acting as a clinician of a chart: a certified therapist in its care team.
    fn may_act_as_clinician(&self, a: usize, c: usize) -> bool {
        self.may_join_team(a) && self.in_team(a, c)
    }

    /// Inviting a chart's patient to the portal: a clinician of the care team, or front desk of
    /// the chart's branch, or an admin.
    fn may_invite_patient(&self, a: usize, c: usize) -> bool {
        self.may_act_as_clinician(a, c) || self.may_add_patient(a, self.charts[c].branch)
    }

    /// Adding to a care team: a clinician of it, front desk of the branch or an admin.
    fn may_add_to_team(&self, a: usize, c: usize) -> bool {
        self.may_act_as_clinician(a, c) || self.may_add_patient(a, self.charts[c].branch)
    }

    /// Removing from a care team: a clinician of it.
    fn may_remove_from_team(&self, a: usize, c: usize) -> bool {
        self.may_act_as_clinician(a, c)
    }

    /// Writing a note: a clinician of the care team holding the current epoch's keys.
    fn may_write(&self, a: usize, c: usize) -> bool {
        self.may_act_as_clinician(a, c) && self.holds(a, c).contains(&self.charts[c].epoch)
    }

    /// The notes of chart `c` that `a` may read; `None` for "none, and listing may fail".
    ///
    /// A clinician of the care team reads every note once they hold the keys of every epoch
    /// the chart's notes were written under; the chart's certified patient reads the shared
    /// notes likewise; nobody else reads any note (front desk and admins included, and a
    /// clinician removed from the team).
    fn may_read(&self, a: usize, c: usize) -> Option<Vec<usize>> {
        let patient = self.charts[c].patient == Some(a) && self.certified(a);
        if !self.may_act_as_clinician(a, c) && !patient {
            return None;
        }
        let notes: Vec<usize> = (0..self.notes.len())
            .filter(|&n| self.notes[n].chart == c && (!patient || self.notes[n].shared))
            .collect();
        let holds = self.holds(a, c);
        // Listing opens every version of every note: one missing key and the whole listing
        // fails (today's client; a reader then sees none of the chart's notes).
        let all = notes
            .iter()
            .all(|&n| self.notes[n].epochs.iter().all(|e| holds.contains(e)));
        if all { Some(notes) } else { None }
    }

    /// The notes of chart `c` that `a` must read whatever the keys' travels: those written while
    /// they were a reader of the chart (a certified clinician of its care team, or its certified
    /// patient for the shared ones), when they still are.
    fn must_read(&self, a: usize, c: usize) -> Vec<usize> {
        let patient = self.charts[c].patient == Some(a) && self.certified(a);
        if !self.may_act_as_clinician(a, c) && !patient {
            return Vec::new();
        }
        (0..self.notes.len())
            .filter(|&n| self.notes[n].chart == c && self.notes[n].readers_at_write.contains(&a))
            .collect()
    }

    /// Who reads a note written in chart `c` now: the certified clinicians of the care team
    /// and, for a shared note, the certified patient.
    fn readers_now(&self, c: usize, shared: bool) -> BTreeSet<usize> {
        let mut out: BTreeSet<usize> = self.charts[c]
            .team
            .iter()
            .copied()
            .filter(|&m| self.may_join_team(m))
            .collect();
        if shared
            && let Some(p) = self.charts[c].patient
            && self.certified(p)
        {
            out.insert(p);
        }
        out
    }

    /// Whether `a`'s listing of chart `c` must succeed (when the model gives them notes).
    fn must_list(&self, a: usize, c: usize) -> bool {
        self.may_read(a, c).is_some()
    }

    /// The branches whose patients `a` lists: an admin every branch, front desk theirs.
    fn may_list_branches(&self, a: usize) -> Vec<usize> {
        if !self.certified(a) {
            return Vec::new();
        }
        if self.has_role(a, Role::Admin) {
            return (0..self.branches.len()).collect();
        }
        match &self.actors[a].kind {
            Kind::Staff { roles, branches } if roles.contains(&Role::Frontdesk) => branches.clone(),
            _ => Vec::new(),
        }
    }

    /// Signing up with an invite: only while its inviter holds a current certificate (the
    /// invitee's device checks the inviter's certificate and signature).
    fn may_sign_up(&self, a: usize) -> bool {
        self.certified(self.actors[a].inviter)
    }

    /// Revoking an account: whoever invited it, while active and certified.
    fn may_revoke(&self, by: usize, target: usize) -> bool {
        target != ADMIN && self.actors[target].inviter == by && self.certified(by)
    }

    // --- How case keys travel. --------------------------------------------------------------

    /// How member `m` of chart `c`'s team comes by the keys of `epoch` (the model's
    /// `custody::history_sharing`): unasked if they joined trusted (in the first state, or added
    /// by a clinician of the team and never in it before) or the epoch began with or after their
    /// joining; otherwise only after a clinician confirms (which the model's operations never
    /// do, so they never get it).
    fn shared_unasked(&self, m: usize, c: usize, epoch: u32) -> bool {
        self.in_team(m, c)
            && self.charts[c]
                .joined
                .get(&m)
                .is_some_and(|j| j.trusted || epoch > j.epoch || (epoch == j.epoch && j.started))
    }

    /// Clinician `a` of chart `c`'s care team opens it (before reading or writing). If nobody
    /// made the current epoch's keys, they make them for every certified member of the team and
    /// the certified patient. If a certified member lacking the current epoch's keys may not
    /// have them unasked (added by front desk or an admin), they start a new epoch for everyone.
    /// Otherwise, holding the current keys, they share with each member lacking them (the
    /// server names those as keyless) the epochs that member may have unasked.
    fn opened_by_clinician(&mut self, a: usize, c: usize) {
        if !self.may_act_as_clinician(a, c) {
            return;
        }
        let epoch = self.charts[c].epoch;
        if !self.holds(a, c).contains(&epoch) && !self.charts[c].keys_made.contains(&epoch) {
            self.charts[c].keys_made.insert(epoch);
            for m in self.key_recipients(c) {
                self.charts[c].holds.entry(m).or_default().insert(epoch);
            }
        }
        let keyless: Vec<usize> = self.charts[c]
            .team
            .iter()
            .copied()
            .filter(|&m| self.may_join_team(m) && !self.holds(m, c).contains(&epoch))
            .collect();
        if keyless.iter().any(|&m| !self.shared_unasked(m, c, epoch)) {
            self.new_epoch(c);
            return;
        }
        let mine = self.holds(a, c);
        if mine.contains(&epoch) {
            for m in keyless.into_iter().filter(|&m| m != a) {
                let unasked: Vec<u32> = mine
                    .iter()
                    .copied()
                    .filter(|&e| self.shared_unasked(m, c, e))
                    .collect();
                self.charts[c].holds.entry(m).or_default().extend(unasked);
            }
        }
    }

    /// Chart `c` begins its next key epoch: fresh keys for its certified members and patient.
    fn new_epoch(&mut self, c: usize) {
        self.charts[c].epoch += 1;
        let epoch = self.charts[c].epoch;
        self.charts[c].keys_made.insert(epoch);
        for r in self.key_recipients(c) {
            self.charts[c].holds.entry(r).or_default().insert(epoch);
        }
    }

    /// Who gets a new epoch's keys: the certified members of the team and the certified
    /// patient.
    fn key_recipients(&self, c: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self.charts[c]
            .team
            .iter()
            .copied()
            .filter(|&m| self.may_join_team(m))
            .collect();
        if let Some(p) = self.charts[c].patient
            && self.certified(p)
        {
            out.push(p);
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Running a case.
// ---------------------------------------------------------------------------------------------

type Outcome = Result<(), String>;

fn fail(what: impl Into<String>) -> Outcome {
    Err(what.into())
}

fn pick<T: Copy>(candidates: &[T], sel: u8) -> Option<T> {
    if candidates.is_empty() {
        None
    } else {
        Some(candidates[usize::from(sel) % candidates.len()])
    }
}

fn password(n: usize) -> String {
    format!("malli-salasana-{n}-pitkä")
}

impl Model {
    async fn found(url: String) -> Result<Model, String> {
        let pw = password(0);
        let created = create_clinic(
            &Api::new(&url).map_err(|e| e.to_string())?,
            &NewClinic {
                name: "Mallikeskus",
                admin_email: ADMIN_EMAIL,
                admin_name: None,
                escrow_threshold: 2,
                escrow_shares: 2,
                password: &pw,
                creation_token: TOKEN,
                now: now(),
            },
        )
        .await
        .map_err(|e| format!("creating the clinic: {e}"))?;
        let mut model = Model {
            url,
            clinic: created.clinic,
            branches: Vec::new(),
            actors: Vec::new(),
            charts: Vec::new(),
            notes: Vec::new(),
            serial: 0,
        };
        let device = model
            .log_in(ADMIN_EMAIL, &created.secret_key, &pw)
            .await
            .map_err(|e| format!("the admin logging in: {e}"))?;
        model.actors.push(Actor {
            kind: Kind::Staff {
                roles: vec![Role::Admin],
                branches: Vec::new(),
            },
            login: ADMIN_EMAIL.into(),
            status: Status::Certified,
            invite: InviteId::from_bytes([0; 16]),
            inviter: ADMIN,
            code: None,
            secret_key: Some(created.secret_key),
            password: pw,
            device: Some(device),
        });
        model.create_branch().await?;
        Ok(model)
    }

    async fn log_in(&self, name: &str, sk: &SecretKey, pw: &str) -> Result<Device, ClientError> {
        let mut api = Api::new(&self.url)?;
        let me = login(&mut api, self.clinic, name, sk, pw).await?;
        Ok(Device { api, me })
    }

    fn device(&self, a: usize) -> Result<&Device, String> {
        self.actors[a]
            .device
            .as_ref()
            .ok_or_else(|| format!("actor {a} has no device"))
    }

    async fn session(&self, a: usize) -> Result<Session<'_>, String> {
        let d = self.device(a)?;
        Session::open(&d.api, &d.me, now())
            .await
            .map_err(|e| format!("{} opening the directory: {e}", self.actors[a].login))
    }

    fn email(&self, a: usize) -> String {
        self.actors[a].login.clone()
    }

    async fn create_branch(&mut self) -> Outcome {
        let name = self.next_name("Haara");
        let d = self.device(ADMIN)?;
        vaiti_client::admin::create_branch(&d.api, &d.me, &name, now())
            .await
            .map_err(|e| format!("the admin adding branch {name}: {e}"))?;
        self.branches.push(name);
        Ok(())
    }

    async fn apply(&mut self, op: &Op) -> Outcome {
        let all: Vec<usize> = (0..self.actors.len()).collect();
        match *op {
            Op::CreateBranch => {
                if self.branches.len() < 3 {
                    self.create_branch().await?;
                }
                Ok(())
            }
            Op::InviteStaff { role, branch } => {
                if !self.may_invite_staff(ADMIN) || self.actors.len() >= 8 {
                    return Ok(());
                }
                let roles = match role % 3 {
                    0 => vec![Role::Therapist],
                    1 => vec![Role::Frontdesk],
                    _ => vec![Role::Therapist, Role::Frontdesk],
                };
                let branch = usize::from(branch) % self.branches.len();
                let email = format!("{}@malli.example", self.next_name("staff"));
                let s = self.session(ADMIN).await?;
                let created = invite_staff(
                    &s,
                    &email,
                    &roles,
                    &[self.branches[branch].clone()],
                    DEFAULT_INVITE_S,
                )
                .await
                .map_err(|e| format!("the admin inviting {email}: {e}"))?;
                drop(s);
                let n = self.actors.len() + 1;
                self.actors.push(Actor {
                    kind: Kind::Staff {
                        roles,
                        branches: vec![branch],
                    },
                    login: email,
                    status: Status::Invited,
                    invite: created.id,
                    inviter: ADMIN,
                    code: Some(created.code),
                    secret_key: None,
                    password: password(n),
                    device: None,
                });
                Ok(())
            }
            Op::SignUp { who } => {
                let invited: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| self.actors[a].status == Status::Invited)
                    .collect();
                let Some(a) = pick(&invited, who) else {
                    return Ok(());
                };
                self.apply_sign_up(a).await
            }
            Op::Sync { who } => {
                let staff: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| {
                        self.certified(a) && matches!(self.actors[a].kind, Kind::Staff { .. })
                    })
                    .collect();
                let Some(a) = pick(&staff, who) else {
                    return Ok(());
                };
                self.apply_sync(a).await
            }
            Op::AddPatient { who, therapist } => {
                if self.charts.len() >= 4 {
                    return Ok(());
                }
                let branch = usize::from(therapist) % self.branches.len();
                let adders: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| self.may_add_patient(a, branch))
                    .collect();
                let Some(a) = pick(&adders, who) else {
                    return Ok(());
                };
                let therapists: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&t| self.may_join_team(t))
                    .collect();
                let team: Vec<usize> = if therapist % 3 == 0 {
                    Vec::new()
                } else {
                    pick(&therapists, therapist / 3).into_iter().collect()
                };
                let emails: Vec<String> = team.iter().map(|&t| self.email(t)).collect();
                let name = self.next_name("Potilas ");
                let s = self.session(a).await?;
                let details = PatientDetails {
                    name,
                    ..PatientDetails::default()
                };
                let id = add_patient(&s, &self.branches[branch], details, &emails)
                    .await
                    .map_err(|e| format!("{} adding a patient: {e}", self.actors[a].login))?;
                drop(s);
                let first = Joined {
                    epoch: 1,
                    trusted: true,
                    started: true,
                };
                self.charts.push(ChartModel {
                    id,
                    branch,
                    ever_in: team.iter().copied().collect(),
                    joined: team.iter().map(|&m| (m, first)).collect(),
                    team,
                    epoch: 1,
                    patient: None,
                    keys_made: BTreeSet::new(),
                    holds: HashMap::new(),
                });
                Ok(())
            }
            Op::InvitePatient { who, chart } => {
                let Some(c) = pick(&(0..self.charts.len()).collect::<Vec<_>>(), chart) else {
                    return Ok(());
                };
                // One open portal invite per chart at a time keeps the model simple.
                let waiting = self.actors.iter().any(|x| {
                    matches!(x.kind, Kind::Patient { chart } if chart == c)
                        && matches!(x.status, Status::Invited | Status::Bound)
                });
                if waiting {
                    return Ok(());
                }
                let inviters: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| self.may_invite_patient(a, c))
                    .collect();
                let Some(a) = pick(&inviters, who) else {
                    return Ok(());
                };
                let s = self.session(a).await?;
                let created = invite_patient(&s, self.charts[c].id, DEFAULT_INVITE_S)
                    .await
                    .map_err(|e| {
                        format!("{} inviting chart {c}'s patient: {e}", self.actors[a].login)
                    })?;
                drop(s);
                let n = self.actors.len() + 1;
                self.actors.push(Actor {
                    kind: Kind::Patient { chart: c },
                    login: String::new(),
                    status: Status::Invited,
                    invite: created.id,
                    inviter: a,
                    code: Some(created.code),
                    secret_key: None,
                    password: password(n),
                    device: None,
                });
                Ok(())
            }
            Op::Confirm { who } => {
                // Joins waiting for a clinician: bound patient invites made by someone who is
                // not (or no longer) a clinician of the chart's care team.
                let waiting: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&p| {
                        matches!(self.actors[p].kind, Kind::Patient { chart } if !self.in_team(self.actors[p].inviter, chart))
                            && self.actors[p].status == Status::Bound
                            && self.inviter_still_may(p)
                    })
                    .collect();
                let Some(p) = pick(&waiting, who) else {
                    return Ok(());
                };
                let Kind::Patient { chart: c } = self.actors[p].kind else {
                    return Ok(());
                };
                let clinicians: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| self.may_act_as_clinician(a, c))
                    .collect();
                let Some(a) = pick(&clinicians, who) else {
                    return Ok(());
                };
                let s = self.session(a).await?;
                let pending = pending_joins(&s)
                    .await
                    .map_err(|e| format!("{} listing pending joins: {e}", self.email(a)))?;
                if !pending.iter().any(|j| j.invite == self.actors[p].invite) {
                    return fail(format!(
                        "{} does not see the pending portal join of chart {c}",
                        self.email(a)
                    ));
                }
                confirm_join(&s, self.actors[p].invite).await.map_err(|e| {
                    format!("{} confirming chart {c}'s patient: {e}", self.email(a))
                })?;
                drop(s);
                self.apply_patient_join(a, p, c);
                Ok(())
            }
            Op::CareTeamAdd {
                who,
                chart,
                therapist,
            } => {
                let Some(c) = pick(&(0..self.charts.len()).collect::<Vec<_>>(), chart) else {
                    return Ok(());
                };
                let outside: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&t| self.may_join_team(t) && !self.in_team(t, c))
                    .collect();
                let Some(t) = pick(&outside, therapist) else {
                    return Ok(());
                };
                let adders: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| self.may_add_to_team(a, c))
                    .collect();
                let Some(a) = pick(&adders, who) else {
                    return Ok(());
                };
                let s = self.session(a).await?;
                care_team_add(&s, self.charts[c].id, &self.email(t))
                    .await
                    .map_err(|e| {
                        format!(
                            "{} adding {} to chart {c}'s care team: {e}",
                            self.email(a),
                            self.email(t)
                        )
                    })?;
                drop(s);
                self.apply_care_team_add(a, t, c);
                Ok(())
            }
            Op::CareTeamRemove { who, chart, member } => {
                let Some(c) = pick(&(0..self.charts.len()).collect::<Vec<_>>(), chart) else {
                    return Ok(());
                };
                let removers: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| self.may_remove_from_team(a, c))
                    .collect();
                let Some(a) = pick(&removers, who) else {
                    return Ok(());
                };
                let team = self.charts[c].team.clone();
                let Some(m) = pick(&team, member) else {
                    return Ok(());
                };
                let s = self.session(a).await?;
                care_team_remove(&s, self.charts[c].id, &self.email(m))
                    .await
                    .map_err(|e| {
                        format!(
                            "{} removing {} from chart {c}'s care team: {e}",
                            self.email(a),
                            self.email(m)
                        )
                    })?;
                drop(s);
                self.apply_care_team_remove(m, c);
                Ok(())
            }
            Op::WriteNote { who, chart, shared } => {
                let Some(c) = pick(&(0..self.charts.len()).collect::<Vec<_>>(), chart) else {
                    return Ok(());
                };
                let clinicians: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| self.may_act_as_clinician(a, c))
                    .collect();
                let Some(a) = pick(&clinicians, who) else {
                    return Ok(());
                };
                // Writing opens the chart first.
                self.opened_by_clinician(a, c);
                let may = self.may_write(a, c);
                let text = self.next_name("Muistiinpano ");
                let tier = if shared { Tier::Shared } else { Tier::Team };
                let s = self.session(a).await?;
                let result = add_note(&s, self.charts[c].id, tier, "Käynti", &text).await;
                drop(s);
                match (result, may) {
                    (Ok(id), true) => {
                        let readers_at_write = self.readers_now(c, shared);
                        self.notes.push(NoteModel {
                            id,
                            chart: c,
                            shared,
                            epochs: vec![self.charts[c].epoch],
                            text,
                            readers_at_write,
                        });
                        Ok(())
                    }
                    (Err(_), false) => Ok(()),
                    (Ok(_), false) => fail(format!(
                        "{} wrote a note in chart {c} without holding the current keys",
                        self.email(a)
                    )),
                    (Err(e), true) => fail(format!(
                        "{} could not write a note in chart {c}: {e}",
                        self.email(a)
                    )),
                }
            }
            Op::AmendNote { who, note } => {
                let Some(n) = pick(&(0..self.notes.len()).collect::<Vec<_>>(), note) else {
                    return Ok(());
                };
                let c = self.notes[n].chart;
                let clinicians: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| self.may_act_as_clinician(a, c))
                    .collect();
                let Some(a) = pick(&clinicians, who) else {
                    return Ok(());
                };
                // Amending lists the chart's notes, then writes under the current epoch.
                self.opened_by_clinician(a, c);
                let may = self.must_list(a, c) && self.may_write(a, c);
                let text = self.next_name("Korjattu ");
                let s = self.session(a).await?;
                let result = amend_note(&s, self.notes[n].id, &text, "Tarkennus").await;
                drop(s);
                match (result, may) {
                    (Ok(_), true) => {
                        let epoch = self.charts[c].epoch;
                        self.notes[n].epochs.push(epoch);
                        self.notes[n].text = text;
                        let readers = self.readers_now(c, self.notes[n].shared);
                        self.notes[n].readers_at_write.extend(readers);
                        Ok(())
                    }
                    (Err(_), false) => Ok(()),
                    (Ok(_), false) => fail(format!(
                        "{} amended a note of chart {c} the model says they cannot",
                        self.email(a)
                    )),
                    (Err(e), true) => fail(format!(
                        "{} could not amend a note of chart {c}: {e}",
                        self.email(a)
                    )),
                }
            }
            Op::Trespass { who, chart } => {
                let Some(c) = pick(&(0..self.charts.len()).collect::<Vec<_>>(), chart) else {
                    return Ok(());
                };
                let outsiders: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&a| self.active(a) && !self.may_act_as_clinician(a, c))
                    .collect();
                let Some(a) = pick(&outsiders, who) else {
                    return Ok(());
                };
                let s = self.session(a).await?;
                let result = add_note(&s, self.charts[c].id, Tier::Team, "Luvaton", "x").await;
                if result.is_ok() {
                    return fail(format!(
                        "{} wrote a note in chart {c}, outside its care team",
                        self.email(a)
                    ));
                }
                Ok(())
            }
            Op::Revoke { who } => {
                let targets: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&t| self.active(t) && self.may_revoke(self.actors[t].inviter, t))
                    .collect();
                let Some(t) = pick(&targets, who) else {
                    return Ok(());
                };
                let by = self.actors[t].inviter;
                let s = self.session(by).await?;
                revoke_invite(&s, self.actors[t].invite, true)
                    .await
                    .map_err(|e| format!("{} revoking {}: {e}", self.email(by), self.email(t)))?;
                drop(s);
                self.apply_revoke(t).await
            }
            Op::ChangePassword { who } => {
                let active: Vec<usize> = all.iter().copied().filter(|&a| self.active(a)).collect();
                let Some(a) = pick(&active, who) else {
                    return Ok(());
                };
                let new = format!("{}-uusi", self.actors[a].password);
                let old = self.actors[a].password.clone();
                let login_name = self.email(a);
                let sk = self.actors[a]
                    .secret_key
                    .take()
                    .ok_or("an active account without a Secret Key")?;
                let result = async {
                    let d = self.device(a)?;
                    change_password(&d.api, &d.me, &sk, &old, &new)
                        .await
                        .map_err(|e| format!("{login_name} changing their password: {e}"))?;
                    if self.log_in(&login_name, &sk, &old).await.is_ok() {
                        return Err(format!("{login_name}'s old password still works"));
                    }
                    self.log_in(&login_name, &sk, &new)
                        .await
                        .map_err(|e| format!("{login_name} logging in with the new password: {e}"))
                }
                .await;
                self.actors[a].secret_key = Some(sk);
                let device = result?;
                self.actors[a].password = new;
                self.actors[a].device = Some(device);
                Ok(())
            }
        }
    }

    /// Whether the maker of a patient invite could still invite that chart's patient (the
    /// confirming clinician's client checks it).
    fn inviter_still_may(&self, p: usize) -> bool {
        let Kind::Patient { chart } = self.actors[p].kind else {
            return false;
        };
        self.may_invite_patient(self.actors[p].inviter, chart)
    }

    async fn apply_sign_up(&mut self, a: usize) -> Outcome {
        let code = self.actors[a]
            .code
            .take()
            .ok_or("an invited actor without a code")?;
        let email = match self.actors[a].kind {
            Kind::Staff { .. } => Some(self.actors[a].login.clone()),
            Kind::Patient { .. } => None,
        };
        let result = signup(
            &Api::new(&self.url).map_err(|e| e.to_string())?,
            &NewMember {
                code: &code,
                email: email.as_deref(),
                display_name: None,
                password: &self.actors[a].password,
                now: now(),
            },
        )
        .await;
        let account = match (result, self.may_sign_up(a)) {
            (Ok(account), true) => account,
            (Err(e), true) => {
                return fail(format!(
                    "signing up with invite {}: {e}",
                    self.actors[a].invite
                ));
            }
            (Err(_), false) => {
                // A dead invite: it never makes an account.
                self.actors[a].status = Status::Revoked;
                return Ok(());
            }
            (Ok(_), false) => {
                return fail(format!(
                    "signed up with invite {} of an inviter who is no longer certified",
                    self.actors[a].invite
                ));
            }
        };
        let device = self
            .log_in(
                &account.login,
                &account.secret_key,
                &self.actors[a].password,
            )
            .await
            .map_err(|e| format!("{} logging in after sign-up: {e}", account.login))?;
        let x = &mut self.actors[a];
        x.login = account.login;
        x.secret_key = Some(account.secret_key);
        x.device = Some(device);
        x.status = Status::Bound;
        Ok(())
    }

    /// A sync: the admin certifies every signed-up member of staff; a clinician completes the
    /// portal joins of their own invites for charts whose care team they are in.
    async fn apply_sync(&mut self, a: usize) -> Outcome {
        let s = self.session(a).await?;
        let done = complete_invites(&s)
            .await
            .map_err(|e| format!("{}'s sync: {e}", self.email(a)))?;
        drop(s);
        let mut expected: Vec<usize> = (0..self.actors.len())
            .filter(|&x| {
                self.actors[x].inviter == a
                    && x != ADMIN
                    && self.actors[x].status == Status::Bound
                    && match self.actors[x].kind {
                        Kind::Staff { .. } => true,
                        Kind::Patient { chart } => self.may_act_as_clinician(a, chart),
                    }
            })
            .collect();
        let mut got: Vec<usize> = done
            .iter()
            .filter_map(|j| self.actors.iter().position(|x| x.invite == j.invite))
            .collect();
        expected.sort_unstable();
        got.sort_unstable();
        if expected != got || got.len() != done.len() {
            return fail(format!(
                "{}'s sync completed the joins of {got:?}, the model expected {expected:?}",
                self.email(a)
            ));
        }
        for x in got {
            match self.actors[x].kind {
                Kind::Staff { .. } => self.actors[x].status = Status::Certified,
                Kind::Patient { chart } => self.apply_patient_join(a, x, chart),
            }
        }
        Ok(())
    }

    /// Clinician `a` completes patient `p`'s join to chart `c`: the chart names the patient, who
    /// gets the shared keys `a` holds; a patient the chart named before is revoked.
    fn apply_patient_join(&mut self, a: usize, p: usize, c: usize) {
        self.opened_by_clinician(a, c);
        if let Some(old) = self.charts[c].patient
            && old != p
        {
            self.actors[old].status = Status::Revoked;
            self.actors[old].device = None;
        }
        self.actors[p].status = Status::Certified;
        self.charts[c].patient = Some(p);
        let mine = self.holds(a, c);
        self.charts[c].holds.insert(p, mine);
    }

    /// `a` added therapist `t` to chart `c`'s care team. A clinician of the team hands over
    /// every case key they hold to someone new to the team; someone who was in it before comes
    /// back to a new epoch, and the older keys wait for a confirmation. Front desk or an admin
    /// hands over none (the next clinician to open the chart starts a new epoch).
    fn apply_care_team_add(&mut self, a: usize, t: usize, c: usize) {
        let clinician = self.may_act_as_clinician(a, c);
        if clinician {
            self.opened_by_clinician(a, c);
        }
        let returning = self.charts[c].ever_in.contains(&t);
        self.charts[c].team.push(t);
        self.charts[c].ever_in.insert(t);
        let epoch = self.charts[c].epoch;
        let joined = if clinician && returning {
            self.new_epoch(c);
            Joined {
                epoch: epoch + 1,
                trusted: false,
                started: true,
            }
        } else if clinician {
            let mine = self.holds(a, c);
            self.charts[c].holds.entry(t).or_default().extend(mine);
            Joined {
                epoch,
                trusted: true,
                started: false,
            }
        } else {
            Joined {
                epoch,
                trusted: false,
                started: false,
            }
        };
        self.charts[c].joined.insert(t, joined);
    }

    /// Member `m` is removed from chart `c`'s care team: a new epoch, whose keys go to the
    /// remaining certified members and the certified patient.
    fn apply_care_team_remove(&mut self, m: usize, c: usize) {
        self.charts[c].team.retain(|&x| x != m);
        self.charts[c].joined.remove(&m);
        self.new_epoch(c);
    }

    /// Account `t` is revoked: it cannot log in, and its device's session ends.
    async fn apply_revoke(&mut self, t: usize) -> Outcome {
        self.actors[t].status = Status::Revoked;
        if let Some(d) = self.actors[t].device.take()
            && Session::open(&d.api, &d.me, now()).await.is_ok()
        {
            return fail(format!(
                "{}'s session still works after revocation",
                self.email(t)
            ));
        }
        let sk = self.actors[t]
            .secret_key
            .as_ref()
            .ok_or("a revoked account without a Secret Key")?;
        if self
            .log_in(&self.actors[t].login, sk, &self.actors[t].password)
            .await
            .is_ok()
        {
            return fail(format!("{} logs in after revocation", self.email(t)));
        }
        Ok(())
    }

    // --- The checks after every step. ---------------------------------------------------------

    async fn check(&mut self) -> Outcome {
        for a in 0..self.actors.len() {
            if !self.active(a) {
                continue;
            }
            // Every active account's device opens the directory.
            drop(self.session(a).await?);
            for b in self.may_list_branches(a) {
                let s = self.session(a).await?;
                let listed = list_patients(&s, Some(&self.branches[b]))
                    .await
                    .map_err(|e| {
                        format!("{} listing branch {}: {e}", self.email(a), self.branches[b])
                    })?;
                let got: BTreeSet<ChartId> = listed.iter().map(|p| p.chart).collect();
                let expected: BTreeSet<ChartId> = self
                    .charts
                    .iter()
                    .filter(|c| c.branch == b)
                    .map(|c| c.id)
                    .collect();
                if got != expected {
                    return fail(format!(
                        "{} lists {} patients in branch {}, the model has {}",
                        self.email(a),
                        got.len(),
                        self.branches[b],
                        expected.len()
                    ));
                }
            }
            if self.may_join_team(a) {
                self.check_caseload(a).await?;
            }
            for c in 0..self.charts.len() {
                self.check_notes(a, c).await?;
            }
        }
        Ok(())
    }

    /// A clinician's caseload (`list_patients` without a branch, which opens each chart's
    /// identity with the key wrapped to them) lists every chart whose care team they are in,
    /// whoever added them, and nothing beyond those and the branches they may list.
    async fn check_caseload(&mut self, a: usize) -> Outcome {
        let s = self.session(a).await?;
        let listed = list_patients(&s, None)
            .await
            .map_err(|e| format!("{} listing their caseload: {e}", self.email(a)))?;
        drop(s);
        let got: BTreeSet<ChartId> = listed.iter().map(|p| p.chart).collect();
        let branches = self.may_list_branches(a);
        for (c, chart) in self.charts.iter().enumerate() {
            let in_team = self.in_team(a, c);
            if in_team && !got.contains(&chart.id) {
                return fail(format!(
                    "{}'s caseload lacks chart {c}, whose care team they are in",
                    self.email(a)
                ));
            }
            if got.contains(&chart.id) && !in_team && !branches.contains(&chart.branch) {
                return fail(format!(
                    "{}'s caseload lists chart {c}, whose care team they are not in",
                    self.email(a)
                ));
            }
        }
        if got.len() > self.charts.len() {
            return fail(format!(
                "{}'s caseload lists {} charts, the model has {}",
                self.email(a),
                got.len(),
                self.charts.len()
            ));
        }
        Ok(())
    }

    /// `a` lists chart `c`'s notes: exactly the model's notes (with their current texts) for a
    /// reader, nothing for anyone else.
    async fn check_notes(&mut self, a: usize, c: usize) -> Outcome {
        self.opened_by_clinician(a, c);
        let expected = self.may_read(a, c);
        let floor = self.must_read(a, c);
        let s = self.session(a).await?;
        let result = list_notes(&s, self.charts[c].id).await;
        drop(s);
        let who = self.email(a);
        let notes = match result {
            Err(e) if expected.is_some() || !floor.is_empty() => {
                return fail(format!(
                    "{who} could not list chart {c}'s notes ({} written while they could read it): {e}",
                    floor.len()
                ));
            }
            Err(_) => return Ok(()),
            Ok(notes) => notes,
        };
        let got: BTreeSet<(ObjectId, String)> = notes
            .iter()
            .map(|n| {
                (
                    n.id,
                    n.current().map(|v| v.text.clone()).unwrap_or_default(),
                )
            })
            .collect();
        let text = |n: usize| (self.notes[n].id, self.notes[n].text.clone());
        if let Some(missing) = floor.iter().find(|&&n| !got.contains(&text(n))) {
            return fail(format!(
                "{who} does not read note {missing} of chart {c}, written while they could read it"
            ));
        }
        let want: BTreeSet<(ObjectId, String)> =
            expected.unwrap_or_default().into_iter().map(text).collect();
        if got != want {
            return fail(format!(
                "{who} read {} notes of chart {c}, the model expected {}",
                got.len(),
                want.len()
            ));
        }
        Ok(())
    }

    /// The end of a case: everyone still invited signs up, every certified clinician and front
    /// desk syncs (completing the portal joins they made), then the admin (certifying the staff
    /// who signed up after them), and the checks run once more.
    async fn settle(&mut self) -> Outcome {
        for a in 0..self.actors.len() {
            if self.actors[a].status == Status::Invited {
                self.apply_sign_up(a).await?;
            }
        }
        for a in (0..self.actors.len()).rev() {
            if self.certified(a) && matches!(self.actors[a].kind, Kind::Staff { .. }) {
                self.apply_sync(a).await?;
            }
        }
        self.check().await
    }
}

/// Runs one case on a fresh server over a fresh SQLite store: the steps, each followed by the
/// checks, then the end. On failure: which step failed, and why.
async fn run_case(ops: &[Op]) -> Outcome {
    let dir = std::env::temp_dir().join(format!("vaiti-model-{}", random_name()));
    let store = Arc::new(
        vaiti_store::SqliteStore::open(&dir)
            .await
            .map_err(|e| format!("opening the store: {e}"))?,
    );
    let url = start_server(store.clone(), vaiti_server::router).await;
    let result = async {
        let mut model = Model::found(url).await?;
        model
            .check()
            .await
            .map_err(|e| format!("before any step: {e}"))?;
        for (i, op) in ops.iter().enumerate() {
            model
                .apply(op)
                .await
                .map_err(|e| format!("step {i} {op:?}: {e}"))?;
            model
                .check()
                .await
                .map_err(|e| format!("after step {i} {op:?}: {e}"))?;
        }
        model.settle().await.map_err(|e| format!("at the end: {e}"))
    }
    .await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[test]
fn random_clinic_histories_keep_the_rules() {
    let cases = env_number("VAITI_MODEL_CASES", DEFAULT_CASES);
    let max_ops = env_number("VAITI_MODEL_OPS", DEFAULT_OPS);
    let mut runner = TestRunner::new(Config {
        cases,
        // Every shrinking step replays a whole case against a fresh server.
        max_shrink_iters: env_number("VAITI_MODEL_SHRINK", 64),
        failure_persistence: None,
        ..Config::default()
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let strategy = proptest::collection::vec(op(), 1..=max_ops);
    let started = std::time::Instant::now();
    let result = runner.run(&strategy, |ops| {
        rt.block_on(run_case(&ops)).map_err(TestCaseError::fail)
    });
    eprintln!(
        "model: {cases} cases of up to {max_ops} steps in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, ops)) => {
            panic!("the model found a difference: {why}\nminimal sequence:\n{ops:#?}")
        }
        Err(e) => panic!("{e}"),
    }
}
