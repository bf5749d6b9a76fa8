//! Admin work that needs the clinic root key: adding branches, certifying and renewing staff.
//!
//! The root key is never stored on the device: it is unwrapped from the admin's own wrap for the
//! operation, checked against the manifest's root key, and dropped (zeroized) afterwards.

use vaiti_core::api::{CreateBranch, NewWrap};
use vaiti_core::{Recipient, Sealed, WrapScope};
use vaiti_crypto::{BranchId, DirectoryKey, Epoch, RootKey};

use crate::ClientError;
use crate::account::Unlocked;
use crate::api::Api;
use crate::directory::{BranchEntry, CertificateKind, ManifestV1};

fn clinic_path(unlocked: &Unlocked) -> String {
    format!(
        "/clinics/{}",
        vaiti_core::ClinicId::from_bytes(unlocked.clinic.to_bytes())
    )
}

pub use crate::session::{unwrap_root, verified_directory};

/// Adds a branch: a fresh directory key (epoch 1), the next manifest version listing the branch,
/// signed with the root key, and the directory key wrapped to this admin and to escrow.
pub async fn create_branch(
    api: &Api,
    unlocked: &Unlocked,
    name: &str,
    now: i64,
) -> Result<BranchId, ClientError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ClientError::Usage("the branch needs a name".into()));
    }
    let (root, manifest) = unwrap_root(api, unlocked, now).await?;
    if manifest
        .branches
        .iter()
        .any(|b| b.name.eq_ignore_ascii_case(name))
    {
        return Err(ClientError::Usage(format!(
            "the clinic already has a branch named {name:?}"
        )));
    }
    let branch = BranchId::generate()?;
    let directory_key = DirectoryKey::generate(branch, Epoch::FIRST)?;
    let mut next = manifest.clone();
    next.manifest_version = manifest.manifest_version + 1;
    next.created_at = now;
    // No chart exists before its branch: the first branch's manifest adopts the access log's key
    // (if an admin's sync has not already), so every chart is opened under a logged release.
    if next.log_key.is_none() {
        next.log_key = Some(fetch_log_key(api, unlocked).await?);
    }
    next.branches.push(BranchEntry {
        id: vaiti_core::BranchId::from_bytes(branch.to_bytes()),
        name: name.to_string(),
        directory_key: hex::encode(directory_key.key_id().as_bytes()),
        epoch: 1,
    });
    let (bytes, signature) = next.sign(&root)?;
    let escrow = manifest.escrow_public_key()?;
    let scope = WrapScope::Directory {
        branch: vaiti_core::BranchId::from_bytes(branch.to_bytes()),
        epoch: 1,
    };
    let mut wraps = Vec::new();
    for (recipient, key) in [
        (
            Recipient::User {
                user: unlocked.account.id,
            },
            unlocked.decryption_key.public_key(),
        ),
        (Recipient::Escrow, &escrow),
    ] {
        let w = key.wrap(&directory_key, unlocked.clinic, &unlocked.signing_key)?;
        wraps.push(NewWrap {
            scope,
            recipient,
            recipient_key: vaiti_core::KeyId::from_bytes(key.key_id().to_bytes()),
            wrap: Sealed(w.bytes),
            signature: Sealed(w.signature.to_bytes().to_vec()),
        });
    }
    let body = CreateBranch {
        expected_manifest_version: manifest.manifest_version,
        manifest: Sealed(bytes),
        manifest_signature: Sealed(signature.to_bytes().to_vec()),
        wraps,
    };
    api.post_no_content(&format!("{}/branches", clinic_path(unlocked)), &body)
        .await?;
    Ok(branch)
}

/// Certificates expiring within this many seconds are renewed on sync.
pub const RENEW_WITHIN_S: i64 = 30 * 24 * 60 * 60;

/// Renews, on sync, the certificates this user may issue that expire within
/// [`RENEW_WITHIN_S`]: an admin renews staff certificates (root-signed; the root key is unwrapped
/// only if one is due), a clinician the certificates of their charts' patients. Same keys, roles
/// and branches; the next serial; a new expiry. Returns the users renewed.
pub async fn renew_certificates(
    s: &crate::session::Session<'_>,
) -> Result<Vec<vaiti_core::UserId>, ClientError> {
    let Ok(me) = s.myself() else {
        return Ok(Vec::new());
    };
    let admin = me.has_role(vaiti_core::Role::Admin);
    let therapist = me.has_role(vaiti_core::Role::Therapist);
    let due: Vec<crate::session::Member> = s
        .members
        .values()
        .filter(|m| m.certificate.expires_at - s.now <= RENEW_WITHIN_S)
        .cloned()
        .collect();
    let mut root: Option<RootKey> = None;
    let mut renewed = Vec::new();
    for m in due {
        let old = &m.certificate;
        let mut cert = old.clone();
        cert.serial = old.serial + 1;
        cert.issued_at = s.now;
        let (bytes, signature, issuer_key) = match old.kind {
            CertificateKind::Staff if admin => {
                if root.is_none() {
                    root = Some(unwrap_root(s.api, s.me, s.now).await?.0);
                }
                let Some(root) = root.as_ref() else {
                    continue;
                };
                cert.expires_at = s.now + crate::account::STAFF_CERTIFICATE_S;
                cert.issuer = hex::encode(root.verifying_key().key_id().as_bytes());
                let (b, sig) = cert.sign_with_root(root)?;
                (b, sig, root.verifying_key().key_id())
            }
            CertificateKind::Patient if therapist => {
                let Some(chart) = old.chart else { continue };
                let loaded = crate::chart::load(s, chart).await?;
                if !loaded.latest().care_team.contains(&s.me.account.id)
                    || loaded.latest().patient != Some(old.user)
                {
                    continue;
                }
                cert.expires_at = s.now + crate::invite::PATIENT_CERTIFICATE_S;
                cert.issuer = hex::encode(s.me.signing_key.key_id().as_bytes());
                let (b, sig) = cert.sign_with(&s.me.signing_key)?;
                (b, sig, s.me.signing_key.key_id())
            }
            _ => continue,
        };
        s.api
            .post_no_content(
                &format!("{}/certificates", clinic_path(s.me)),
                &vaiti_core::api::RenewCertificate {
                    user: old.user,
                    serial: cert.serial,
                    certificate: vaiti_core::api::NewCertificate {
                        body: Sealed(bytes),
                        signature: Sealed(signature.to_bytes().to_vec()),
                        issuer_key: vaiti_core::KeyId::from_bytes(issuer_key.to_bytes()),
                        expires_at: cert.expires_at,
                    },
                },
            )
            .await?;
        renewed.push(old.user);
    }
    Ok(renewed)
}

/// The access log's origin for a clinic, as the server names it.
pub fn log_origin(clinic: vaiti_core::ClinicId) -> String {
    format!("vaiti.log/{clinic}")
}

/// On an admin's sync: if the manifest names no access-log key yet, adopt the one the server
/// signs the clinic's log with (its origin must be this clinic's) in a new root-signed manifest
/// version. From then on every client checks the log's checkpoints against it. Returns whether
/// the manifest changed.
pub async fn adopt_log_key(s: &crate::session::Session<'_>) -> Result<bool, ClientError> {
    if s.manifest.log_key.is_some() || !s.myself()?.has_role(vaiti_core::Role::Admin) {
        return Ok(false);
    }
    let log_key = fetch_log_key(s.api, s.me).await?;
    let (root, manifest) = unwrap_root(s.api, s.me, s.now).await?;
    let mut next = manifest.clone();
    next.manifest_version = manifest.manifest_version + 1;
    next.created_at = s.now;
    next.log_key = Some(log_key);
    let (bytes, signature) = next.sign(&root)?;
    s.api
        .post_no_content(
            &format!("{}/manifest", clinic_path(s.me)),
            &vaiti_core::api::UpdateManifest {
                expected_manifest_version: manifest.manifest_version,
                manifest: Sealed(bytes),
                manifest_signature: Sealed(signature.to_bytes().to_vec()),
            },
        )
        .await?;
    Ok(true)
}

/// The key the server signs the clinic's access log with (its verifier text), checked to name
/// this clinic's log.
async fn fetch_log_key(api: &Api, me: &Unlocked) -> Result<String, ClientError> {
    let view: vaiti_core::api::LogCheckpointView = api
        .get(&format!("{}/log/checkpoint", clinic_path(me)))
        .await?;
    let key = vaiti_log::LogKey::from_vkey(&view.log_key)
        .map_err(|_| ClientError::Protocol("the server's access-log key is malformed".into()))?;
    if key.name() != log_origin(me.account.clinic) {
        return Err(ClientError::Protocol(
            "the server's access-log key is for another log".into(),
        ));
    }
    Ok(view.log_key)
}

/// Changes the clinic's witness policy: the next root-signed manifest version, stored on the
/// server. Needs an admin (the root key is unwrapped from their own wrap for this and dropped).
/// Returns the new manifest and a note for the admin (a lowered quorum).
///
/// It verifies the manifest against the pinned root but does not require the log's current
/// co-signatures, so an admin can unlist a witness that is down or lost its key.
pub async fn change_witnesses(
    api: &Api,
    unlocked: &Unlocked,
    change: &crate::witness::WitnessChange,
    now: i64,
) -> Result<(ManifestV1, Option<String>), ClientError> {
    let (root, manifest) = unwrap_root(api, unlocked, now).await?;
    let mut next = manifest.clone();
    let note = crate::witness::apply_change(&mut next, change)?;
    next.manifest_version = manifest.manifest_version + 1;
    next.created_at = now;
    let (bytes, signature) = next.sign(&root)?;
    api.post_no_content(
        &format!("{}/manifest", unlocked.clinic_path()),
        &vaiti_core::api::UpdateManifest {
            expected_manifest_version: manifest.manifest_version,
            manifest: Sealed(bytes),
            manifest_signature: Sealed(signature.to_bytes().to_vec()),
        },
    )
    .await?;
    Ok((next, note))
}
