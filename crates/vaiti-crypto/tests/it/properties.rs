//! Property and adversarial tests of the envelope, wraps, Secret Key and escrow shares.
//!
//! Each test states an attack or a mistake and checks that it is refused: bit flips, truncation,
//! an envelope moved to another object / chart / tier / epoch / kind / version, the wrong key,
//! forged authors, substituted wraps, mixed escrow shares, typos in a Secret Key — and that no
//! input, however malformed, makes the code panic.

use proptest::prelude::*;
use vaiti_crypto::wrap::{DecryptionKey, PublicWrap, Scope, WrapTarget};
use vaiti_crypto::{
    AuthorRole, BranchId, CaseKey, ChartId, ClinicId, Context, DirectoryKey, Envelope, Epoch,
    Error, EscrowKey, EscrowShare, IdentityKey, Kind, ObjectId, OpenPolicy, RecordKey, RootKey,
    SealedRecord, SecretKey, Signature, SignedEnvelope, SigningKey, Tier, UserId,
};

struct Fixture {
    author: SigningKey,
    case: CaseKey,
    ctx: Context,
}

fn id16(seed: u8) -> [u8; 16] {
    let mut b = [seed; 16];
    b[0] = b[0].wrapping_add(1) | 1;
    b
}

fn fixture(author_seed: [u8; 32], tier: Tier, epoch: u32) -> Fixture {
    let author = SigningKey::from_seed(&author_seed);
    let chart = ChartId::from_bytes(id16(2));
    let case = CaseKey::generate(chart, tier, Epoch(epoch)).unwrap();
    let ctx = Context {
        clinic: ClinicId::from_bytes(id16(1)),
        object: ObjectId::from_bytes(id16(3)),
        object_version: 1,
        chart: Some(chart),
        tier: Some(tier),
        epoch: Epoch(epoch),
        author: UserId::from_bytes(id16(4)),
        author_key: author.key_id(),
        created_at: 1_800_000_000,
        prev_version_hash: [0; 32],
        chart_state_hash: [9; 32],
    };
    Fixture { author, case, ctx }
}

const THERAPIST: &[AuthorRole] = &[AuthorRole::Therapist];

fn open(f: &Fixture, record: &SealedRecord, ctx: &Context) -> Result<Vec<u8>, Error> {
    let vk = f.author.verifying_key();
    let policy = OpenPolicy {
        allowed: &[Kind::Note, Kind::NoteDraft],
        context: ctx,
        author: &vk,
        author_roles: THERAPIST,
        newest_seen_version: None,
    };
    f.case.open_record(record, &policy).map(|z| z.to_vec())
}

fn with_envelope(record: &SealedRecord, bytes: Vec<u8>) -> SealedRecord {
    SealedRecord {
        wrapped_key: record.wrapped_key.clone(),
        content: SignedEnvelope {
            envelope: Envelope::from_bytes(bytes),
            signature: record.content.signature.clone(),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn seal_then_open_round_trips(
        content in proptest::collection::vec(any::<u8>(), 0..3000),
        seed in any::<[u8; 32]>(),
        version in 1u64..1_000_000,
        shared in any::<bool>(),
        epoch in 1u32..50,
    ) {
        let tier = if shared { Tier::Shared } else { Tier::Team };
        let mut f = fixture(seed, tier, epoch);
        f.ctx.object_version = version;
        let record = f.case.seal_record(Kind::Note, &f.ctx, &content, &f.author).unwrap();
        prop_assert_eq!(open(&f, &record, &f.ctx).unwrap(), content.clone());
        // The stored size is the PADMÉ size of the content plus fixed overhead, nothing else.
        let padded = vaiti_crypto::envelope::padded_plaintext_len(Kind::Note, content.len() as u64) as usize;
        prop_assert_eq!(record.content.envelope.as_bytes().len(), 77 + padded + 16);
    }

    #[test]
    fn every_single_bit_flip_of_the_envelope_is_rejected(
        content in proptest::collection::vec(any::<u8>(), 0..64),
        seed in any::<[u8; 32]>(),
    ) {
        let f = fixture(seed, Tier::Team, 1);
        let record = f.case.seal_record(Kind::Note, &f.ctx, &content, &f.author).unwrap();
        let bytes = record.content.envelope.as_bytes().to_vec();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let r = open(&f, &with_envelope(&record, flipped), &f.ctx);
            prop_assert!(r.is_err(), "bit {} accepted", bit);
        }
    }

    #[test]
    fn every_single_bit_flip_of_the_wrapped_key_or_signature_is_rejected(seed in any::<[u8; 32]>()) {
        let f = fixture(seed, Tier::Team, 1);
        let record = f.case.seal_record(Kind::Note, &f.ctx, b"note", &f.author).unwrap();
        let wk = record.wrapped_key.as_bytes().to_vec();
        for bit in 0..wk.len() * 8 {
            let mut flipped = wk.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let tampered = SealedRecord { wrapped_key: Envelope::from_bytes(flipped), content: record.content.clone() };
            prop_assert!(open(&f, &tampered, &f.ctx).is_err(), "wrapped-key bit {} accepted", bit);
        }
        let sig = record.content.signature.to_bytes();
        for bit in 0..sig.len() * 8 {
            let mut flipped = sig;
            flipped[bit / 8] ^= 1 << (bit % 8);
            let Ok(signature) = Signature::from_bytes(&flipped) else { continue };
            let tampered = SealedRecord {
                wrapped_key: record.wrapped_key.clone(),
                content: SignedEnvelope { envelope: record.content.envelope.clone(), signature },
            };
            prop_assert!(open(&f, &tampered, &f.ctx).is_err(), "signature bit {} accepted", bit);
        }
    }

    #[test]
    fn every_truncation_and_extension_is_rejected(
        content in proptest::collection::vec(any::<u8>(), 0..200),
        seed in any::<[u8; 32]>(),
        extra in proptest::collection::vec(any::<u8>(), 1..20),
    ) {
        let f = fixture(seed, Tier::Team, 1);
        let record = f.case.seal_record(Kind::Note, &f.ctx, &content, &f.author).unwrap();
        let bytes = record.content.envelope.as_bytes().to_vec();
        for len in 0..bytes.len() {
            let r = open(&f, &with_envelope(&record, bytes[..len].to_vec()), &f.ctx);
            prop_assert!(r.is_err(), "truncation to {} accepted", len);
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert!(open(&f, &with_envelope(&record, longer), &f.ctx).is_err());
    }

    #[test]
    fn an_envelope_moved_anywhere_else_is_rejected(seed in any::<[u8; 32]>(), which in 0usize..10) {
        let f = fixture(seed, Tier::Team, 4);
        let record = f.case.seal_record(Kind::Note, &f.ctx, b"moved?", &f.author).unwrap();
        let mut other = f.ctx.clone();
        match which {
            0 => other.object = ObjectId::from_bytes(id16(30)),
            1 => other.object_version = 2,
            2 => other.chart = Some(ChartId::from_bytes(id16(31))),
            3 => other.tier = Some(Tier::Shared),
            4 => other.epoch = Epoch(5),
            5 => other.clinic = ClinicId::from_bytes(id16(32)),
            6 => other.author = UserId::from_bytes(id16(33)),
            7 => other.created_at += 1,
            8 => other.prev_version_hash = [1; 32],
            _ => other.chart_state_hash = [8; 32],
        }
        // Whether the reader holds the matching case key or not, the move is refused.
        prop_assert!(open(&f, &record, &other).is_err());
        if let (Some(chart), Some(tier)) = (other.chart, other.tier) {
            let key_for_other = CaseKey::generate(chart, tier, other.epoch).unwrap();
            let vk = f.author.verifying_key();
            let policy = OpenPolicy {
                allowed: &[Kind::Note], context: &other, author: &vk, author_roles: THERAPIST, newest_seen_version: None,
            };
            prop_assert!(key_for_other.open_record(&record, &policy).is_err());
        }
    }

    #[test]
    fn a_record_sealed_as_one_kind_does_not_open_as_another(seed in any::<[u8; 32]>()) {
        let f = fixture(seed, Tier::Team, 1);
        let record = f.case.seal_record(Kind::NoteDraft, &f.ctx, b"draft", &f.author).unwrap();
        // Relabel the header's kind byte: allowed by the list, but the AEAD binds the kind.
        let mut bytes = record.content.envelope.as_bytes().to_vec();
        bytes[4] = Kind::Note.to_byte();
        let relabelled = with_envelope(&record, bytes);
        prop_assert_eq!(open(&f, &relabelled, &f.ctx), Err(Error::DecryptionFailed));
        // And a reader whose column allows only notes refuses the draft before decrypting.
        let vk = f.author.verifying_key();
        let policy = OpenPolicy {
            allowed: &[Kind::Note], context: &f.ctx, author: &vk, author_roles: THERAPIST, newest_seen_version: None,
        };
        prop_assert_eq!(f.case.open_record(&record, &policy).map(|z| z.to_vec()), Err(Error::NotAllowed));
    }

    #[test]
    fn the_wrong_key_is_rejected(seed in any::<[u8; 32]>()) {
        let f = fixture(seed, Tier::Team, 1);
        let record = f.case.seal_record(Kind::Note, &f.ctx, b"secret", &f.author).unwrap();
        let other = CaseKey::generate(f.case.chart(), Tier::Team, Epoch(1)).unwrap();
        let vk = f.author.verifying_key();
        let policy = OpenPolicy {
            allowed: &[Kind::Note], context: &f.ctx, author: &vk, author_roles: THERAPIST, newest_seen_version: None,
        };
        prop_assert_eq!(other.open_record(&record, &policy).map(|z| z.to_vec()), Err(Error::WrongKey));
        // A content key from another record, with the right key id forged into the header, fails
        // the key commitment: no envelope opens under two keys.
        let other_record = f.case.seal_record(Kind::Note, &f.ctx, b"other", &f.author).unwrap();
        let swapped = SealedRecord { wrapped_key: other_record.wrapped_key.clone(), content: record.content.clone() };
        prop_assert!(open(&f, &swapped, &f.ctx).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let f = fixture([7; 32], Tier::Team, 1);
        let env = Envelope::from_bytes(bytes.clone());
        let _ = env.header();
        let record = SealedRecord {
            wrapped_key: env.clone(),
            content: SignedEnvelope { envelope: env, signature: Signature::from_bytes(&[1; 65]).unwrap() },
        };
        let _ = open(&f, &record, &f.ctx);
        let _ = Signature::from_bytes(&bytes);
        let _ = EscrowShare::from_bytes(&bytes);
        let _ = SecretKey::parse_printed(&String::from_utf8_lossy(&bytes));
        let _ = vaiti_crypto::VerifyingKey::from_bytes(&bytes);
        let _ = vaiti_crypto::EncryptionPublicKey::from_bytes(&bytes);
        let _ = DecryptionKey::from_seed(&bytes);
        let pw = PublicWrap { bytes: bytes.clone(), signature: Signature::from_bytes(&[1; 65]).unwrap() };
        let _ = pw.header();
    }

    #[test]
    fn secret_key_printed_form_round_trips_and_any_typo_is_caught(raw in any::<[u8; 16]>(), pos in 0usize..32, sub in 0usize..32) {
        let sk = SecretKey::from_bytes(&raw).unwrap();
        let printed = sk.to_printed();
        prop_assert_eq!(SecretKey::parse_printed(&printed).map(|k| *k.as_bytes()), Ok(raw));
        prop_assert_eq!(SecretKey::parse_printed(&printed.to_lowercase()).map(|k| *k.as_bytes()), Ok(raw));
        prop_assert_eq!(SecretKey::parse_printed(&printed.replace('-', " ")).map(|k| *k.as_bytes()), Ok(raw));
        // Replace one character of the 32 with a different Crockford character.
        let alphabet: Vec<char> = "0123456789ABCDEFGHJKMNPQRSTVWXYZ".chars().collect();
        let mut chars: Vec<char> = printed.chars().filter(|c| *c != '-').collect();
        let i = 2 + pos; // after "V1"
        let replacement = alphabet[sub];
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let typo: String = chars.into_iter().collect();
        prop_assert_eq!(SecretKey::parse_printed(&typo).map(|k| *k.as_bytes()), Err(Error::InvalidSecretKey));
    }
}

#[test]
fn rollback_is_refused_and_amendments_chain() {
    let f = fixture([3; 32], Tier::Team, 1);
    let v1 = f
        .case
        .seal_record(Kind::Note, &f.ctx, b"original", &f.author)
        .unwrap();
    let mut ctx2 = f.ctx.clone();
    ctx2.object_version = 2;
    ctx2.prev_version_hash = v1.content.version_hash();
    let v2 = f
        .case
        .seal_record(Kind::Note, &ctx2, b"amended: date corrected", &f.author)
        .unwrap();
    let vk = f.author.verifying_key();
    let seen_v2 = |ctx: &Context, r: &SealedRecord| {
        let policy = OpenPolicy {
            allowed: &[Kind::Note],
            context: ctx,
            author: &vk,
            author_roles: THERAPIST,
            newest_seen_version: Some(2),
        };
        f.case.open_record(r, &policy).map(|z| z.to_vec())
    };
    assert_eq!(seen_v2(&ctx2, &v2).unwrap(), b"amended: date corrected");
    assert_eq!(seen_v2(&f.ctx, &v1), Err(Error::RolledBack));
    // v2 names v1: presenting v2 with another predecessor fails.
    let mut wrong = ctx2.clone();
    wrong.prev_version_hash = [0; 32];
    assert!(seen_v2(&wrong, &v2).is_err());
}

#[test]
fn a_record_key_only_covers_its_own_chart_tier_epoch_and_kinds() {
    let f = fixture([4; 32], Tier::Team, 2);
    // Sealing under the wrong tier, epoch or kind is refused before anything is written.
    let mut shared = f.ctx.clone();
    shared.tier = Some(Tier::Shared);
    assert_eq!(
        f.case.seal_record(Kind::Note, &shared, b"x", &f.author),
        Err(Error::NotAllowed)
    );
    let mut old = f.ctx.clone();
    old.epoch = Epoch(1);
    assert_eq!(
        f.case.seal_record(Kind::Note, &old, b"x", &f.author),
        Err(Error::NotAllowed)
    );
    assert_eq!(
        f.case
            .seal_record(Kind::SearchCard, &f.ctx, b"x", &f.author),
        Err(Error::NotAllowed)
    );
    let ik = IdentityKey::generate(f.case.chart()).unwrap();
    assert_eq!(
        ik.seal_record(Kind::Note, &f.ctx, b"x", &f.author),
        Err(Error::NotAllowed)
    );
    // The author must sign with the key the context names.
    let other = SigningKey::from_seed(&[5; 32]);
    assert_eq!(
        f.case.seal_record(Kind::Note, &f.ctx, b"x", &other),
        Err(Error::InvalidParameter)
    );
}

#[test]
fn a_patient_cannot_author_a_progress_note() {
    let f = fixture([6; 32], Tier::Shared, 1);
    let record = f
        .case
        .seal_record(Kind::Note, &f.ctx, b"forged by a patient", &f.author)
        .unwrap();
    let vk = f.author.verifying_key();
    let policy = OpenPolicy {
        allowed: &[Kind::Note],
        context: &f.ctx,
        author: &vk,
        author_roles: &[AuthorRole::Patient],
        newest_seen_version: None,
    };
    assert_eq!(
        f.case.open_record(&record, &policy).map(|z| z.to_vec()),
        Err(Error::NotAllowed)
    );
    // But a patient may author questionnaire answers.
    let answers = f
        .case
        .seal_record(Kind::QuestionnaireResponse, &f.ctx, b"[1,2,3]", &f.author)
        .unwrap();
    let policy = OpenPolicy {
        allowed: &[Kind::QuestionnaireResponse],
        ..policy
    };
    assert_eq!(
        f.case.open_record(&answers, &policy).unwrap().to_vec(),
        b"[1,2,3]"
    );
}

#[test]
fn a_forged_author_is_rejected() {
    let f = fixture([8; 32], Tier::Team, 1);
    let mallory = SigningKey::from_seed(&[9; 32]);
    // Mallory holds the case key and writes a note claiming to be the therapist.
    let mut ctx = f.ctx.clone();
    ctx.author_key = mallory.key_id();
    let forged = f
        .case
        .seal_record(Kind::Note, &ctx, b"forged", &mallory)
        .unwrap();
    // The reader checks against the therapist's certified key.
    let vk = f.author.verifying_key();
    let policy = OpenPolicy {
        allowed: &[Kind::Note],
        context: &ctx,
        author: &vk,
        author_roles: THERAPIST,
        newest_seen_version: None,
    };
    assert_eq!(
        f.case.open_record(&forged, &policy).map(|z| z.to_vec()),
        Err(Error::BadSignature)
    );
    // And rewriting the context to the therapist's key id breaks the AEAD.
    let policy = OpenPolicy {
        context: &f.ctx,
        ..policy
    };
    assert!(f.case.open_record(&forged, &policy).is_err());
}

// ----------------------------------------------------------------------------------------------
// Public-key wraps

fn clinic() -> ClinicId {
    ClinicId::from_bytes(id16(1))
}

#[test]
fn public_wraps_round_trip_for_every_key_type() {
    let recipient = DecryptionKey::generate().unwrap();
    let wrapper = SigningKey::generate().unwrap();
    let vk = wrapper.verifying_key();
    let chart = ChartId::generate().unwrap();
    let branch = BranchId::generate().unwrap();

    let ck = CaseKey::generate(chart, Tier::Shared, Epoch(3)).unwrap();
    let w = recipient
        .public_key()
        .wrap(&ck, clinic(), &wrapper)
        .unwrap();
    assert_eq!(w.bytes.len(), vaiti_crypto::wrap::WRAP_LEN);
    let t = WrapTarget {
        scope: Scope::Chart(chart),
        tier: Some(Tier::Shared),
        epoch: Epoch(3),
    };
    let back: CaseKey = recipient.unwrap(&w, clinic(), &t, &vk).unwrap();
    assert_eq!(back.key_id(), ck.key_id());
    assert_eq!(
        (back.chart(), back.tier(), back.epoch()),
        (chart, Tier::Shared, Epoch(3))
    );

    let ik = IdentityKey::generate(chart).unwrap();
    let w = recipient
        .public_key()
        .wrap(&ik, clinic(), &wrapper)
        .unwrap();
    let t = WrapTarget {
        scope: Scope::Chart(chart),
        tier: None,
        epoch: Epoch(0),
    };
    assert_eq!(
        recipient
            .unwrap::<IdentityKey>(&w, clinic(), &t, &vk)
            .unwrap()
            .key_id(),
        ik.key_id()
    );

    let dk = DirectoryKey::generate(branch, Epoch(1)).unwrap();
    let w = recipient
        .public_key()
        .wrap(&dk, clinic(), &wrapper)
        .unwrap();
    let t = WrapTarget {
        scope: Scope::Branch(branch),
        tier: None,
        epoch: Epoch(1),
    };
    assert_eq!(
        recipient
            .unwrap::<DirectoryKey>(&w, clinic(), &t, &vk)
            .unwrap()
            .key_id(),
        dk.key_id()
    );

    let root = RootKey::generate().unwrap();
    let w = recipient
        .public_key()
        .wrap(&root, clinic(), &wrapper)
        .unwrap();
    let t = WrapTarget {
        scope: Scope::Clinic,
        tier: None,
        epoch: Epoch(0),
    };
    let back: RootKey = recipient.unwrap(&w, clinic(), &t, &vk).unwrap();
    assert_eq!(back.fingerprint(), root.fingerprint());
}

#[test]
fn public_wrap_substitutions_are_refused() {
    let recipient = DecryptionKey::generate().unwrap();
    let other_recipient = DecryptionKey::generate().unwrap();
    let wrapper = SigningKey::generate().unwrap();
    let server = SigningKey::generate().unwrap();
    let chart = ChartId::generate().unwrap();
    let ck = CaseKey::generate(chart, Tier::Team, Epoch(2)).unwrap();
    let w = recipient
        .public_key()
        .wrap(&ck, clinic(), &wrapper)
        .unwrap();
    let t = WrapTarget {
        scope: Scope::Chart(chart),
        tier: Some(Tier::Team),
        epoch: Epoch(2),
    };
    let vk = wrapper.verifying_key();

    // Presented to someone else.
    assert_eq!(
        other_recipient
            .unwrap::<CaseKey>(&w, clinic(), &t, &vk)
            .map(|k| k.key_id()),
        Err(Error::WrongKey)
    );
    // Claimed to come from another wrapper (the server's own key).
    assert_eq!(
        recipient
            .unwrap::<CaseKey>(&w, clinic(), &t, &server.verifying_key())
            .map(|k| k.key_id()),
        Err(Error::BadSignature)
    );
    // A wrap made by the server itself, to the right recipient, is not from the expected wrapper.
    let forged = recipient
        .public_key()
        .wrap(
            &CaseKey::generate(chart, Tier::Team, Epoch(2)).unwrap(),
            clinic(),
            &server,
        )
        .unwrap();
    assert_eq!(
        recipient
            .unwrap::<CaseKey>(&forged, clinic(), &t, &vk)
            .map(|k| k.key_id()),
        Err(Error::BadSignature)
    );
    // Asked for another chart, tier or epoch: refused even though the signature is good.
    for other in [
        WrapTarget {
            scope: Scope::Chart(ChartId::generate().unwrap()),
            ..t
        },
        WrapTarget {
            tier: Some(Tier::Shared),
            ..t
        },
        WrapTarget {
            epoch: Epoch(3),
            ..t
        },
    ] {
        assert_eq!(
            recipient
                .unwrap::<CaseKey>(&w, clinic(), &other, &vk)
                .map(|k| k.key_id()),
            Err(Error::NotAllowed)
        );
    }
    // Asked for as another key type.
    assert_eq!(
        recipient
            .unwrap::<IdentityKey>(&w, clinic(), &t, &vk)
            .map(|k| k.key_id()),
        Err(Error::NotAllowed)
    );
    // Another clinic.
    assert!(
        recipient
            .unwrap::<CaseKey>(&w, ClinicId::generate().unwrap(), &t, &vk)
            .is_err()
    );
    // Header rewritten to claim another epoch, and re-signed by a key the reader trusts: the HPKE
    // info binds the header, so decryption fails.
    let mut bytes = w.bytes.clone();
    bytes[26] ^= 1; // epoch low byte: 2 -> 3
    let resigned = PublicWrap {
        signature: resign(&wrapper, &bytes),
        bytes,
    };
    let t3 = WrapTarget {
        epoch: Epoch(3),
        ..t
    };
    assert_eq!(
        recipient
            .unwrap::<CaseKey>(&resigned, clinic(), &t3, &vk)
            .map(|k| k.key_id()),
        Err(Error::DecryptionFailed)
    );
    // Every single-bit flip anywhere in the wrap is refused.
    for bit in (0..w.bytes.len() * 8).step_by(7) {
        let mut b = w.bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        let tampered = PublicWrap {
            bytes: b,
            signature: w.signature.clone(),
        };
        assert!(
            recipient
                .unwrap::<CaseKey>(&tampered, clinic(), &t, &vk)
                .is_err(),
            "bit {bit}"
        );
    }
}

/// Signs wrap bytes as the wrapper would, to test what the HPKE binding catches on its own.
fn resign(wrapper: &SigningKey, bytes: &[u8]) -> Signature {
    use sha2::Digest as _;
    let mut payload = clinic().as_bytes().to_vec();
    payload.extend_from_slice(&sha2::Sha256::digest(bytes));
    wrapper.sign(vaiti_crypto::SignatureDomain::Wrap, &payload)
}

#[test]
fn signatures_do_not_cross_domains() {
    let k = SigningKey::generate().unwrap();
    let vk = k.verifying_key();
    let payload = b"same bytes";
    use vaiti_crypto::SignatureDomain as D;
    let all = [
        D::Record,
        D::Wrap,
        D::Certificate,
        D::Manifest,
        D::ChartState,
        D::InviteBinding,
        D::LogRequest,
    ];
    for a in all {
        let sig = k.sign(a, payload);
        for b in all {
            assert_eq!(
                vk.verify(b, payload, &sig).is_ok(),
                a == b,
                "{a:?} signature checked as {b:?}"
            );
        }
    }
    // An unknown signature suite is refused, not guessed.
    let mut bytes = k.sign(D::Record, payload).to_bytes();
    bytes[0] = 2;
    assert_eq!(Signature::from_bytes(&bytes), Err(Error::UnsupportedSuite));
}

#[test]
fn secrets_print_as_redacted() {
    let chart = ChartId::generate().unwrap();
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{:?}", vaiti_crypto::ContentKey::generate().unwrap()),
            "ContentKey([redacted])",
        ),
        (
            format!(
                "{:?}",
                CaseKey::generate(chart, Tier::Team, Epoch(1)).unwrap()
            ),
            "CaseKey([redacted])",
        ),
        (
            format!("{:?}", IdentityKey::generate(chart).unwrap()),
            "IdentityKey([redacted])",
        ),
        (
            format!(
                "{:?}",
                DirectoryKey::generate(BranchId::generate().unwrap(), Epoch(1)).unwrap()
            ),
            "DirectoryKey([redacted])",
        ),
        (
            format!("{:?}", vaiti_crypto::AccountKey::generate().unwrap()),
            "AccountKey([redacted])",
        ),
        (
            format!(
                "{:?}",
                vaiti_crypto::KeyEncryptionKey::from_opaque_export_key(&[1; 64]).unwrap()
            ),
            "KeyEncryptionKey([redacted])",
        ),
        (
            format!("{:?}", vaiti_crypto::CacheKey::generate().unwrap()),
            "CacheKey([redacted])",
        ),
        (
            format!("{:?}", SigningKey::generate().unwrap()),
            "SigningKey([redacted])",
        ),
        (
            format!("{:?}", RootKey::generate().unwrap()),
            "RootKey([redacted])",
        ),
        (
            format!("{:?}", DecryptionKey::generate().unwrap()),
            "DecryptionKey([redacted])",
        ),
        (
            format!("{:?}", EscrowKey::generate().unwrap()),
            "EscrowKey([redacted])",
        ),
        (
            format!("{:?}", SecretKey::generate().unwrap()),
            "SecretKey([redacted])",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    let share = &EscrowKey::generate().unwrap().split(2, 3).unwrap()[0];
    let dbg = format!("{share:?}");
    assert!(dbg.contains("[redacted]") && !dbg.contains("y: ["), "{dbg}");
}

// ----------------------------------------------------------------------------------------------
// Escrow shares

#[test]
fn escrow_any_m_of_n_rebuilds_and_fewer_or_wrong_shares_do_not() {
    let escrow = EscrowKey::generate().unwrap();
    let public = escrow.public_key().clone();
    let shares = escrow.split(3, 5).unwrap();
    let reparse = |idx: &[usize]| -> Vec<EscrowShare> {
        idx.iter()
            .map(|&i| EscrowShare::from_bytes(&shares[i].to_bytes()).unwrap())
            .collect()
    };
    // Every 3-subset and the full set rebuild the key.
    for a in 0..5 {
        for b in a + 1..5 {
            for c in b + 1..5 {
                let k = EscrowKey::combine(&reparse(&[a, b, c]), &public).unwrap();
                assert_eq!(k.public_key(), &public);
            }
        }
    }
    assert!(EscrowKey::combine(&reparse(&[0, 1, 2, 3, 4]), &public).is_ok());
    // Two shares are not enough; a repeated share does not count twice.
    assert_eq!(
        EscrowKey::combine(&reparse(&[0, 1]), &public).map(|_| ()),
        Err(Error::InvalidShares)
    );
    assert_eq!(
        EscrowKey::combine(&reparse(&[0, 1, 1]), &public).map(|_| ()),
        Err(Error::InvalidShares)
    );
    assert_eq!(
        EscrowKey::combine(&[], &public).map(|_| ()),
        Err(Error::InvalidShares)
    );
    // Shares from another split of the same key, or of another escrow key, are not mixed in.
    let other_split = escrow.split(3, 5).unwrap();
    let mixed = vec![
        EscrowShare::from_bytes(&shares[0].to_bytes()).unwrap(),
        EscrowShare::from_bytes(&shares[1].to_bytes()).unwrap(),
        EscrowShare::from_bytes(&other_split[2].to_bytes()).unwrap(),
    ];
    assert_eq!(
        EscrowKey::combine(&mixed, &public).map(|_| ()),
        Err(Error::InvalidShares)
    );
    let other = EscrowKey::generate().unwrap();
    assert_eq!(
        EscrowKey::combine(&reparse(&[0, 1, 2]), other.public_key()).map(|_| ()),
        Err(Error::InvalidShares)
    );
}

#[test]
fn an_altered_share_is_detected_never_combined_into_garbage() {
    let escrow = EscrowKey::generate().unwrap();
    let public = escrow.public_key().clone();
    let shares = escrow.split(2, 3).unwrap();
    let good = shares[0].to_bytes().to_vec();
    // A corrupted file fails its checksum.
    let mut corrupt = shares[1].to_bytes().to_vec();
    corrupt[40] ^= 1;
    assert_eq!(
        EscrowShare::from_bytes(&corrupt).map(|_| ()),
        Err(Error::InvalidShares)
    );
    // A share altered *with* a recomputed checksum (a deliberate forgery) parses, but rebuilds a
    // key whose public half is not the escrow's, and is refused.
    let forged = reforge(&shares[1].to_bytes(), 40);
    let parsed = vec![
        EscrowShare::from_bytes(&good).unwrap(),
        EscrowShare::from_bytes(&forged).unwrap(),
    ];
    assert_eq!(
        EscrowKey::combine(&parsed, &public).map(|_| ()),
        Err(Error::InvalidShares)
    );
    // Unknown share-file version.
    let mut v2 = good.clone();
    v2[2] = 2;
    assert_eq!(
        EscrowShare::from_bytes(&v2).map(|_| ()),
        Err(Error::UnsupportedVersion)
    );
}

fn reforge(share: &[u8], byte: usize) -> Vec<u8> {
    use sha2::Digest as _;
    let mut b = share.to_vec();
    b[byte] ^= 0x5a;
    let body_len = b.len() - 8;
    let sum = sha2::Sha256::new()
        .chain_update(b"vaiti v1 escrow share")
        .chain_update(&b[..body_len])
        .finalize();
    b[body_len..].copy_from_slice(&sum[..8]);
    b
}

#[test]
fn escrow_unwraps_what_was_wrapped_to_it_after_a_ceremony() {
    let escrow = EscrowKey::generate().unwrap();
    let public = escrow.public_key().clone();
    let shares: Vec<Vec<u8>> = escrow
        .split(2, 3)
        .unwrap()
        .iter()
        .map(|s| s.to_bytes().to_vec())
        .collect();
    drop(escrow);
    let wrapper = SigningKey::generate().unwrap();
    let chart = ChartId::generate().unwrap();
    let ck = CaseKey::generate(chart, Tier::Team, Epoch(1)).unwrap();
    let w = public.wrap(&ck, clinic(), &wrapper).unwrap();
    let rebuilt = EscrowKey::combine(
        &[
            EscrowShare::from_bytes(&shares[2]).unwrap(),
            EscrowShare::from_bytes(&shares[0]).unwrap(),
        ],
        &public,
    )
    .unwrap();
    let t = WrapTarget {
        scope: Scope::Chart(chart),
        tier: Some(Tier::Team),
        epoch: Epoch(1),
    };
    let back: CaseKey = rebuilt
        .decryption_key()
        .unwrap(&w, clinic(), &t, &wrapper.verifying_key())
        .unwrap();
    assert_eq!(back.key_id(), ck.key_id());
}

// ----------------------------------------------------------------------------------------------
// Account-level wraps and the two-secret derivation

#[test]
fn account_keys_unwrap_only_for_their_user_and_kek() {
    let user = UserId::generate().unwrap();
    let kek = vaiti_crypto::KeyEncryptionKey::from_opaque_export_key(&[3; 64]).unwrap();
    let ak = vaiti_crypto::AccountKey::generate().unwrap();
    let wrapped = kek.wrap_account_key(&ak, clinic(), user).unwrap();
    assert_eq!(
        kek.unwrap_account_key(&wrapped, clinic(), user)
            .unwrap()
            .key_id(),
        ak.key_id()
    );
    assert!(
        kek.unwrap_account_key(&wrapped, clinic(), UserId::generate().unwrap())
            .is_err()
    );
    let other_kek = vaiti_crypto::KeyEncryptionKey::from_opaque_export_key(&[4; 64]).unwrap();
    assert_eq!(
        other_kek
            .unwrap_account_key(&wrapped, clinic(), user)
            .map(|k| k.key_id()),
        Err(Error::WrongKey)
    );

    let dk = DecryptionKey::generate().unwrap();
    let sk = SigningKey::generate().unwrap();
    let wdk = ak.wrap_decryption_key(&dk, clinic(), user).unwrap();
    let wsk = ak.wrap_signing_key(&sk, clinic(), user).unwrap();
    assert_eq!(
        ak.unwrap_decryption_key(&wdk, clinic(), user)
            .unwrap()
            .key_id(),
        dk.key_id()
    );
    assert_eq!(
        ak.unwrap_signing_key(&wsk, clinic(), user)
            .unwrap()
            .key_id(),
        sk.key_id()
    );
    // A signing-key wrap cannot be passed off as a decryption-key wrap (the allow-list refuses it).
    assert_eq!(
        ak.unwrap_decryption_key(&wsk, clinic(), user)
            .map(|k| k.key_id()),
        Err(Error::NotAllowed)
    );
    // The pinned root cannot be swapped by whoever stores it.
    let root = RootKey::generate().unwrap();
    let pin = ak
        .seal_root_pin(&root.fingerprint(), clinic(), user)
        .unwrap();
    assert!(
        ak.open_root_pin(&pin, clinic(), user)
            .unwrap()
            .matches(&root.verifying_key())
    );
    let evil_root = RootKey::generate().unwrap();
    let evil_ak = vaiti_crypto::AccountKey::generate().unwrap();
    let evil_pin = evil_ak
        .seal_root_pin(&evil_root.fingerprint(), clinic(), user)
        .unwrap();
    assert!(ak.open_root_pin(&evil_pin, clinic(), user).is_err());
}

#[test]
fn identity_keys_reach_front_desk_only_through_the_branch_directory_key() {
    let chart = ChartId::generate().unwrap();
    let branch = BranchId::generate().unwrap();
    let dk = DirectoryKey::generate(branch, Epoch(1)).unwrap();
    let ik = IdentityKey::generate(chart).unwrap();
    let w = dk.wrap_identity_key(&ik, clinic()).unwrap();
    assert_eq!(
        dk.unwrap_identity_key(&w, clinic(), chart)
            .unwrap()
            .key_id(),
        ik.key_id()
    );
    // Presented as another chart's identity key, or to the next epoch's directory key: refused.
    assert!(
        dk.unwrap_identity_key(&w, clinic(), ChartId::generate().unwrap())
            .is_err()
    );
    let next = DirectoryKey::generate(branch, Epoch(2)).unwrap();
    assert!(next.unwrap_identity_key(&w, clinic(), chart).is_err());
}

#[test]
fn password_input_needs_both_secrets() {
    let sk = SecretKey::from_bytes(&[1; 16]).unwrap();
    let other_sk = SecretKey::from_bytes(&[2; 16]).unwrap();
    let a = vaiti_crypto::opaque_password_input(&sk, "correct horse").unwrap();
    assert_eq!(
        *a,
        *vaiti_crypto::opaque_password_input(&sk, "correct horse").unwrap()
    );
    assert_ne!(
        *a,
        *vaiti_crypto::opaque_password_input(&sk, "correct horsE").unwrap()
    );
    assert_ne!(
        *a,
        *vaiti_crypto::opaque_password_input(&other_sk, "correct horse").unwrap()
    );
    // The same password typed as composed or decomposed Unicode is the same input (NFKC).
    let composed = vaiti_crypto::opaque_password_input(&sk, "k\u{e4}ytt\u{e4}j\u{e4}").unwrap();
    let decomposed =
        vaiti_crypto::opaque_password_input(&sk, "ka\u{308}ytta\u{308}ja\u{308}").unwrap();
    assert_eq!(*composed, *decomposed);
}

#[test]
fn short_records_all_have_the_same_size() {
    // A search card's size must not track the length of the patient's name.
    let f = fixture([10; 32], Tier::Team, 1);
    let sizes: Vec<usize> = [
        &b"Ai"[..],
        b"Maria-Kristiina Oksanen-Vanhatalo, 1990-01-01",
        &[b'x'; 500],
    ]
    .iter()
    .map(|content| {
        f.case
            .seal_record(Kind::Note, &f.ctx, content, &f.author)
            .unwrap()
            .content
            .envelope
            .as_bytes()
            .len()
    })
    .collect();
    assert!(sizes.iter().all(|&s| s == 77 + 512 + 16), "{sizes:?}");
}
