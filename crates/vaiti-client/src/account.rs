//! Creating a clinic with its first admin, logging in, and unlocking an account's keys.
//!
//! Everything secret is made here, on the device: the root key, the escrow key and its shares,
//! the user's Secret Key and key pairs. The server receives public keys, signatures, and secrets
//! sealed under keys it can never derive (see `docs/protocol.md`).

use vaiti_core::api::{
    ChangePassword, ClinicCreated, CreateClinic, LoggedIn, LoginChallenge, LoginFinish, LoginStart,
    Me, NewAdmin, NewCertificate, NewWrap, PasswordChallenge, PasswordStart, RegisterResponse,
    RegisterStart,
};
use vaiti_core::{Account, AccountKeys, KeyId as CoreKeyId, Recipient, Role, Sealed, WrapScope};
use vaiti_crypto::{
    AccountKey, CacheKey, ClinicId, DecryptionKey, EscrowKey, EscrowShare, KeyEncryptionKey,
    RootFingerprint, RootKey, SecretKey, SigningKey, UserId, opaque_password_input,
};
use vaiti_opaque::opaque_ke::{
    ClientLogin, ClientLoginFinishParameters, ClientRegistration,
    ClientRegistrationFinishParameters, CredentialResponse, RegistrationResponse,
};
use vaiti_opaque::{OsRng, VaitiOpaqueSuite as Suite};

use crate::ClientError;
use crate::api::Api;
use crate::directory::{CertificateKind, CertificateV1, ManifestV1};

/// How long a staff certificate is valid before the client renews it.
pub const STAFF_CERTIFICATE_S: i64 = 365 * 24 * 60 * 60;

/// The header carrying the operator's clinic-creation token (as the server names it).
pub const CLINIC_CREATION_HEADER: &str = "x-vaiti-clinic-creation-token";

fn core_clinic(id: ClinicId) -> vaiti_core::ClinicId {
    vaiti_core::ClinicId::from_bytes(id.to_bytes())
}

fn core_user(id: UserId) -> vaiti_core::UserId {
    vaiti_core::UserId::from_bytes(id.to_bytes())
}

fn core_key(id: vaiti_crypto::KeyId) -> CoreKeyId {
    CoreKeyId::from_bytes(id.to_bytes())
}

fn sealed(bytes: impl Into<Vec<u8>>) -> Sealed {
    Sealed(bytes.into())
}

/// What `create_clinic` needs.
#[derive(Debug)]
pub struct NewClinic<'a> {
    /// The clinic's name.
    pub name: &'a str,
    /// The first admin's email address.
    pub admin_email: &'a str,
    /// The first admin's display name.
    pub admin_name: Option<&'a str>,
    /// Escrow shares needed (M).
    pub escrow_threshold: u8,
    /// Escrow shares made (N), one per officer.
    pub escrow_shares: u8,
    /// The admin's new password.
    pub password: &'a str,
    /// The operator's clinic-creation token.
    pub creation_token: &'a str,
    /// The current time (seconds since the Unix epoch).
    pub now: i64,
}

/// What a new clinic's first admin must keep: shown once, never sent to the server.
#[derive(Debug)]
pub struct CreatedClinic {
    /// The clinic.
    pub clinic: ClinicId,
    /// The first admin.
    pub admin: UserId,
    /// The admin's Secret Key (for the Emergency Kit).
    pub secret_key: SecretKey,
    /// The root fingerprint every member's client pins (printed on every Emergency Kit).
    pub root_fingerprint: RootFingerprint,
    /// One share of the escrow key per officer: hand out, then delete.
    pub escrow_shares: Vec<EscrowShare>,
}

/// The result of the first OPAQUE round trip plus the client's finish: the upload for the server
/// and the KEK the export key gives.
pub(crate) struct Registration {
    pub(crate) upload: Vec<u8>,
    pub(crate) kek: KeyEncryptionKey,
}

/// What lets a new account register (the server refuses registration to anyone else).
pub(crate) enum RegisterWith<'a> {
    /// An open invite of the clinic (an invitee signing up).
    Invite(vaiti_core::InviteId),
    /// The operator's clinic-creation token (a new clinic's first admin).
    CreationToken(&'a str),
}

pub(crate) async fn register(
    api: &Api,
    clinic: ClinicId,
    user: UserId,
    with: RegisterWith<'_>,
    secret_key: &SecretKey,
    password: &str,
) -> Result<Registration, ClientError> {
    let (invite, token) = match with {
        RegisterWith::Invite(invite) => (Some(invite), None),
        RegisterWith::CreationToken(token) => (None, Some(token)),
    };
    register_at(secret_key, password, |request| async move {
        let headers: Vec<(&str, &str)> = token
            .map(|t| (CLINIC_CREATION_HEADER, t))
            .into_iter()
            .collect();
        api.post(
            "/opaque/register",
            &RegisterStart {
                clinic: core_clinic(clinic),
                user: core_user(user),
                request,
                invite,
            },
            &headers,
        )
        .await
    })
    .await
}

/// An OPAQUE registration whose first round trip `send` makes (to the endpoint for new accounts
/// or to the password-change endpoint).
async fn register_at<F, Fut>(
    secret_key: &SecretKey,
    password: &str,
    send: F,
) -> Result<Registration, ClientError>
where
    F: FnOnce(Sealed) -> Fut,
    Fut: core::future::Future<Output = Result<RegisterResponse, ClientError>>,
{
    let input = opaque_password_input(secret_key, password)?;
    let start = ClientRegistration::<Suite>::start(&mut OsRng, input.as_ref())
        .map_err(|_| ClientError::Usage("cannot start OPAQUE registration".into()))?;
    let resp: RegisterResponse = send(sealed(start.message.serialize().to_vec())).await?;
    let response = RegistrationResponse::<Suite>::deserialize(resp.response.as_bytes())
        .map_err(|_| ClientError::Protocol("malformed OPAQUE registration response".into()))?;
    let finish = start
        .state
        .finish(
            &mut OsRng,
            input.as_ref(),
            response,
            ClientRegistrationFinishParameters::default(),
        )
        .map_err(|_| {
            ClientError::Protocol("the server's OPAQUE registration response is invalid".into())
        })?;
    let kek = KeyEncryptionKey::from_opaque_export_key(&finish.export_key)?;
    Ok(Registration {
        upload: finish.message.serialize().to_vec(),
        kek,
    })
}

/// A user's freshly made keys, and their sealed forms for the server.
pub(crate) struct NewAccountKeys {
    pub(crate) decryption: DecryptionKey,
    pub(crate) signing: SigningKey,
    pub(crate) sealed: AccountKeys,
}

pub(crate) fn new_account_keys(
    kek: &KeyEncryptionKey,
    clinic: ClinicId,
    user: UserId,
    pin: &RootFingerprint,
) -> Result<NewAccountKeys, ClientError> {
    let ak = AccountKey::generate()?;
    let decryption = DecryptionKey::generate()?;
    let signing = SigningKey::generate()?;
    let cache = CacheKey::generate()?;
    let sealed_keys = AccountKeys {
        wrapped_account_key: sealed(kek.wrap_account_key(&ak, clinic, user)?.into_bytes()),
        wrapped_decryption_key: sealed(
            ak.wrap_decryption_key(&decryption, clinic, user)?
                .into_bytes(),
        ),
        wrapped_signing_key: sealed(ak.wrap_signing_key(&signing, clinic, user)?.into_bytes()),
        wrapped_cache_key: sealed(ak.wrap_cache_key(&cache, clinic, user)?.into_bytes()),
        root_pin: sealed(ak.seal_root_pin(pin, clinic, user)?.into_bytes()),
        encryption_public_key: sealed(decryption.public_key().to_bytes()),
        verifying_key: sealed(signing.verifying_key().to_bytes().to_vec()),
    };
    Ok(NewAccountKeys {
        decryption,
        signing,
        sealed: sealed_keys,
    })
}

/// Creates a clinic: root key, escrow key split M-of-N, the signed manifest, and the first admin
/// (keys, OPAQUE registration, root-signed certificate, the root key wrapped to the admin and to
/// escrow), uploaded in one request that the server writes in one transaction.
pub async fn create_clinic(api: &Api, req: &NewClinic<'_>) -> Result<CreatedClinic, ClientError> {
    if req.escrow_threshold < 2 || req.escrow_shares < req.escrow_threshold {
        return Err(ClientError::Usage(
            "escrow shares must be M/N with 2 ≤ M ≤ N (e.g. 2/3): one officer alone must not hold the key".into(),
        ));
    }
    if req.name.trim().is_empty() {
        return Err(ClientError::Usage("the clinic needs a name".into()));
    }
    let clinic = ClinicId::generate()?;
    let admin = UserId::generate()?;
    let root = RootKey::generate()?;
    let pin = root.fingerprint();
    let escrow = EscrowKey::generate()?;
    let shares = escrow.split(req.escrow_threshold, req.escrow_shares)?;

    let secret_key = SecretKey::generate()?;
    let registration = register(
        api,
        clinic,
        admin,
        RegisterWith::CreationToken(req.creation_token),
        &secret_key,
        req.password,
    )
    .await?;
    let keys = new_account_keys(&registration.kek, clinic, admin, &pin)?;

    let manifest = ManifestV1 {
        v: 1,
        clinic: core_clinic(clinic),
        name: req.name.trim().to_string(),
        manifest_version: 1,
        root_key: hex::encode(root.verifying_key().to_bytes()),
        escrow_key: sealed(escrow.public_key().to_bytes()),
        escrow_threshold: req.escrow_threshold,
        escrow_shares: req.escrow_shares,
        branches: Vec::new(),
        created_at: req.now,
        log_key: None,
        witnesses: Vec::new(),
        witness_quorum: 0,
        witness_max_age_s: 0,
    };
    let (manifest_bytes, manifest_signature) = manifest.sign(&root)?;
    let certificate = CertificateV1 {
        v: 1,
        clinic: core_clinic(clinic),
        user: core_user(admin),
        kind: CertificateKind::Staff,
        login: req.admin_email.to_string(),
        display_name: req.admin_name.map(str::to_string),
        roles: vec![Role::Admin],
        branches: Vec::new(),
        chart: None,
        encryption_key: keys.sealed.encryption_public_key.clone(),
        verifying_key: hex::encode(keys.signing.verifying_key().to_bytes()),
        serial: 1,
        issued_at: req.now,
        expires_at: req.now + STAFF_CERTIFICATE_S,
        issuer: hex::encode(root.verifying_key().key_id().as_bytes()),
    };
    let (cert_bytes, cert_signature) = certificate.sign_with_root(&root)?;
    // The root key goes to the admin and to escrow, wrapped and signed by the admin.
    let to_admin = keys
        .decryption
        .public_key()
        .wrap(&root, clinic, &keys.signing)?;
    let to_escrow = escrow.public_key().wrap(&root, clinic, &keys.signing)?;
    let body = CreateClinic {
        id: core_clinic(clinic),
        manifest: sealed(manifest_bytes),
        manifest_signature: sealed(manifest_signature.to_bytes().to_vec()),
        admin: NewAdmin {
            id: core_user(admin),
            login: req.admin_email.to_string(),
            display_name: req.admin_name.map(str::to_string),
            keys: keys.sealed,
            opaque_upload: sealed(registration.upload),
        },
        certificate: NewCertificate {
            body: sealed(cert_bytes),
            signature: sealed(cert_signature.to_bytes().to_vec()),
            issuer_key: core_key(root.verifying_key().key_id()),
            expires_at: certificate.expires_at,
        },
        root_wraps: vec![
            NewWrap {
                scope: WrapScope::Root,
                recipient: Recipient::User {
                    user: core_user(admin),
                },
                recipient_key: core_key(keys.decryption.key_id()),
                wrap: sealed(to_admin.bytes),
                signature: sealed(to_admin.signature.to_bytes().to_vec()),
            },
            NewWrap {
                scope: WrapScope::Root,
                recipient: Recipient::Escrow,
                recipient_key: core_key(escrow.public_key().key_id()),
                wrap: sealed(to_escrow.bytes),
                signature: sealed(to_escrow.signature.to_bytes().to_vec()),
            },
        ],
    };
    let created: ClinicCreated = api
        .post(
            "/clinics",
            &body,
            &[(CLINIC_CREATION_HEADER, req.creation_token)],
        )
        .await?;
    if created.clinic != core_clinic(clinic) || created.admin != core_user(admin) {
        return Err(ClientError::Protocol(
            "the server confirmed a different clinic or admin".into(),
        ));
    }
    Ok(CreatedClinic {
        clinic,
        admin,
        secret_key,
        root_fingerprint: pin,
        escrow_shares: shares,
    })
}

/// A logged-in, unlocked account: the session and the keys only this device now holds.
#[derive(Debug)]
pub struct Unlocked {
    /// The clinic.
    pub clinic: ClinicId,
    /// The account, as the server describes it.
    pub account: Account,
    /// The session token and its expiry.
    pub session: LoggedIn,
    /// The verified clinic manifest.
    pub manifest: ManifestV1,
    /// The root fingerprint this account pinned at sign-up.
    pub root_fingerprint: RootFingerprint,
    /// The account's HPKE decryption key.
    pub decryption_key: DecryptionKey,
    /// The account's signing key.
    pub signing_key: SigningKey,
    /// The local cache key.
    pub cache_key: CacheKey,
    /// The Account Key (kept for a password change, which re-wraps it).
    pub(crate) account_key: AccountKey,
}

/// Logs in with both secrets and unlocks the account's keys, checking everything the server
/// returns: the keys it stores under our name are ours, and the manifest is signed by the root
/// key this account pinned.
pub async fn login(
    api: &mut Api,
    clinic: ClinicId,
    login: &str,
    secret_key: &SecretKey,
    password: &str,
) -> Result<Unlocked, ClientError> {
    let input = opaque_password_input(secret_key, password)?;
    let start = ClientLogin::<Suite>::start(&mut OsRng, input.as_ref())
        .map_err(|_| ClientError::Usage("cannot start OPAQUE login".into()))?;
    let clinic_path = format!("/clinics/{}", core_clinic(clinic));
    let challenge: LoginChallenge = api
        .post(
            &format!("{clinic_path}/login/start"),
            &LoginStart {
                login: login.to_string(),
                request: sealed(start.message.serialize().to_vec()),
            },
            &[],
        )
        .await
        .map_err(not_found_is_login_failed)?;
    let response = CredentialResponse::<Suite>::deserialize(challenge.response.as_bytes())
        .map_err(|_| ClientError::Protocol("malformed OPAQUE login response".into()))?;
    // A wrong password, Secret Key or login name fails here, on the device. The client still
    // closes the attempt on the server (with a finalization that cannot verify), so the clinic's
    // access log records the failed login now rather than when the pending login expires.
    let finish = match start.state.finish(
        &mut OsRng,
        input.as_ref(),
        response,
        ClientLoginFinishParameters::default(),
    ) {
        Ok(finish) => finish,
        Err(_) => {
            let _ = api
                .post::<_, LoggedIn>(
                    &format!("{clinic_path}/login/finish"),
                    &LoginFinish {
                        login_id: challenge.login_id.clone(),
                        finalization: sealed(vec![0u8; 64]),
                    },
                    &[],
                )
                .await;
            return Err(ClientError::LoginFailed);
        }
    };
    let session: LoggedIn = api
        .post(
            &format!("{clinic_path}/login/finish"),
            &LoginFinish {
                login_id: challenge.login_id,
                finalization: sealed(finish.message.serialize().to_vec()),
            },
            &[],
        )
        .await
        .map_err(not_found_is_login_failed)?;
    api.set_token(Some(session.token.clone()));
    let me: Me = api.get(&format!("{clinic_path}/me")).await?;
    let user = UserId::from_bytes(*session.user.as_bytes());
    if me.account.id != session.user || me.clinic.id != core_clinic(clinic) {
        return Err(ClientError::Protocol(
            "the server described another account or clinic".into(),
        ));
    }

    let kek = KeyEncryptionKey::from_opaque_export_key(&finish.export_key)?;
    let unwrap_failed = |_| {
        ClientError::Protocol("this account's sealed keys do not open with its own keys".into())
    };
    let envelope = |s: &Sealed| vaiti_crypto::Envelope::from_bytes(s.0.clone());
    let ak = kek
        .unwrap_account_key(&envelope(&me.keys.wrapped_account_key), clinic, user)
        .map_err(unwrap_failed)?;
    let decryption_key = ak
        .unwrap_decryption_key(&envelope(&me.keys.wrapped_decryption_key), clinic, user)
        .map_err(unwrap_failed)?;
    let signing_key = ak
        .unwrap_signing_key(&envelope(&me.keys.wrapped_signing_key), clinic, user)
        .map_err(unwrap_failed)?;
    let cache_key = ak
        .unwrap_cache_key(&envelope(&me.keys.wrapped_cache_key), clinic, user)
        .map_err(unwrap_failed)?;
    let root_fingerprint = ak
        .open_root_pin(&envelope(&me.keys.root_pin), clinic, user)
        .map_err(unwrap_failed)?;
    // The public keys the server lists under our name must be the halves of our own keys:
    // otherwise others would be wrapping to a key the server (or someone) substituted.
    if me.keys.encryption_public_key.as_bytes() != decryption_key.public_key().to_bytes().as_slice()
        || me.keys.verifying_key.as_bytes() != signing_key.verifying_key().to_bytes().as_slice()
    {
        return Err(ClientError::Protocol(
            "the public keys stored under this account are not its own".into(),
        ));
    }
    let (manifest, _root) = ManifestV1::verify(
        me.clinic.manifest.as_bytes(),
        me.clinic.manifest_signature.as_bytes(),
        &root_fingerprint,
    )?;
    if manifest.clinic != core_clinic(clinic)
        || manifest.manifest_version != me.clinic.manifest_version
    {
        return Err(ClientError::Protocol(
            "the clinic manifest does not match the clinic".into(),
        ));
    }
    Ok(Unlocked {
        clinic,
        account: me.account,
        session,
        manifest,
        root_fingerprint,
        decryption_key,
        signing_key,
        cache_key,
        account_key: ak,
    })
}

impl Unlocked {
    /// `/clinics/{clinic}`, the prefix of this account's API paths.
    pub fn clinic_path(&self) -> String {
        format!("/clinics/{}", core_clinic(self.clinic))
    }
}

/// Changes the password: proves the current one (an OPAQUE login within the same request flow,
/// so a session alone cannot do it), and sends a new OPAQUE registration from the same Secret
/// Key and the new password, with the Account Key wrapped under the new KEK, stored together.
/// Every session of the account ends (log in again with the new password). A wrong current
/// password or Secret Key is [`ClientError::LoginFailed`] and changes nothing.
pub async fn change_password(
    api: &Api,
    unlocked: &Unlocked,
    secret_key: &SecretKey,
    current_password: &str,
    new_password: &str,
) -> Result<(), ClientError> {
    if new_password.chars().count() < 10 {
        return Err(ClientError::Usage(
            "choose a password of at least 10 characters".into(),
        ));
    }
    let path = unlocked.clinic_path();
    let current = opaque_password_input(secret_key, current_password)?;
    let login = ClientLogin::<Suite>::start(&mut OsRng, current.as_ref())
        .map_err(|_| ClientError::Usage("cannot start OPAQUE login".into()))?;
    let new = opaque_password_input(secret_key, new_password)?;
    let registration = ClientRegistration::<Suite>::start(&mut OsRng, new.as_ref())
        .map_err(|_| ClientError::Usage("cannot start OPAQUE registration".into()))?;
    let challenge: PasswordChallenge = api
        .post(
            &format!("{path}/password/start"),
            &PasswordStart {
                login: sealed(login.message.serialize().to_vec()),
                request: sealed(registration.message.serialize().to_vec()),
            },
            &[],
        )
        .await?;
    let login_response =
        CredentialResponse::<Suite>::deserialize(challenge.login_response.as_bytes())
            .map_err(|_| ClientError::Protocol("malformed OPAQUE login response".into()))?;
    let response = RegistrationResponse::<Suite>::deserialize(challenge.response.as_bytes())
        .map_err(|_| ClientError::Protocol("malformed OPAQUE registration response".into()))?;
    let finish = registration
        .state
        .finish(
            &mut OsRng,
            new.as_ref(),
            response,
            ClientRegistrationFinishParameters::default(),
        )
        .map_err(|_| {
            ClientError::Protocol("the server's OPAQUE registration response is invalid".into())
        })?;
    let kek = KeyEncryptionKey::from_opaque_export_key(&finish.export_key)?;
    let user = UserId::from_bytes(*unlocked.account.id.as_bytes());
    let wrapped = kek.wrap_account_key(&unlocked.account_key, unlocked.clinic, user)?;
    let upload = sealed(finish.message.serialize().to_vec());
    let wrapped_account_key = sealed(wrapped.into_bytes());
    // A wrong current password fails here, on the device. The attempt is still closed on the
    // server with a finalization that cannot verify, so the failed proof is logged now.
    let finalization = match login.state.finish(
        &mut OsRng,
        current.as_ref(),
        login_response,
        ClientLoginFinishParameters::default(),
    ) {
        Ok(done) => Some(done.message.serialize().to_vec()),
        Err(_) => None,
    };
    let proven = finalization.is_some();
    let sent = api
        .post_no_content(
            &format!("{path}/password"),
            &ChangePassword {
                login_id: challenge.login_id,
                finalization: sealed(finalization.unwrap_or_else(|| vec![0u8; 64])),
                opaque_upload: upload,
                wrapped_account_key,
            },
        )
        .await;
    match sent {
        Ok(()) if proven => Ok(()),
        // The server cannot accept what could not be proven; if it says it did, it lies.
        Ok(()) => Err(ClientError::Protocol(
            "the server accepted a password change without the current password".into(),
        )),
        Err(_) if !proven => Err(ClientError::LoginFailed),
        Err(e) => Err(not_found_is_login_failed(e)),
    }
}

/// Ends the session on the server.
pub async fn logout(api: &mut Api, clinic: ClinicId) -> Result<(), ClientError> {
    api.post_empty(&format!("/clinics/{}/logout", core_clinic(clinic)))
        .await?;
    api.set_token(None);
    Ok(())
}

fn not_found_is_login_failed(e: ClientError) -> ClientError {
    match e {
        ClientError::Api {
            status: 401 | 404, ..
        } => ClientError::LoginFailed,
        other => other,
    }
}
