//! Detection alerts (`docs/access-log.md` "Detection"): what the server raised, as stored and as
//! served to admins and auditors, and the bodies of the detection endpoints.
//!
//! An alert holds ids, a kind, counts and times — never plaintext, and never the id of a decoy
//! chart: decoys must look like any other chart in a database dump, so a decoy alert says who
//! and when, not which chart.

use serde::{Deserialize, Serialize};

use crate::ids::{AlertId, ChartId, ClinicId, UserId};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A request named a decoy chart (granted or refused).
    DecoyAccess,
    /// One account opened (was released the case keys of) more distinct charts than the
    /// threshold within the window.
    ChartOpeningRate,
    /// More failed logins at the clinic than the threshold within the window.
    FailedLoginBurst,
    /// A patient flagged an access-log entry they do not recognise.
    PatientReport,
}

impl AlertKind {
    /// Every kind.
    pub const ALL: [AlertKind; 4] = [
        AlertKind::DecoyAccess,
        AlertKind::ChartOpeningRate,
        AlertKind::FailedLoginBurst,
        AlertKind::PatientReport,
    ];

    /// The name used in the API, the webhook payload and the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::DecoyAccess => "decoy_access",
            AlertKind::ChartOpeningRate => "chart_opening_rate",
            AlertKind::FailedLoginBurst => "failed_login_burst",
            AlertKind::PatientReport => "patient_report",
        }
    }

    /// Parses a kind's name.
    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl core::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert, as stored and as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// The clinic.
    pub clinic: ClinicId,
    /// The alert.
    pub id: AlertId,
    /// What it is about.
    pub kind: AlertKind,
    /// The account that caused it (none for a failed-login burst: failed logins name no one).
    pub actor: Option<UserId>,
    /// What was counted: distinct charts opened, failed logins, or 1 for a single event.
    pub count: u64,
    /// Over how many seconds `count` was counted (0 for a single event).
    pub window_s: u64,
    /// The access-log entry it concerns (a patient's report names the entry), if any. Never set
    /// for a decoy alert: the entry would name the decoy chart.
    pub log_index: Option<u64>,
    /// When it was raised (seconds since the Unix epoch).
    pub created_at: i64,
    /// Who acknowledged it, if anyone has.
    pub acknowledged_by: Option<UserId>,
    /// When it was first acknowledged.
    pub acknowledged_at: Option<i64>,
}

/// `GET /api/v1/clinics/{clinic}/alerts`: the clinic's alerts, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertList {
    /// The alerts, newest first.
    pub alerts: Vec<Alert>,
    /// The position of the next page (`?position=`), absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// `POST /api/v1/clinics/{clinic}/decoys`: registers an existing chart as a decoy (admins). The
/// server keeps the list outside its database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterDecoy {
    /// The chart, made by the admin's client like any patient's.
    pub chart: ChartId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(AlertKind::parse("DecoyAccess"), None);
    }
}
