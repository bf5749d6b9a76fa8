//! Key custody: whom a key may come from, and whom it may go to — every rule in one place.
//!
//! The server stores wraps and could hand a client any wrap signed by any certified key; the
//! client accepts a key only from someone these rules name, and wraps one only to someone they
//! name. `docs/protocol.md` ("Key custody") writes the same rules as a table; the property test
//! below tries every role as wrapper and as recipient against it.
//!
//! | key | may come from | may go to |
//! |---|---|---|
//! | case key, epoch e | a clinician in the care team of a state at epoch ≥ e; or the clinician who started e by a removal (in the team of e − 1, signed the state that started e) | the care team of the latest state (and escrow); the shared tier also to the chart's patient. A member added by front desk or an admin, or re-added after a removal, gets the epochs that began with or after their addition; older ones only after a clinician confirms ([`history_sharing`]) |
//! | identity key | the chart's creator (front desk or admin of its branch), a clinician of any of its care teams, or — to a member they added — whoever signed that addition (front desk or an admin of the branch) | the care team, the chart's patient, escrow |
//! | directory key | any certified member, if its key id is the one the root-signed manifest lists | admins, and front desk of that branch |
//! | report (a patient's complaint) | the patient of the chart | the clinic's admins and auditors |
//! | clinic root key | a member of staff with a current certificate (the admin who completed the join, or the clinic's creator) | admins (at their join), escrow |
//!
//! And whose signed revocation ends a certificate ([`may_revoke`]): an admin's, for a member of
//! staff; any certified member of staff's, for a patient's portal account.

use vaiti_core::signed::ChartStateV1;
use vaiti_core::{BranchId, Role, UserId};

use crate::directory::Member;

/// Whether `wrapper` may hand out the chart's case keys of `epoch` (both tiers): a clinician
/// of the care team of a state at that epoch or later (current clinicians pass older keys on to
/// a new member), or the clinician whose removal started that epoch — who was in the care team
/// of the epoch before and signed the state that started this one. Anyone else who is merely
/// certified — a clinician outside the team, one removed before the epoch, front desk or an
/// admin (whatever states they signed: adding a clinician starts no epoch), the patient — could
/// otherwise give a reader a key they know, and the reader would seal new notes under it.
/// (Every care-team member is a certified clinician: the chain's verification checks that.)
pub fn may_give_case_key(states: &[ChartStateV1], wrapper: UserId, epoch: u32) -> bool {
    states.iter().enumerate().any(|(i, st)| {
        let started_this_epoch = i > 0
            && st.epoch == epoch
            && st.author == wrapper
            && states[i - 1].epoch + 1 == epoch
            && states[i - 1].care_team.contains(&wrapper);
        (st.epoch >= epoch && st.care_team.contains(&wrapper)) || started_this_epoch
    })
}

/// Whether `wrapper` may hand `recipient` the chart's identity key: whoever created the chart, a
/// clinician of one of its care teams (care-team add, a patient's join), or whoever signed the
/// state that added `recipient` to the care team — front desk or an admin of the chart's branch,
/// who hold the identity through the branch directory key (the chain's verification checks that
/// only they or a clinician of the team change it). A certified outsider could otherwise give a
/// reader a key of their own and a forged identity record under it.
pub fn may_give_identity_key(states: &[ChartStateV1], wrapper: UserId, recipient: UserId) -> bool {
    states.first().is_some_and(|first| first.author == wrapper)
        || states.iter().any(|st| st.care_team.contains(&wrapper))
        || states.windows(2).any(|pair| {
            pair[1].author == wrapper
                && pair[1].care_team.contains(&recipient)
                && !pair[0].care_team.contains(&recipient)
        })
}

/// Whether `user` may receive the chart's case keys of the current epoch: a member of the
/// latest care team (both tiers), or the chart's patient (the shared tier only).
pub fn may_receive_case_key(states: &[ChartStateV1], user: UserId, shared_tier: bool) -> bool {
    states.last().is_some_and(|latest| {
        latest.care_team.contains(&user) || (shared_tier && latest.patient == Some(user))
    })
}

/// Whether `user` may receive the chart's identity key: the latest care team or the patient.
pub fn may_receive_identity_key(states: &[ChartStateV1], user: UserId) -> bool {
    states
        .last()
        .is_some_and(|latest| latest.care_team.contains(&user) || latest.patient == Some(user))
}

/// Whether someone certified (or being certified) with `roles` for `branches` may receive the
/// directory key of `branch`: an admin, or front desk of that branch.
pub fn may_receive_directory_key(roles: &[Role], branches: &[BranchId], branch: BranchId) -> bool {
    roles.contains(&Role::Admin) || (roles.contains(&Role::Frontdesk) && branches.contains(&branch))
}

/// Whether `revoker` may revoke `revoked`'s account at time `at`: the revoker must be a member of
/// staff whose certificate was live at `at` — an admin for a member of staff, anyone of staff for
/// a patient's portal account (whoever may handle the portal invite: the care team, the branch's
/// front desk). The server's `policy::may_revoke_account` refuses by the same rule; a client
/// refuses a revocation the server should never have stored.
pub fn may_revoke(revoker: &Member, revoked: &Member, at: i64) -> bool {
    let staff = revoker.certificate.kind == crate::directory::CertificateKind::Staff;
    // Live when signing: up to the moment their own certificate ended (a colleague's
    // revocation and then their own, in the same second, is the ordinary case of someone
    // leaving right after tidying up).
    let live = at <= revoker.valid_until;
    let allowed = match revoked.certificate.kind {
        crate::directory::CertificateKind::Staff => revoker.has_role(Role::Admin),
        crate::directory::CertificateKind::Patient => true,
    };
    staff && live && allowed
}

/// Whether someone certified (or being certified) with `roles` may receive the clinic root key:
/// an admin — who certifies staff and signs manifests with it — and nobody else.
pub fn may_receive_root_key(roles: &[Role]) -> bool {
    roles.contains(&Role::Admin)
}

/// Whether `member` may receive a patient's report: an admin or an auditor.
pub fn may_receive_report(member: &Member) -> bool {
    member.has_role(Role::Admin) || member.has_role(Role::Auditor)
}

/// How a care-team member comes by a case-key epoch that began before they joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Any clinician of the team shares it on opening the chart, unasked.
    Automatic,
    /// Only when a clinician of the team confirms it (`share_history`).
    AfterConfirmation,
    /// Never: the member is not in the current care team.
    Never,
}

/// How the member `user` of the latest care team comes by the case keys of `epoch`.
///
/// - A member since the chart's first state, or added by a clinician of the care team (who
///   shares every key with them in the same step), and never removed: every epoch, unasked.
/// - A member added by front desk or an admin — someone outside the care team — or re-added
///   after a removal: the epochs that began with or after their (latest) addition unasked; every
///   older one only when a clinician of the team confirms, shown who added them and when. (A
///   clinician re-adding someone starts a new epoch in the same state; after an add by front
///   desk or an admin, the next clinician to open the chart starts one: see `chart.rs`.)
pub fn history_sharing(states: &[ChartStateV1], user: UserId, epoch: u32) -> Sharing {
    let Some(latest) = states.last() else {
        return Sharing::Never;
    };
    if !latest.care_team.contains(&user) {
        return Sharing::Never;
    }
    let Some(joined) = joined_at(states, user) else {
        return Sharing::Never;
    };
    let trusted_add = joined == 0
        || (states[joined - 1]
            .care_team
            .contains(&states[joined].author)
            && !states[..joined].iter().any(|s| s.care_team.contains(&user)));
    let started_with_them = joined == 0 || states[joined].epoch > states[joined - 1].epoch;
    if trusted_add
        || epoch > states[joined].epoch
        || (epoch == states[joined].epoch && started_with_them)
    {
        Sharing::Automatic
    } else {
        Sharing::AfterConfirmation
    }
}

/// The index of the state at which `user` last joined the care team (they are in it from there
/// to the latest state), if they are in the latest one.
pub fn joined_at(states: &[ChartStateV1], user: UserId) -> Option<usize> {
    let last_out = states.iter().rposition(|s| !s.care_team.contains(&user));
    let joined = last_out.map_or(0, |i| i + 1);
    (joined < states.len()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vaiti_core::{BranchId, ChartId, ClinicId};

    /// The actors of a chart's history: front desk (0), an admin (1), clinicians (2..=5), the
    /// patient (6).
    const FRONT_DESK: u8 = 0;
    const ADMIN: u8 = 1;
    const PATIENT: u8 = 6;

    fn user(n: u8) -> UserId {
        UserId::from_bytes([n + 1; 16])
    }

    /// One change to the chart, by whom.
    #[derive(Debug, Clone)]
    enum Change {
        /// A clinician of the team, or front desk / an admin, adds clinician `who`.
        Add { by: u8, who: u8 },
        /// A clinician of the team removes `who` (a new epoch).
        Remove { by: u8, who: u8 },
        /// A clinician of the team starts a new epoch.
        Rotate { by: u8 },
        /// A clinician of the team names the patient.
        Patient { by: u8 },
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            (0u8..6, 2u8..6).prop_map(|(by, who)| Change::Add { by, who }),
            (2u8..6, 2u8..6).prop_map(|(by, who)| Change::Remove { by, who }),
            (2u8..6).prop_map(|by| Change::Rotate { by }),
            (2u8..6).prop_map(|by| Change::Patient { by }),
        ]
    }

    /// A valid chain built from `changes` (changes a real chain would refuse are skipped), and
    /// for each state the epoch's "owner" facts the model needs.
    fn chain(initial: Vec<u8>, changes: &[Change]) -> Vec<ChartStateV1> {
        let mut st = ChartStateV1 {
            v: 1,
            clinic: ClinicId::from_bytes([9; 16]),
            chart: ChartId::from_bytes([8; 16]),
            seq: 1,
            prev: String::new(),
            branch: BranchId::from_bytes([7; 16]),
            care_team: initial.into_iter().map(user).collect(),
            patient: None,
            epoch: 1,
            author: user(FRONT_DESK),
            created_at: 0,
        };
        st.care_team.dedup();
        let mut states = vec![st];
        for c in changes {
            let prev = states[states.len() - 1].clone();
            let mut next = prev.clone();
            next.seq += 1;
            let in_team = |u: u8| prev.care_team.contains(&user(u));
            match *c {
                Change::Add { by, who } => {
                    if in_team(who) || (by >= 2 && !in_team(by)) {
                        continue;
                    }
                    // A clinician re-adding someone starts a new epoch with them (chart.rs).
                    let was_in = states.iter().any(|s| s.care_team.contains(&user(who)));
                    if by >= 2 && was_in {
                        next.epoch += 1;
                    }
                    next.care_team.push(user(who));
                    next.author = user(by);
                }
                Change::Remove { by, who } => {
                    if !in_team(by) || !in_team(who) {
                        continue;
                    }
                    next.care_team.retain(|u| *u != user(who));
                    next.epoch += 1;
                    next.author = user(by);
                }
                Change::Rotate { by } => {
                    if !in_team(by) {
                        continue;
                    }
                    next.epoch += 1;
                    next.author = user(by);
                }
                Change::Patient { by } => {
                    if !in_team(by) {
                        continue;
                    }
                    next.patient = Some(user(PATIENT));
                    next.author = user(by);
                }
            }
            states.push(next);
        }
        states
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Every role as a case-key wrapper: front desk, admins and the patient never; a
        /// clinician only of epochs they were in the team for (or started by removing someone).
        #[test]
        fn case_keys_come_only_from_the_care_team(
            initial in proptest::collection::vec(2u8..6, 0..3),
            changes in proptest::collection::vec(change(), 0..12),
        ) {
            let states = chain(initial, &changes);
            let latest_epoch = states[states.len() - 1].epoch;
            for epoch in 1..=latest_epoch {
                for wrapper in [FRONT_DESK, ADMIN, PATIENT] {
                    prop_assert!(!may_give_case_key(&states, user(wrapper), epoch));
                }
                for c in 2u8..6 {
                    let member_then = states
                        .iter()
                        .any(|s| s.epoch >= epoch && s.care_team.contains(&user(c)));
                    let remover = states.windows(2).any(|w| {
                        w[1].epoch == epoch
                            && w[0].epoch + 1 == epoch
                            && w[1].author == user(c)
                            && w[0].care_team.contains(&user(c))
                    });
                    prop_assert_eq!(
                        may_give_case_key(&states, user(c), epoch),
                        member_then || remover
                    );
                }
            }
        }

        /// Every role as an identity-key wrapper: the patient never; the chart's creator (front
        /// desk) and any clinician ever in a care team, to anyone; an admin (not the creator)
        /// only to a member whose addition they signed.
        #[test]
        fn identity_keys_come_from_the_creator_the_team_or_whoever_added_the_recipient(
            initial in proptest::collection::vec(2u8..6, 0..3),
            changes in proptest::collection::vec(change(), 0..12),
        ) {
            let states = chain(initial, &changes);
            for r in 0u8..7 {
                let added_by = |w: u8| {
                    states.windows(2).any(|p| {
                        p[1].author == user(w)
                            && p[1].care_team.contains(&user(r))
                            && !p[0].care_team.contains(&user(r))
                    })
                };
                prop_assert!(!may_give_identity_key(&states, user(PATIENT), user(r)));
                prop_assert!(may_give_identity_key(&states, user(FRONT_DESK), user(r)));
                prop_assert_eq!(
                    may_give_identity_key(&states, user(ADMIN), user(r)),
                    added_by(ADMIN)
                );
                for c in 2u8..6 {
                    let ever_in = states.iter().any(|s| s.care_team.contains(&user(c)));
                    prop_assert_eq!(may_give_identity_key(&states, user(c), user(r)), ever_in);
                }
            }
        }

        /// Every role as a recipient: case and identity keys go to the latest care team, the
        /// shared tier and the identity also to the chart's patient; nobody else.
        #[test]
        fn keys_go_only_to_the_care_team_and_the_patient(
            initial in proptest::collection::vec(2u8..6, 0..3),
            changes in proptest::collection::vec(change(), 0..12),
        ) {
            let states = chain(initial, &changes);
            let latest = &states[states.len() - 1];
            for u in 0u8..7 {
                let in_team = latest.care_team.contains(&user(u));
                let patient = latest.patient == Some(user(u));
                prop_assert_eq!(may_receive_case_key(&states, user(u), false), in_team);
                prop_assert_eq!(may_receive_case_key(&states, user(u), true), in_team || patient);
                prop_assert_eq!(may_receive_identity_key(&states, user(u)), in_team || patient);
                if u == FRONT_DESK || u == ADMIN {
                    prop_assert!(!in_team && !patient);
                }
            }
        }

        /// Older epochs reach a member added from outside the care team, or re-added, only
        /// after confirmation; nobody outside the team ever; and never an epoch they were
        /// removed from without a confirmation.
        #[test]
        fn older_epochs_need_a_clinicians_confirmation(
            initial in proptest::collection::vec(2u8..6, 0..3),
            changes in proptest::collection::vec(change(), 0..12),
        ) {
            let states = chain(initial, &changes);
            let latest = &states[states.len() - 1];
            for c in 0u8..7 {
                let u = user(c);
                for epoch in 1..=latest.epoch {
                    let sharing = history_sharing(&states, u, epoch);
                    if !latest.care_team.contains(&u) {
                        prop_assert_eq!(sharing, Sharing::Never);
                        continue;
                    }
                    let joined = joined_at(&states, u).unwrap();
                    let ever_removed = states[..joined].iter().any(|s| s.care_team.contains(&u));
                    let by_outsider = joined > 0
                        && !states[joined - 1].care_team.contains(&states[joined].author);
                    let started_with_them =
                        joined == 0 || states[joined].epoch > states[joined - 1].epoch;
                    if sharing == Sharing::Automatic && epoch < states[joined].epoch {
                        prop_assert!(!ever_removed && !by_outsider);
                    }
                    if sharing == Sharing::Automatic && epoch == states[joined].epoch {
                        prop_assert!((!ever_removed && !by_outsider) || started_with_them);
                    }
                    if (ever_removed || by_outsider) && epoch < states[joined].epoch {
                        prop_assert_eq!(sharing, Sharing::AfterConfirmation);
                    }
                    if epoch > states[joined].epoch {
                        prop_assert_eq!(sharing, Sharing::Automatic);
                    }
                }
            }
        }
    }
}
