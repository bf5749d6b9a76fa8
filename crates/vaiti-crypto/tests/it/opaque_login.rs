//! The two-secret derivation through a real OPAQUE registration and login with vaiti's suite:
//! the export key unlocks the Account Key only when both the password and the Secret Key are
//! right, and a server cannot learn or weaken either.

use opaque_ke::{
    ClientLogin, ClientLoginFinishParameters, ClientRegistration,
    ClientRegistrationFinishParameters, CredentialFinalization, CredentialRequest,
    CredentialResponse, RegistrationRequest, RegistrationResponse, RegistrationUpload, ServerLogin,
    ServerLoginParameters, ServerRegistration, ServerSetup,
};
use vaiti_crypto::{
    AccountKey, ClinicId, KeyEncryptionKey, SecretKey, UserId, opaque_password_input,
};
use vaiti_opaque::{OsRng, VaitiOpaqueSuite as Suite};

/// What the server keeps: its setup and the user's registration record, as bytes (as stored).
struct Server {
    setup: ServerSetup<Suite>,
    record: Option<Vec<u8>>,
}

const HANDLE: &[u8] = b"9f2c1e7a4b";

fn register(server: &mut Server, secret_key: &SecretKey, password: &str) -> Vec<u8> {
    let input = opaque_password_input(secret_key, password).unwrap();
    let start = ClientRegistration::<Suite>::start(&mut OsRng, input.as_ref()).unwrap();
    // Messages cross the network as bytes.
    let request = RegistrationRequest::<Suite>::deserialize(&start.message.serialize()).unwrap();
    let response = ServerRegistration::<Suite>::start(&server.setup, request, HANDLE).unwrap();
    let response =
        RegistrationResponse::<Suite>::deserialize(&response.message.serialize()).unwrap();
    let finish = start
        .state
        .finish(
            &mut OsRng,
            input.as_ref(),
            response,
            ClientRegistrationFinishParameters::default(),
        )
        .unwrap();
    let upload = RegistrationUpload::<Suite>::deserialize(&finish.message.serialize()).unwrap();
    server.record = Some(
        ServerRegistration::<Suite>::finish(upload)
            .serialize()
            .to_vec(),
    );
    finish.export_key.to_vec()
}

/// Returns the client's export key if login succeeded (both sides agreed), else `None`.
fn login(server: &Server, secret_key: &SecretKey, password: &str) -> Option<Vec<u8>> {
    let input = opaque_password_input(secret_key, password).unwrap();
    let start = ClientLogin::<Suite>::start(&mut OsRng, input.as_ref()).unwrap();
    let request = CredentialRequest::<Suite>::deserialize(&start.message.serialize()).unwrap();
    let record = server
        .record
        .as_ref()
        .map(|r| ServerRegistration::<Suite>::deserialize(r).unwrap());
    let server_start = ServerLogin::start(
        &mut OsRng,
        &server.setup,
        record,
        request,
        HANDLE,
        ServerLoginParameters::default(),
    )
    .unwrap();
    let response =
        CredentialResponse::<Suite>::deserialize(&server_start.message.serialize()).unwrap();
    let finish = start
        .state
        .finish(
            &mut OsRng,
            input.as_ref(),
            response,
            ClientLoginFinishParameters::default(),
        )
        .ok()?;
    let fin = CredentialFinalization::<Suite>::deserialize(&finish.message.serialize()).unwrap();
    let server_finish = server_start
        .state
        .finish(fin, ServerLoginParameters::default())
        .ok()?;
    assert_eq!(server_finish.session_key, finish.session_key);
    Some(finish.export_key.to_vec())
}

#[test]
fn both_secrets_unlock_the_account_and_neither_alone_does() {
    let mut server = Server {
        setup: ServerSetup::<Suite>::new(&mut OsRng),
        record: None,
    };
    let secret_key = SecretKey::generate().unwrap();
    let password = "Kesäkuun kolmas päivä";
    let clinic = ClinicId::generate().unwrap();
    let user = UserId::generate().unwrap();

    // Sign-up: the export key becomes the KEK that wraps a fresh Account Key.
    let export = register(&mut server, &secret_key, password);
    let ak = AccountKey::generate().unwrap();
    let wrapped_ak = KeyEncryptionKey::from_opaque_export_key(&export)
        .unwrap()
        .wrap_account_key(&ak, clinic, user)
        .unwrap();

    // Login on a new device with the printed Secret Key, typed with dashes and in lower case.
    let typed = SecretKey::parse_printed(&secret_key.to_printed().to_lowercase()).unwrap();
    let export_again = login(&server, &typed, password).expect("login with both secrets");
    assert_eq!(export_again, export);
    let kek = KeyEncryptionKey::from_opaque_export_key(&export_again).unwrap();
    assert_eq!(
        kek.unwrap_account_key(&wrapped_ak, clinic, user)
            .unwrap()
            .key_id(),
        ak.key_id()
    );

    // The right password with another Secret Key, or the right Secret Key with a wrong password,
    // fails OPAQUE itself: no export key, nothing to unwrap with.
    let other_sk = SecretKey::generate().unwrap();
    assert!(login(&server, &other_sk, password).is_none());
    assert!(login(&server, &secret_key, "Kesäkuun kolmas päivä!").is_none());
}

#[test]
fn the_server_record_holds_neither_secret() {
    let mut server = Server {
        setup: ServerSetup::<Suite>::new(&mut OsRng),
        record: None,
    };
    let secret_key = SecretKey::generate().unwrap();
    let password = "correct horse battery staple";
    register(&mut server, &secret_key, password);
    let record = server.record.clone().unwrap();
    let setup = server.setup.serialize().to_vec();
    let input = opaque_password_input(&secret_key, password).unwrap();
    for stored in [&record, &setup] {
        for secret in [
            password.as_bytes(),
            secret_key.as_bytes().as_slice(),
            input.as_ref(),
        ] {
            assert!(
                !stored.windows(secret.len()).any(|w| w == secret),
                "a secret appears in server state"
            );
        }
    }
}
