//! Admin work that needs the clinic root key: adding branches, certifying and renewing staff.
//!
//! The root key is never stored on the device: it is unwrapped from the admin's own wrap for the
//! operation, checked against the manifest's root key, and dropped (zeroized) afterwards.

use std::collections::HashMap;

use vaiti_core::api::{CreateBranch, Directory, MyWraps, NewWrap};
use vaiti_core::{Recipient, Sealed, UserId, WrapScope};
use vaiti_crypto::wrap::{PublicWrap, Scope, WrapTarget};
use vaiti_crypto::{BranchId, DirectoryKey, Epoch, RootKey, Signature, VerifyingKey};

use crate::ClientError;
use crate::account::Unlocked;
use crate::api::Api;
use crate::directory::{BranchEntry, CertificateKind, ManifestV1};
use crate::session::{Member, verify_certificates};

fn clinic_path(unlocked: &Unlocked) -> String {
    format!(
        "/clinics/{}",
        vaiti_core::ClinicId::from_bytes(unlocked.clinic.to_bytes())
    )
}

/// The verified manifest, the root key it names, and the clinic's current members (certificates
/// valid at `now`), checked as a session checks them ([`crate::session::verify_certificates`]):
/// staff certificates against the root, patients' against the clinician who issued them.
pub async fn verified_directory(
    api: &Api,
    unlocked: &Unlocked,
    now: i64,
) -> Result<(ManifestV1, VerifyingKey, HashMap<UserId, Member>), ClientError> {
    let dir: Directory = api
        .get(&format!("{}/directory", clinic_path(unlocked)))
        .await?;
    let (manifest, root) = ManifestV1::verify(
        dir.clinic.manifest.as_bytes(),
        dir.clinic.manifest_signature.as_bytes(),
        &unlocked.root_fingerprint,
    )?;
    if manifest.clinic != unlocked.account.clinic {
        return Err(ClientError::Protocol(
            "the server presented another clinic's manifest".into(),
        ));
    }
    if manifest.manifest_version < unlocked.manifest.manifest_version {
        return Err(ClientError::Protocol(
            "the server served an older clinic manifest than this device has seen".into(),
        ));
    }
    // An invalid certificate is refused, never skipped silently.
    let mut members = verify_certificates(&dir.certificates, &root, unlocked.account.clinic)?;
    members.retain(|_, m| now < m.valid_until);
    Ok((manifest, root, members))
}

/// Unwraps the clinic root key from the admin's own wrap, checking who wrapped it.
pub(crate) async fn unwrap_root(
    api: &Api,
    unlocked: &Unlocked,
    now: i64,
) -> Result<(RootKey, ManifestV1), ClientError> {
    let (manifest, root_vk, members) = verified_directory(api, unlocked, now).await?;
    let wraps: MyWraps = api.get(&format!("{}/wraps", clinic_path(unlocked))).await?;
    let wrap = wraps
        .wraps
        .iter()
        .find(|w| w.scope == WrapScope::Root)
        .ok_or_else(|| {
            ClientError::Usage(
                "this account holds no copy of the clinic root key (is it an admin?)".into(),
            )
        })?;
    // The wrapper must be a member of staff of this clinic with a current root-signed
    // certificate.
    let wrapper = members
        .get(&wrap.wrapped_by)
        .filter(|m| m.certificate.kind == CertificateKind::Staff)
        .ok_or_else(|| {
            ClientError::Protocol(
                "the root key was wrapped by someone without a staff certificate".into(),
            )
        })?;
    let public_wrap = PublicWrap {
        bytes: wrap.wrap.0.clone(),
        signature: Signature::from_bytes(wrap.signature.as_bytes())?,
    };
    let root: RootKey = unlocked.decryption_key.unwrap(
        &public_wrap,
        unlocked.clinic,
        &WrapTarget {
            scope: Scope::Clinic,
            tier: None,
            epoch: Epoch(0),
        },
        &wrapper.verifying_key,
    )?;
    if root.verifying_key() != root_vk {
        return Err(ClientError::Protocol(
            "the unwrapped root key is not the clinic's".into(),
        ));
    }
    Ok((root, manifest))
}

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
