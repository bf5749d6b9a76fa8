//! Frozen test vectors: one sealed object per (version, suite, kind), plus `fail_*` vectors that
//! must be rejected with a specific error.
//!
//! Every file in `tests/vectors/` is decoded on every build. For each valid vector the test also
//! rebuilds the object from the recorded inputs (with the recorded nonce or randomness) and
//! requires the *exact* recorded bytes: a change to the format, the key derivation, the context
//! layout or the padding fails here, not in a patient's chart years later.
//!
//! The files are never regenerated. `cargo test -p vaiti-crypto --test it --
//! --ignored write_missing_vectors` writes only vectors whose file does not exist yet (for a new
//! kind or suite).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vaiti_crypto::testing;
use vaiti_crypto::wrap::{DecryptionKey, PublicWrap, Scope, WrapTarget};
use vaiti_crypto::{
    AuthorRole, BranchId, CaseKey, ChartId, ClinicId, Context, DirectoryKey, Envelope, Epoch,
    Error, IdentityKey, KeyId, Kind, ObjectId, OpenPolicy, RecordKey, ReportKey, RootFingerprint,
    RootKey, SealedRecord, Signature, SignedEnvelope, SigningKey, Tier, UserId,
};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("vectors")
}

// ---------------------------------------------------------------------------------------------
// JSON shapes

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct ContextJson {
    clinic: String,
    object: String,
    object_version: u64,
    chart: Option<String>,
    tier: Option<String>,
    epoch: u32,
    author: String,
    author_key: String,
    created_at: i64,
    prev_version_hash: String,
    chart_state_hash: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(tag = "format")]
#[allow(clippy::large_enum_variant)] // Test data, read once.
enum Vector {
    /// A record version: content envelope (signed) + content key wrapped under a record key.
    #[serde(rename = "sealed-record-v1")]
    SealedRecord {
        description: String,
        kind: String,
        /// "case", "identity" or "directory".
        record_key_type: String,
        record_key: String,
        /// The branch of a directory key.
        branch: Option<String>,
        content_key: String,
        nonce: String,
        wrap_nonce: String,
        author_seed: String,
        author_roles: Vec<String>,
        content_utf8: String,
        context: ContextJson,
        wrapped_key: String,
        envelope: String,
        signature: String,
        /// For `fail_*`: what the reader expects, when it differs from `context`.
        open_context: Option<ContextJson>,
        allowed: Vec<String>,
        /// For `fail_*`: the key the reader verifies the author with, when not the author's own.
        open_author_seed: Option<String>,
        newest_seen_version: Option<u64>,
        expect_error: Option<String>,
    },
    /// An account-level wrap under the KEK or the Account Key.
    #[serde(rename = "account-wrap-v1")]
    AccountWrap {
        description: String,
        kind: String,
        wrapping_key: String,
        /// The carried secret: key bytes, seed, or root fingerprint.
        carried: String,
        clinic: String,
        user: String,
        nonce: String,
        envelope: String,
        open_user: Option<String>,
        expect_error: Option<String>,
    },
    /// A local-cache entry (the one unsigned content kind).
    #[serde(rename = "local-cache-v1")]
    LocalCache {
        description: String,
        cache_key: String,
        context: ContextJson,
        content_utf8: String,
        nonce: String,
        envelope: String,
        expect_error: Option<String>,
    },
    /// A chart's identity key wrapped under its branch's directory key.
    #[serde(rename = "identity-key-wrap-v1")]
    IdentityKeyWrap {
        description: String,
        directory_key: String,
        branch: String,
        epoch: u32,
        identity_key: String,
        chart: String,
        clinic: String,
        nonce: String,
        envelope: String,
        open_chart: Option<String>,
        expect_error: Option<String>,
    },
    /// A patient's report of an access-log entry, sealed and signed under a one-report key.
    #[serde(rename = "access-report-v1")]
    AccessReport {
        description: String,
        report_key: String,
        nonce: String,
        author_seed: String,
        author_roles: Vec<String>,
        content_utf8: String,
        /// The access-log entry reported (bound through `context.chart_state_hash`).
        entry: u64,
        context: ContextJson,
        envelope: String,
        signature: String,
        /// For `fail_*`: the entry the reader expects, when it differs from `entry`.
        open_entry: Option<u64>,
        expect_error: Option<String>,
    },
    /// A key wrapped to an X-Wing public key with HPKE, signed by the wrapper.
    #[serde(rename = "public-wrap-v1")]
    PublicWrap {
        description: String,
        /// "case", "identity", "directory" or "root".
        carried: String,
        carried_secret: String,
        /// Chart id (case/identity) or branch id (directory); absent for root.
        scope_id: Option<String>,
        tier: Option<String>,
        epoch: u32,
        clinic: String,
        recipient_seed: String,
        wrapper_seed: String,
        randomness: String,
        wrap: String,
        signature: String,
        open_recipient_seed: Option<String>,
        open_clinic: Option<String>,
        open_epoch: Option<u32>,
        expect_error: Option<String>,
    },
}

// ---------------------------------------------------------------------------------------------
// Conversions

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let v = hex::decode(s).unwrap();
    v.try_into()
        .unwrap_or_else(|v: Vec<u8>| panic!("expected {N} bytes, got {}", v.len()))
}

fn kind_from(s: &str) -> Kind {
    Kind::ALL
        .into_iter()
        .find(|k| format!("{k:?}") == s)
        .unwrap_or_else(|| panic!("unknown kind {s}"))
}

fn role_from(s: &str) -> AuthorRole {
    match s {
        "admin" => AuthorRole::Admin,
        "therapist" => AuthorRole::Therapist,
        "frontdesk" => AuthorRole::FrontDesk,
        "auditor" => AuthorRole::Auditor,
        "patient" => AuthorRole::Patient,
        other => panic!("unknown role {other}"),
    }
}

fn tier_from(s: &Option<String>) -> Option<Tier> {
    s.as_deref().map(|t| match t {
        "team" => Tier::Team,
        "shared" => Tier::Shared,
        other => panic!("unknown tier {other}"),
    })
}

fn tier_name(t: Option<Tier>) -> Option<String> {
    t.map(|t| if t == Tier::Team { "team" } else { "shared" }.to_string())
}

fn error_from(s: &str) -> Error {
    match s {
        "Malformed" => Error::Malformed,
        "UnsupportedVersion" => Error::UnsupportedVersion,
        "UnsupportedSuite" => Error::UnsupportedSuite,
        "NotAllowed" => Error::NotAllowed,
        "WrongKey" => Error::WrongKey,
        "DecryptionFailed" => Error::DecryptionFailed,
        "BadSignature" => Error::BadSignature,
        "RolledBack" => Error::RolledBack,
        other => panic!("unknown error {other}"),
    }
}

impl ContextJson {
    fn to_context(&self) -> Context {
        Context {
            clinic: ClinicId::from_bytes(unhex(&self.clinic)),
            object: ObjectId::from_bytes(unhex(&self.object)),
            object_version: self.object_version,
            chart: self.chart.as_deref().map(|c| ChartId::from_bytes(unhex(c))),
            tier: tier_from(&self.tier),
            epoch: Epoch(self.epoch),
            author: UserId::from_bytes(unhex(&self.author)),
            author_key: KeyId::from_bytes(unhex(&self.author_key)),
            created_at: self.created_at,
            prev_version_hash: unhex(&self.prev_version_hash),
            chart_state_hash: unhex(&self.chart_state_hash),
        }
    }

    fn from_context(c: &Context) -> Self {
        Self {
            clinic: hex::encode(c.clinic.as_bytes()),
            object: hex::encode(c.object.as_bytes()),
            object_version: c.object_version,
            chart: c.chart.map(|x| hex::encode(x.as_bytes())),
            tier: tier_name(c.tier),
            epoch: c.epoch.0,
            author: hex::encode(c.author.as_bytes()),
            author_key: hex::encode(c.author_key.as_bytes()),
            created_at: c.created_at,
            prev_version_hash: hex::encode(c.prev_version_hash),
            chart_state_hash: hex::encode(c.chart_state_hash),
        }
    }
}

enum AnyRecordKey {
    Case(CaseKey),
    Identity(IdentityKey),
    Directory(DirectoryKey),
}

impl AnyRecordKey {
    fn as_dyn(&self) -> &dyn RecordKeyDyn {
        match self {
            AnyRecordKey::Case(k) => k,
            AnyRecordKey::Identity(k) => k,
            AnyRecordKey::Directory(k) => k,
        }
    }
}

/// Object-safe view of `RecordKey` for the test.
trait RecordKeyDyn {
    fn open(&self, record: &SealedRecord, policy: &OpenPolicy<'_>) -> Result<Vec<u8>, Error>;
}
impl<T: RecordKey> RecordKeyDyn for T {
    fn open(&self, record: &SealedRecord, policy: &OpenPolicy<'_>) -> Result<Vec<u8>, Error> {
        self.open_record(record, policy).map(|z| z.to_vec())
    }
}

fn record_key(kind: &str, bytes: &[u8; 32], ctx: &Context, branch: Option<&str>) -> AnyRecordKey {
    let chart = ctx.chart.unwrap_or(ChartId::from_bytes([0; 16]));
    match kind {
        "case" => AnyRecordKey::Case(
            testing::case_key(bytes, chart, ctx.tier.unwrap(), ctx.epoch).unwrap(),
        ),
        "identity" => AnyRecordKey::Identity(testing::identity_key(bytes, chart).unwrap()),
        "directory" => AnyRecordKey::Directory(
            testing::directory_key(
                bytes,
                BranchId::from_bytes(unhex(branch.unwrap())),
                ctx.epoch,
            )
            .unwrap(),
        ),
        other => panic!("unknown record key type {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Checking one vector

fn check(name: &str, v: &Vector) {
    let is_fail = name.starts_with("fail_");
    match v {
        Vector::SealedRecord {
            kind,
            record_key_type,
            record_key: rk,
            branch,
            content_key,
            nonce,
            wrap_nonce,
            author_seed,
            author_roles,
            content_utf8,
            context,
            wrapped_key,
            envelope,
            signature,
            open_context,
            allowed,
            open_author_seed,
            newest_seen_version,
            expect_error,
            ..
        } => {
            let kind = kind_from(kind);
            let ctx = context.to_context();
            let open_ctx = open_context
                .as_ref()
                .map_or_else(|| ctx.clone(), ContextJson::to_context);
            let key = record_key(record_key_type, &unhex(rk), &open_ctx, branch.as_deref());
            let author = SigningKey::from_seed(&unhex(author_seed));
            let reader_author = open_author_seed.as_deref().map_or_else(
                || author.verifying_key(),
                |s| SigningKey::from_seed(&unhex(s)).verifying_key(),
            );
            let record = SealedRecord {
                wrapped_key: Envelope::from_bytes(hex::decode(wrapped_key).unwrap()),
                content: SignedEnvelope {
                    envelope: Envelope::from_bytes(hex::decode(envelope).unwrap()),
                    signature: Signature::from_bytes(&hex::decode(signature).unwrap()).unwrap(),
                },
            };
            let roles: Vec<AuthorRole> = author_roles.iter().map(|r| role_from(r)).collect();
            let allowed: Vec<Kind> = allowed.iter().map(|k| kind_from(k)).collect();
            let policy = OpenPolicy {
                allowed: &allowed,
                context: &open_ctx,
                author: &reader_author,
                author_roles: &roles,
                newest_seen_version: *newest_seen_version,
            };
            let result = key.as_dyn().open(&record, &policy);
            if is_fail {
                let want = error_from(
                    expect_error
                        .as_deref()
                        .expect("fail vector names its error"),
                );
                assert_eq!(result, Err(want), "{name}");
                return;
            }
            assert_eq!(result.unwrap(), content_utf8.as_bytes(), "{name}: content");
            // Rebuild from the inputs and require the exact bytes.
            let cek = testing::content_key(&unhex(content_key)).unwrap();
            let rebuilt = testing::seal_signed(
                &cek,
                kind,
                &ctx,
                content_utf8.as_bytes(),
                &unhex(nonce),
                &author,
            )
            .unwrap();
            assert_eq!(
                hex::encode(rebuilt.envelope.as_bytes()),
                *envelope,
                "{name}: envelope bytes"
            );
            assert_eq!(
                hex::encode(rebuilt.signature.to_bytes()),
                *signature,
                "{name}: signature bytes"
            );
            let rewrapped = rewrap(&key, &cek, &ctx, &unhex(wrap_nonce));
            assert_eq!(
                hex::encode(rewrapped.as_bytes()),
                *wrapped_key,
                "{name}: wrapped key bytes"
            );
        }
        Vector::AccountWrap {
            kind,
            wrapping_key,
            carried,
            clinic,
            user,
            nonce,
            envelope,
            open_user,
            expect_error,
            ..
        } => {
            let kind = kind_from(kind);
            let clinic = ClinicId::from_bytes(unhex(clinic));
            let user_id = UserId::from_bytes(unhex(user));
            let open_user_id = open_user
                .as_deref()
                .map_or(user_id, |u| UserId::from_bytes(unhex(u)));
            let env = Envelope::from_bytes(hex::decode(envelope).unwrap());
            let wk: [u8; 32] = unhex(wrapping_key);
            let carried: [u8; 32] = unhex(carried);
            let opened: Result<Vec<u8>, Error> = match kind {
                Kind::AccountKeyWrap => {
                    let kek = testing::key_encryption_key(&wk).unwrap();
                    kek.unwrap_account_key(&env, clinic, open_user_id)
                        .map(|ak| {
                            // The unwrapped key must be the carried one: compare by key id.
                            assert_eq!(
                                ak.key_id(),
                                testing::account_key(&carried).unwrap().key_id()
                            );
                            carried.to_vec()
                        })
                }
                Kind::DecryptionKeyWrap => testing::account_key(&wk)
                    .unwrap()
                    .unwrap_decryption_key(&env, clinic, open_user_id)
                    .map(|dk| {
                        assert_eq!(
                            dk.key_id(),
                            DecryptionKey::from_seed(&carried).unwrap().key_id()
                        );
                        carried.to_vec()
                    }),
                Kind::SigningKeyWrap => testing::account_key(&wk)
                    .unwrap()
                    .unwrap_signing_key(&env, clinic, open_user_id)
                    .map(|sk| {
                        assert_eq!(sk.key_id(), SigningKey::from_seed(&carried).key_id());
                        carried.to_vec()
                    }),
                Kind::CacheKeyWrap => testing::account_key(&wk)
                    .unwrap()
                    .unwrap_cache_key(&env, clinic, open_user_id)
                    .map(|ck| {
                        assert_eq!(ck.key_id(), testing::cache_key(&carried).unwrap().key_id());
                        carried.to_vec()
                    }),
                Kind::RootPin => testing::account_key(&wk)
                    .unwrap()
                    .open_root_pin(&env, clinic, open_user_id)
                    .map(|pin| pin.0.to_vec()),
                other => panic!("{name}: {other:?} is not an account wrap"),
            };
            if is_fail {
                assert_eq!(
                    opened,
                    Err(error_from(expect_error.as_deref().unwrap())),
                    "{name}"
                );
                return;
            }
            assert_eq!(opened.unwrap(), carried.to_vec(), "{name}");
            let rebuilt = rebuild_account_wrap(kind, &wk, &carried, clinic, user_id, &unhex(nonce));
            assert_eq!(hex::encode(rebuilt.as_bytes()), *envelope, "{name}: bytes");
        }
        Vector::LocalCache {
            cache_key,
            context,
            content_utf8,
            nonce,
            envelope,
            expect_error,
            ..
        } => {
            let key = testing::cache_key(&unhex(cache_key)).unwrap();
            let ctx = context.to_context();
            let env = Envelope::from_bytes(hex::decode(envelope).unwrap());
            let opened = key.open(&env, &ctx).map(|z| z.to_vec());
            if is_fail {
                assert_eq!(
                    opened,
                    Err(error_from(expect_error.as_deref().unwrap())),
                    "{name}"
                );
                return;
            }
            assert_eq!(opened.unwrap(), content_utf8.as_bytes(), "{name}");
            let rebuilt =
                testing::seal_cache(&key, &ctx, content_utf8.as_bytes(), &unhex(nonce)).unwrap();
            assert_eq!(hex::encode(rebuilt.as_bytes()), *envelope, "{name}: bytes");
        }
        Vector::IdentityKeyWrap {
            directory_key,
            branch,
            epoch,
            identity_key,
            chart,
            clinic,
            nonce,
            envelope,
            open_chart,
            expect_error,
            ..
        } => {
            let dk = testing::directory_key(
                &unhex(directory_key),
                BranchId::from_bytes(unhex(branch)),
                Epoch(*epoch),
            )
            .unwrap();
            let chart_id = ChartId::from_bytes(unhex(chart));
            let open_chart_id = open_chart
                .as_deref()
                .map_or(chart_id, |c| ChartId::from_bytes(unhex(c)));
            let clinic = ClinicId::from_bytes(unhex(clinic));
            let ik = testing::identity_key(&unhex(identity_key), chart_id).unwrap();
            let env = Envelope::from_bytes(hex::decode(envelope).unwrap());
            let opened = dk
                .unwrap_identity_key(&env, clinic, open_chart_id)
                .map(|k| k.key_id());
            if is_fail {
                assert_eq!(
                    opened,
                    Err(error_from(expect_error.as_deref().unwrap())),
                    "{name}"
                );
                return;
            }
            assert_eq!(opened.unwrap(), ik.key_id(), "{name}");
            let rebuilt = testing::wrap_identity_key(&dk, &ik, clinic, &unhex(nonce)).unwrap();
            assert_eq!(hex::encode(rebuilt.as_bytes()), *envelope, "{name}: bytes");
        }
        Vector::AccessReport {
            report_key,
            nonce,
            author_seed,
            author_roles,
            content_utf8,
            entry,
            context,
            envelope,
            signature,
            open_entry,
            expect_error,
            ..
        } => {
            let ctx = context.to_context();
            let chart = ctx.chart.expect("a report names its chart");
            // The recorded context is exactly `report_context` of the recorded entry.
            assert_eq!(
                vaiti_crypto::report_context(
                    ctx.clinic,
                    ctx.object,
                    chart,
                    *entry,
                    ctx.author,
                    ctx.author_key,
                    ctx.created_at
                ),
                ctx,
                "{name}: context"
            );
            let open_ctx = vaiti_crypto::report_context(
                ctx.clinic,
                ctx.object,
                chart,
                open_entry.unwrap_or(*entry),
                ctx.author,
                ctx.author_key,
                ctx.created_at,
            );
            let key = testing::report_key(&unhex(report_key), chart).unwrap();
            let author = SigningKey::from_seed(&unhex(author_seed));
            let signed = SignedEnvelope {
                envelope: Envelope::from_bytes(hex::decode(envelope).unwrap()),
                signature: Signature::from_bytes(&hex::decode(signature).unwrap()).unwrap(),
            };
            let roles: Vec<AuthorRole> = author_roles.iter().map(|r| role_from(r)).collect();
            let opened = key
                .open_report(
                    &signed,
                    &OpenPolicy {
                        allowed: &[Kind::AccessReport],
                        context: &open_ctx,
                        author: &author.verifying_key(),
                        author_roles: &roles,
                        newest_seen_version: None,
                    },
                )
                .map(|z| z.to_vec());
            if is_fail {
                assert_eq!(
                    opened,
                    Err(error_from(expect_error.as_deref().unwrap())),
                    "{name}"
                );
                return;
            }
            assert_eq!(opened.unwrap(), content_utf8.as_bytes(), "{name}: content");
            let rebuilt =
                testing::seal_report(&key, &ctx, content_utf8.as_bytes(), &unhex(nonce), &author)
                    .unwrap();
            assert_eq!(
                hex::encode(rebuilt.envelope.as_bytes()),
                *envelope,
                "{name}: envelope bytes"
            );
            assert_eq!(
                hex::encode(rebuilt.signature.to_bytes()),
                *signature,
                "{name}: signature bytes"
            );
        }
        Vector::PublicWrap {
            carried,
            carried_secret,
            scope_id,
            tier,
            epoch,
            clinic,
            recipient_seed,
            wrapper_seed,
            randomness,
            wrap,
            signature,
            open_recipient_seed,
            open_clinic,
            open_epoch,
            expect_error,
            ..
        } => {
            let clinic_id = ClinicId::from_bytes(unhex(clinic));
            let open_clinic_id = open_clinic
                .as_deref()
                .map_or(clinic_id, |c| ClinicId::from_bytes(unhex(c)));
            let recipient = DecryptionKey::from_seed(&unhex::<32>(
                open_recipient_seed.as_deref().unwrap_or(recipient_seed),
            ))
            .unwrap();
            let wrapper = SigningKey::from_seed(&unhex(wrapper_seed));
            let pw = PublicWrap {
                bytes: hex::decode(wrap).unwrap(),
                signature: Signature::from_bytes(&hex::decode(signature).unwrap()).unwrap(),
            };
            let secret: [u8; 32] = unhex(carried_secret);
            let tier = tier_from(tier);
            let target_epoch = Epoch(open_epoch.unwrap_or(*epoch));
            let vk = wrapper.verifying_key();
            let (opened, rebuilt): (Result<KeyId, Error>, Option<PublicWrap>) =
                match carried.as_str() {
                    "case" => {
                        let chart = ChartId::from_bytes(unhex(scope_id.as_deref().unwrap()));
                        let target = WrapTarget {
                            scope: Scope::Chart(chart),
                            tier,
                            epoch: target_epoch,
                        };
                        let key = testing::case_key(&secret, chart, tier.unwrap(), Epoch(*epoch))
                            .unwrap();
                        let opened = recipient
                            .unwrap::<CaseKey>(&pw, open_clinic_id, &target, &vk)
                            .map(|k| k.key_id());
                        let rebuilt =
                            recipient_wrap(recipient_seed, &key, clinic_id, &wrapper, randomness);
                        assert_eq!(
                            opened.as_ref().ok(),
                            opened.as_ref().ok().map(|_| key.key_id()).as_ref()
                        );
                        (opened, Some(rebuilt))
                    }
                    "identity" => {
                        let chart = ChartId::from_bytes(unhex(scope_id.as_deref().unwrap()));
                        let target = WrapTarget {
                            scope: Scope::Chart(chart),
                            tier: None,
                            epoch: target_epoch,
                        };
                        let key = testing::identity_key(&secret, chart).unwrap();
                        let opened = recipient
                            .unwrap::<IdentityKey>(&pw, open_clinic_id, &target, &vk)
                            .map(|k| k.key_id());
                        (
                            opened,
                            Some(recipient_wrap(
                                recipient_seed,
                                &key,
                                clinic_id,
                                &wrapper,
                                randomness,
                            )),
                        )
                    }
                    "directory" => {
                        let branch = BranchId::from_bytes(unhex(scope_id.as_deref().unwrap()));
                        let target = WrapTarget {
                            scope: Scope::Branch(branch),
                            tier: None,
                            epoch: target_epoch,
                        };
                        let key = testing::directory_key(&secret, branch, Epoch(*epoch)).unwrap();
                        let opened = recipient
                            .unwrap::<DirectoryKey>(&pw, open_clinic_id, &target, &vk)
                            .map(|k| k.key_id());
                        (
                            opened,
                            Some(recipient_wrap(
                                recipient_seed,
                                &key,
                                clinic_id,
                                &wrapper,
                                randomness,
                            )),
                        )
                    }
                    "report" => {
                        let chart = ChartId::from_bytes(unhex(scope_id.as_deref().unwrap()));
                        let target = WrapTarget {
                            scope: Scope::Chart(chart),
                            tier: None,
                            epoch: target_epoch,
                        };
                        let key = testing::report_key(&secret, chart).unwrap();
                        let opened = recipient
                            .unwrap::<ReportKey>(&pw, open_clinic_id, &target, &vk)
                            .map(|k| k.key_id());
                        (
                            opened,
                            Some(recipient_wrap(
                                recipient_seed,
                                &key,
                                clinic_id,
                                &wrapper,
                                randomness,
                            )),
                        )
                    }
                    "root" => {
                        let target = WrapTarget {
                            scope: Scope::Clinic,
                            tier: None,
                            epoch: target_epoch,
                        };
                        let key = testing::root_key(&secret);
                        let opened = recipient
                            .unwrap::<RootKey>(&pw, open_clinic_id, &target, &vk)
                            .map(|k| k.verifying_key().key_id());
                        (
                            opened,
                            Some(recipient_wrap(
                                recipient_seed,
                                &key,
                                clinic_id,
                                &wrapper,
                                randomness,
                            )),
                        )
                    }
                    other => panic!("{name}: unknown carried key {other}"),
                };
            if is_fail {
                assert_eq!(
                    opened,
                    Err(error_from(expect_error.as_deref().unwrap())),
                    "{name}"
                );
                return;
            }
            let header = pw.header().unwrap();
            assert_eq!(
                opened.unwrap(),
                header.carried_key_id,
                "{name}: carried key"
            );
            let rebuilt = rebuilt.unwrap();
            assert_eq!(hex::encode(&rebuilt.bytes), *wrap, "{name}: wrap bytes");
            assert_eq!(
                hex::encode(rebuilt.signature.to_bytes()),
                *signature,
                "{name}: signature bytes"
            );
        }
    }
}

fn recipient_wrap<K: vaiti_crypto::Wrappable>(
    recipient_seed: &str,
    key: &K,
    clinic: ClinicId,
    wrapper: &SigningKey,
    randomness: &str,
) -> PublicWrap {
    let recipient = DecryptionKey::from_seed(&unhex::<32>(recipient_seed)).unwrap();
    testing::wrap_with_randomness(
        recipient.public_key(),
        key,
        clinic,
        wrapper,
        unhex(randomness),
    )
    .unwrap()
}

fn rewrap(
    key: &AnyRecordKey,
    cek: &vaiti_crypto::ContentKey,
    ctx: &Context,
    nonce: &[u8; 24],
) -> Envelope {
    match key {
        AnyRecordKey::Case(k) => testing::wrap_content_key(k, cek, ctx, nonce).unwrap(),
        AnyRecordKey::Identity(k) => testing::wrap_content_key(k, cek, ctx, nonce).unwrap(),
        AnyRecordKey::Directory(k) => testing::wrap_content_key(k, cek, ctx, nonce).unwrap(),
    }
}

fn rebuild_account_wrap(
    kind: Kind,
    wk: &[u8; 32],
    carried: &[u8; 32],
    clinic: ClinicId,
    user: UserId,
    nonce: &[u8; 24],
) -> Envelope {
    testing::seal_account_secret(kind, wk, carried, clinic, user, nonce).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The generator: fixed inputs, so the vectors are reproducible from this file alone.

fn h(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn filled<const N: usize>(b: u8) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, x) in out.iter_mut().enumerate() {
        *x = b.wrapping_add(i as u8);
    }
    out
}

const CLINIC: [u8; 16] = [0x11; 16];
const CHART: [u8; 16] = [0x22; 16];
const BRANCH: [u8; 16] = [0x33; 16];
const AUTHOR: [u8; 16] = [0x44; 16];
const OBJECT: [u8; 16] = [0x55; 16];

fn author_key() -> SigningKey {
    SigningKey::from_seed(&filled(0xa0))
}

fn base_context(tier: Option<Tier>, epoch: u32, chart: bool) -> Context {
    Context {
        clinic: ClinicId::from_bytes(CLINIC),
        object: ObjectId::from_bytes(OBJECT),
        object_version: 1,
        chart: chart.then(|| ChartId::from_bytes(CHART)),
        tier,
        epoch: Epoch(epoch),
        author: UserId::from_bytes(AUTHOR),
        author_key: author_key().key_id(),
        created_at: 1_795_000_000,
        prev_version_hash: [0; 32],
        chart_state_hash: if chart { filled(0x66) } else { [0; 32] },
    }
}

fn sealed_record_vector(
    description: &str,
    kind: Kind,
    rk_type: &str,
    ctx: &Context,
    content: &str,
    roles: &[&str],
) -> Vector {
    let rk_bytes: [u8; 32] = filled(0x10);
    let cek_bytes: [u8; 32] = filled(0x20);
    let nonce: [u8; 24] = filled(0x30);
    let wrap_nonce: [u8; 24] = filled(0x40);
    let author = author_key();
    let key = record_key(rk_type, &rk_bytes, ctx, Some(&h(&BRANCH)));
    let cek = testing::content_key(&cek_bytes).unwrap();
    let signed =
        testing::seal_signed(&cek, kind, ctx, content.as_bytes(), &nonce, &author).unwrap();
    let wrapped = rewrap(&key, &cek, ctx, &wrap_nonce);
    Vector::SealedRecord {
        description: description.into(),
        kind: format!("{kind:?}"),
        record_key_type: rk_type.into(),
        record_key: h(&rk_bytes),
        branch: (rk_type == "directory").then(|| h(&BRANCH)),
        content_key: h(&cek_bytes),
        nonce: h(&nonce),
        wrap_nonce: h(&wrap_nonce),
        author_seed: h(&filled::<32>(0xa0)),
        author_roles: roles.iter().map(|r| r.to_string()).collect(),
        content_utf8: content.into(),
        context: ContextJson::from_context(ctx),
        wrapped_key: h(wrapped.as_bytes()),
        envelope: h(signed.envelope.as_bytes()),
        signature: h(&signed.signature.to_bytes()),
        open_context: None,
        allowed: vec![format!("{kind:?}")],
        open_author_seed: None,
        newest_seen_version: None,
        expect_error: None,
    }
}

fn generate() -> Vec<(String, Vector)> {
    let mut out = Vec::new();
    let note_team = base_context(Some(Tier::Team), 1, true);
    let note_shared = base_context(Some(Tier::Shared), 3, true);
    let identity = base_context(None, 0, true);
    let card = base_context(None, 2, true);

    let note = sealed_record_vector(
        "A process note (team tier), Finnish text, under a case key",
        Kind::Note,
        "case",
        &note_team,
        "Istunto 4. Asiakas kertoi unettomuudesta; käytiin läpi rentoutusharjoitus.",
        &["therapist"],
    );
    out.push(("v1_s1_note_team.json".into(), note.clone()));
    out.push((
        "v1_s1_note_shared.json".into(),
        sealed_record_vector(
            "A note shared with the patient (shared tier, epoch 3)",
            Kind::Note,
            "case",
            &note_shared,
            "Yhteenveto: seuraava tapaaminen kahden viikon päästä.",
            &["therapist"],
        ),
    ));
    out.push((
        "v1_s1_note_draft.json".into(),
        sealed_record_vector(
            "An autosaved draft",
            Kind::NoteDraft,
            "case",
            &note_team,
            "Luonnos…",
            &["therapist"],
        ),
    ));
    out.push((
        "v1_s1_questionnaire_response.json".into(),
        sealed_record_vector(
            "A patient's questionnaire answers (PHQ-9 style)",
            Kind::QuestionnaireResponse,
            "case",
            &note_shared,
            r#"{"phq9":[1,2,0,1,1,0,2,1,0]}"#,
            &["patient"],
        ),
    ));
    out.push((
        "v1_s1_identity_record.json".into(),
        sealed_record_vector(
            "A full identity record under the chart's identity key (fictional person)",
            Kind::IdentityRecord,
            "identity",
            &identity,
            r#"{"name":"Testi Potilas","hetu":"010190-998X","phone":"+358 40 000 0000"}"#,
            &["frontdesk"],
        ),
    ));
    out.push((
        "v1_s1_search_card.json".into(),
        sealed_record_vector(
            "A search card under a branch directory key (epoch 2)",
            Kind::SearchCard,
            "directory",
            &card,
            r#"{"name":"Testi Potilas","born":"1990-01-01"}"#,
            &["frontdesk"],
        ),
    ));
    out.push(("v1_s1_empty_note.json".into(), {
        sealed_record_vector(
            "An empty note: padding of the smallest plaintext",
            Kind::Note,
            "case",
            &note_team,
            "",
            &["therapist"],
        )
    }));

    // Failing record vectors: each changes one thing.
    let with = |v: &Vector, f: &dyn Fn(&mut Vector)| {
        let mut v = v.clone();
        f(&mut v);
        v
    };
    let set_err = |v: &mut Vector, e: &str, d: &str| {
        if let Vector::SealedRecord {
            expect_error,
            description,
            ..
        } = v
        {
            *expect_error = Some(e.into());
            *description = d.into();
        }
    };
    let flip = |hexs: &mut String, byte: usize, bit: u8| {
        let mut b = hex::decode(&*hexs).unwrap();
        b[byte] ^= 1 << bit;
        *hexs = hex::encode(b);
    };
    out.push((
        "fail_v1_note_ciphertext_bitflip.json".into(),
        with(&note, &|v| {
            set_err(v, "DecryptionFailed", "One ciphertext bit flipped");
            if let Vector::SealedRecord { envelope, .. } = v {
                flip(envelope, 100, 3);
            }
        }),
    ));
    out.push((
        "fail_v1_note_unknown_version.json".into(),
        with(&note, &|v| {
            set_err(
                v,
                "UnsupportedVersion",
                "Version byte 0x02: never read under version 1 rules",
            );
            if let Vector::SealedRecord { envelope, .. } = v {
                flip(envelope, 2, 0);
                flip(envelope, 2, 1);
            }
        }),
    ));
    out.push((
        "fail_v1_note_unknown_suite.json".into(),
        with(&note, &|v| {
            set_err(v, "UnsupportedSuite", "Suite byte 0x03: no fallback");
            if let Vector::SealedRecord { envelope, .. } = v {
                flip(envelope, 3, 1);
            }
        }),
    ));
    out.push((
        "fail_v1_note_truncated.json".into(),
        with(&note, &|v| {
            set_err(v, "DecryptionFailed", "Last byte of the tag removed");
            if let Vector::SealedRecord { envelope, .. } = v {
                envelope.truncate(envelope.len() - 2);
            }
        }),
    ));
    out.push((
        "fail_v1_note_moved_to_other_chart.json".into(),
        with(&note, &|v| {
            set_err(
                v,
                "DecryptionFailed",
                "The reader expects another chart id: the envelope was moved",
            );
            if let Vector::SealedRecord {
                open_context,
                context,
                ..
            } = v
            {
                let mut c = context.clone();
                c.object = h(&[0x56; 16]);
                *open_context = Some(c);
            }
        }),
    ));
    out.push((
        "fail_v1_note_wrong_kind_column.json".into(),
        with(&note, &|v| {
            set_err(
                v,
                "NotAllowed",
                "A note served where only search cards are allowed",
            );
            if let Vector::SealedRecord { allowed, .. } = v {
                *allowed = vec!["SearchCard".into()];
            }
        }),
    ));
    out.push((
        "fail_v1_note_forged_author.json".into(),
        with(&note, &|v| {
            set_err(
                v,
                "BadSignature",
                "The reader verifies with another user's key",
            );
            if let Vector::SealedRecord {
                open_author_seed, ..
            } = v
            {
                *open_author_seed = Some(h(&filled::<32>(0xb0)));
            }
        }),
    ));
    out.push((
        "fail_v1_note_by_patient.json".into(),
        with(&note, &|v| {
            set_err(
                v,
                "NotAllowed",
                "A progress note whose author is certified only as a patient",
            );
            if let Vector::SealedRecord { author_roles, .. } = v {
                *author_roles = vec!["patient".into()];
            }
        }),
    ));
    out.push((
        "fail_v1_note_rolled_back.json".into(),
        with(&note, &|v| {
            set_err(
                v,
                "RolledBack",
                "Version 1 served after the reader saw version 2",
            );
            if let Vector::SealedRecord {
                newest_seen_version,
                ..
            } = v
            {
                *newest_seen_version = Some(2);
            }
        }),
    ));
    // Nonzero padding, correctly encrypted and signed: only the padding check can catch it.
    {
        let ctx = note_team.clone();
        let cek = testing::content_key(&filled(0x20)).unwrap();
        let mut raw =
            vec![0u8; vaiti_crypto::envelope::padded_plaintext_len(Kind::Note, 5) as usize];
        raw[..4].copy_from_slice(&5u32.to_be_bytes());
        raw[4..9].copy_from_slice(b"hello");
        let last = raw.len() - 1;
        raw[last] = 1;
        let env = testing::seal_raw_plaintext(&cek, Kind::Note, &ctx, &raw, &filled(0x30)).unwrap();
        let signed = testing::sign(env, Kind::Note, &ctx, &author_key()).unwrap();
        let mut v = note.clone();
        if let Vector::SealedRecord {
            envelope,
            signature,
            expect_error,
            description,
            content_utf8,
            ..
        } = &mut v
        {
            *envelope = h(signed.envelope.as_bytes());
            *signature = h(&signed.signature.to_bytes());
            *expect_error = Some("Malformed".into());
            *description = "Authentic envelope whose padding has a nonzero byte".into();
            *content_utf8 = "hello".into();
        }
        out.push(("fail_v1_note_nonzero_padding.json".into(), v));
    }

    // A patient's report of an access-log entry.
    {
        let report_bytes: [u8; 32] = filled(0x14);
        let nonce: [u8; 24] = filled(0x15);
        let entry = 4_242;
        let ctx = vaiti_crypto::report_context(
            ClinicId::from_bytes(CLINIC),
            ObjectId::from_bytes(OBJECT),
            ChartId::from_bytes(CHART),
            entry,
            UserId::from_bytes(AUTHOR),
            author_key().key_id(),
            1_795_000_000,
        );
        let key = testing::report_key(&report_bytes, ChartId::from_bytes(CHART)).unwrap();
        let content = "En tunnista tätä: en ole koskaan asioinut tällä toimipisteellä.";
        let signed =
            testing::seal_report(&key, &ctx, content.as_bytes(), &nonce, &author_key()).unwrap();
        let report = Vector::AccessReport {
            description: "A patient's report of an access-log entry they do not recognise".into(),
            report_key: h(&report_bytes),
            nonce: h(&nonce),
            author_seed: h(&filled::<32>(0xa0)),
            author_roles: vec!["patient".into()],
            content_utf8: content.into(),
            entry,
            context: ContextJson::from_context(&ctx),
            envelope: h(signed.envelope.as_bytes()),
            signature: h(&signed.signature.to_bytes()),
            open_entry: None,
            expect_error: None,
        };
        let mut other_entry = report.clone();
        if let Vector::AccessReport {
            open_entry,
            expect_error,
            description,
            ..
        } = &mut other_entry
        {
            *open_entry = Some(entry + 1);
            *expect_error = Some("DecryptionFailed".into());
            *description = "A report presented as one about another access-log entry".into();
        }
        let mut by_staff = report.clone();
        if let Vector::AccessReport {
            author_roles,
            expect_error,
            description,
            ..
        } = &mut by_staff
        {
            *author_roles = vec!["admin".into(), "auditor".into()];
            *expect_error = Some("NotAllowed".into());
            *description =
                "A report whose author is certified only as staff, not as a patient".into();
        }
        out.push(("v1_s1_access_report.json".into(), report));
        out.push(("fail_v1_access_report_other_entry.json".into(), other_entry));
        out.push(("fail_v1_access_report_by_staff.json".into(), by_staff));
    }

    // Local cache.
    {
        let key = testing::cache_key(&filled(0x70)).unwrap();
        let mut ctx = base_context(None, 0, false);
        ctx.author_key = KeyId::from_bytes([0; 16]);
        let content = r#"{"caseload":["22222222222222222222222222222222"]}"#;
        let nonce: [u8; 24] = filled(0x71);
        let env = testing::seal_cache(&key, &ctx, content.as_bytes(), &nonce).unwrap();
        out.push((
            "v1_s1_local_cache.json".into(),
            Vector::LocalCache {
                description: "A local cache entry under the user's cache key (unsigned)".into(),
                cache_key: h(&filled::<32>(0x70)),
                context: ContextJson::from_context(&ctx),
                content_utf8: content.into(),
                nonce: h(&nonce),
                envelope: h(env.as_bytes()),
                expect_error: None,
            },
        ));
    }

    // Account-level wraps.
    let user = UserId::from_bytes(AUTHOR);
    let clinic = ClinicId::from_bytes(CLINIC);
    for (file, kind, desc, wk, carried) in [
        (
            "v1_s1_account_key_wrap.json",
            Kind::AccountKeyWrap,
            "Account Key under the KEK from OPAQUE",
            filled::<32>(0x80),
            filled::<32>(0x81),
        ),
        (
            "v1_s1_decryption_key_wrap.json",
            Kind::DecryptionKeyWrap,
            "X-Wing decryption key seed under the Account Key",
            filled(0x81),
            filled(0x82),
        ),
        (
            "v1_s1_signing_key_wrap.json",
            Kind::SigningKeyWrap,
            "Ed25519 seed under the Account Key",
            filled(0x81),
            filled(0xa0),
        ),
        (
            "v1_s1_cache_key_wrap.json",
            Kind::CacheKeyWrap,
            "Local cache key under the Account Key",
            filled(0x81),
            filled(0x70),
        ),
        (
            "v1_s1_root_pin.json",
            Kind::RootPin,
            "Pinned root fingerprint under the Account Key",
            filled(0x81),
            RootFingerprint::of(&testing::root_key(&filled(0x90)).verifying_key()).0,
        ),
    ] {
        let nonce: [u8; 24] = filled(0x85);
        let env = testing::seal_account_secret(kind, &wk, &carried, clinic, user, &nonce).unwrap();
        out.push((
            file.into(),
            Vector::AccountWrap {
                description: desc.into(),
                kind: format!("{kind:?}"),
                wrapping_key: h(&wk),
                carried: h(&carried),
                clinic: h(&CLINIC),
                user: h(&AUTHOR),
                nonce: h(&nonce),
                envelope: h(env.as_bytes()),
                open_user: None,
                expect_error: None,
            },
        ));
        if kind == Kind::AccountKeyWrap {
            out.push((
                "fail_v1_account_key_wrap_other_user.json".into(),
                Vector::AccountWrap {
                    description: "An Account Key wrap presented for another user".into(),
                    kind: format!("{kind:?}"),
                    wrapping_key: h(&wk),
                    carried: h(&carried),
                    clinic: h(&CLINIC),
                    user: h(&AUTHOR),
                    nonce: h(&nonce),
                    envelope: h(env.as_bytes()),
                    open_user: Some(h(&[0x45; 16])),
                    expect_error: Some("DecryptionFailed".into()),
                },
            ));
        }
    }

    // Identity key under a directory key.
    {
        let dk =
            testing::directory_key(&filled(0x13), BranchId::from_bytes(BRANCH), Epoch(2)).unwrap();
        let ik = testing::identity_key(&filled(0x12), ChartId::from_bytes(CHART)).unwrap();
        let nonce: [u8; 24] = filled(0x87);
        let env = testing::wrap_identity_key(&dk, &ik, clinic, &nonce).unwrap();
        let v = Vector::IdentityKeyWrap {
            description: "A chart's identity key under the branch directory key (epoch 2)".into(),
            directory_key: h(&filled::<32>(0x13)),
            branch: h(&BRANCH),
            epoch: 2,
            identity_key: h(&filled::<32>(0x12)),
            chart: h(&CHART),
            clinic: h(&CLINIC),
            nonce: h(&nonce),
            envelope: h(env.as_bytes()),
            open_chart: None,
            expect_error: None,
        };
        let mut fail = v.clone();
        if let Vector::IdentityKeyWrap {
            open_chart,
            expect_error,
            description,
            ..
        } = &mut fail
        {
            *open_chart = Some(h(&[0x23; 16]));
            *expect_error = Some("DecryptionFailed".into());
            *description = "An identity key wrap presented as another chart's".into();
        }
        out.push(("v1_s1_identity_key_wrap.json".into(), v));
        out.push(("fail_v1_identity_key_wrap_other_chart.json".into(), fail));
    }

    // Public-key wraps.
    let recipient_seed: [u8; 32] = filled(0xc0);
    let wrapper_seed: [u8; 32] = filled(0xd0);
    let randomness: [u8; 64] = filled(0xe0);
    let wrapper = SigningKey::from_seed(&wrapper_seed);
    let recipient = DecryptionKey::from_seed(&recipient_seed).unwrap();
    let mk = |carried: &str,
              secret: [u8; 32],
              scope_id: Option<[u8; 16]>,
              tier: Option<Tier>,
              epoch: u32,
              desc: &str| {
        let pw = match carried {
            "case" => testing::wrap_with_randomness(
                recipient.public_key(),
                &testing::case_key(
                    &secret,
                    ChartId::from_bytes(CHART),
                    tier.unwrap(),
                    Epoch(epoch),
                )
                .unwrap(),
                clinic,
                &wrapper,
                randomness,
            ),
            "identity" => testing::wrap_with_randomness(
                recipient.public_key(),
                &testing::identity_key(&secret, ChartId::from_bytes(CHART)).unwrap(),
                clinic,
                &wrapper,
                randomness,
            ),
            "directory" => testing::wrap_with_randomness(
                recipient.public_key(),
                &testing::directory_key(&secret, BranchId::from_bytes(BRANCH), Epoch(epoch))
                    .unwrap(),
                clinic,
                &wrapper,
                randomness,
            ),
            "report" => testing::wrap_with_randomness(
                recipient.public_key(),
                &testing::report_key(&secret, ChartId::from_bytes(CHART)).unwrap(),
                clinic,
                &wrapper,
                randomness,
            ),
            _ => testing::wrap_with_randomness(
                recipient.public_key(),
                &testing::root_key(&secret),
                clinic,
                &wrapper,
                randomness,
            ),
        }
        .unwrap();
        Vector::PublicWrap {
            description: desc.into(),
            carried: carried.into(),
            carried_secret: h(&secret),
            scope_id: scope_id.map(|s| h(&s)),
            tier: tier_name(tier),
            epoch,
            clinic: h(&CLINIC),
            recipient_seed: h(&recipient_seed),
            wrapper_seed: h(&wrapper_seed),
            randomness: h(&randomness),
            wrap: h(&pw.bytes),
            signature: h(&pw.signature.to_bytes()),
            open_recipient_seed: None,
            open_clinic: None,
            open_epoch: None,
            expect_error: None,
        }
    };
    let case_wrap = mk(
        "case",
        filled(0x10),
        Some(CHART),
        Some(Tier::Team),
        1,
        "A team-tier case key wrapped to a clinician",
    );
    out.push(("v1_s1_wrap_case_key.json".into(), case_wrap.clone()));
    out.push((
        "v1_s1_wrap_identity_key.json".into(),
        mk(
            "identity",
            filled(0x12),
            Some(CHART),
            None,
            0,
            "An identity key wrapped to a patient",
        ),
    ));
    out.push((
        "v1_s1_wrap_directory_key.json".into(),
        mk(
            "directory",
            filled(0x13),
            Some(BRANCH),
            None,
            2,
            "A branch directory key wrapped to front desk",
        ),
    ));
    out.push((
        "v1_s1_wrap_report_key.json".into(),
        mk(
            "report",
            filled(0x14),
            Some(CHART),
            None,
            0,
            "A one-report key wrapped by a patient to an auditor",
        ),
    ));
    out.push((
        "v1_s1_wrap_root_key.json".into(),
        mk(
            "root",
            filled(0x90),
            None,
            None,
            0,
            "The clinic root key wrapped to an admin",
        ),
    ));
    let wrap_fail = |f: &dyn Fn(&mut Vector), e: &str, d: &str| {
        let mut v = case_wrap.clone();
        f(&mut v);
        if let Vector::PublicWrap {
            expect_error,
            description,
            ..
        } = &mut v
        {
            *expect_error = Some(e.into());
            *description = d.into();
        }
        v
    };
    out.push((
        "fail_v1_wrap_other_recipient.json".into(),
        wrap_fail(
            &|v| {
                if let Vector::PublicWrap {
                    open_recipient_seed,
                    ..
                } = v
                {
                    *open_recipient_seed = Some(h(&filled::<32>(0xc1)));
                }
            },
            "WrongKey",
            "A wrap presented to someone it was not wrapped to",
        ),
    ));
    out.push((
        "fail_v1_wrap_other_clinic.json".into(),
        wrap_fail(
            &|v| {
                if let Vector::PublicWrap { open_clinic, .. } = v {
                    *open_clinic = Some(h(&[0x12; 16]));
                }
            },
            "BadSignature",
            "A wrap moved to another clinic: the signature binds the clinic id",
        ),
    ));
    out.push((
        "fail_v1_wrap_old_epoch_claimed_current.json".into(),
        wrap_fail(
            &|v| {
                if let Vector::PublicWrap { open_epoch, .. } = v {
                    *open_epoch = Some(2);
                }
            },
            "NotAllowed",
            "An epoch-1 key served when the reader asks for epoch 2",
        ),
    ));
    out.push((
        "fail_v1_wrap_encapsulation_bitflip.json".into(),
        wrap_fail(
            &|v| {
                if let Vector::PublicWrap { wrap, .. } = v {
                    let mut b = hex::decode(&*wrap).unwrap();
                    b[500] ^= 0x10;
                    *wrap = hex::encode(b);
                }
            },
            "BadSignature",
            "One bit of the encapsulation flipped: the wrapper's signature no longer verifies",
        ),
    ));
    out
}

fn read_all() -> Vec<(String, Vector)> {
    let mut files: Vec<_> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let v: Vector = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, v)
        })
        .collect()
}

#[test]
#[ignore = "writes vector files that do not exist yet; run with --ignored when adding a kind or suite"]
fn write_missing_vectors() {
    for (name, v) in generate() {
        let path = vectors_dir().join(&name);
        if !path.exists() {
            std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
        }
    }
}

#[test]
fn every_frozen_vector_decodes_and_every_fail_vector_is_rejected() {
    let all = read_all();
    assert!(
        all.len() >= 30,
        "expected the full set of frozen vectors, found {}",
        all.len()
    );
    for (name, v) in &all {
        check(name, v);
    }
}

#[test]
fn there_is_a_vector_for_every_kind_and_wrapped_key() {
    let all = read_all();
    let mut kinds = BTreeSet::new();
    let mut carried = BTreeSet::new();
    for (name, v) in &all {
        if name.starts_with("fail_") {
            continue;
        }
        match v {
            Vector::SealedRecord { kind, .. } | Vector::AccountWrap { kind, .. } => {
                kinds.insert(kind.clone());
                if matches!(v, Vector::SealedRecord { .. }) {
                    kinds.insert("ContentKeyWrap".to_string());
                }
            }
            Vector::LocalCache { .. } => {
                kinds.insert("LocalCache".to_string());
            }
            Vector::IdentityKeyWrap { .. } => {
                kinds.insert("IdentityKeyWrap".to_string());
            }
            Vector::AccessReport { .. } => {
                kinds.insert("AccessReport".to_string());
            }
            Vector::PublicWrap { carried: c, .. } => {
                carried.insert(c.clone());
            }
        }
    }
    for k in Kind::ALL {
        assert!(
            kinds.contains(&format!("{k:?}")),
            "no frozen vector for kind {k:?}"
        );
    }
    for c in ["case", "identity", "directory", "root", "report"] {
        assert!(
            carried.contains(c),
            "no frozen public-key wrap vector for a {c} key"
        );
    }
}

#[test]
fn the_generator_still_reproduces_the_frozen_files() {
    // The files are the truth; this test says which generator change would have altered them.
    for (name, generated) in generate() {
        let path = vectors_dir().join(&name);
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{name} is missing from tests/vectors"));
        let on_disk: serde_json::Value = serde_json::from_str(&on_disk).unwrap();
        assert_eq!(serde_json::to_value(&generated).unwrap(), on_disk, "{name}");
    }
}

#[test]
fn context_encoding_is_pinned() {
    // The associated-data layout of docs/formats.md §2.3, byte for byte.
    let ctx = base_context(Some(Tier::Shared), 0x0102_0304, true);
    let bytes = ctx.encode(Kind::Note);
    let mut expected = Vec::new();
    expected.extend_from_slice(&CLINIC);
    expected.extend_from_slice(&OBJECT);
    expected.extend_from_slice(&1u64.to_be_bytes());
    expected.push(0x01);
    expected.extend_from_slice(&CHART);
    expected.push(2);
    expected.extend_from_slice(&[1, 2, 3, 4]);
    expected.extend_from_slice(&AUTHOR);
    expected.extend_from_slice(author_key().key_id().as_bytes());
    expected.extend_from_slice(&1_795_000_000i64.to_be_bytes());
    expected.extend_from_slice(&[0; 32]);
    expected.extend_from_slice(&filled::<32>(0x66));
    assert_eq!(bytes.to_vec(), expected);
    assert_eq!(bytes.len(), 166);
}

#[test]
fn padme_matches_the_worked_examples() {
    use vaiti_crypto::envelope::padme;
    assert_eq!(padme(4_100), 4_352);
    assert_eq!(padme(4), 4);
    assert_eq!(padme(9), 10);
    assert_eq!(padme(100), 104);
    assert_eq!(padme(1_000), 1_024);
    assert_eq!(padme(65_540), 67_584);
    for l in 2..100_000u64 {
        let p = padme(l);
        assert!(p >= l && p * 100 <= l * 113, "padme({l}) = {p}");
    }
}
