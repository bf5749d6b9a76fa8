//! `vaiti serve --demo`: a fictional clinic, seeded so that a newcomer sees a living system in one
//! command, and the sign-ins to try it with.
//!
//! The clinic is made exactly as real devices would make it: through `vaiti-client`, over HTTP,
//! against the server that has just started listening. Every key, Secret Key and password is made
//! here, on the client side, at seeding time; nothing secret is compiled into the binary. The
//! server learns no more about the demo clinic than about any other.
//!
//! Seeding runs on its own thread with its own runtime, so the Argon2 of each sign-up and login
//! never holds up a request the server is answering. What it made is kept in the data directory:
//! `demo.json` (for tests and the browser tests) and `demo-sign-ins.txt` (for people), both
//! owner-only. On the next `vaiti serve --demo` with a store that still holds that clinic, nothing
//! is seeded again: the saved sign-ins are printed. Nothing here runs without `--demo`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use vaiti_client::account::{NewClinic, Unlocked, create_clinic, login};
use vaiti_client::api::Api;
use vaiti_client::chart::{self, PatientDetails};
use vaiti_client::invite::{self, CompletedJoin, NewMember};
use vaiti_client::session::Session;
use vaiti_core::{BranchId, ChartId, ClinicId, ObjectId, Role};
use vaiti_crypto::{SecretKey, Tier};
use vaiti_store::Store;

use crate::client::{create_private_dir, now, write_private};

/// The machine-readable record of the demo clinic, in the data directory.
pub(crate) const STATE_FILE: &str = "demo.json";

/// The same sign-ins for people, in the data directory.
pub(crate) const SIGN_INS_FILE: &str = "demo-sign-ins.txt";

/// Where the demo clinic's escrow shares are written (a real clinic hands them to officers).
const ESCROW_DIR: &str = "demo-escrow-shares";

/// The demo clinic's name: it says what it is wherever it is shown.
pub(crate) const CLINIC_NAME: &str = "Demoklinikka — Esimerkki Terapia (DEMO)";

/// Every demo email address is under this domain: `.invalid` can never be delivered to anyone.
pub(crate) const EMAIL_DOMAIN: &str = "demo.vaiti.invalid";

/// The demo's branches.
const BRANCHES: [&str; 2] = ["Helsinki", "Tampere"];

/// How long the demo's invites stay usable (they are used within seconds).
const INVITE_VALID_S: i64 = 60 * 60;

/// A member of the demo clinic's staff.
#[derive(Debug)]
struct StaffSpec {
    /// One role, or several (a solo practitioner is a therapist and their own front desk).
    roles: &'static [Role],
    name: &'static str,
    /// The part of the email before `@`.
    user: &'static str,
    branch: Option<&'static str>,
}

/// The first admin creates the clinic; everyone else is invited by them.
const ADMIN: StaffSpec = StaffSpec {
    roles: &[Role::Admin],
    name: "Aino Ylläpito",
    user: "aino.yllapito",
    branch: None,
};

const STAFF: [StaffSpec; 7] = [
    StaffSpec {
        roles: &[Role::Therapist],
        name: "Eero Kuuntelija",
        user: "eero.kuuntelija",
        branch: Some("Helsinki"),
    },
    StaffSpec {
        roles: &[Role::Therapist],
        name: "Helmi Hoivanen",
        user: "helmi.hoivanen",
        branch: Some("Helsinki"),
    },
    StaffSpec {
        roles: &[Role::Therapist],
        name: "Tuomas Tukija",
        user: "tuomas.tukija",
        branch: Some("Tampere"),
    },
    StaffSpec {
        roles: &[Role::Frontdesk],
        name: "Veera Vastaanotto",
        user: "veera.vastaanotto",
        branch: Some("Helsinki"),
    },
    StaffSpec {
        roles: &[Role::Frontdesk],
        name: "Kaisa Kirjaamo",
        user: "kaisa.kirjaamo",
        branch: Some("Tampere"),
    },
    StaffSpec {
        roles: &[Role::Therapist, Role::Frontdesk],
        name: "Saara Itsenäinen",
        user: "saara.itsenainen",
        branch: Some("Tampere"),
    },
    StaffSpec {
        roles: &[Role::Auditor],
        name: "Olli Tarkastaja",
        user: "olli.tarkastaja",
        branch: None,
    },
];

/// A note: written by `by` (an index into the patient's therapists) in `tier`.
#[derive(Debug)]
struct NoteSpec {
    by: usize,
    tier: Tier,
    title: &'static str,
    text: &'static str,
}

/// A demo patient. Names are the stock placeholder names of Finnish forms and examples; the
/// identity codes use the individual numbers 900–999, which are never issued to a person.
#[derive(Debug)]
struct PatientSpec {
    name: &'static str,
    /// The part of the email before `@`.
    user: &'static str,
    born: (u16, u8, u8),
    /// 900–999; odd for men, even for women, as in real codes.
    individual: u16,
    branch: &'static str,
    /// Therapists' email users; the first one invites the patient to the portal.
    therapists: &'static [&'static str],
    portal: bool,
    notes: &'static [NoteSpec],
}

const fn team(by: usize, title: &'static str, text: &'static str) -> NoteSpec {
    NoteSpec {
        by,
        tier: Tier::Team,
        title,
        text,
    }
}

const fn shared(by: usize, title: &'static str, text: &'static str) -> NoteSpec {
    NoteSpec {
        by,
        tier: Tier::Shared,
        title,
        text,
    }
}

const PATIENTS: [PatientSpec; 8] = [
    PatientSpec {
        name: "Matti Meikäläinen",
        user: "matti.meikalainen",
        born: (1985, 3, 14),
        individual: 901,
        branch: "Helsinki",
        therapists: &["eero.kuuntelija"],
        portal: true,
        notes: &[
            team(
                0,
                "Alkuarvio",
                "Ensikäynti. Matti hakeutui vastaanotolle työuupumuksen ja univaikeuksien vuoksi. \
                 Heräilee öisin ja murehtii keskeneräisiä töitä. Ei itsetuhoisia ajatuksia. \
                 Sovittiin kymmenen käynnin jakso; painopisteenä palautuminen ja unirytmi.",
            ),
            shared(
                0,
                "Yhteenveto ja kotitehtävä",
                "Kävimme läpi, miten stressi näkyy unessa. Kotitehtävä: pidä unipäiväkirjaa \
                 viikon ajan (nukkumaanmeno, heräämiset, vireys aamulla). Seuraava käynti ensi viikolla.",
            ),
            team(
                0,
                "Käynti 3",
                "Unipäiväkirjan mukaan nukahtaminen on helpottunut. Keskustelussa nousi esiin \
                 häpeä siitä, ettei jaksa kuten ennen. Tutkimme vaativuuden teemaa; jatketaan.",
            ),
            shared(
                0,
                "Rentoutusharjoitus",
                "Harjoittelimme kehon rentoutusta. Tee harjoitus iltaisin ennen nukkumaanmenoa; \
                 ääniohje on annettu paperilla. Kirjaa päiväkirjaan, miltä harjoitus tuntui.",
            ),
        ],
    },
    PatientSpec {
        name: "Maija Meikäläinen",
        user: "maija.meikalainen",
        born: (1988, 7, 22),
        individual: 902,
        branch: "Helsinki",
        therapists: &["helmi.hoivanen"],
        portal: false,
        notes: &[
            team(
                0,
                "First session",
                "Maija describes low mood since moving to a new city for work a year ago. \
                 Sleeps well, appetite reduced. Has a supportive sister. No risk indicators. \
                 Agreed to meet weekly and to map her daily routines first.",
            ),
            shared(
                0,
                "Activity plan",
                "We agreed on a small weekly plan: two walks, one call to a friend, and one \
                 thing just for fun. Note how your mood is before and after each.",
            ),
            team(
                0,
                "Session 2",
                "Completed most of the plan. Noticed mood lifts after contact with others. \
                 Explored loneliness at work; she finds it hard to ask colleagues for lunch.",
            ),
        ],
    },
    PatientSpec {
        name: "Teppo Testaaja",
        user: "teppo.testaaja",
        born: (1979, 11, 2),
        individual: 903,
        branch: "Helsinki",
        therapists: &["eero.kuuntelija", "helmi.hoivanen"],
        portal: false,
        notes: &[
            team(
                0,
                "Intake",
                "Teppo reports panic attacks on public transport for about six months, now \
                 avoiding the metro altogether. Physical check-up done by his GP, nothing found. \
                 Plan: psychoeducation on panic, then gradual exposure. Co-therapist joins.",
            ),
            team(
                1,
                "Co-therapist note",
                "Joined as co-therapist. Teppo was tense but engaged. Built an exposure ladder \
                 together, from looking at the metro map up to a ride across the city centre.",
            ),
            shared(
                0,
                "What we agreed",
                "Practise the slow breathing exercise twice a day. This week, take step one of \
                 the ladder: stand at the metro entrance for five minutes, and rate your anxiety 0–10.",
            ),
            shared(
                1,
                "Progress",
                "You reached step three: a two-stop ride with a friend. Anxiety peaked at 7 and \
                 came down to 3 within ten minutes. Next: the same ride on your own.",
            ),
        ],
    },
    PatientSpec {
        name: "Eeva Esimerkki",
        user: "eeva.esimerkki",
        born: (1996, 1, 30),
        individual: 904,
        branch: "Helsinki",
        therapists: &["helmi.hoivanen"],
        portal: false,
        notes: &[
            team(
                0,
                "Alkuhaastattelu",
                "Eeva opiskelee ja kertoo esiintymisjännityksestä, joka haittaa opintoja. \
                 Välttelee seminaariesityksiä. Tavoitteena pitää esitys kevään aikana.",
            ),
            shared(
                0,
                "Kotitehtävä",
                "Kirjoita ylös ajatukset, jotka tulevat mieleen ennen esitystä, ja arvioi, kuinka \
                 todennäköisiä ne ovat. Käydään ne yhdessä läpi ensi kerralla.",
            ),
            team(
                0,
                "Käynti 2",
                "Ajatuspäiväkirjasta löytyi paljon kaikki-tai-ei-mitään-ajattelua. Harjoiteltiin \
                 lyhyt esitys vastaanotolla; jännitys laski toiston myötä.",
            ),
        ],
    },
    PatientSpec {
        name: "Kalle Kokeilu",
        user: "kalle.kokeilu",
        born: (2001, 5, 9),
        individual: 905,
        branch: "Helsinki",
        therapists: &["eero.kuuntelija"],
        portal: false,
        notes: &[
            team(
                0,
                "Intake",
                "Kalle, a student, seeks help with procrastination and worry about his studies. \
                 Plays games late into the night. Motivated to change. Agreed on eight sessions.",
            ),
            shared(
                0,
                "Study routine",
                "Try the 25-minute work blocks we practised, three blocks a day, with the phone \
                 in another room. Keep a simple tally of the blocks you complete.",
            ),
            team(
                0,
                "Session 2",
                "Completed about half of the blocks. Worry centres on disappointing his parents. \
                 Started to look at where that expectation comes from.",
            ),
        ],
    },
    PatientSpec {
        name: "Sanni Satunnainen",
        user: "sanni.satunnainen",
        born: (1992, 9, 17),
        individual: 906,
        branch: "Tampere",
        therapists: &["tuomas.tukija"],
        portal: false,
        notes: &[
            team(
                0,
                "Alkuarvio",
                "Sanni hakeutui vastaanotolle parisuhteen päättymisen jälkeen. Itkuisuutta ja \
                 keskittymisvaikeuksia töissä. Tukiverkosto hyvä. Sovittiin viikoittaiset käynnit.",
            ),
            shared(
                0,
                "Yhteenveto",
                "Puhuimme surusta ja siitä, että sille saa antaa aikaa. Kokeile viikon aikana \
                 kirjoittaa illalla kolme asiaa, jotka sujuivat päivän aikana.",
            ),
            team(
                0,
                "Käynti 2",
                "Mieliala hieman parempi. Nukkuu paremmin. Käsittelimme suhteen loppumiseen \
                 liittyvää syyllisyyttä.",
            ),
        ],
    },
    PatientSpec {
        name: "Ville Virtuaali",
        user: "ville.virtuaali",
        born: (1968, 12, 5),
        individual: 907,
        branch: "Tampere",
        therapists: &["tuomas.tukija"],
        portal: false,
        notes: &[
            team(
                0,
                "Intake",
                "Ville was referred by occupational health after a period of sick leave for \
                 exhaustion. Describes irritability at home and difficulty switching off. \
                 Alcohol use moderate, discussed. Plan: ten sessions focusing on recovery.",
            ),
            shared(
                0,
                "Plan for the coming weeks",
                "We agreed to build a daily wind-down routine: a short walk after work and no \
                 work email after 18:00. We will review how this goes next time.",
            ),
            team(
                0,
                "Session 2",
                "Kept the email rule on four days of five. Spoke about his role as the one who \
                 always copes; first signs of allowing himself to rest.",
            ),
        ],
    },
    PatientSpec {
        name: "Outi Oletus",
        user: "outi.oletus",
        born: (1990, 4, 26),
        individual: 908,
        branch: "Tampere",
        therapists: &["tuomas.tukija"],
        portal: true,
        notes: &[
            team(
                0,
                "Alkuhaastattelu",
                "Outi kertoo pitkään jatkuneesta ahdistuneisuudesta ja jatkuvasta huolehtimisesta \
                 läheisten terveydestä. Työkyky säilynyt. Tavoitteena huolen hallinta.",
            ),
            shared(
                0,
                "Huoliaika",
                "Kokeillaan huoliaikaa: varaa joka päivä 15 minuuttia, jolloin saat huolehtia. \
                 Muulloin tulevat huolet kirjataan ylös ja siirretään huoliaikaan.",
            ),
            team(
                0,
                "Käynti 2",
                "Huoliaika on onnistunut osittain. Huomasi, että moni huoli ei huoliaikaan \
                 mennessä tuntunut enää tärkeältä. Jatketaan samaan suuntaan.",
            ),
            shared(
                0,
                "Yhteenveto käynnistä 2",
                "Hyvää työtä huoliajan kanssa. Jatka harjoitusta ja lisää siihen kysymys: \
                 voinko tehdä asialle nyt jotain? Jos en, annan huolen odottaa.",
            ),
        ],
    },
];

/// The one note that is amended after it was written: (patient, note), with the new text and
/// the reason. The original stays readable (a note's history is part of the record).
const AMENDED: (usize, usize) = (0, 1);
const AMENDED_TEXT: &str = "Kävimme läpi, miten stressi näkyy unessa. Kotitehtävä: pidä \
     unipäiväkirjaa kahden viikon ajan (nukkumaanmeno, heräämiset, vireys aamulla). Seuraava \
     käynti ensi viikolla.";
const AMENDED_REASON: &str = "Kotitehtävän kesto korjattu: kaksi viikkoa, ei yksi.";

/// The saved demo clinic: what `demo.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DemoState {
    /// The format version.
    pub(crate) v: u32,
    /// Always true: everything here is made up.
    pub(crate) fictional: bool,
    pub(crate) clinic: ClinicId,
    pub(crate) clinic_name: String,
    pub(crate) root_fingerprint: String,
    pub(crate) created_at: i64,
    pub(crate) branches: Vec<DemoBranch>,
    pub(crate) users: Vec<DemoUser>,
    pub(crate) patients: Vec<DemoPatient>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DemoBranch {
    pub(crate) id: BranchId,
    pub(crate) name: String,
}

/// A sign-in: staff log in with their email, patients with their handle.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DemoUser {
    /// admin, therapist, frontdesk, auditor or patient.
    pub(crate) role: String,
    pub(crate) name: String,
    pub(crate) login: String,
    pub(crate) password: String,
    pub(crate) secret_key: String,
    pub(crate) branch: Option<String>,
    /// A patient's own chart.
    pub(crate) chart: Option<ChartId>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DemoPatient {
    pub(crate) chart: ChartId,
    pub(crate) name: String,
    pub(crate) branch: String,
    /// Therapists' emails.
    pub(crate) care_team: Vec<String>,
    /// The portal handle, when the patient has signed up.
    pub(crate) portal: Option<String>,
    pub(crate) team_notes: usize,
    pub(crate) shared_notes: usize,
    /// Notes with more than one version.
    pub(crate) amended_notes: Vec<ObjectId>,
}

/// What `vaiti serve --demo` does once the server listens.
#[derive(Debug)]
pub(crate) enum Demo {
    /// The clinic of `demo.json` is in the store: print its sign-ins.
    Seeded(Box<DemoState>),
    /// Seed a new clinic with the operator's clinic-creation token.
    Seed { token: String },
}

/// Decides, before the server starts, whether the demo clinic exists: `demo.json` names a clinic
/// and this store holds it. A state file naming a clinic the store lacks (another database, a
/// wiped one) is not trusted: a new clinic is seeded.
pub(crate) async fn prepare(store: &dyn Store, data: &Path) -> anyhow::Result<Demo> {
    let path = data.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let state: DemoState = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{} is damaged (delete it, and the demo clinic is seeded anew)",
                    path.display()
                )
            })?;
            if store
                .clinic(state.clinic)
                .await
                .context("looking up the demo clinic")?
                .is_some()
            {
                return Ok(Demo::Seeded(Box::new(state)));
            }
            tracing::warn!(
                path = %path.display(),
                "the demo state names a clinic this database does not hold: seeding a new demo clinic"
            );
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let token_path = data.join("clinic-creation-token");
    let token = std::fs::read_to_string(&token_path)
        .with_context(|| format!("reading {}", token_path.display()))?;
    Ok(Demo::Seed {
        token: token.trim().to_string(),
    })
}

/// The base URL clients reach a server bound to `addr` at: an unspecified address (`0.0.0.0`,
/// `::`) is reached on loopback.
pub(crate) fn base_url(scheme: &str, addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("{scheme}://{addr}")
}

/// Runs once the server listens at `url`: prints the saved sign-ins, or seeds on a thread of its
/// own and prints them when done. Never fails the server: an error is printed.
pub(crate) fn start(demo: Demo, url: String, data: PathBuf) {
    match demo {
        Demo::Seeded(state) => {
            tracing::info!(clinic = %state.clinic, "demo clinic already seeded");
            if let Err(e) = publish(&state, &url, &data, false) {
                eprintln!("vaiti: demo: {e:#}");
            }
        }
        Demo::Seed { token } => {
            let spawned = std::thread::Builder::new()
                .name("vaiti-demo-seed".into())
                .spawn(move || {
                    tracing::info!("demo: seeding a fictional clinic (a few seconds)");
                    let seeded = crate::client::runtime()
                        .and_then(|rt| rt.block_on(seed(&url, &token, &data)));
                    match seeded.and_then(|state| publish(&state, &url, &data, true)) {
                        Ok(()) => tracing::info!("demo: seeded"),
                        Err(e) => eprintln!(
                            "vaiti: demo: seeding the demo clinic failed (the server keeps running): {e:#}"
                        ),
                    }
                });
            if let Err(e) = spawned {
                eprintln!("vaiti: demo: cannot start seeding: {e}");
            }
        }
    }
}

/// Prints the sign-ins and writes them (owner-only) to the data directory; `demo.json` last, and
/// by rename, so whoever waits for it never reads half a file.
fn publish(state: &DemoState, url: &str, data: &Path, write_state: bool) -> anyhow::Result<()> {
    let block = sign_ins(state, url, data);
    println!("{block}");
    replace_private(&data.join(SIGN_INS_FILE), block.as_bytes())?;
    if write_state {
        replace_private(&data.join(STATE_FILE), &serde_json::to_vec_pretty(state)?)?;
    }
    Ok(())
}

/// Writes `path` owner-only through a temporary file and a rename.
fn replace_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", tmp.display())),
    }
    write_private(&tmp, contents)?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// The block of sign-ins people read.
fn sign_ins(state: &DemoState, url: &str, data: &Path) -> String {
    use std::fmt::Write as _;
    let rule = "=".repeat(78);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(
        out,
        "DEMO CLINIC — fictional data (made-up people; for trying vaiti, never for real patients)"
    );
    let _ = writeln!(out, "  Clinic:  {}", state.clinic_name);
    let _ = writeln!(out, "  Web:     {url}/");
    let _ = writeln!(out, "  Server:  {url}");
    let _ = writeln!(out, "  Clinic id: {}", state.clinic);
    let _ = writeln!(out);
    for u in &state.users {
        let branch = u
            .branch
            .as_ref()
            .map(|b| format!(" ({b})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {} — {}{branch}", u.role.to_uppercase(), u.name);
        let label = if u.role == "patient" {
            "handle:    "
        } else {
            "email:     "
        };
        let _ = writeln!(out, "    {label} {}", u.login);
        let _ = writeln!(out, "    password:   {}", u.password);
        let _ = writeln!(out, "    Secret Key: {}", u.secret_key);
        if let Some(c) = &u.chart {
            let _ = writeln!(out, "    chart:      {c}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  CLI: VAITI_SECRET_KEY=… vaiti login --server {url} --clinic {} --email LOGIN",
        state.clinic
    );
    let _ = writeln!(out, "       (patients: --handle HANDLE instead of --email)");
    let _ = writeln!(
        out,
        "  Escrow shares (a real clinic hands them to officers): {}",
        data.join(ESCROW_DIR)
            .join(state.clinic.to_string())
            .display()
    );
    let _ = writeln!(
        out,
        "  Saved (owner-only) in {} and {}.",
        data.join(SIGN_INS_FILE).display(),
        data.join(STATE_FILE).display()
    );
    let _ = writeln!(out, "{rule}");
    out
}

/// A random, readable password: `demo-` and three groups of five characters from a 32-letter
/// alphabet without look-alikes (75 random bits). Made at seeding time, one per user.
pub(crate) fn new_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 15];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random number generator: {e}"))?;
    let mut out = String::from("demo");
    for (i, b) in bytes.iter().enumerate() {
        if i % 5 == 0 {
            out.push('-');
        }
        // 32 letters: the low five bits pick one without bias.
        out.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    Ok(out)
}

fn email(user: &str) -> String {
    format!("{user}@{EMAIL_DOMAIN}")
}

/// A valid identity code with a temporary individual number (900–999, never issued to anyone).
fn demo_hetu(born: (u16, u8, u8), individual: u16) -> anyhow::Result<String> {
    let (year, month, day) = born;
    if !(900..=999).contains(&individual) {
        bail!("a demo identity code needs an individual number from 900 to 999");
    }
    // Built and checked by the client's own validation, as anything a person types is.
    let hetu = vaiti_client::hetu::Hetu::from_parts(year, month, day, individual)
        .map_err(|e| anyhow::anyhow!("demo identity code for {year}-{month}-{day}: {e}"))?;
    if !hetu.is_temporary() {
        bail!(
            "demo identity code {} is not a temporary one",
            hetu.as_str()
        );
    }
    Ok(hetu.as_str().to_string())
}

/// Opens a verified session and does what every client command does first: completes the joins
/// this user is waiting to complete and (an admin) adopts the access log's key. Reopens when the
/// directory changed.
async fn open<'a>(
    api: &'a Api,
    me: &'a Unlocked,
) -> anyhow::Result<(Session<'a>, Vec<CompletedJoin>)> {
    let s = Session::open(api, me, now()).await?;
    let joined = invite::complete_invites(&s)
        .await
        .context("completing joins")?;
    let adopted = vaiti_client::admin::adopt_log_key(&s)
        .await
        .context("adopting the access log's key")?;
    if joined.is_empty() && !adopted {
        return Ok((s, joined));
    }
    let seen = s.seen()?;
    Ok((Session::open_with(api, me, now(), seen).await?, joined))
}

/// Logs in (one Argon2): the connection with its session, and the unlocked account.
async fn sign_in(
    url: &str,
    clinic: vaiti_crypto::ClinicId,
    login_name: &str,
    secret_key: &SecretKey,
    password: &str,
) -> anyhow::Result<(Api, Unlocked)> {
    let mut api = Api::new(url)?;
    let me = login(&mut api, clinic, login_name, secret_key, password)
        .await
        .with_context(|| format!("logging in as {login_name}"))?;
    Ok((api, me))
}

/// A member of the demo as signed up: their sign-in and secrets.
struct Account {
    user: DemoUser,
    secret_key: SecretKey,
}

fn staff_user(spec: &StaffSpec, password: String, secret_key: &SecretKey) -> DemoUser {
    DemoUser {
        role: spec
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(","),
        name: spec.name.to_string(),
        login: email(spec.user),
        password,
        secret_key: secret_key.to_printed().to_string(),
        branch: spec.branch.map(str::to_string),
        chart: None,
    }
}

/// Seeds the demo clinic through the client library against the server at `url`.
async fn seed(url: &str, token: &str, data: &Path) -> anyhow::Result<DemoState> {
    let anonymous = Api::new(url)?;

    // The clinic and its first admin.
    let admin_password = new_password()?;
    let created = create_clinic(
        &anonymous,
        &NewClinic {
            name: CLINIC_NAME,
            admin_email: &email(ADMIN.user),
            admin_name: Some(ADMIN.name),
            escrow_threshold: 2,
            escrow_shares: 3,
            password: &admin_password,
            creation_token: token,
            now: now(),
        },
    )
    .await
    .context("creating the demo clinic")?;
    let clinic = created.clinic;
    let core_clinic = ClinicId::from_bytes(clinic.to_bytes());
    let escrow_dir = data.join(ESCROW_DIR).join(core_clinic.to_string());
    create_private_dir(&data.join(ESCROW_DIR))?;
    create_private_dir(&escrow_dir)?;
    for share in &created.escrow_shares {
        write_private(
            &escrow_dir.join(format!("escrow-share-{}-of-3.vaiti", share.index())),
            &share.to_bytes(),
        )?;
    }
    let admin = Account {
        user: staff_user(&ADMIN, admin_password, &created.secret_key),
        secret_key: created.secret_key,
    };

    // Branches, then the staff invites (the first branch adopts the access log's key).
    let (admin_api, admin_me) = sign_in(
        url,
        clinic,
        &admin.user.login,
        &admin.secret_key,
        &admin.user.password,
    )
    .await?;
    let mut branches = Vec::new();
    for name in BRANCHES {
        let id = vaiti_client::admin::create_branch(&admin_api, &admin_me, name, now())
            .await
            .with_context(|| format!("creating the branch {name}"))?;
        branches.push(DemoBranch {
            id: BranchId::from_bytes(id.to_bytes()),
            name: name.to_string(),
        });
    }
    let mut codes = Vec::new();
    {
        let (s, _) = open(&admin_api, &admin_me).await?;
        for spec in &STAFF {
            let branch: Vec<String> = spec.branch.iter().map(|b| b.to_string()).collect();
            let created =
                invite::invite_staff(&s, &email(spec.user), spec.roles, &branch, INVITE_VALID_S)
                    .await
                    .with_context(|| format!("inviting {}", spec.name))?;
            codes.push(created.code);
        }
    }

    // Everyone signs up on their own "device" (each makes their own keys and Secret Key).
    let mut staff = Vec::new();
    for (spec, code) in STAFF.iter().zip(&codes) {
        let password = new_password()?;
        let account = invite::signup(
            &anonymous,
            &NewMember {
                code,
                email: Some(&email(spec.user)),
                display_name: Some(spec.name),
                password: &password,
                now: now(),
            },
        )
        .await
        .with_context(|| format!("signing up {}", spec.name))?;
        staff.push(Account {
            user: staff_user(spec, password, &account.secret_key),
            secret_key: account.secret_key,
        });
    }

    // The admin's next sync certifies them and hands front desk their branches' directory keys.
    let fingerprint = hex::encode(admin_me.root_fingerprint.0);
    {
        let (_, joined) = open(&admin_api, &admin_me).await?;
        if joined.len() != STAFF.len() {
            bail!(
                "the admin completed {} joins, expected {}",
                joined.len(),
                STAFF.len()
            );
        }
    }

    // Front desk adds each branch's patients with their care teams.
    let mut charts: Vec<Option<ChartId>> = PATIENTS.iter().map(|_| None).collect();
    for (spec, account) in STAFF.iter().zip(&staff) {
        // The branch's front desk proper adds its patients (a solo practitioner adds their own).
        if spec.roles != [Role::Frontdesk] {
            continue;
        }
        let Some(branch) = spec.branch else { continue };
        let (api, me) = sign_in(
            url,
            clinic,
            &account.user.login,
            &account.secret_key,
            &account.user.password,
        )
        .await?;
        let (s, _) = open(&api, &me).await?;
        for (i, p) in PATIENTS.iter().enumerate() {
            if p.branch != branch {
                continue;
            }
            let details = PatientDetails {
                name: p.name.to_string(),
                hetu: Some(demo_hetu(p.born, p.individual)?),
                birth_date: None,
                email: Some(email(p.user)),
                phone: None,
            };
            let therapists: Vec<String> = p.therapists.iter().map(|t| email(t)).collect();
            let chart = chart::add_patient(&s, branch, details, &therapists)
                .await
                .with_context(|| format!("adding the patient {}", p.name))?;
            charts[i] = Some(chart);
        }
    }
    let charts: Vec<ChartId> = charts
        .into_iter()
        .zip(&PATIENTS)
        .map(|(c, p)| c.with_context(|| format!("no front desk added {}", p.name)))
        .collect::<anyhow::Result<_>>()?;

    // Therapists write their notes (the first to open a chart makes its case keys), amend one,
    // and invite their portal patients. Their sessions stay open for completing those joins.
    let mut amended = Vec::new();
    let mut therapists = Vec::new();
    let mut portal_codes = Vec::new();
    for (spec, account) in STAFF.iter().zip(&staff) {
        if !spec.roles.contains(&Role::Therapist) {
            continue;
        }
        let (api, me) = sign_in(
            url,
            clinic,
            &account.user.login,
            &account.secret_key,
            &account.user.password,
        )
        .await?;
        {
            let (s, _) = open(&api, &me).await?;
            for (i, p) in PATIENTS.iter().enumerate() {
                let Some(me_in_team) = p.therapists.iter().position(|t| *t == spec.user) else {
                    continue;
                };
                for (n, note) in p.notes.iter().enumerate() {
                    if note.by != me_in_team {
                        continue;
                    }
                    let id = chart::add_note(&s, charts[i], note.tier, note.title, note.text)
                        .await
                        .with_context(|| format!("writing a note for {}", p.name))?;
                    if (i, n) == AMENDED {
                        chart::amend_note(&s, id, AMENDED_TEXT, AMENDED_REASON)
                            .await
                            .with_context(|| format!("amending a note of {}", p.name))?;
                        amended.push((i, id));
                    }
                }
                if p.portal && me_in_team == 0 {
                    let created = invite::invite_patient(&s, charts[i], INVITE_VALID_S)
                        .await
                        .with_context(|| format!("inviting {} to the portal", p.name))?;
                    portal_codes.push((i, therapists.len(), created.code));
                }
            }
        }
        therapists.push((api, me));
    }

    // Portal patients sign up; their therapist's next sync completes the join (the patient's
    // certificate, identity key and shared-tier keys).
    let mut patients_signed_up = Vec::new();
    for (i, therapist, code) in &portal_codes {
        let p = &PATIENTS[*i];
        let password = new_password()?;
        let account = invite::signup(
            &anonymous,
            &NewMember {
                code,
                email: None,
                display_name: None,
                password: &password,
                now: now(),
            },
        )
        .await
        .with_context(|| format!("signing {} up to the portal", p.name))?;
        patients_signed_up.push((
            *therapist,
            DemoUser {
                role: "patient".into(),
                name: p.name.to_string(),
                login: account.login.clone(),
                password,
                secret_key: account.secret_key.to_printed().to_string(),
                branch: Some(p.branch.to_string()),
                chart: Some(charts[*i]),
            },
        ));
    }
    for (t, (api, me)) in therapists.iter().enumerate() {
        let expected = patients_signed_up.iter().filter(|(x, _)| *x == t).count();
        if expected == 0 {
            continue;
        }
        let (_, joined) = open(api, me).await?;
        if joined.len() != expected {
            bail!(
                "a therapist completed {} portal joins, expected {expected}",
                joined.len()
            );
        }
    }

    let mut users = vec![admin.user];
    users.extend(staff.into_iter().map(|a| a.user));
    users.extend(patients_signed_up.iter().map(|(_, u)| u.clone()));
    let patients = PATIENTS
        .iter()
        .zip(&charts)
        .enumerate()
        .map(|(i, (p, chart))| DemoPatient {
            chart: *chart,
            name: p.name.to_string(),
            branch: p.branch.to_string(),
            care_team: p.therapists.iter().map(|t| email(t)).collect(),
            portal: patients_signed_up
                .iter()
                .find(|(_, u)| u.chart == Some(*chart))
                .map(|(_, u)| u.login.clone()),
            team_notes: p.notes.iter().filter(|n| n.tier == Tier::Team).count(),
            shared_notes: p.notes.iter().filter(|n| n.tier == Tier::Shared).count(),
            amended_notes: amended
                .iter()
                .filter(|(x, _)| *x == i)
                .map(|(_, id)| *id)
                .collect(),
        })
        .collect();
    Ok(DemoState {
        v: 1,
        fictional: true,
        clinic: core_clinic,
        clinic_name: CLINIC_NAME.to_string(),
        root_fingerprint: fingerprint,
        created_at: now(),
        branches,
        users,
        patients,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn identity_codes_are_valid_temporary_and_match_birth_dates() {
        let mut seen = std::collections::HashSet::new();
        for p in &PATIENTS {
            let text = demo_hetu(p.born, p.individual).unwrap();
            let h = vaiti_client::hetu::Hetu::parse(&text).unwrap();
            assert!(h.is_temporary(), "{text}");
            assert_eq!(h.birth_date(), p.born);
            assert!(seen.insert(text), "identity codes are distinct");
            // The client's check for new patients accepts it and fills in the birth date.
            let d = chart::check_details(PatientDetails {
                name: p.name.into(),
                hetu: Some(demo_hetu(p.born, p.individual).unwrap()),
                ..PatientDetails::default()
            })
            .unwrap();
            let (y, m, day) = p.born;
            assert_eq!(d.birth_date, Some(format!("{y:04}-{m:02}-{day:02}")));
        }
        // Anything outside the temporary range is refused: the demo never makes a real code.
        assert!(demo_hetu((1985, 3, 14), 899).is_err());
        assert!(demo_hetu((1985, 3, 14), 308).is_err());
        assert!(demo_hetu((2100, 3, 14), 901).is_err(), "no century sign");
        assert!(demo_hetu((1985, 2, 30), 901).is_err(), "not a date");
        assert_eq!(demo_hetu((1899, 3, 14), 901).unwrap(), "140399+9012");
        assert!(demo_hetu((1985, 3, 14), 1000).is_err());
    }

    #[test]
    fn passwords_are_random_readable_and_long_enough() {
        let mut all = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = new_password().unwrap();
            assert_eq!(p.len(), "demo-xxxxx-xxxxx-xxxxx".len());
            assert!(p.starts_with("demo-"));
            assert!(p.chars().count() >= 10, "the CLI's minimum");
            assert!(
                p.chars()
                    .all(|c| c == '-' || c.is_ascii_lowercase() || c.is_ascii_digit())
            );
            let random = &p["demo-".len()..];
            assert!(
                !random.contains(['l', 'o', '0', '1']),
                "no look-alikes: {p}"
            );
            assert!(all.insert(p), "never the same password twice");
        }
    }

    #[test]
    fn the_cast_is_consistent() {
        let therapists: Vec<&StaffSpec> = STAFF
            .iter()
            .filter(|s| s.roles.contains(&Role::Therapist))
            .collect();
        assert_eq!(therapists.len(), 4);
        assert!(
            STAFF
                .iter()
                .any(|s| s.roles == [Role::Therapist, Role::Frontdesk]),
            "a solo practitioner, who adds their own patients"
        );
        for p in &PATIENTS {
            assert!(!p.therapists.is_empty(), "{} has a care team", p.name);
            for t in p.therapists {
                let spec = therapists.iter().find(|s| s.user == *t).unwrap();
                assert_eq!(spec.branch, Some(p.branch), "{t} works where {}", p.name);
            }
            assert!(p.notes.iter().all(|n| n.by < p.therapists.len()));
            assert!(p.notes.iter().any(|n| n.tier == Tier::Team), "{}", p.name);
            assert!(p.notes.iter().any(|n| n.tier == Tier::Shared), "{}", p.name);
            assert!(BRANCHES.contains(&p.branch));
            assert!((900..=999).contains(&p.individual));
            assert!(email(p.user).ends_with("@demo.vaiti.invalid"));
        }
        for b in BRANCHES {
            assert!(
                STAFF
                    .iter()
                    .any(|s| s.roles == [Role::Frontdesk] && s.branch == Some(b)),
                "front desk in {b}"
            );
        }
        assert_eq!(PATIENTS.iter().filter(|p| p.portal).count(), 2);
        let (p, n) = AMENDED;
        assert!(PATIENTS[p].portal, "the portal patient sees the amendment");
        assert_eq!(PATIENTS[p].notes[n].tier, Tier::Shared);
        let logins: std::collections::HashSet<String> = std::iter::once(&ADMIN)
            .chain(&STAFF)
            .map(|s| email(s.user))
            .collect();
        assert_eq!(logins.len(), 1 + STAFF.len());
        assert!(logins.iter().all(|l| l.ends_with("@demo.vaiti.invalid")));
        assert!(CLINIC_NAME.contains("DEMO"));
    }

    #[test]
    fn the_printed_block_shows_every_sign_in() {
        let state = DemoState {
            v: 1,
            fictional: true,
            clinic: ClinicId::from_bytes([7; 16]),
            clinic_name: CLINIC_NAME.into(),
            root_fingerprint: "00".into(),
            created_at: 0,
            branches: Vec::new(),
            users: vec![
                DemoUser {
                    role: "therapist".into(),
                    name: "Eero Kuuntelija".into(),
                    login: email("eero.kuuntelija"),
                    password: "demo-aaaaa-bbbbb-ccccc".into(),
                    secret_key: "V1-TEST".into(),
                    branch: Some("Helsinki".into()),
                    chart: None,
                },
                DemoUser {
                    role: "patient".into(),
                    name: "Outi Oletus".into(),
                    login: "ABCDE12345".into(),
                    password: "demo-ddddd-eeeee-fffff".into(),
                    secret_key: "V1-TEST2".into(),
                    branch: Some("Tampere".into()),
                    chart: Some(ChartId::from_bytes([9; 16])),
                },
            ],
            patients: Vec::new(),
        };
        let block = sign_ins(&state, "http://127.0.0.1:8080", Path::new("/data"));
        assert!(block.contains("DEMO CLINIC — fictional data"));
        assert!(block.contains("http://127.0.0.1:8080/"));
        assert!(block.contains(&"07".repeat(16)));
        for u in &state.users {
            assert!(block.contains(&u.login));
            assert!(block.contains(&u.password));
            assert!(block.contains(&u.secret_key));
        }
        assert!(block.contains("handle:"));
        assert!(block.contains(&"09".repeat(16)));
    }

    #[test]
    fn unspecified_addresses_are_reached_on_loopback() {
        assert_eq!(
            base_url("http", "0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            base_url("http", "[::]:8080".parse().unwrap()),
            "http://[::1]:8080"
        );
        assert_eq!(
            base_url("https", "192.0.2.1:443".parse().unwrap()),
            "https://192.0.2.1:443"
        );
    }
}
