//! A clinic created and logged into through the real client code against a real server.

use std::sync::Arc;

use vaiti_client::ClientError;
use vaiti_client::account::{NewClinic, create_clinic, login, logout};
use vaiti_client::api::Api;
use vaiti_crypto::{EscrowKey, EscrowShare, SecretKey};

use crate::support::{TOKEN, now, start_server};

struct Server {
    url: String,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn server() -> Server {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let dir = std::env::temp_dir().join(format!("vaiti-client-test-{}", u64::from_le_bytes(r)));
    let store = Arc::new(vaiti_store::SqliteStore::open(&dir).await.unwrap());
    let url = start_server(store, vaiti_server::router).await;
    Server { url, dir }
}

#[tokio::test]
async fn create_a_clinic_then_log_in_on_a_new_device_with_the_printed_secret_key() {
    let server = server().await;
    let api = Api::new(&server.url).unwrap();
    let created = create_clinic(
        &api,
        &NewClinic {
            name: "Terapiakeskus Esimerkki",
            admin_email: "aino@terapia.example",
            admin_name: Some("Aino Admin"),
            escrow_threshold: 2,
            escrow_shares: 3,
            password: "Kesäkuun kolmas päivä",
            creation_token: TOKEN,
            now: now(),
        },
    )
    .await
    .unwrap();
    assert_eq!(created.escrow_shares.len(), 3);

    // A new device: only the printed Secret Key and the password.
    let printed = created.secret_key.to_printed();
    let sk = SecretKey::parse_printed(&printed).unwrap();
    let mut api = Api::new(&server.url).unwrap();
    let unlocked = login(
        &mut api,
        created.clinic,
        "aino@terapia.example",
        &sk,
        "Kesäkuun kolmas päivä",
    )
    .await
    .unwrap();
    assert_eq!(unlocked.account.id.as_bytes(), created.admin.as_bytes());
    assert_eq!(unlocked.root_fingerprint, created.root_fingerprint);
    assert_eq!(unlocked.manifest.name, "Terapiakeskus Esimerkki");
    assert_eq!(
        (
            unlocked.manifest.escrow_threshold,
            unlocked.manifest.escrow_shares
        ),
        (2, 3)
    );

    // Any two of the officers' shares rebuild the escrow key the manifest names.
    let escrow_public = unlocked.manifest.escrow_public_key().unwrap();
    let two: Vec<EscrowShare> = created.escrow_shares[1..]
        .iter()
        .map(|s| EscrowShare::from_bytes(&s.to_bytes()).unwrap())
        .collect();
    assert!(EscrowKey::combine(&two, &escrow_public).is_ok());

    logout(&mut api, created.clinic).await.unwrap();
    assert!(api.token().is_none());
}

#[tokio::test]
async fn either_secret_alone_does_not_log_in() {
    let server = server().await;
    let api = Api::new(&server.url).unwrap();
    let created = create_clinic(
        &api,
        &NewClinic {
            name: "Klinikka",
            admin_email: "aino@klinikka.example",
            admin_name: None,
            escrow_threshold: 2,
            escrow_shares: 2,
            password: "oikea salasana",
            creation_token: TOKEN,
            now: now(),
        },
    )
    .await
    .unwrap();
    let mut api = Api::new(&server.url).unwrap();
    let wrong_pw = login(
        &mut api,
        created.clinic,
        "aino@klinikka.example",
        &created.secret_key,
        "väärä",
    )
    .await;
    assert!(
        matches!(wrong_pw, Err(ClientError::LoginFailed)),
        "{wrong_pw:?}"
    );
    let other_sk = SecretKey::generate().unwrap();
    let wrong_sk = login(
        &mut api,
        created.clinic,
        "aino@klinikka.example",
        &other_sk,
        "oikea salasana",
    )
    .await;
    assert!(
        matches!(wrong_sk, Err(ClientError::LoginFailed)),
        "{wrong_sk:?}"
    );
    let unknown = login(
        &mut api,
        created.clinic,
        "nobody@klinikka.example",
        &created.secret_key,
        "oikea salasana",
    )
    .await;
    assert!(
        matches!(unknown, Err(ClientError::LoginFailed)),
        "{unknown:?}"
    );
    assert!(api.token().is_none());
}

#[tokio::test]
async fn clinic_creation_needs_the_operator_token_and_sane_escrow() {
    let server = server().await;
    let api = Api::new(&server.url).unwrap();
    let mut req = NewClinic {
        name: "Klinikka",
        admin_email: "aino@klinikka.example",
        admin_name: None,
        escrow_threshold: 2,
        escrow_shares: 3,
        password: "salasana",
        creation_token: "guess",
        now: now(),
    };
    let denied = create_clinic(&api, &req).await;
    assert!(
        matches!(denied, Err(ClientError::Api { status: 403, .. })),
        "{denied:?}"
    );
    req.creation_token = TOKEN;
    req.escrow_threshold = 1;
    assert!(matches!(
        create_clinic(&api, &req).await,
        Err(ClientError::Usage(_))
    ));
    req.escrow_threshold = 4;
    assert!(matches!(
        create_clinic(&api, &req).await,
        Err(ClientError::Usage(_))
    ));
    assert!(Api::new("ftp://example").is_err());
}

#[tokio::test]
async fn an_admin_adds_branches_signed_by_the_clinic_root() {
    let server = server().await;
    let api = Api::new(&server.url).unwrap();
    let created = create_clinic(
        &api,
        &NewClinic {
            name: "Klinikka",
            admin_email: "aino@klinikka.example",
            admin_name: Some("Aino"),
            escrow_threshold: 2,
            escrow_shares: 3,
            password: "oikea salasana",
            creation_token: TOKEN,
            now: now(),
        },
    )
    .await
    .unwrap();
    let mut api = Api::new(&server.url).unwrap();
    let unlocked = login(
        &mut api,
        created.clinic,
        "aino@klinikka.example",
        &created.secret_key,
        "oikea salasana",
    )
    .await
    .unwrap();
    let helsinki = vaiti_client::admin::create_branch(&api, &unlocked, "Helsinki", now())
        .await
        .unwrap();
    let tampere = vaiti_client::admin::create_branch(&api, &unlocked, "Tampere", now())
        .await
        .unwrap();
    assert_ne!(helsinki, tampere);
    let duplicate = vaiti_client::admin::create_branch(&api, &unlocked, "helsinki", now()).await;
    assert!(
        matches!(duplicate, Err(ClientError::Usage(_))),
        "{duplicate:?}"
    );

    // Logging in again sees manifest version 3 with both branches, verified against the pin.
    let again = login(
        &mut api,
        created.clinic,
        "aino@klinikka.example",
        &created.secret_key,
        "oikea salasana",
    )
    .await
    .unwrap();
    assert_eq!(again.manifest.manifest_version, 3);
    let names: Vec<&str> = again
        .manifest
        .branches
        .iter()
        .map(|b| b.name.as_str())
        .collect();
    assert_eq!(names, ["Helsinki", "Tampere"]);
    assert_eq!(
        again.manifest.branches[0].id.as_bytes(),
        helsinki.as_bytes()
    );

    // A branch made from a stale manifest (another admin moved it on meanwhile) is refused whole.
    let stale = vaiti_core::api::CreateBranch {
        expected_manifest_version: 1,
        manifest: vaiti_core::Sealed(b"{}".to_vec()),
        manifest_signature: vaiti_core::Sealed(vec![1; 65]),
        wraps: vec![vaiti_core::api::NewWrap {
            scope: vaiti_core::WrapScope::Directory {
                branch: vaiti_core::BranchId::generate().unwrap(),
                epoch: 1,
            },
            recipient: vaiti_core::Recipient::Escrow,
            recipient_key: vaiti_core::KeyId::from_bytes([1; 16]),
            wrap: vaiti_core::Sealed(vec![2; 1243]),
            signature: vaiti_core::Sealed(vec![3; 65]),
        }],
    };
    let path = format!(
        "/clinics/{}/branches",
        vaiti_core::ClinicId::from_bytes(created.clinic.to_bytes())
    );
    let refused = api.post_no_content(&path, &stale).await;
    assert!(
        matches!(refused, Err(ClientError::Api { status: 409, .. })),
        "{refused:?}"
    );
    let after = login(
        &mut api,
        created.clinic,
        "aino@klinikka.example",
        &created.secret_key,
        "oikea salasana",
    )
    .await
    .unwrap();
    assert_eq!(
        after.manifest.manifest_version, 3,
        "nothing of the refused request was written"
    );
}

/// Certificates are renewed on sync a month before they expire: the admin's client re-signs
/// staff certificates with the root key (next serial, same keys), and members stay certified
/// past the old expiry. Nobody else can renew a staff certificate.
#[tokio::test]
async fn certificates_are_renewed_before_they_expire() {
    use vaiti_client::admin::{RENEW_WITHIN_S, create_branch, renew_certificates};
    use vaiti_client::invite::{NewMember, complete_invites, invite_staff, signup};
    use vaiti_client::session::Session;
    use vaiti_core::Role;

    let server = server().await;
    let api = Api::new(&server.url).unwrap();
    let t0 = now();
    let created = create_clinic(
        &api,
        &NewClinic {
            name: "Uusiminen",
            admin_email: "admin@uusi.example",
            admin_name: None,
            escrow_threshold: 2,
            escrow_shares: 2,
            password: "admin password 1",
            creation_token: TOKEN,
            now: t0,
        },
    )
    .await
    .unwrap();
    let mut admin_api = Api::new(&server.url).unwrap();
    let admin = login(
        &mut admin_api,
        created.clinic,
        "admin@uusi.example",
        &created.secret_key,
        "admin password 1",
    )
    .await
    .unwrap();
    create_branch(&admin_api, &admin, "Turku", t0)
        .await
        .unwrap();
    let s = Session::open(&admin_api, &admin, t0).await.unwrap();
    let inv = invite_staff(
        &s,
        "t@uusi.example",
        &[Role::Therapist],
        &["Turku".into()],
        3600,
    )
    .await
    .unwrap();
    let t = signup(
        &Api::new(&server.url).unwrap(),
        &NewMember {
            code: &inv.code,
            email: None,
            display_name: None,
            password: "therapist password",
            now: t0,
        },
    )
    .await
    .unwrap();
    complete_invites(&s).await.unwrap();
    let mut t_api = Api::new(&server.url).unwrap();
    let therapist = login(
        &mut t_api,
        created.clinic,
        "t@uusi.example",
        &t.secret_key,
        "therapist password",
    )
    .await
    .unwrap();

    // Nothing is due yet.
    let s = Session::open(&admin_api, &admin, t0).await.unwrap();
    assert!(renew_certificates(&s).await.unwrap().is_empty());
    let expires = s.myself().unwrap().certificate.expires_at;

    // Without renewal, both would lapse at `expires`.
    let lapsed = Session::open(&admin_api, &admin, expires + 24 * 3600)
        .await
        .unwrap();
    assert!(lapsed.myself().is_err());
    assert!(lapsed.member(therapist.account.id).is_err());

    // Eleven months on: both staff certificates are due; a therapist cannot renew them.
    let later = expires - RENEW_WITHIN_S + 24 * 3600;
    let st = Session::open(&t_api, &therapist, later).await.unwrap();
    assert!(renew_certificates(&st).await.unwrap().is_empty());
    let s = Session::open(&admin_api, &admin, later).await.unwrap();
    let renewed = renew_certificates(&s).await.unwrap();
    assert_eq!(renewed.len(), 2);

    // A day after the old expiry, both are still members, under serial 2 with the same keys.
    let after = expires + 24 * 3600;
    let s = Session::open(&admin_api, &admin, after).await.unwrap();
    let me = s.myself().unwrap();
    assert_eq!(me.certificate.serial, 2);
    let them = s.member(therapist.account.id).unwrap();
    assert_eq!(them.certificate.serial, 2);
    assert_eq!(
        them.verifying_key,
        therapist.signing_key.verifying_key(),
        "the same keys"
    );
    assert!(them.has_role(Role::Therapist));
}
