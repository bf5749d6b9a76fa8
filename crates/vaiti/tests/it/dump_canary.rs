//! The dump test: what an attacker who steals everything on the server learns about patients.
//!
//! 50+ synthetic patients, each with unique canary strings in their name, HETU, email, phone and
//! in the titles and texts of their notes (both tiers, amendments with a reason), are written
//! through the real `vaiti serve` binary — once on SQLite, once on PostgreSQL — by real clients.
//! Then the server is killed (so the SQLite WAL stays on disk) and everything it left is searched:
//! every file in its data directory (SQLite database, WAL, shared memory, token), a `pg_dump` of
//! its PostgreSQL database, and its whole log at debug level. Searched for every canary in UTF-8,
//! UTF-16LE/BE, base64, hex, upper and lower case, unsalted SHA-256/SHA-1/MD5 of each HETU and
//! email, and — in the raw bytes of the ciphertext columns, where hex text cannot match them by
//! chance — every 6-character substring of every HETU. The answer must be: nothing.
//!
//! A positive control proves the search can fail: the same scanner finds the canaries in what
//! the clients decrypted.
//!
//! "Root decrypts nothing": a second test takes the whole data directory and the server's log
//! and tries every key-like value in them against every envelope and wrap the server stores —
//! as a symmetric key (does it have the key id and commitment of any envelope, or the id of any
//! wrapped key?), as an X-Wing seed (does it give any recipient's public key?) and as an Ed25519
//! seed (does it give any certified signing key, the clinic root's included?). Zero matches.

use std::path::{Path, PathBuf};

use vaiti_client::account::login;
use vaiti_client::api::Api;
use vaiti_client::chart::{self, PatientDetails};
use vaiti_client::invite::{self, InviteCode, NewMember};
use vaiti_client::session::Session;
use vaiti_crypto::{ClinicId, SecretKey, Tier};

use crate::support::canary::{Finding, Scanner};
use crate::support::cli::{PgDatabase, User, json, serve, temp_dir};

const PATIENTS: usize = 52;

/// A valid HETU for patient `i` (unique per i; born in the 1900s, century sign `-`).
fn hetu_for(i: usize) -> String {
    let day = 1 + i % 28;
    let month = 1 + (i / 28) % 12;
    let year = 40 + i % 50;
    let individual = 200 + i;
    let number: u64 = format!("{day:02}{month:02}{year:02}{individual:03}")
        .parse()
        .unwrap();
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(number % 31) as usize] as char;
    format!("{day:02}{month:02}{year:02}-{individual:03}{check}")
}

fn nonce() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| char::from(b'a' + x % 26)).collect()
}

struct Patient {
    details: PatientDetails,
    team_title: String,
    team_text: String,
    shared_title: String,
    shared_text: String,
    amended_text: String,
    reason: String,
}

fn patients(scanner: &mut Scanner) -> Vec<Patient> {
    let run = nonce();
    (0..PATIENTS)
        .map(|i| {
            let tag = format!("{run}{i:03}");
            let p = Patient {
                details: PatientDetails {
                    name: format!("Kanarialintu Äijälä{tag}"),
                    hetu: Some(hetu_for(i)),
                    birth_date: None,
                    email: Some(format!("kanaria.{tag}@posti.example")),
                    phone: Some(format!("+35840{:07}", 1_000_000 + i * 7919)),
                },
                team_title: format!("Prosessi-otsikko {tag}"),
                team_text: format!("Terapiaistunnon muistiinpano {tag}: häpeä ja suru."),
                shared_title: format!("Kotitehtävä-otsikko {tag}"),
                shared_text: format!("Jaettu ohje {tag}: unipäiväkirja."),
                amended_text: format!("Korjattu muistiinpano {tag}: päivämäärä."),
                reason: format!("Korjauksen syy {tag}"),
            };
            let d = &p.details;
            scanner.add_text(&format!("name {i}"), &d.name);
            scanner.add_hetu(&format!("hetu {i}"), d.hetu.as_deref().unwrap());
            scanner.add_email(&format!("email {i}"), d.email.as_deref().unwrap());
            scanner.add_text(&format!("phone {i}"), d.phone.as_deref().unwrap());
            scanner.add_text(&format!("team title {i}"), &p.team_title);
            scanner.add_text(&format!("team text {i}"), &p.team_text);
            scanner.add_text(&format!("shared title {i}"), &p.shared_title);
            scanner.add_text(&format!("shared text {i}"), &p.shared_text);
            scanner.add_text(&format!("amended text {i}"), &p.amended_text);
            scanner.add_text(&format!("reason {i}"), &p.reason);
            p
        })
        .collect()
}

/// Sets up the clinic through the CLI, then writes every patient through the client library
/// (one login per person instead of one per command keeps the test fast). Returns what the
/// clients decrypted, for the positive control.
fn populate(url: &str, token_file: &Path, dir: &Path, people: &[Patient]) -> Vec<u8> {
    let admin = User::new(dir, "admin");
    let created = json(&admin.run(
        &[
            "clinic",
            "create",
            "--server",
            url,
            "--name",
            "Vastaanotto Kanaria",
            "--admin-email",
            "admin@kanaria.example",
            "--escrow-shares",
            "2/3",
            "--escrow-out",
            dir.join("shares").to_str().unwrap(),
            "--creation-token-file",
            token_file.to_str().unwrap(),
        ],
        "",
    ));
    admin.ok(&["branch", "create", "Tampere"]);
    let code = admin.ok(&[
        "staff",
        "invite",
        "--email",
        "terapeutti@kanaria.example",
        "--role",
        "therapist",
        "--branch",
        "Tampere",
    ])["code"]
        .as_str()
        .unwrap()
        .to_string();
    let therapist = User::new(dir, "therapist");
    json(&therapist.signup(url, &code, None));
    admin.ok(&["sync"]);

    let clinic = ClinicId::from_bytes(
        hex::decode(created["clinic"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    );
    let key = |u: &User| {
        SecretKey::parse_printed(&std::fs::read_to_string(u.profile.join("secret-key")).unwrap())
            .unwrap()
    };
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut seen = Vec::new();
        let mut admin_api = Api::new(url).unwrap();
        let a = login(
            &mut admin_api,
            clinic,
            "admin@kanaria.example",
            &key(&admin),
            &admin.password,
        )
        .await
        .unwrap();
        let mut t_api = Api::new(url).unwrap();
        let t = login(
            &mut t_api,
            clinic,
            "terapeutti@kanaria.example",
            &key(&therapist),
            &therapist.password,
        )
        .await
        .unwrap();
        let sa = Session::open(&admin_api, &a, now()).await.unwrap();
        let mut charts = Vec::new();
        for p in people {
            let chart = chart::add_patient(
                &sa,
                "Tampere",
                p.details.clone(),
                &["terapeutti@kanaria.example".to_string()],
            )
            .await
            .unwrap();
            charts.push(chart);
        }
        let st = Session::open(&t_api, &t, now()).await.unwrap();
        for (p, chart) in people.iter().zip(&charts) {
            let note = chart::add_note(&st, *chart, Tier::Team, &p.team_title, &p.team_text)
                .await
                .unwrap();
            chart::add_note(&st, *chart, Tier::Shared, &p.shared_title, &p.shared_text)
                .await
                .unwrap();
            chart::amend_note(&st, note, &p.amended_text, &p.reason)
                .await
                .unwrap();
        }
        // Two patients join the portal and read their shared notes.
        for chart in &charts[..2] {
            let inv = invite::invite_patient(&st, *chart, 3600).await.unwrap();
            let code = InviteCode::parse(&inv.code.to_printed()).unwrap();
            let papi = Api::new(url).unwrap();
            let acct = invite::signup(
                &papi,
                &NewMember {
                    code: &code,
                    email: None,
                    display_name: None,
                    password: "patient password 123",
                    now: now(),
                },
            )
            .await
            .unwrap();
            invite::complete_invites(&Session::open(&t_api, &t, now()).await.unwrap())
                .await
                .unwrap();
            let mut papi = Api::new(url).unwrap();
            let pu = login(
                &mut papi,
                clinic,
                &acct.login,
                &acct.secret_key,
                "patient password 123",
            )
            .await
            .unwrap();
            let ps = Session::open(&papi, &pu, now()).await.unwrap();
            let notes = chart::list_notes(&ps, *chart).await.unwrap();
            assert_eq!(notes.len(), 1);
            seen.extend(serde_json::to_vec(&notes).unwrap());
        }
        // The read paths log too: listing, finding, opening.
        let st = Session::open(&t_api, &t, now()).await.unwrap();
        let sa = Session::open(&admin_api, &a, now()).await.unwrap();
        seen.extend(
            serde_json::to_vec(&chart::list_patients(&sa, Some("Tampere")).await.unwrap()).unwrap(),
        );
        seen.extend(
            serde_json::to_vec(&chart::find_patients(&st, "Kanarialintu").await.unwrap()).unwrap(),
        );
        for chart in &charts {
            seen.extend(
                serde_json::to_vec(&chart::show_patient(&st, *chart).await.unwrap()).unwrap(),
            );
            seen.extend(
                serde_json::to_vec(&chart::list_notes(&st, *chart).await.unwrap()).unwrap(),
            );
        }
        seen
    })
}

/// The columns that hold ciphertext, signatures, wraps or OPAQUE records: raw random-looking
/// bytes, where a 6-character HETU substring cannot occur by chance.
const CIPHERTEXT_COLUMNS: &[(&str, &str)] = &[
    ("record_versions", "wrapped_key"),
    ("record_versions", "envelope"),
    ("record_versions", "signature"),
    ("key_wraps", "wrap"),
    ("key_wraps", "signature"),
    ("directory_wraps", "envelope"),
    ("account_keys", "wrapped_account_key"),
    ("account_keys", "wrapped_decryption_key"),
    ("account_keys", "wrapped_signing_key"),
    ("account_keys", "wrapped_cache_key"),
    ("account_keys", "root_pin"),
    ("opaque_records", "record"),
    ("chart_states", "signature"),
    ("certificates", "signature"),
    ("invites", "signature"),
    ("clinics", "manifest_signature"),
];

async fn ciphertext_sqlite(db: &Path) -> Vec<(String, Vec<u8>)> {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mut out = Vec::new();
    for (table, column) in CIPHERTEXT_COLUMNS {
        let rows: Vec<(Vec<u8>,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {column} FROM {table}")))
                .fetch_all(&mut c)
                .await
                .unwrap();
        assert!(
            !rows.is_empty() || *table == "invites",
            "no rows in {table}"
        );
        out.extend(
            rows.into_iter()
                .map(|(b,)| (format!("sqlite {table}.{column}"), b)),
        );
    }
    out
}

async fn ciphertext_postgres(url: &str) -> Vec<(String, Vec<u8>)> {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let mut out = Vec::new();
    for (table, column) in CIPHERTEXT_COLUMNS {
        let rows: Vec<(Vec<u8>,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {column} FROM {table}")))
                .fetch_all(&mut c)
                .await
                .unwrap();
        assert!(
            !rows.is_empty() || *table == "invites",
            "no rows in {table}"
        );
        out.extend(
            rows.into_iter()
                .map(|(b,)| (format!("postgres {table}.{column}"), b)),
        );
    }
    out
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_in(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn report(findings: &[Finding]) -> String {
    findings
        .iter()
        .take(20)
        .map(|f| format!("  {f}\n"))
        .collect()
}

fn assert_clean(scanner: &Scanner, artefacts: &[(String, Vec<u8>)], short: bool) {
    let mut findings = Vec::new();
    for (name, bytes) in artefacts {
        findings.extend(scanner.scan_with(name, bytes, short));
    }
    assert!(
        findings.is_empty(),
        "patient data found in what the server keeps ({} findings):\n{}",
        findings.len(),
        report(&findings)
    );
}

/// The artefacts are the real thing: staff emails are plaintext metadata on the server (their
/// login names), so a scan for one must find it — in the database and in the dump.
fn artefacts_control(artefacts: &[(String, Vec<u8>)]) {
    let mut staff = Scanner::new();
    staff.add_email("staff email", "terapeutti@kanaria.example");
    let found: usize = artefacts
        .iter()
        .map(|(name, bytes)| staff.scan_with(name, bytes, false).len())
        .sum();
    assert!(
        found > 0,
        "the staff login was not found: these artefacts are not the server's data"
    );
}

fn positive_control(scanner: &Scanner, seen: &[u8]) {
    let found = scanner.scan_with("decrypted by clients", seen, false);
    for label in [
        "name 0",
        "hetu 51",
        "email 7",
        "team text 3",
        "amended text 9",
        "reason 4",
        "shared text 1",
    ] {
        assert!(
            found.iter().any(|f| f.canary == label),
            "the positive control did not find {label}: the scan cannot be trusted"
        );
    }
}

#[test]
fn a_stolen_sqlite_data_directory_and_log_reveal_no_patient() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let server = serve(&["--data", data.to_str().unwrap()], &dir.join("server.log"));
    let mut scanner = Scanner::new();
    let people = patients(&mut scanner);
    let seen = populate(
        &server.url.clone(),
        &data.join("clinic-creation-token"),
        &dir,
        &people,
    );
    let log = server.log.clone();
    server.stop(); // SIGKILL: the WAL stays as an attacker would find it.

    let files = files_in(&data);
    assert!(
        files.iter().any(|f| f.to_string_lossy().ends_with("-wal")),
        "the test must see a WAL file: {files:?}"
    );
    let mut artefacts: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).unwrap()))
        .collect();
    artefacts.push(("server log".into(), std::fs::read(&log).unwrap()));
    assert!(artefacts.iter().map(|(_, b)| b.len()).sum::<usize>() > 100_000);
    assert_clean(&scanner, &artefacts, false);
    artefacts_control(&artefacts);
    let db = data.join("vaiti.sqlite3");
    assert!(files.contains(&db), "no SQLite database among {files:?}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let columns = rt.block_on(ciphertext_sqlite(&db));
    assert_clean(&scanner, &columns, true);
    positive_control(&scanner, &seen);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_pg_dump_and_the_log_reveal_no_patient() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let db = PgDatabase::create();
    let server = serve(
        &["--database", &db.url, "--data", data.to_str().unwrap()],
        &dir.join("server.log"),
    );
    let mut scanner = Scanner::new();
    let people = patients(&mut scanner);
    let seen = populate(
        &server.url.clone(),
        &data.join("clinic-creation-token"),
        &dir,
        &people,
    );
    let log = server.log.clone();
    server.stop();

    let dump = std::process::Command::new("pg_dump")
        .args(["--no-owner", "--dbname", &db.url])
        .output()
        .unwrap_or_else(|e| {
            panic!("pg_dump is needed for this test (it fails rather than skips): {e}")
        });
    assert!(
        dump.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(
        dump.stdout.len() > 100_000,
        "the dump is suspiciously small"
    );
    let mut artefacts = vec![
        ("pg_dump".to_string(), dump.stdout),
        ("server log".to_string(), std::fs::read(&log).unwrap()),
    ];
    for f in files_in(&data) {
        artefacts.push((f.display().to_string(), std::fs::read(&f).unwrap()));
    }
    assert_clean(&scanner, &artefacts, false);
    artefacts_control(&artefacts);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let columns = rt.block_on(ciphertext_postgres(&db.url));
    assert_clean(&scanner, &columns, true);
    positive_control(&scanner, &seen);
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- Root decrypts nothing ----

use vaiti_crypto::wrap::PublicWrap;
use vaiti_crypto::{DecryptionKey, Envelope, Signature, SigningKey};

/// The public key derivation of `docs/formats.md` ("Key derivation"): a symmetric key's id and
/// commitment, as an attacker holding a candidate key would compute them.
fn symmetric_fingerprint(candidate: &[u8]) -> ([u8; 16], [u8; 32]) {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"vaiti v1 symmetric key"), candidate);
    let mut id = [0u8; 16];
    let mut commitment = [0u8; 32];
    hk.expand(b"vaiti v1 key id", &mut id).unwrap();
    hk.expand(b"vaiti v1 commit", &mut commitment).unwrap();
    (id, commitment)
}

/// Everything sealed on the server, as key ids an opener would need.
#[derive(Default)]
struct Targets {
    /// Symmetric key ids (envelopes' and wrapped keys'), with the envelope commitments.
    symmetric: std::collections::HashSet<[u8; 16]>,
    commitments: std::collections::HashSet<[u8; 32]>,
    /// X-Wing public key ids that wraps are addressed to.
    recipients: std::collections::HashSet<[u8; 16]>,
    /// Ed25519 key ids that sign wraps, records, states, certificates and the manifest.
    signers: std::collections::HashSet<[u8; 16]>,
}

async fn targets(db: &Path) -> Targets {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mut t = Targets::default();
    let envelopes = [
        "SELECT wrapped_key FROM record_versions",
        "SELECT envelope FROM record_versions",
        "SELECT envelope FROM directory_wraps",
        "SELECT wrapped_account_key FROM account_keys",
        "SELECT wrapped_decryption_key FROM account_keys",
        "SELECT wrapped_signing_key FROM account_keys",
        "SELECT wrapped_cache_key FROM account_keys",
        "SELECT root_pin FROM account_keys",
    ];
    for q in envelopes {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(q).fetch_all(&mut c).await.unwrap();
        assert!(!rows.is_empty(), "{q}");
        for (b,) in rows {
            let h = Envelope::from_bytes(b).header().unwrap();
            t.symmetric.insert(*h.key_id.as_bytes());
            t.commitments.insert(h.key_commitment);
        }
    }
    let wraps: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as("SELECT wrap, signature FROM key_wraps")
        .fetch_all(&mut c)
        .await
        .unwrap();
    assert!(wraps.len() > 20, "only {} wraps", wraps.len());
    for (w, s) in wraps {
        let h = PublicWrap {
            bytes: w,
            signature: Signature::from_bytes(&s).unwrap(),
        }
        .header()
        .unwrap();
        t.symmetric.insert(*h.carried_key_id.as_bytes());
        t.recipients.insert(*h.recipient_key_id.as_bytes());
        t.signers.insert(*h.wrapper_key_id.as_bytes());
    }
    let authors: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT author_key FROM record_versions")
        .fetch_all(&mut c)
        .await
        .unwrap();
    t.signers.extend(
        authors
            .into_iter()
            .map(|(k,)| <[u8; 16]>::try_from(k).unwrap()),
    );
    let issuers: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT issuer_key FROM certificates")
        .fetch_all(&mut c)
        .await
        .unwrap();
    t.signers.extend(
        issuers
            .into_iter()
            .map(|(k,)| <[u8; 16]>::try_from(k).unwrap()),
    );
    t
}

/// Key-like values: every 32-byte window of every artefact (for the cheap symmetric check),
/// and for the expensive seed checks every 32-byte window of short values (column values,
/// files and secrets up to 256 bytes) plus every 64-hex-character or 43-character base64url
/// token found in text, decoded.
fn seed_candidates(
    short_values: &[Vec<u8>],
    texts: &[&[u8]],
) -> std::collections::HashSet<[u8; 32]> {
    use base64::Engine as _;
    let mut out = std::collections::HashSet::new();
    for v in short_values {
        for w in v.windows(32) {
            out.insert(<[u8; 32]>::try_from(w).unwrap());
        }
    }
    for text in texts {
        let mut token = Vec::new();
        for &b in text.iter().chain(std::iter::once(&b' ')) {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                token.push(b);
                continue;
            }
            let t = std::str::from_utf8(&token).unwrap_or_default();
            for i in 0..t.len() {
                if let Some(h) = t.get(i..i + 64)
                    && let Ok(bytes) = hex::decode(h)
                {
                    out.insert(bytes.try_into().unwrap());
                }
                if let Some(s) = t.get(i..i + 43)
                    && let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s)
                    && bytes.len() == 32
                {
                    out.insert(bytes.try_into().unwrap());
                }
            }
            token.clear();
        }
    }
    out
}

struct Matches {
    symmetric: usize,
    decryption: usize,
    signing: usize,
}

fn try_everything(
    t: &Targets,
    blobs: &[&[u8]],
    seeds: &std::collections::HashSet<[u8; 32]>,
) -> Matches {
    let mut m = Matches {
        symmetric: 0,
        decryption: 0,
        signing: 0,
    };
    for blob in blobs {
        for w in blob.windows(32) {
            let (id, commitment) = symmetric_fingerprint(w);
            if t.symmetric.contains(&id) || t.commitments.contains(&commitment) {
                m.symmetric += 1;
            }
        }
    }
    for seed in seeds {
        if t.recipients
            .contains(DecryptionKey::from_seed(seed).unwrap().key_id().as_bytes())
        {
            m.decryption += 1;
        }
        if t.signers
            .contains(SigningKey::from_seed(seed).key_id().as_bytes())
        {
            m.signing += 1;
        }
    }
    m
}

#[test]
fn the_key_derivation_used_below_is_the_real_one() {
    // A frozen vector: its wrapping key's id and commitment are in its envelope's header.
    let v: serde_json::Value = serde_json::from_str(include_str!(
        "../../../vaiti-crypto/tests/vectors/v1_s1_account_key_wrap.json"
    ))
    .unwrap();
    let key = hex::decode(v["wrapping_key"].as_str().unwrap()).unwrap();
    let header = Envelope::from_bytes(hex::decode(v["envelope"].as_str().unwrap()).unwrap())
        .header()
        .unwrap();
    let (id, commitment) = symmetric_fingerprint(&key);
    assert_eq!(&id, header.key_id.as_bytes());
    assert_eq!(commitment, header.key_commitment);
}

#[test]
fn root_with_the_whole_data_directory_opens_nothing() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let server = serve(&["--data", data.to_str().unwrap()], &dir.join("server.log"));
    let mut scanner = Scanner::new();
    let people: Vec<Patient> = patients(&mut scanner).into_iter().take(12).collect();
    populate(
        &server.url.clone(),
        &data.join("clinic-creation-token"),
        &dir,
        &people,
    );
    let log = std::fs::read(&server.log).unwrap();
    server.stop();

    let files: Vec<(PathBuf, Vec<u8>)> = files_in(&data)
        .into_iter()
        .map(|f| {
            let b = std::fs::read(&f).unwrap();
            (f, b)
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(targets(&data.join("vaiti.sqlite3")));
    // Short values: every column value of every table, the server's secrets and small files.
    let short_values: Vec<Vec<u8>> = rt.block_on(async {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}?mode=ro", data.join("vaiti.sqlite3").display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let tables: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(&mut c)
                .await
                .unwrap();
        let mut out = Vec::new();
        for (table,) in tables {
            let cols: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM pragma_table_info('{table}')"
            )))
            .fetch_all(&mut c)
            .await
            .unwrap();
            for (col,) in cols {
                let rows: Vec<(Option<Vec<u8>>,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST({col} AS BLOB) FROM {table}"
                )))
                .fetch_all(&mut c)
                .await
                .unwrap();
                out.extend(
                    rows.into_iter()
                        .filter_map(|(v,)| v)
                        .filter(|v| v.len() <= 256),
                );
            }
        }
        out
    });
    let mut small = short_values.clone();
    small.extend(
        files
            .iter()
            .filter(|(_, b)| b.len() <= 256)
            .map(|(_, b)| b.clone()),
    );
    let mut texts: Vec<&[u8]> = files.iter().map(|(_, b)| b.as_slice()).collect();
    texts.push(&log);
    let seeds = seed_candidates(&small, &texts);
    assert!(
        seeds.len() > 1000,
        "too few candidates ({}) to mean anything",
        seeds.len()
    );
    let mut blobs: Vec<&[u8]> = files.iter().map(|(_, b)| b.as_slice()).collect();
    blobs.push(&log);

    let found = try_everything(&t, &blobs, &seeds);
    assert_eq!(
        (found.symmetric, found.decryption, found.signing),
        (0, 0, 0),
        "a key that opens or signs something was found on the server"
    );

    // Positive control: the same harness finds keys when they are there.
    let leaked_seed = [7u8; 32];
    let leaked = DecryptionKey::from_seed(&leaked_seed).unwrap();
    let mut t2 = t;
    t2.recipients.insert(*leaked.key_id().as_bytes());
    t2.signers
        .insert(*SigningKey::from_seed(&leaked_seed).key_id().as_bytes());
    let (id, _) = symmetric_fingerprint(&leaked_seed);
    t2.symmetric.insert(id);
    let mut with_leak = files[0].1.clone();
    with_leak.extend_from_slice(b"...");
    with_leak.extend_from_slice(&leaked_seed);
    let mut seeds2 = seeds;
    seeds2.extend(seed_candidates(&[leaked_seed.to_vec()], &[]));
    let found = try_everything(&t2, &[&with_leak], &seeds2);
    assert!(found.symmetric >= 1 && found.decryption == 1 && found.signing == 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
