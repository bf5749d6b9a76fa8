//! Checkpoints, signed notes and cosignatures: round trips, every non-canonical encoding
//! rejected, signature substitution, key-ID mismatches, cosignatures moved between checkpoints,
//! freshness, and pinned bytes.

use proptest::prelude::*;
use vaiti_log::note::{MAX_NOTE_BYTES, MAX_SIGNATURES, key_id};
use vaiti_log::{
    Checkpoint, Error, LogKey, LogSigningKey, MemoryTree, NoteSignature, SignedCheckpoint,
    SignedNote, WitnessKey, WitnessSigningKey,
};

const ORIGIN: &str = "log.clinic.example";
const NOW: u64 = 1_800_000_000;

fn log_key() -> LogSigningKey {
    LogSigningKey::from_seed(ORIGIN, &[1; 32]).unwrap()
}

fn witness() -> WitnessSigningKey {
    WitnessSigningKey::from_seed("witness.clinic.example", &[2; 32]).unwrap()
}

fn checkpoint(size: u64) -> Checkpoint {
    let mut tree = MemoryTree::new();
    for i in 0..size {
        tree.append(&i.to_be_bytes()).unwrap();
    }
    Checkpoint::new(ORIGIN, size, tree.root()).unwrap()
}

fn signed_bytes(size: u64) -> Vec<u8> {
    log_key().sign(&checkpoint(size)).unwrap().to_bytes()
}

fn verify(bytes: &[u8]) -> Result<SignedCheckpoint, Error> {
    SignedCheckpoint::verify(bytes, &log_key().log_key())
}

#[test]
fn signed_checkpoint_round_trips() {
    for size in [0, 1, 7, 20_852_163, u64::MAX] {
        let cp = if size < 100 {
            checkpoint(size)
        } else {
            Checkpoint::new(ORIGIN, size, [9; 32]).unwrap()
        };
        let signed = log_key().sign(&cp).unwrap();
        let bytes = signed.to_bytes();
        let opened = verify(&bytes).unwrap();
        assert_eq!(opened.checkpoint(), &cp);
        assert_eq!(opened.to_bytes(), bytes);
        assert_eq!(Checkpoint::parse_body(&cp.to_body()).unwrap(), cp);
    }
    let text = String::from_utf8(signed_bytes(0)).unwrap();
    assert!(text.starts_with(&format!(
        "{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} {ORIGIN} "
    )));
}

#[test]
fn checkpoint_with_extensions_round_trips_and_is_cosigned_whole() {
    let cp =
        Checkpoint::with_extensions(ORIGIN, 3, [4; 32], vec!["ext-one".into(), "ext two".into()])
            .unwrap();
    assert!(cp.to_body().ends_with("\next-one\next two\n"));
    let mut signed = log_key().sign(&cp).unwrap();
    let line = witness().cosign(&signed, NOW).unwrap();
    signed
        .add_cosignature(&witness().witness_key(), line)
        .unwrap();
    let opened = verify(&signed.to_bytes()).unwrap();
    assert_eq!(opened.checkpoint().extensions(), ["ext-one", "ext two"]);
    opened.verify_cosignature(&witness().witness_key()).unwrap();
    // Dropping an extension line invalidates both signatures.
    let other = Checkpoint::with_extensions(ORIGIN, 3, [4; 32], vec!["ext-one".into()]).unwrap();
    let mut moved = log_key().sign(&other).unwrap();
    let wline = opened.note().signatures()[1].clone();
    assert_eq!(
        moved.add_cosignature(&witness().witness_key(), wline),
        Err(Error::BadSignature)
    );
}

/// Every non-canonical or malformed variant of a valid signed checkpoint is rejected.
#[test]
fn malformed_checkpoints_are_rejected() {
    let good = String::from_utf8(signed_bytes(5)).unwrap();
    let lines: Vec<&str> = good.split('\n').collect();
    let (origin, size, root, sig) = (lines[0], lines[1], lines[2], lines[4]);
    let sig_b64 = sig.rsplit(' ').next().unwrap();
    let rebuild = |o: &str, s: &str, r: &str, rest: &str| format!("{o}\n{s}\n{r}\n{rest}\n{sig}\n");
    assert_eq!(rebuild(origin, size, root, ""), good);
    assert!(verify(good.as_bytes()).is_ok());

    let mut bad: Vec<(&str, String)> = vec![
        ("CRLF line endings", good.replace('\n', "\r\n")),
        (
            "CR before the blank line",
            good.replacen("\n\n", "\r\n\n", 1),
        ),
        (
            "missing final newline",
            good.trim_end_matches('\n').to_owned(),
        ),
        ("extra final newline", format!("{good}\n")),
        (
            "trailing space on the origin",
            rebuild(&format!("{origin} "), size, root, ""),
        ),
        (
            "trailing space on the size",
            rebuild(origin, &format!("{size} "), root, ""),
        ),
        (
            "trailing space on the root",
            rebuild(origin, size, &format!("{root} "), ""),
        ),
        (
            "trailing space on the signature line",
            good.replace(sig, &format!("{sig} ")),
        ),
        (
            "leading space on the size",
            rebuild(origin, &format!(" {size}"), root, ""),
        ),
        ("leading zero in the size", rebuild(origin, "05", root, "")),
        ("plus sign in the size", rebuild(origin, "+5", root, "")),
        ("negative size", rebuild(origin, "-5", root, "")),
        ("empty size", rebuild(origin, "", root, "")),
        ("hex size", rebuild(origin, "0x5", root, "")),
        (
            "size beyond u64",
            rebuild(origin, "18446744073709551616", root, ""),
        ),
        (
            "non-ASCII digit in the size",
            rebuild(origin, "\u{0665}", root, ""),
        ),
        (
            "root without padding",
            rebuild(origin, size, root.trim_end_matches('='), ""),
        ),
        (
            "root in URL-safe base64",
            rebuild(origin, size, &format!("-{}", &root[1..]), ""),
        ),
        (
            "root of 31 bytes",
            rebuild(
                origin,
                size,
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
                "",
            ),
        ),
        (
            "root of 33 bytes",
            rebuild(
                origin,
                size,
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "",
            ),
        ),
        (
            "root with non-zero trailing bits",
            rebuild(
                origin,
                size,
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=",
                "",
            ),
        ),
        ("root in hex", rebuild(origin, size, &"ab".repeat(32), "")),
        ("empty origin", rebuild("", size, root, "")),
        ("origin with a space", rebuild("log clinic", size, root, "")),
        ("origin with a plus", rebuild("log+clinic", size, root, "")),
        ("another origin", rebuild("other.example", size, root, "")),
        ("missing root line", format!("{origin}\n{size}\n\n{sig}\n")),
        (
            "blank line inside the body",
            format!("{origin}\n{size}\n\n{root}\n\n{sig}\n"),
        ),
        ("empty extension line", rebuild(origin, size, root, "\nx\n")),
        (
            "extension with trailing space",
            rebuild(origin, size, root, "ext \n"),
        ),
        (
            "nine extension lines",
            rebuild(origin, size, root, &"e\n".repeat(9)),
        ),
        (
            "no blank line before the signatures",
            good.replacen("\n\n", "\n", 1),
        ),
        (
            "no signature lines",
            format!("{origin}\n{size}\n{root}\n\n"),
        ),
        ("hyphen instead of em dash", good.replace('\u{2014}', "-")),
        (
            "en dash instead of em dash",
            good.replace('\u{2014}', "\u{2013}"),
        ),
        (
            "no space after the dash",
            good.replace("\u{2014} ", "\u{2014}"),
        ),
        (
            "two spaces after the name",
            good.replace(
                &format!("{ORIGIN} {sig_b64}"),
                &format!("{ORIGIN}  {sig_b64}"),
            ),
        ),
        (
            "signature without padding",
            good.replace(sig_b64, sig_b64.trim_end_matches('=')),
        ),
        ("empty signature", good.replace(sig_b64, "")),
        (
            "signature of 4 bytes (key ID only)",
            good.replace(sig_b64, "AAAAAA=="),
        ),
        (
            "key name with a plus",
            good.replace(&format!("\u{2014} {ORIGIN}"), "\u{2014} log+x"),
        ),
        ("duplicate signature line", format!("{good}{sig}\n")),
        ("NUL byte", good.replacen("log", "l\0g", 1)),
        ("tab", good.replacen("log", "l\tg", 1)),
        (
            "invalid UTF-8",
            String::from_utf8_lossy(
                &[&good.as_bytes()[..3], &[0xff], &good.as_bytes()[4..]].concat(),
            )
            .into_owned(),
        ),
        (
            "oversized",
            format!(
                "{origin}\n{size}\n{root}\n{}\n{sig}\n",
                "e".repeat(MAX_NOTE_BYTES)
            ),
        ),
    ];
    // Too many signature lines (unknown keys, otherwise valid).
    let mut many = good.clone();
    for k in 0..MAX_SIGNATURES {
        many.push_str(&format!("\u{2014} other{k} AAAAAAA=\n"));
    }
    bad.push(("too many signature lines", many));
    for (what, input) in &bad {
        assert!(verify(input.as_bytes()).is_err(), "accepted: {what}");
    }
    // Invalid UTF-8 proper (the lossy conversion above replaced it).
    let mut raw = good.clone().into_bytes();
    raw[3] = 0xff;
    assert_eq!(verify(&raw), Err(Error::Malformed));
    assert_eq!(SignedNote::parse(&raw), Err(Error::Malformed));
    // A size with leading zero is rejected by the body parser itself.
    assert_eq!(
        Checkpoint::parse_body(&format!("{origin}\n05\n{root}\n")),
        Err(Error::Malformed)
    );
    assert_eq!(
        Checkpoint::parse_body(&format!("{origin}\n0\n{root}\n"))
            .unwrap()
            .size(),
        0
    );
}

#[test]
fn notes_accept_unknown_signatures_up_to_the_limit() {
    let good = String::from_utf8(signed_bytes(5)).unwrap();
    let mut note = good.clone();
    for k in 0..MAX_SIGNATURES - 1 {
        note.push_str(&format!("\u{2014} other{k} AAAAAAA=\n"));
    }
    let opened = verify(note.as_bytes()).unwrap();
    assert_eq!(opened.note().signatures().len(), MAX_SIGNATURES);
    assert_eq!(opened.to_bytes(), note.as_bytes());
}

#[test]
fn signature_substitution_and_key_confusion_are_rejected() {
    let log = log_key();
    let a = log.sign(&checkpoint(5)).unwrap();
    let b = log.sign(&checkpoint(6)).unwrap();
    let a_text = a.note().text().to_owned();
    let sig_a = a.note().signatures()[0].clone();
    let sig_b = b.note().signatures()[0].clone();

    // B's signature on A's body.
    let swapped = SignedNote::new(a_text.clone(), vec![sig_b.clone()]).unwrap();
    assert_eq!(verify(&swapped.to_bytes()), Err(Error::BadSignature));

    // A valid line plus a bad line from the same key: the bad one must be checked and fails.
    // (Same name and key ID twice is non-canonical anyway.)
    let twice = format!("{a_text}\n{}\n{}\n", sig_a.to_line(), sig_b.to_line());
    assert_eq!(verify(twice.as_bytes()), Err(Error::Malformed));

    // Another key under the log's name: a different key ID, so ignored, leaving no signature.
    let impostor = LogSigningKey::from_seed(ORIGIN, &[66; 32]).unwrap();
    let forged = impostor.sign(&checkpoint(5)).unwrap();
    assert_ne!(impostor.log_key().key_id(), log.log_key().key_id());
    assert_eq!(verify(&forged.to_bytes()), Err(Error::BadSignature));

    // The log's key ID under another name: ignored too.
    let renamed =
        NoteSignature::new("other.example", sig_a.key_id(), sig_a.signature().to_vec()).unwrap();
    let note = SignedNote::new(a_text.clone(), vec![renamed]).unwrap();
    assert_eq!(verify(&note.to_bytes()), Err(Error::BadSignature));

    // Right name and key ID, wrong length or garbage.
    for bytes in [vec![0u8; 63], vec![0u8; 65], vec![0u8; 64]] {
        let line = NoteSignature::new(ORIGIN, sig_a.key_id(), bytes).unwrap();
        let note = SignedNote::new(a_text.clone(), vec![line]).unwrap();
        assert_eq!(verify(&note.to_bytes()), Err(Error::BadSignature));
    }

    // A valid log signature next to an unknown witness's line: accepted; the unknown line kept.
    let mut with_unknown = a.clone();
    let unknown = WitnessSigningKey::from_seed("stranger.example", &[9; 32]).unwrap();
    let line = unknown.cosign(&a, NOW).unwrap();
    with_unknown
        .add_cosignature(&unknown.witness_key(), line)
        .unwrap();
    assert!(verify(&with_unknown.to_bytes()).is_ok());

    // A checkpoint of another origin, validly signed by that origin's key, is not this log's.
    let other_log = LogSigningKey::from_seed("other.example", &[1; 32]).unwrap();
    let other = other_log
        .sign(&Checkpoint::new("other.example", 5, *checkpoint(5).root()).unwrap())
        .unwrap();
    assert_eq!(verify(&other.to_bytes()), Err(Error::BadSignature));
    assert_eq!(
        log.sign(&Checkpoint::new("other.example", 5, [0; 32]).unwrap()),
        Err(Error::InvalidArgument)
    );
}

#[test]
fn small_order_keys_are_refused() {
    // The identity point: under lax Ed25519 rules, (R = identity, s = 0) "verifies" any message.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(LogKey::new(ORIGIN, &identity), Err(Error::Malformed));
    assert_eq!(
        WitnessKey::new("w.example", &identity),
        Err(Error::Malformed)
    );
}

#[test]
fn vkeys_round_trip_and_are_strict() {
    let log = log_key().log_key();
    let w = witness().witness_key();
    assert_eq!(LogKey::from_vkey(&log.to_vkey()).unwrap(), log);
    assert_eq!(WitnessKey::from_vkey(&w.to_vkey()).unwrap(), w);
    // A vkey of one signature type is not a key of the other.
    assert_eq!(WitnessKey::from_vkey(&log.to_vkey()), Err(Error::Malformed));
    assert_eq!(LogKey::from_vkey(&w.to_vkey()), Err(Error::Malformed));
    let vkey = log.to_vkey();
    let (name, rest) = vkey.split_once('+').unwrap();
    let (id, material) = rest.split_once('+').unwrap();
    for bad in [
        format!("{name}+{}+{material}", id.to_uppercase()),
        format!("{name}+00000000+{material}"),
        format!("{name}x+{id}+{material}"),
        format!("{name}+{id}+{material}="),
        format!("{name}+{id}+{}", &material[..material.len() - 1]),
        format!("{name}+{id}"),
        format!("{name}+{id}+{material}+"),
        format!(" {vkey}"),
    ] {
        assert!(LogKey::from_vkey(&bad).is_err(), "accepted {bad:?}");
    }
    // Base64 containing '+' is fine (names and key IDs cannot contain it).
    let with_plus = (0u8..=255)
        .map(|s| {
            LogSigningKey::from_seed(ORIGIN, &[s; 32])
                .unwrap()
                .log_key()
        })
        .find(|k| k.to_vkey().matches('+').count() > 2)
        .unwrap();
    assert_eq!(LogKey::from_vkey(&with_plus.to_vkey()).unwrap(), with_plus);
}

#[test]
fn key_ids_follow_c2sp() {
    let log = log_key().log_key();
    let w = witness().witness_key();
    assert_eq!(log.key_id(), key_id(ORIGIN, 0x01, &log.public_key()));
    assert_eq!(w.key_id(), key_id(w.name(), 0x04, &w.public_key()));
    // The same Ed25519 key as a log key and as a witness key has two different key IDs.
    let same = WitnessKey::new(ORIGIN, &log.public_key()).unwrap();
    assert_ne!(same.key_id(), log.key_id());
}

#[test]
fn cosignature_round_trip_and_freshness() {
    let mut signed = log_key().sign(&checkpoint(9)).unwrap();
    let w = witness();
    let line = w.cosign(&signed, NOW).unwrap();
    assert_eq!(line.signature().len(), 72);
    assert_eq!(&line.signature()[..8], &NOW.to_be_bytes());
    let added = signed
        .add_cosignature(&w.witness_key(), line.clone())
        .unwrap();
    assert_eq!(added.timestamp(), NOW);
    // Adding a second line from the same witness is refused.
    assert_eq!(
        signed.add_cosignature(&w.witness_key(), line),
        Err(Error::Malformed)
    );

    let opened = verify(&signed.to_bytes()).unwrap();
    let cosig = opened.verify_cosignature(&w.witness_key()).unwrap();
    assert_eq!(cosig.timestamp(), NOW);
    assert_eq!(cosig.key_id(), w.witness_key().key_id());
    cosig.ensure_fresh(NOW, 0).unwrap();
    cosig.ensure_fresh(NOW + 600, 600).unwrap();
    assert_eq!(cosig.ensure_fresh(NOW + 601, 600), Err(Error::Stale));
    cosig.ensure_fresh(NOW - 300, 600).unwrap();
    assert_eq!(cosig.ensure_fresh(NOW - 301, 600), Err(Error::Stale));
    // A missing cosignature, and another witness's.
    let bare = verify(&signed_bytes(9)).unwrap();
    assert_eq!(
        bare.verify_cosignature(&w.witness_key()),
        Err(Error::BadSignature)
    );
    let stranger = WitnessSigningKey::from_seed("witness.clinic.example", &[3; 32]).unwrap();
    assert_eq!(
        opened.verify_cosignature(&stranger.witness_key()),
        Err(Error::BadSignature)
    );
}

#[test]
fn cosignatures_do_not_transfer_or_bend() {
    let log = log_key();
    let w = witness();
    let wk = w.witness_key();
    let a = log.sign(&checkpoint(9)).unwrap();
    let mut b = log.sign(&checkpoint(10)).unwrap();
    let line_a = w.cosign(&a, NOW).unwrap();

    // A cosignature over another checkpoint.
    assert_eq!(
        b.add_cosignature(&wk, line_a.clone()),
        Err(Error::BadSignature)
    );
    let forged = SignedNote::new(
        b.note().text().to_owned(),
        vec![b.note().signatures()[0].clone(), line_a.clone()],
    )
    .unwrap();
    let opened = verify(&forged.to_bytes()).unwrap();
    assert_eq!(opened.verify_cosignature(&wk), Err(Error::BadSignature));

    // A changed timestamp (a witness "renewed" by the server).
    let mut raw = line_a.signature().to_vec();
    raw[..8].copy_from_slice(&(NOW + 3600).to_be_bytes());
    let bent = NoteSignature::new(line_a.name(), line_a.key_id(), raw).unwrap();
    let mut a2 = a.clone();
    assert_eq!(a2.add_cosignature(&wk, bent), Err(Error::BadSignature));

    // Wrong lengths and a timestamp beyond 2^63 - 1.
    for len in [71, 73, 64] {
        let line = NoteSignature::new(line_a.name(), line_a.key_id(), vec![0; len]).unwrap();
        assert_eq!(
            a.clone().add_cosignature(&wk, line),
            Err(Error::BadSignature)
        );
    }
    let mut raw = line_a.signature().to_vec();
    raw[0] = 0x80;
    let line = NoteSignature::new(line_a.name(), line_a.key_id(), raw).unwrap();
    assert_eq!(
        a.clone().add_cosignature(&wk, line),
        Err(Error::BadSignature)
    );
    assert_eq!(w.cosign(&a, 1 << 63), Err(Error::InvalidArgument));
    w.cosign(&a, (1 << 63) - 1).unwrap();

    // Key-ID mismatch: the witness's line relabelled with the type-0x01 key ID of the same key
    // is ignored, so the witness has not co-signed.
    let plain_id = key_id(wk.name(), 0x01, &wk.public_key());
    let relabelled = NoteSignature::new(wk.name(), plain_id, line_a.signature().to_vec()).unwrap();
    let note = SignedNote::new(
        a.note().text().to_owned(),
        vec![a.note().signatures()[0].clone(), relabelled],
    )
    .unwrap();
    let opened = verify(&note.to_bytes()).unwrap();
    assert_eq!(opened.verify_cosignature(&wk), Err(Error::BadSignature));

    // The log's own signature is not a cosignature, and a cosignature is not a log signature.
    let as_witness = WitnessKey::new(ORIGIN, &log.log_key().public_key()).unwrap();
    assert_eq!(
        verify(&a.to_bytes())
            .unwrap()
            .verify_cosignature(&as_witness),
        Err(Error::BadSignature)
    );
    let log_named_witness = WitnessSigningKey::from_seed(ORIGIN, &[1; 32]).unwrap();
    let cosig_only = SignedNote::new(
        a.note().text().to_owned(),
        vec![log_named_witness.cosign(&a, NOW).unwrap()],
    )
    .unwrap();
    assert_eq!(verify(&cosig_only.to_bytes()), Err(Error::BadSignature));
}

/// The bytes a witness signs, pinned against the spec's example; and a full cosigned checkpoint
/// pinned byte for byte, so a change to the encoding fails here (do not update these to make a
/// change pass: deployed clients and witnesses read this format).
#[test]
fn pinned_encodings() {
    let cp = Checkpoint::new(
        "example.com/behind-the-sofa",
        20_852_163,
        base64_32("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
    )
    .unwrap();
    assert_eq!(
        vaiti_log::cosignature::signed_message(&cp, 1_679_315_147),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );

    let mut signed = log_key().sign(&checkpoint(3)).unwrap();
    let line = witness().cosign(&signed, NOW).unwrap();
    signed
        .add_cosignature(&witness().witness_key(), line)
        .unwrap();
    let text = String::from_utf8(signed.to_bytes()).unwrap();
    assert_eq!(text, PINNED_COSIGNED_CHECKPOINT, "\n{text}");
}

const PINNED_COSIGNED_CHECKPOINT: &str = "\
log.clinic.example
3
m0ll+LIgukL3A5rQeByWbPkLsa6hWoBYbWNLMiqx9M4=

\u{2014} log.clinic.example wd7qqjx4D7DnDamojEERm6xFaaCtMUoMptE4IXDoWnmUyeX7xsdt0uXwRVRlo4tcG+JVoYOYIAXCzEx/6dYWqn7XhwM=
\u{2014} witness.clinic.example zMMWFgAAAABrSdIAv0sYEG+iYOti2C0dNEba4HG03/k3x+GL5pP14IkbE9rrpmeAPVc+WKuHU3qRNcvRuiF4vfN0truh5/RCNrTPAA==
";

fn base64_32(s: &str) -> [u8; 32] {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn secret_keys_print_redacted() {
    assert_eq!(
        format!("{:?}", log_key()),
        "LogSigningKey(log.clinic.example, [redacted])"
    );
    assert_eq!(
        format!("{:?}", witness()),
        "WitnessSigningKey(witness.clinic.example, [redacted])"
    );
    let pk = log_key().log_key();
    assert_eq!(
        format!("{pk:?}"),
        format!("LogKey(log.clinic.example+{:08x})", pk.key_id())
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the bytes, parsing never panics, and anything accepted re-serializes to itself.
    #[test]
    fn parsers_are_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(note) = SignedNote::parse(&bytes) {
            prop_assert_eq!(note.to_bytes(), bytes.clone());
        }
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Ok(cp) = Checkpoint::parse_body(text)
        {
            prop_assert_eq!(cp.to_body(), text);
        }
        prop_assert!(verify(&bytes).is_err());
    }

    /// Mutating one byte of a valid cosigned checkpoint never yields a different accepted
    /// checkpoint or cosignature.
    #[test]
    fn single_byte_mutations_are_caught(pos in any::<usize>(), byte in any::<u8>()) {
        let mut signed = log_key().sign(&checkpoint(5)).unwrap();
        let line = witness().cosign(&signed, NOW).unwrap();
        signed.add_cosignature(&witness().witness_key(), line).unwrap();
        let good = signed.to_bytes();
        let mut bytes = good.clone();
        let pos = pos % bytes.len();
        prop_assume!(bytes[pos] != byte);
        bytes[pos] = byte;
        if let Ok(opened) = verify(&bytes) {
            // Only the cosignature line can have changed, and then it must not verify.
            prop_assert_eq!(opened.checkpoint(), signed.checkpoint());
            prop_assert!(opened.verify_cosignature(&witness().witness_key()).is_err());
        }
    }
}
