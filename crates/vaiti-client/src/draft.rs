//! Note drafts, sealed on the device while they are typed, so a session that expires (or a lock
//! after inactivity, or a closed tab) never loses a note.
//!
//! A draft is sealed like the device's other cache entries: under the account's cache key
//! (envelope kind `LocalCache`), bound to the clinic, the account and the chart. Only the same
//! account, signed in again, opens it; a draft copied to another chart's slot or another
//! account's storage fails to open. Drafts never leave the device: the server learns nothing,
//! not even that a draft exists.

use serde::{Deserialize, Serialize};
use vaiti_core::ChartId;
use vaiti_crypto::{CacheKey, ClinicId, Context, Envelope, UserId, account_context};

use crate::ClientError;
use crate::account::Unlocked;

/// The cache entry's object id in the sealed context: the 16 bytes `vaiti note draft`.
const ENTRY: [u8; 16] = *b"vaiti note draft";

/// A note being written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// Always 1.
    pub v: u8,
    /// The chart the note is for.
    pub chart: ChartId,
    /// The template's name (`free`, `soap`, `dap`, `birp`).
    pub template: String,
    /// The note's title.
    pub title: String,
    /// One text per section of the template, in order.
    pub sections: Vec<String>,
    /// Whether the writer chose to share the note with the patient.
    pub shared: bool,
    /// When the draft was last saved (seconds since the Unix epoch).
    pub saved_at: i64,
}

fn context(clinic: ClinicId, user: UserId, chart: ChartId) -> Context {
    Context {
        object: vaiti_crypto::ObjectId::from_bytes(ENTRY),
        object_version: 1,
        chart: Some(vaiti_crypto::ChartId::from_bytes(*chart.as_bytes())),
        ..account_context(clinic, user)
    }
}

fn user_of(unlocked: &Unlocked) -> UserId {
    UserId::from_bytes(*unlocked.account.id.as_bytes())
}

impl Draft {
    /// Seals the draft for this account's device storage.
    pub fn seal(&self, unlocked: &Unlocked) -> Result<Vec<u8>, ClientError> {
        self.seal_with(&unlocked.cache_key, unlocked.clinic, user_of(unlocked))
    }

    /// Opens a draft sealed by [`Draft::seal`] for `chart`.
    pub fn open(unlocked: &Unlocked, chart: ChartId, sealed: &[u8]) -> Result<Draft, ClientError> {
        Self::open_with(
            &unlocked.cache_key,
            unlocked.clinic,
            user_of(unlocked),
            chart,
            sealed,
        )
    }

    /// [`Draft::seal`] with the key and names given directly.
    pub fn seal_with(
        &self,
        key: &CacheKey,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Vec<u8>, ClientError> {
        let mut copy = self.clone();
        copy.v = 1;
        let bytes = serde_json::to_vec(&copy).map_err(|e| ClientError::Usage(e.to_string()))?;
        Ok(key
            .seal(&context(clinic, user, self.chart), &bytes)?
            .into_bytes())
    }

    /// [`Draft::open`] with the key and names given directly. The draft must be for `chart`.
    pub fn open_with(
        key: &CacheKey,
        clinic: ClinicId,
        user: UserId,
        chart: ChartId,
        sealed: &[u8],
    ) -> Result<Draft, ClientError> {
        let plain = key.open(
            &Envelope::from_bytes(sealed.to_vec()),
            &context(clinic, user, chart),
        )?;
        let draft: Draft = serde_json::from_slice(plain.as_bytes())
            .map_err(|_| ClientError::Protocol("a saved draft is damaged".into()))?;
        if draft.v != 1 {
            return Err(ClientError::Protocol(
                "a saved draft has an unknown version".into(),
            ));
        }
        if draft.chart != chart {
            return Err(ClientError::Protocol(
                "a saved draft belongs to another chart".into(),
            ));
        }
        Ok(draft)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(chart: ChartId) -> Draft {
        Draft {
            v: 1,
            chart,
            template: "soap".into(),
            title: "Session 4".into(),
            sections: vec![
                "Sleeps badly".into(),
                "Calm".into(),
                String::new(),
                "Next week".into(),
            ],
            shared: false,
            saved_at: 1_790_000_000,
        }
    }

    fn ids() -> (ClinicId, UserId, ChartId, ChartId) {
        (
            ClinicId::from_bytes([1; 16]),
            UserId::from_bytes([2; 16]),
            ChartId::from_bytes([3; 16]),
            ChartId::from_bytes([4; 16]),
        )
    }

    #[test]
    fn a_draft_opens_for_its_account_and_chart_only() {
        let key = CacheKey::generate().unwrap();
        let (clinic, user, chart, other_chart) = ids();
        let d = draft(chart);
        let sealed = d.seal_with(&key, clinic, user).unwrap();
        assert_eq!(
            Draft::open_with(&key, clinic, user, chart, &sealed).unwrap(),
            d
        );
        // Moved to another chart's slot, another account's, another clinic's: refused.
        assert!(Draft::open_with(&key, clinic, user, other_chart, &sealed).is_err());
        let other_user = UserId::from_bytes([9; 16]);
        assert!(Draft::open_with(&key, clinic, other_user, chart, &sealed).is_err());
        let other_clinic = ClinicId::from_bytes([9; 16]);
        assert!(Draft::open_with(&key, other_clinic, user, chart, &sealed).is_err());
        // Another account's key opens nothing.
        let stranger = CacheKey::generate().unwrap();
        assert!(Draft::open_with(&stranger, clinic, user, chart, &sealed).is_err());
    }

    #[test]
    fn every_bit_flip_and_truncation_is_refused() {
        let key = CacheKey::generate().unwrap();
        let (clinic, user, chart, _) = ids();
        let sealed = draft(chart).seal_with(&key, clinic, user).unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                Draft::open_with(&key, clinic, user, chart, &bad).is_err(),
                "flip at {i}"
            );
        }
        for len in 0..sealed.len() {
            assert!(Draft::open_with(&key, clinic, user, chart, &sealed[..len]).is_err());
        }
    }

    #[test]
    fn the_sealed_draft_carries_no_plaintext() {
        let key = CacheKey::generate().unwrap();
        let (clinic, user, chart, _) = ids();
        let sealed = draft(chart).seal_with(&key, clinic, user).unwrap();
        let hay = String::from_utf8_lossy(&sealed);
        assert!(!hay.contains("Sleeps badly") && !hay.contains("Session 4"));
    }
}
