//! What this device has seen (DESIGN.md flow 7, the part that guards against rollback): the newest
//! clinic manifest version, the length and head of each chart's state chain, and the newest
//! version of each record. A server that later serves an older manifest, a shorter or forked
//! chart-state chain, or an older version of a record is caught, where a device without this
//! memory could not tell.
//!
//! Kept on the device sealed under the account's cache key (envelope kind `LocalCache`), so a
//! stolen device learns from it no more than ids and counts, and only with the password.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vaiti_core::{ChartId, ObjectId};
use vaiti_crypto::{Context, Envelope, account_context};

use crate::ClientError;
use crate::account::Unlocked;

/// The cache entry's object id in the sealed context: the 16 bytes `vaiti seen cache`.
const ENTRY: [u8; 16] = *b"vaiti seen cache";

/// One chart's verified state chain, as far as this device has seen it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartSeen {
    /// How many entries.
    pub seq: u64,
    /// The hash of the last one (hex).
    pub head: String,
}

/// The device's memory of the newest things it has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Always 1.
    pub v: u8,
    /// The newest clinic manifest version.
    pub manifest_version: u64,
    /// Per chart: the verified state chain's length and head.
    pub charts: BTreeMap<ChartId, ChartSeen>,
    /// Per record: the newest version.
    pub objects: BTreeMap<ObjectId, u64>,
    /// The newest access-log checkpoint accepted: its size and root (hex).
    #[serde(default)]
    pub log: Option<(u64, String)>,
    /// Every signed revocation seen: the revoked account and the earliest time seen for it. A
    /// server that later shows that account's certificate as live is caught.
    #[serde(default)]
    pub revoked: BTreeMap<vaiti_core::UserId, i64>,
}

fn rolled_back(what: &str) -> ClientError {
    ClientError::Protocol(format!(
        "the server served an older {what} than this device has already seen (a rollback)"
    ))
}

impl Seen {
    /// A manifest version: never older than the newest seen.
    pub fn manifest(&mut self, version: u64) -> Result<(), ClientError> {
        if version < self.manifest_version {
            return Err(rolled_back("clinic manifest"));
        }
        self.manifest_version = version;
        Ok(())
    }

    /// A chart's verified state chain (`hashes` in order): at least as long as seen, and
    /// containing the head seen at its place (no fork).
    pub fn chart(&mut self, chart: ChartId, hashes: &[[u8; 32]]) -> Result<(), ClientError> {
        if let Some(seen) = self.charts.get(&chart) {
            let at = usize::try_from(seen.seq).unwrap_or(usize::MAX);
            match at.checked_sub(1).and_then(|i| hashes.get(i)) {
                Some(h) if hex::encode(h) == seen.head => {}
                Some(_) => {
                    return Err(ClientError::Protocol(
                        "the chart's state history differs from what this device saw before (a fork)"
                            .into(),
                    ));
                }
                None => return Err(rolled_back("chart state (a care-team change was hidden)")),
            }
        }
        if let Some(last) = hashes.last() {
            self.charts.insert(
                chart,
                ChartSeen {
                    seq: hashes.len() as u64,
                    head: hex::encode(last),
                },
            );
        }
        Ok(())
    }

    /// A record's newest version as served: never older than the newest seen.
    pub fn object(&mut self, object: ObjectId, newest: u64) -> Result<(), ClientError> {
        let seen = self.objects.entry(object).or_insert(0);
        if newest < *seen {
            return Err(rolled_back("version of a record"));
        }
        *seen = newest;
        Ok(())
    }

    /// A verified, signed revocation of `user` at `at`: remembered for good (the earliest time).
    pub fn revocation(&mut self, user: vaiti_core::UserId, at: i64) {
        let seen = self.revoked.entry(user).or_insert(at);
        *seen = (*seen).min(at);
    }

    /// Every revocation this device remembers must still be in force in `members` (each user's
    /// verified certificate ends by its revocation): a server that drops a revocation to get
    /// keys wrapped to, or a certificate renewed for, a revoked account is caught here.
    pub fn check_revocations(
        &self,
        members: &std::collections::HashMap<vaiti_core::UserId, crate::directory::Member>,
    ) -> Result<(), ClientError> {
        for (user, at) in &self.revoked {
            if let Some(m) = members.get(user)
                && m.valid_until > *at
            {
                return Err(ClientError::Protocol(format!(
                    "the key directory shows {} as a current member, but this device saw their account revoked: the server hides a revocation (report this to your clinic's admin)",
                    m.label()
                )));
            }
        }
        Ok(())
    }

    /// Takes in what another session of the same device saw meanwhile (two commands at once, two
    /// actions of the web app in flight), keeping the newer of each: the memory only grows, so
    /// the later save never forgets what the earlier one recorded.
    pub fn merge(&mut self, other: &Seen) {
        self.manifest_version = self.manifest_version.max(other.manifest_version);
        for (chart, theirs) in &other.charts {
            match self.charts.get(chart) {
                Some(mine) if mine.seq >= theirs.seq => {}
                _ => {
                    self.charts.insert(*chart, theirs.clone());
                }
            }
        }
        for (object, version) in &other.objects {
            let mine = self.objects.entry(*object).or_insert(0);
            *mine = (*mine).max(*version);
        }
        if let Some((size, root)) = &other.log
            && self.log.as_ref().is_none_or(|(mine, _)| mine < size)
        {
            self.log = Some((*size, root.clone()));
        }
        for (user, at) in &other.revoked {
            self.revocation(*user, *at);
        }
    }

    fn context(unlocked: &Unlocked) -> Context {
        let user = vaiti_crypto::UserId::from_bytes(*unlocked.account.id.as_bytes());
        Context {
            object: vaiti_crypto::ObjectId::from_bytes(ENTRY),
            object_version: 1,
            ..account_context(unlocked.clinic, user)
        }
    }

    /// Sealed under the account's cache key, for the device's profile.
    pub fn seal(&self, unlocked: &Unlocked) -> Result<Vec<u8>, ClientError> {
        let mut copy = self.clone();
        copy.v = 1;
        let bytes = serde_json::to_vec(&copy).map_err(|e| ClientError::Usage(e.to_string()))?;
        Ok(unlocked
            .cache_key
            .seal(&Self::context(unlocked), &bytes)?
            .into_bytes())
    }

    /// Opens what [`Seen::seal`] made (for this account only).
    pub fn open(unlocked: &Unlocked, sealed: &[u8]) -> Result<Seen, ClientError> {
        let plain = unlocked.cache_key.open(
            &Envelope::from_bytes(sealed.to_vec()),
            &Self::context(unlocked),
        )?;
        let seen: Seen = serde_json::from_slice(plain.as_bytes())
            .map_err(|_| ClientError::Protocol("the local cache is damaged".into()))?;
        if seen.v != 1 {
            return Err(ClientError::Protocol(
                "the local cache has an unknown version".into(),
            ));
        }
        Ok(seen)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chart() -> ChartId {
        ChartId::from_bytes([3; 16])
    }

    #[test]
    fn a_shorter_or_forked_chain_is_refused() {
        let mut seen = Seen::default();
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        seen.chart(chart(), &[a, b]).unwrap();
        assert!(seen.chart(chart(), &[a]).is_err(), "shorter");
        assert!(seen.chart(chart(), &[a, c]).is_err(), "forked");
        seen.chart(chart(), &[a, b, c]).unwrap();
        assert_eq!(seen.charts[&chart()].seq, 3);
        assert!(seen.chart(chart(), &[a, b]).is_err());
    }

    #[test]
    fn older_versions_and_manifests_are_refused() {
        let mut seen = Seen::default();
        let o = ObjectId::from_bytes([4; 16]);
        seen.object(o, 2).unwrap();
        seen.object(o, 2).unwrap();
        assert!(seen.object(o, 1).is_err());
        seen.object(o, 3).unwrap();
        seen.manifest(5).unwrap();
        assert!(seen.manifest(4).is_err());
        seen.manifest(5).unwrap();
    }

    #[test]
    fn merging_keeps_the_newer_of_each() {
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let (o1, o2, o3) = (
            ObjectId::from_bytes([4; 16]),
            ObjectId::from_bytes([5; 16]),
            ObjectId::from_bytes([6; 16]),
        );
        let other_chart = ChartId::from_bytes([7; 16]);
        let mut first = Seen::default();
        first.manifest(3).unwrap();
        first.chart(chart(), &[a, b, c]).unwrap();
        first.object(o1, 5).unwrap();
        first.object(o2, 1).unwrap();
        first.log = Some((40, "forty".into()));
        let mut second = Seen::default();
        second.manifest(2).unwrap();
        second.chart(chart(), &[a]).unwrap();
        second.chart(other_chart, &[b, c]).unwrap();
        second.object(o1, 2).unwrap();
        second.object(o2, 4).unwrap();
        second.object(o3, 1).unwrap();
        second.log = Some((12, "twelve".into()));

        let mut merged = first.clone();
        merged.merge(&second);
        assert_eq!(merged.manifest_version, 3);
        assert_eq!(merged.charts[&chart()].seq, 3, "the longer chain stays");
        assert_eq!(
            merged.charts[&other_chart].seq, 2,
            "a chart only the other saw"
        );
        assert_eq!(
            (
                merged.objects[&o1],
                merged.objects[&o2],
                merged.objects[&o3]
            ),
            (5, 4, 1)
        );
        assert_eq!(merged.log, Some((40, "forty".into())));
        // The order of merging does not matter.
        let mut other_way = second.clone();
        other_way.merge(&first);
        assert_eq!(other_way, merged);
        // And what was merged still refuses what either side would have refused.
        assert!(merged.chart(chart(), &[a, b]).is_err());
        assert!(merged.object(o2, 3).is_err());
    }
}
