//! A logged-in user's verified view of their clinic: the manifest checked against the pinned
//! root, every certificate checked against its issuer, and the key operations that depend on them.
//!
//! The client wraps keys only to public keys it found in a valid certificate (right clinic, not
//! expired, not revoked, issued by the root or — for a patient — by a certified clinician), and
//! accepts a wrap only when its signer is certified. A key the server substitutes, a certificate
//! it forges or presents for another user, and a revoked member all fail here.

use std::collections::HashMap;

use vaiti_core::api::{Directory, MyWraps, NewWrap};
use vaiti_core::{KeyWrap, Recipient, Role, Sealed, UserId, WrapScope};
use vaiti_crypto::wrap::{PublicWrap, Scope, WrapTarget, Wrappable};
use vaiti_crypto::{DirectoryKey, Epoch, RootKey, Signature, VerifyingKey};

use crate::ClientError;
use crate::account::Unlocked;
use crate::api::Api;
use crate::conv::{core_key, crypto_branch, crypto_chart};
use crate::directory::{CertificateKind, CertificateV1, ManifestV1};
use crate::seen::Seen;

pub use crate::directory::{Member, Revoked};

/// The user's verified clinic directory and their unlocked keys.
#[derive(Debug)]
pub struct Session<'a> {
    /// The server connection.
    pub api: &'a Api,
    /// The unlocked account.
    pub me: &'a Unlocked,
    /// The verified manifest.
    pub manifest: ManifestV1,
    /// The clinic root key (verifying half).
    pub root: VerifyingKey,
    /// Current members by user id: whom one may wrap keys to.
    pub members: HashMap<vaiti_core::UserId, Member>,
    /// Everyone with a verified certificate, current or former (revoked, expired), by user id:
    /// whose signatures on older records and wraps can still be checked.
    pub known: HashMap<vaiti_core::UserId, Member>,
    /// The time the session was opened (seconds since the Unix epoch).
    pub now: i64,
    /// What this device has seen (checked and updated by every read).
    seen: std::sync::Mutex<Seen>,
    /// The purpose stated when opening charts in this session (none: the user's default,
    /// [`crate::access_log::default_purpose`]).
    pub purpose: Option<vaiti_core::AccessPurpose>,
}

impl<'a> Session<'a> {
    /// Fetches and verifies the directory, with no memory of earlier sessions (a new device).
    pub async fn open(
        api: &'a Api,
        me: &'a Unlocked,
        now: i64,
    ) -> Result<Session<'a>, ClientError> {
        Self::open_with(api, me, now, Seen::default()).await
    }

    /// Fetches and verifies the directory. A certificate that fails a check is an error (never
    /// skipped silently): the server is faulty or malicious. `seen` is what this device saw
    /// before ([`Session::seen`] after the last session): anything older is refused.
    pub async fn open_with(
        api: &'a Api,
        me: &'a Unlocked,
        now: i64,
        mut seen: Seen,
    ) -> Result<Session<'a>, ClientError> {
        let dir: Directory = api.get(&format!("{}/directory", me.clinic_path())).await?;
        let (manifest, root) = ManifestV1::verify(
            dir.clinic.manifest.as_bytes(),
            dir.clinic.manifest_signature.as_bytes(),
            &me.root_fingerprint,
        )?;
        if manifest.clinic != me.account.clinic {
            return Err(ClientError::Protocol(
                "the server presented another clinic's manifest".into(),
            ));
        }
        if manifest.manifest_version < me.manifest.manifest_version {
            return Err(ClientError::Protocol(
                "the server served an older clinic manifest than this device has seen".into(),
            ));
        }
        seen.manifest(manifest.manifest_version)?;
        let known = verify_certificates(&dir.certificates, &root, me.account.clinic)?;
        // Revocations are remembered for good; one the server stops showing is caught.
        for (user, m) in &known {
            if let Some(r) = m.revoked {
                seen.revocation(*user, r.at);
            }
        }
        seen.check_revocations(&known)?;
        let members = known
            .iter()
            .filter(|(_, m)| now < m.valid_until)
            .map(|(u, m)| (*u, m.clone()))
            .collect();
        if let Some(vkey) = &manifest.log_key {
            crate::checkpoint::check_log(api, me, vkey, &manifest, now, &mut seen).await?;
        }
        let session = Session {
            api,
            me,
            manifest,
            root,
            members,
            known,
            now,
            seen: std::sync::Mutex::new(seen),
            purpose: None,
        };
        session.check_own_certificate()?;
        Ok(session)
    }

    /// The keys the directory certifies under this user's name must be this device's own.
    fn check_own_certificate(&self) -> Result<(), ClientError> {
        if let Some(mine) = self.members.get(&self.me.account.id)
            && (mine.encryption_key.to_bytes() != self.me.decryption_key.public_key().to_bytes()
                || mine.verifying_key != self.me.signing_key.verifying_key())
        {
            return Err(ClientError::Protocol(
                "the key directory certifies keys under your name that are not yours: report this to your clinic's admin".into(),
            ));
        }
        Ok(())
    }

    /// What this device has now seen, to keep for the next session.
    pub fn seen(&self) -> Result<Seen, ClientError> {
        self.seen
            .lock()
            .map(|s| s.clone())
            .map_err(|_| ClientError::Usage("the local cache is unavailable".into()))
    }

    /// Checks and records with the device's memory of what it has seen.
    pub(crate) fn remember<T>(
        &self,
        f: impl FnOnce(&mut Seen) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| ClientError::Usage("the local cache is unavailable".into()))?;
        f(&mut seen)
    }

    /// This user's own verified membership, once their join was completed.
    pub fn myself(&self) -> Result<&Member, ClientError> {
        self.members.get(&self.me.account.id).ok_or_else(|| {
            ClientError::Usage(
                "your account is not certified yet: whoever invited you completes your join when they next use vaiti".into(),
            )
        })
    }

    /// A current member by user id.
    pub fn member(&self, user: vaiti_core::UserId) -> Result<&Member, ClientError> {
        self.members.get(&user).ok_or_else(|| {
            ClientError::Protocol(format!(
                "user {user} has no valid certificate (unknown, expired or revoked)"
            ))
        })
    }

    /// A current or former member, for checking what they signed (records, states, wraps);
    /// callers check `valid_until` against the signed time where there is one.
    pub fn author(&self, user: vaiti_core::UserId) -> Result<&Member, ClientError> {
        self.known.get(&user).ok_or_else(|| {
            ClientError::Protocol(format!(
                "user {user} has no certificate in the key directory"
            ))
        })
    }

    /// A member of staff by their email.
    pub fn staff_by_email(&self, email: &str) -> Result<&Member, ClientError> {
        find_staff(&self.members, email)
            .ok_or_else(|| no_staff("no current member of staff", email))
    }

    /// A current or former member of staff by their email (to remove someone who has left).
    pub fn known_staff_by_email(&self, email: &str) -> Result<&Member, ClientError> {
        find_staff(&self.known, email)
            .ok_or_else(|| no_staff("no member of staff, current or former,", email))
    }

    /// A branch by name (case-insensitive) or id.
    pub fn branch(&self, name: &str) -> Result<&crate::directory::BranchEntry, ClientError> {
        self.manifest
            .branches
            .iter()
            .find(|b| b.name.eq_ignore_ascii_case(name.trim()) || b.id.to_string() == name.trim())
            .ok_or_else(|| ClientError::Usage(format!("the clinic has no branch named {name:?}")))
    }

    /// Unwraps a key wrapped to this user, checking the wrapper is a current member.
    pub fn unwrap<K: Wrappable>(
        &self,
        wrap: &KeyWrap,
        target: &WrapTarget,
    ) -> Result<K, ClientError> {
        if wrap.recipient
            != (Recipient::User {
                user: self.me.account.id,
            })
        {
            return Err(ClientError::Protocol(
                "a wrap is addressed to someone else".into(),
            ));
        }
        // A former member's wraps stay valid: a clinician who leaves must not take their
        // colleagues' keys with them. What a wrapper may hand out is checked by the caller.
        let wrapper = self.author(wrap.wrapped_by)?;
        let public = PublicWrap {
            bytes: wrap.wrap.0.clone(),
            signature: Signature::from_bytes(wrap.signature.as_bytes())?,
        };
        Ok(self.me.decryption_key.unwrap(
            &public,
            self.me.clinic,
            target,
            &wrapper.verifying_key,
        )?)
    }

    /// Wraps `key` to a certified member (never to a key the directory does not vouch for).
    pub fn wrap_to_member<K: Wrappable>(
        &self,
        key: &K,
        scope: WrapScope,
        user: vaiti_core::UserId,
    ) -> Result<NewWrap, ClientError> {
        let member = self.member(user)?;
        let w = member
            .encryption_key
            .wrap(key, self.me.clinic, &self.me.signing_key)?;
        Ok(NewWrap {
            scope,
            recipient: Recipient::User { user },
            recipient_key: core_key(member.encryption_key.key_id()),
            wrap: Sealed(w.bytes),
            signature: Sealed(w.signature.to_bytes().to_vec()),
        })
    }

    /// Wraps `key` to the clinic's escrow key from the verified manifest.
    pub fn wrap_to_escrow<K: Wrappable>(
        &self,
        key: &K,
        scope: WrapScope,
    ) -> Result<NewWrap, ClientError> {
        let escrow = self.manifest.escrow_public_key()?;
        let w = escrow.wrap(key, self.me.clinic, &self.me.signing_key)?;
        Ok(NewWrap {
            scope,
            recipient: Recipient::Escrow,
            recipient_key: core_key(escrow.key_id()),
            wrap: Sealed(w.bytes),
            signature: Sealed(w.signature.to_bytes().to_vec()),
        })
    }

    /// The caller's wraps (optionally of one chart).
    pub async fn my_wraps(
        &self,
        chart: Option<vaiti_core::ChartId>,
    ) -> Result<Vec<KeyWrap>, ClientError> {
        let path = match chart {
            Some(c) => format!("{}/wraps?chart={c}", self.me.clinic_path()),
            None => format!("{}/wraps", self.me.clinic_path()),
        };
        let wraps: vaiti_core::api::MyWraps = self.api.get(&path).await?;
        Ok(wraps.wraps)
    }

    /// The current directory key of a branch, from this user's own wrap; its id must be the one
    /// the manifest lists.
    pub async fn directory_key(
        &self,
        branch: vaiti_core::BranchId,
    ) -> Result<DirectoryKey, ClientError> {
        let entry = self
            .manifest
            .branches
            .iter()
            .find(|b| b.id == branch)
            .ok_or_else(|| {
                ClientError::Protocol("a chart names a branch the manifest does not list".into())
            })?;
        let wraps = self.my_wraps(None).await?;
        let wrap = wraps
            .iter()
            .find(|w| w.scope == WrapScope::Directory { branch, epoch: entry.epoch })
            .ok_or_else(|| {
                ClientError::Usage(format!(
                    "you hold no key to the directory of branch {:?} (front desk and admins of the branch do)",
                    entry.name
                ))
            })?;
        let key: DirectoryKey = self.unwrap(
            wrap,
            &WrapTarget {
                scope: Scope::Branch(crypto_branch(branch)),
                tier: None,
                epoch: Epoch(entry.epoch),
            },
        )?;
        if hex::encode(key.key_id().as_bytes()) != entry.directory_key {
            return Err(ClientError::Protocol(
                "a directory key is not the one the manifest lists".into(),
            ));
        }
        Ok(key)
    }

    /// The wrap target of a chart's identity key.
    pub fn identity_target(chart: vaiti_core::ChartId) -> WrapTarget {
        WrapTarget {
            scope: Scope::Chart(crypto_chart(chart)),
            tier: None,
            epoch: Epoch(0),
        }
    }
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
        .get(&format!("{}/directory", unlocked.clinic_path()))
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

/// Unwraps the clinic root key from the admin's own wrap, checking who wrapped it (admins
/// certify staff with it and sign manifests).
pub async fn unwrap_root(
    api: &Api,
    unlocked: &Unlocked,
    now: i64,
) -> Result<(RootKey, ManifestV1), ClientError> {
    let (manifest, root_vk, members) = verified_directory(api, unlocked, now).await?;
    let wraps: MyWraps = api
        .get(&format!("{}/wraps", unlocked.clinic_path()))
        .await?;
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

/// Verifies every certificate the directory lists: staff certificates against the clinic root,
/// then patients' against the certified clinician who issued them. Revoked and expired
/// certificates are verified too (their holders' earlier signatures still count); a forged one is
/// an error, never skipped. The newest serial of each user counts. This is the one place that
/// knows who may sign a certificate: every check of the directory goes through it.
pub(crate) fn verify_certificates(
    certificates: &[vaiti_core::Certificate],
    root: &VerifyingKey,
    clinic: vaiti_core::ClinicId,
) -> Result<HashMap<vaiti_core::UserId, Member>, ClientError> {
    let mut known: HashMap<vaiti_core::UserId, Member> = HashMap::new();
    let mut pending_patients = Vec::new();
    let mut sorted = certificates.to_vec();
    sorted.sort_by_key(|c| (*c.user.as_bytes(), c.serial));
    for c in &sorted {
        if c.issuer_key != core_key(root.key_id()) {
            pending_patients.push(c);
            continue;
        }
        let cert = CertificateV1::verify(
            c.body.as_bytes(),
            c.signature.as_bytes(),
            root,
            clinic,
            i64::MIN,
        )?;
        check_stored_matches(c, &cert)?;
        if cert.kind != CertificateKind::Staff {
            return Err(ClientError::Protocol(
                "the root signed a certificate that is not staff".into(),
            ));
        }
        let mut member = Member::parse(cert)?;
        if let Some(at) = c.revoked_at {
            member.valid_until = member.valid_until.min(at);
        }
        known.insert(c.user, member);
    }
    for c in pending_patients {
        let issuer = known
            .values()
            .find(|m| core_key(m.verifying_key.key_id()) == c.issuer_key)
            .filter(|m| m.has_role(Role::Therapist))
            .ok_or_else(|| {
                ClientError::Protocol(
                    "a patient certificate was issued by someone who is not a certified clinician"
                        .into(),
                )
            })?;
        let cert = CertificateV1::verify(
            c.body.as_bytes(),
            c.signature.as_bytes(),
            &issuer.verifying_key,
            clinic,
            i64::MIN,
        )?;
        check_stored_matches(c, &cert)?;
        if cert.kind != CertificateKind::Patient
            || cert.chart.is_none()
            || !cert.roles.is_empty()
            || cert.issued_at > issuer.valid_until
        {
            return Err(ClientError::Protocol(
                "a clinician signed a certificate that is not a patient's, or after their own certificate ended"
                    .into(),
            ));
        }
        let mut member = Member::parse(cert)?;
        if let Some(at) = c.revoked_at {
            member.valid_until = member.valid_until.min(at);
        }
        known.insert(c.user, member);
    }
    // Signed revocations, each checked against who its signer was before any is applied (so the
    // order of the list cannot matter). A forged or unauthorised one is an error, like a forged
    // certificate: the server is faulty or malicious.
    let mut revoked = Vec::new();
    for c in &sorted {
        if let Some(r) = &c.revocation {
            revoked.push((c.user, verify_revocation(r, &known, clinic, c.user)?));
        }
    }
    for (user, r) in revoked {
        if let Some(m) = known.get_mut(&user) {
            m.valid_until = m.valid_until.min(r.at);
            m.revoked = Some(
                m.revoked
                    .map_or(r, |old| if old.at <= r.at { old } else { r }),
            );
        }
    }
    Ok(known)
}

/// Checks a signed revocation of `user` listed with their certificate: the signer is a known
/// member [`custody::may_revoke`](crate::custody::may_revoke) allows, and signed it.
fn verify_revocation(
    revocation: &vaiti_core::Revocation,
    known: &HashMap<vaiti_core::UserId, Member>,
    clinic: vaiti_core::ClinicId,
    user: vaiti_core::UserId,
) -> Result<Revoked, ClientError> {
    let bad = || ClientError::Protocol("a revocation in the key directory is not valid".into());
    let body: vaiti_core::signed::RevocationV1 =
        serde_json::from_slice(revocation.body.as_bytes()).map_err(|_| bad())?;
    let revoker = known.get(&body.revoked_by).ok_or_else(bad)?;
    revoker.verifying_key.verify(
        vaiti_crypto::SignatureDomain::Revocation,
        revocation.body.as_bytes(),
        &Signature::from_bytes(revocation.signature.as_bytes())?,
    )?;
    let revoked = known.get(&user).ok_or_else(bad)?;
    if body.v != 1
        || body.clinic != clinic
        || body.user != user
        || !crate::custody::may_revoke(revoker, revoked, body.revoked_at)
    {
        return Err(ClientError::Protocol(
            "a revocation in the key directory is for another account, or signed by someone who may not revoke it"
                .into(),
        ));
    }
    Ok(Revoked {
        by: body.revoked_by,
        at: body.revoked_at,
    })
}

fn find_staff<'m>(
    members: &'m HashMap<vaiti_core::UserId, Member>,
    email: &str,
) -> Option<&'m Member> {
    members.values().find(|m| {
        m.certificate.kind == CertificateKind::Staff
            && m.certificate.login.eq_ignore_ascii_case(email.trim())
    })
}

fn no_staff(who: &str, email: &str) -> ClientError {
    ClientError::Usage(format!("{who} has the email {:?}", email.trim()))
}

fn check_stored_matches(
    stored: &vaiti_core::Certificate,
    cert: &CertificateV1,
) -> Result<(), ClientError> {
    if cert.user != stored.user
        || cert.serial != stored.serial
        || cert.expires_at != stored.expires_at
    {
        return Err(ClientError::Protocol(
            "a certificate is presented as another user's or another serial".into(),
        ));
    }
    Ok(())
}
