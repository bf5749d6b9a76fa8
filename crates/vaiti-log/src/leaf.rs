//! Access-log leaves, version 1 (`docs/access-log.md`): one fixed-layout, canonical binary
//! encoding of who did what to which chart, when and why — ids, enums, hashes and a signature,
//! never plaintext, never an IP address, never the name typed into a failed login.
//!
//! Layout (big-endian, 228 bytes):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version (1) |
//! | 1 | action ([`Action`]) |
//! | 1 | purpose ([`Purpose`]) |
//! | 16 | clinic id |
//! | 16 | actor user id (zero when not named, e.g. a failed login for a name with no account) |
//! | 16 | actor signing key id (zero when the action is not signed) |
//! | 16 | chart id (zero when the action concerns no chart) |
//! | 8 | the chart's previous leaf index + 1 (zero for the chart's first leaf, or no chart) |
//! | 32 | the chart's previous leaf hash (zero exactly when the previous field is zero) |
//! | 16 | object id (record, invite, certificate; zero when none) |
//! | 32 | detail hash: SHA-256 of what the action is about |
//! | 8 | time, seconds since the Unix epoch (signed) |
//! | 65 | the client's request signature (suite byte + Ed25519), or zeros |
//!
//! Decoding is strict: one valid encoding per leaf, so a leaf hash names exactly one leaf.

use crate::tree::{Hash, leaf_hash};
use crate::{Error, Result};

/// The only leaf version this build knows.
pub const LEAF_VERSION_1: u8 = 1;

/// The encoded length of a version-1 leaf.
pub const LEAF_V1_LEN: usize = 1 + 1 + 1 + 16 + 16 + 16 + 16 + 8 + 32 + 16 + 32 + 8 + 65;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Wrapped case keys were handed to a client: the chart's notes were opened.
    KeyRelease,
    /// A chart's identity record was read (front desk, a clinician's caseload).
    IdentityRead,
    /// A record version was written.
    RecordWrite,
    /// A chart's care team, epoch or patient account changed.
    ChartStateChange,
    /// The key directory changed: a certificate issued, renewed or revoked, a manifest.
    DirectoryChange,
    /// A login.
    Login,
    /// A failed login (the name typed is never recorded).
    LoginFailed,
    /// An admin action (a branch, an invite, a revocation).
    AdminAction,
    /// A patient flagged an entry they do not recognise.
    PatientReport,
    /// The escrow quorum rebuilt the escrow key.
    EscrowUse,
    /// A chart's access log was read (by its patient, an auditor or an admin).
    LogRead,
    /// The server began serving a web app release. No actor, no chart; the detail is the
    /// SHA-256 of the release's asset manifest (which lists every file with its hash), so anyone
    /// can tell which browser code the server was serving, and from when.
    AppRelease,
}

impl Action {
    const ALL: [Action; 12] = [
        Action::KeyRelease,
        Action::IdentityRead,
        Action::RecordWrite,
        Action::ChartStateChange,
        Action::DirectoryChange,
        Action::Login,
        Action::LoginFailed,
        Action::AdminAction,
        Action::PatientReport,
        Action::EscrowUse,
        Action::LogRead,
        Action::AppRelease,
    ];

    /// The action byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            Action::KeyRelease => 1,
            Action::IdentityRead => 2,
            Action::RecordWrite => 3,
            Action::ChartStateChange => 4,
            Action::DirectoryChange => 5,
            Action::Login => 6,
            Action::LoginFailed => 7,
            Action::AdminAction => 8,
            Action::PatientReport => 9,
            Action::EscrowUse => 10,
            Action::LogRead => 11,
            Action::AppRelease => 12,
        }
    }

    /// Parses an action byte.
    pub fn from_byte(byte: u8) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.to_byte() == byte)
    }
}

/// Why (from the client's signed request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// Not applicable (logins, writes).
    None,
    /// Care of the patient.
    Treatment,
    /// Running the clinic (front desk, billing).
    Administration,
    /// Checking the log itself.
    Audit,
    /// Break-glass access.
    Emergency,
}

impl Purpose {
    const ALL: [Purpose; 5] = [
        Purpose::None,
        Purpose::Treatment,
        Purpose::Administration,
        Purpose::Audit,
        Purpose::Emergency,
    ];

    /// The purpose byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            Purpose::None => 0,
            Purpose::Treatment => 1,
            Purpose::Administration => 2,
            Purpose::Audit => 3,
            Purpose::Emergency => 4,
        }
    }

    /// Parses a purpose byte.
    pub fn from_byte(byte: u8) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.to_byte() == byte)
    }
}

/// The detail hash of a leaf: SHA-256 over the label `vaiti v1 log detail` and each part prefixed
/// with its length (u64, big-endian), so parts cannot be shifted into one another. Servers fill a
/// leaf's `detail` with it; clients recompute it from what they received (the request they signed
/// and the wraps released to them) to check that a leaf is about exactly that.
pub fn detail_hash(parts: &[&[u8]]) -> Hash {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update(b"vaiti v1 log detail");
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// A chart's previous leaf: the per-chart chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChartLink {
    /// Its index in the log.
    pub index: u64,
    /// Its leaf hash.
    pub hash: Hash,
}

/// One access-log leaf, version 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// What happened.
    pub action: Action,
    /// Why.
    pub purpose: Purpose,
    /// The clinic.
    pub clinic: [u8; 16],
    /// Who (zero when not named).
    pub actor: [u8; 16],
    /// The actor's signing key id (zero when not signed).
    pub actor_key: [u8; 16],
    /// The chart (zero when none).
    pub chart: [u8; 16],
    /// The chart's previous leaf (none for its first, or when there is no chart).
    pub chart_previous: Option<ChartLink>,
    /// The object concerned (zero when none).
    pub object: [u8; 16],
    /// SHA-256 of what the action is about.
    pub detail: Hash,
    /// When, seconds since the Unix epoch.
    pub time: i64,
    /// The client's request signature, or zeros.
    pub request_signature: [u8; 65],
}

impl Leaf {
    /// The canonical encoding.
    pub fn encode(&self) -> [u8; LEAF_V1_LEN] {
        let mut out = [0u8; LEAF_V1_LEN];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            if let Some(dst) = out.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
            at += bytes.len();
        };
        put(&[
            LEAF_VERSION_1,
            self.action.to_byte(),
            self.purpose.to_byte(),
        ]);
        put(&self.clinic);
        put(&self.actor);
        put(&self.actor_key);
        put(&self.chart);
        match self.chart_previous {
            Some(link) => {
                put(&link.index.saturating_add(1).to_be_bytes());
                put(&link.hash);
            }
            None => {
                put(&[0; 8]);
                put(&[0; 32]);
            }
        }
        put(&self.object);
        put(&self.detail);
        put(&self.time.to_be_bytes());
        put(&self.request_signature);
        out
    }

    /// The RFC 6962 leaf hash of the encoding: what the tree holds.
    pub fn hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }

    /// Decodes a leaf, refusing anything but the one canonical encoding: the exact length,
    /// version 1, known action and purpose, a previous-leaf hash present exactly when its index
    /// is, and no chart link without a chart.
    pub fn decode(bytes: &[u8]) -> Result<Leaf> {
        let bytes: &[u8; LEAF_V1_LEN] = bytes.try_into().map_err(|_| Error::Malformed)?;
        if bytes[0] != LEAF_VERSION_1 {
            return Err(Error::Malformed);
        }
        let action = Action::from_byte(bytes[1]).ok_or(Error::Malformed)?;
        let purpose = Purpose::from_byte(bytes[2]).ok_or(Error::Malformed)?;
        let mut at = 3;
        let mut take = |n: usize| -> Result<&[u8]> {
            let part = bytes.get(at..at + n).ok_or(Error::Malformed)?;
            at += n;
            Ok(part)
        };
        let id = |b: &[u8]| -> Result<[u8; 16]> { b.try_into().map_err(|_| Error::Malformed) };
        let hash = |b: &[u8]| -> Result<Hash> { b.try_into().map_err(|_| Error::Malformed) };
        let clinic = id(take(16)?)?;
        let actor = id(take(16)?)?;
        let actor_key = id(take(16)?)?;
        let chart = id(take(16)?)?;
        let previous_index = u64::from_be_bytes(take(8)?.try_into().map_err(|_| Error::Malformed)?);
        let previous_hash = hash(take(32)?)?;
        let object = id(take(16)?)?;
        let detail = hash(take(32)?)?;
        let time = i64::from_be_bytes(take(8)?.try_into().map_err(|_| Error::Malformed)?);
        let request_signature: [u8; 65] = take(65)?.try_into().map_err(|_| Error::Malformed)?;
        let chart_previous = match (previous_index, previous_hash == [0; 32]) {
            (0, true) => None,
            (0, false) | (_, true) => return Err(Error::Malformed),
            (n, false) => Some(ChartLink {
                index: n - 1,
                hash: previous_hash,
            }),
        };
        if chart == [0; 16] && chart_previous.is_some() {
            return Err(Error::Malformed);
        }
        Ok(Leaf {
            action,
            purpose,
            clinic,
            actor,
            actor_key,
            chart,
            chart_previous,
            object,
            detail,
            time,
            request_signature,
        })
    }
}

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used)]
    use super::*;
    #[test]
    fn detail_hash_separates_parts() {
        let ab_c = detail_hash(&[b"ab", b"c"]);
        let a_bc = detail_hash(&[b"a", b"bc"]);
        let abc = detail_hash(&[b"abc"]);
        assert_ne!(ab_c, a_bc);
        assert_ne!(ab_c, abc);
        assert_ne!(detail_hash(&[]), detail_hash(&[b""]));
        assert_eq!(detail_hash(&[b"ab", b"c"]), ab_c);
    }

    fn sample() -> Leaf {
        Leaf {
            action: Action::KeyRelease,
            purpose: Purpose::Treatment,
            clinic: [1; 16],
            actor: [2; 16],
            actor_key: [3; 16],
            chart: [4; 16],
            chart_previous: Some(ChartLink {
                index: 41,
                hash: [5; 32],
            }),
            object: [0; 16],
            detail: [6; 32],
            time: 1_800_000_000,
            request_signature: [7; 65],
        }
    }

    #[test]
    fn round_trips_and_the_encoding_is_pinned() {
        let leaf = sample();
        let bytes = leaf.encode();
        assert_eq!(bytes.len(), LEAF_V1_LEN);
        assert_eq!(Leaf::decode(&bytes).unwrap(), leaf);
        // The format is frozen: these bytes must decode forever.
        assert_eq!(&bytes[..3], &[1, 1, 1]);
        assert_eq!(&bytes[67..75], &42u64.to_be_bytes(), "index + 1");
        assert_eq!(&bytes[155..163], &1_800_000_000i64.to_be_bytes());
        assert_eq!(
            hex_of(&leaf.hash()),
            hex_of(&leaf_hash(&bytes)),
            "the tree holds the RFC 6962 leaf hash of the encoding"
        );
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn only_the_canonical_encoding_decodes() {
        let good = sample().encode();
        assert!(Leaf::decode(&good[..LEAF_V1_LEN - 1]).is_err());
        let mut longer = good.to_vec();
        longer.push(0);
        assert!(Leaf::decode(&longer).is_err());
        for (at, value) in [(0, 2u8), (0, 0), (1, 0), (1, 13), (2, 5)] {
            let mut b = good;
            b[at] = value;
            assert!(Leaf::decode(&b).is_err(), "byte {at} = {value}");
        }
        // A previous hash without an index, and an index without a hash.
        let mut b = good;
        b[67..75].copy_from_slice(&[0; 8]);
        assert!(Leaf::decode(&b).is_err());
        let mut b = good;
        b[75..107].copy_from_slice(&[0; 32]);
        assert!(Leaf::decode(&b).is_err());
        // A chart link without a chart.
        let mut b = good;
        b[51..67].copy_from_slice(&[0; 16]);
        assert!(Leaf::decode(&b).is_err());
        // No link at all is fine.
        let first = Leaf {
            chart_previous: None,
            ..sample()
        };
        assert_eq!(Leaf::decode(&first.encode()).unwrap(), first);
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = sample();
        let variants = [
            Leaf {
                action: Action::IdentityRead,
                ..sample()
            },
            Leaf {
                purpose: Purpose::Emergency,
                ..sample()
            },
            Leaf {
                actor: [9; 16],
                ..sample()
            },
            Leaf {
                chart_previous: Some(ChartLink {
                    index: 40,
                    hash: [5; 32],
                }),
                ..sample()
            },
            Leaf {
                time: 1_800_000_001,
                ..sample()
            },
            Leaf {
                request_signature: [8; 65],
                ..sample()
            },
        ];
        for v in variants {
            assert_ne!(v.hash(), base.hash());
        }
    }

    #[test]
    fn enum_bytes_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::from_byte(a.to_byte()), Some(a));
        }
        for p in Purpose::ALL {
            assert_eq!(Purpose::from_byte(p.to_byte()), Some(p));
        }
        assert_eq!(Action::from_byte(0), None);
        assert_eq!(Purpose::from_byte(5), None);
    }
}
