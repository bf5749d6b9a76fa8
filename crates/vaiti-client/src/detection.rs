//! Detection from the clinic's side (`docs/access-log.md` "Detection"): reading and acknowledging
//! alerts, and making decoy charts. The CLI (`vaiti alerts`, `vaiti decoy create`) and the browser
//! app both call these, so the two cannot drift apart.
//!
//! A decoy is made exactly as a patient's chart is — the same [`crate::chart::add_patient`] call,
//! with a plausible Finnish name, a valid identity code and its birth date — and then registered
//! with the server, which keeps the decoy list outside its database. A stolen database therefore
//! shows no difference between a decoy and a patient.

use vaiti_core::alert::{AlertList, RegisterDecoy};
use vaiti_core::api::MAX_ALERTS_PAGE;
use vaiti_core::{Alert, AlertId, ChartId, Role};

use crate::ClientError;
use crate::chart::{PatientDetails, add_patient};
use crate::hetu::Hetu;
use crate::session::Session;

/// The most alerts one listing may ask for (the server refuses more).
pub const MAX_ALERTS: u32 = 1000;

/// An alert, with the login of the account that caused it where the verified directory knows
/// that account (a failed-login burst names no one).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListedAlert {
    /// The alert as the server stores it (ids, kind, counts, times; never a chart).
    pub alert: Alert,
    /// The actor's login (email or patient handle), from a verified certificate.
    pub actor_login: Option<String>,
}

/// The clinic's alerts, newest first, at most `limit` (admins and auditors; the server refuses
/// anyone else).
pub async fn list_alerts(s: &Session<'_>, limit: u32) -> Result<Vec<ListedAlert>, ClientError> {
    // Page by page up to `limit`: an alert raised meanwhile shifts a page by one, so one seen
    // twice is kept once.
    let mut alerts: Vec<Alert> = Vec::new();
    let mut position = 0;
    while (alerts.len() as u64) < u64::from(limit) {
        let want = (u64::from(limit) - alerts.len() as u64).min(u64::from(MAX_ALERTS_PAGE));
        let page: AlertList = s
            .api
            .get(&format!(
                "{}/alerts?limit={want}&position={position}",
                s.me.clinic_path()
            ))
            .await?;
        for alert in page.alerts {
            if !alerts.iter().any(|a| a.id == alert.id) {
                alerts.push(alert);
            }
        }
        match crate::api::next_page(position, page.next)? {
            Some(next) => position = next,
            None => break,
        }
    }
    alerts.truncate(limit as usize);
    Ok(alerts
        .into_iter()
        .map(|alert| {
            // Only a name the directory vouches for: the server's word is not enough to put a
            // colleague's name next to an alert.
            let actor_login = alert
                .actor
                .and_then(|u| s.known.get(&u))
                .map(|m| m.certificate.login.clone());
            ListedAlert { alert, actor_login }
        })
        .collect())
}

/// Marks an alert acknowledged (admins; the first acknowledgement is kept).
pub async fn acknowledge_alert(s: &Session<'_>, alert: AlertId) -> Result<(), ClientError> {
    s.api
        .post_empty(&format!(
            "{}/alerts/{alert}/acknowledge",
            s.me.clinic_path()
        ))
        .await
}

/// Makes a decoy's chart in `branch` (admins): a realistic fake patient added through the same
/// call as any patient, with no care team. It is an ordinary chart until [`register_decoy`]
/// succeeds, so callers register it at once and tell the user if that fails.
pub async fn create_decoy_chart(s: &Session<'_>, branch: &str) -> Result<ChartId, ClientError> {
    if !s.myself()?.has_role(Role::Admin) {
        return Err(ClientError::Usage("only admins create decoys".into()));
    }
    let details = fake_patient()?;
    add_patient(s, branch, details, &[]).await
}

/// Asks the server to watch `chart` as a decoy (admins): from then on any request naming it
/// raises an alert, and no listing shows it. Registering a chart twice changes nothing.
pub async fn register_decoy(s: &Session<'_>, chart: ChartId) -> Result<(), ClientError> {
    s.api
        .post_no_content(
            &format!("{}/decoys", s.me.clinic_path()),
            &RegisterDecoy { chart },
        )
        .await
}

// ---- A realistic fake patient ----

/// Common Finnish given names, by the sex a HETU's individual number encodes.
const WOMEN: &[&str] = &[
    "Aino",
    "Anna",
    "Anneli",
    "Eeva",
    "Elina",
    "Emilia",
    "Helena",
    "Hanna",
    "Johanna",
    "Kaarina",
    "Katja",
    "Kristiina",
    "Laura",
    "Leena",
    "Liisa",
    "Maria",
    "Marja",
    "Minna",
    "Noora",
    "Oona",
    "Päivi",
    "Riikka",
    "Sanna",
    "Satu",
    "Sofia",
    "Suvi",
    "Tiina",
    "Tuula",
    "Veera",
    "Venla",
];
const MEN: &[&str] = &[
    "Aleksi", "Antti", "Eero", "Eino", "Elias", "Heikki", "Ilkka", "Janne", "Jari", "Juha",
    "Juhani", "Jukka", "Kalle", "Lauri", "Markku", "Matti", "Mikko", "Olli", "Pekka", "Petri",
    "Sami", "Tapani", "Timo", "Tuomas", "Valtteri", "Veikko", "Ville", "Väinö", "Ari", "Onni",
];
/// Common Finnish surnames.
const SURNAMES: &[&str] = &[
    "Korhonen",
    "Virtanen",
    "Mäkinen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Lehtinen",
    "Saarinen",
    "Salminen",
    "Heinonen",
    "Niemi",
    "Heikkilä",
    "Kinnunen",
    "Salonen",
    "Turunen",
    "Salo",
    "Laitinen",
    "Tuominen",
    "Rantanen",
    "Karjalainen",
    "Jokinen",
    "Mattila",
    "Savolainen",
    "Lahtinen",
    "Ahonen",
];

const HETU_CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

fn rng_failed() -> ClientError {
    ClientError::Usage("the random number generator failed".into())
}

/// A uniformly random number below `n` (n > 0), from the OS generator (the browser's
/// `crypto.getRandomValues` on wasm).
fn below(n: u64) -> Result<u64, ClientError> {
    if n == 0 {
        return Err(ClientError::Usage("nothing to choose from".into()));
    }
    // Rejection sampling keeps it uniform.
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|_| rng_failed())?;
        let v = u64::from_le_bytes(b);
        if v < zone {
            return Ok(v % n);
        }
    }
}

fn pick<'a>(list: &[&'a str]) -> Result<&'a str, ClientError> {
    let i = usize::try_from(below(list.len() as u64)?).map_err(|_| rng_failed())?;
    list.get(i).copied().ok_or_else(rng_failed)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A HETU for a birth date and individual number, with its check character (1900–2099).
fn hetu_for(year: u64, month: u64, day: u64, individual: u64) -> Result<String, ClientError> {
    let century = match year {
        1900..=1999 => '-',
        2000..=2099 => 'A',
        _ => {
            return Err(ClientError::Usage(format!(
                "no century sign for the year {year}"
            )));
        }
    };
    let yy = year % 100;
    let number = ((day * 10_000 + month * 100 + yy) * 1000 + individual) % 31;
    let check = usize::try_from(number)
        .ok()
        .and_then(|i| HETU_CHECK.get(i))
        .map(|c| char::from(*c))
        .ok_or_else(|| ClientError::Usage("no check character".into()))?;
    Ok(format!(
        "{day:02}{month:02}{yy:02}{century}{individual:03}{check}"
    ))
}

/// A plausible patient: a common name matching the sex the identity code encodes, a valid HETU
/// (individual number 002–899: the range of issued codes, not 900–999, which marks test and
/// temporary codes and would give a decoy away), its birth date, and usually a mobile number.
pub fn fake_patient() -> Result<PatientDetails, ClientError> {
    let year = 1945 + below(2007 - 1945 + 1)?;
    let month = 1 + below(12)?;
    let day = 1 + below(days_in_month(year, month))?;
    let individual = 2 + below(898)?;
    let hetu = hetu_for(year, month, day, individual)?;
    // Make sure it is one the client itself accepts.
    let parsed =
        Hetu::parse(&hetu).map_err(|e| ClientError::Usage(format!("generated HETU: {e}")))?;
    let given = if individual % 2 == 1 { MEN } else { WOMEN };
    let mut name = pick(given)?.to_owned();
    if below(10)? < 4 {
        let second = pick(given)?;
        if second != name {
            name = format!("{name} {second}");
        }
    }
    let name = format!("{name} {}", pick(SURNAMES)?);
    let phone = if below(10)? < 8 {
        let prefix = pick(&["040", "044", "045", "050"])?;
        Some(format!(
            "{prefix} {:03} {:04}",
            below(1000)?,
            below(10_000)?
        ))
    } else {
        None
    };
    Ok(PatientDetails {
        name,
        hetu: Some(parsed.as_str().to_owned()),
        birth_date: Some(format!("{year:04}-{month:02}-{day:02}")),
        email: None,
        phone,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn fake_patients_are_valid_and_varied() {
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let p = fake_patient().unwrap();
            let hetu = Hetu::parse(p.hetu.as_deref().unwrap()).unwrap();
            assert!(!hetu.is_temporary(), "a decoy never uses the test range");
            let (y, m, d) = hetu.birth_date();
            assert_eq!(
                p.birth_date.as_deref(),
                Some(format!("{y:04}-{m:02}-{d:02}").as_str())
            );
            // The client's own check accepts it unchanged.
            let checked = crate::chart::check_details(p.clone()).unwrap();
            assert_eq!(checked, p);
            names.insert(p.name);
        }
        assert!(names.len() > 100, "names vary: {}", names.len());
    }

    #[test]
    fn hetu_check_characters_match_known_codes() {
        // The example codes of the Digital and Population Data Services Agency.
        assert_eq!(hetu_for(1952, 10, 13, 308).unwrap(), "131052-308T");
        assert_eq!(hetu_for(2000, 1, 1, 2).unwrap(), "010100A002H");
        assert!(hetu_for(1899, 1, 1, 2).is_err(), "no 1800s decoys");
        assert!(hetu_for(2100, 1, 1, 2).is_err());
    }

    #[test]
    fn below_stays_in_range_and_refuses_zero() {
        assert!(below(0).is_err());
        for n in [1u64, 2, 3, 31, 1000] {
            for _ in 0..50 {
                assert!(below(n).unwrap() < n);
            }
        }
        assert!(pick(&[]).is_err());
    }
}
