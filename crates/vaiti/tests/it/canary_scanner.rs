//! Self-tests for the dump-test canary scanner (`tests/it/support/canary.rs`).
//!
//! The expected encodings are built here independently of the scanner (by encoding whole
//! blobs, or from digests pinned as hex computed elsewhere), so a wrong needle fails a test
//! instead of agreeing with itself.

use base64::Engine as _;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::support::canary::{Finding, Scanner};

/// A non-ASCII patient name: `Ä` and `Ö` are two bytes in UTF-8 and one non-ASCII code unit in
/// UTF-16, and change under upper/lower-casing.
const NAME: &str = "Äijä Öhman-Virtanen";
/// A note fragment. The run of `~` (0x7E) guarantees `+`/`/` vs `-`/`_` in the stable base64
/// middle at every alignment, so the two alphabets give different needles. It starts and ends
/// with uncased characters because the stable middle may leave the top bits of the first byte
/// and the low bits of the last byte uncovered: `P` (0x50) and `p` (0x70) differ only there, so
/// an initial `P` would make the lower-case needle at shift 1 the same as the original one.
const NOTE: &str = "(Päänsärky jatkuu ~~~~~~ kontrolli.)";
const HETU: &str = "131052-308T";
const EMAIL: &str = "Maija.Meikalainen@Example.FI";

/// Digests of `HETU`, computed with Python's hashlib.
const HETU_DIGESTS: [(&str, &str); 3] = [
    (
        "sha256",
        "ed3515bde763330c5943f1829922cbf91d3e5f4ddc659194bd5284487706c3fc",
    ),
    ("sha1", "e7dde05188478e20850a56b3926e613ae36f94e7"),
    ("md5", "fa698494533720e7ad69759437712541"),
];

/// Digests of `EMAIL` lower-cased (`maija.meikalainen@example.fi`), computed with hashlib.
const EMAIL_LOWER_DIGESTS: [(&str, &str); 3] = [
    (
        "sha256",
        "ff8f3e9bce186790ac442f558909241a235acac1ea7cb1d1f831a5a23c273617",
    ),
    ("sha1", "7c80a19e608611a203507f4b08af0ca756c58725"),
    ("md5", "54cbae5f398a6d3d967d69961701d646"),
];

/// SplitMix64: deterministic, so a failure reproduces exactly.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// Random bytes, fewer than `n` of them.
    fn bytes_below(&mut self, n: usize) -> Vec<u8> {
        let len = self.below(n);
        self.bytes(len)
    }
}

fn scanner() -> Scanner {
    let mut scanner = Scanner::new();
    scanner.add_text("name", NAME);
    scanner.add_text("note", NOTE);
    scanner.add_hetu("hetu", HETU);
    scanner.add_email("email", EMAIL);
    scanner
}

/// `needle` at a random offset inside random bytes; returns the haystack and the offset.
fn embed(rng: &mut Rng, needle: &[u8]) -> (Vec<u8>, usize) {
    let mut haystack = rng.bytes_below(4096);
    let offset = haystack.len();
    haystack.extend_from_slice(needle);
    let suffix = rng.bytes_below(4096);
    haystack.extend_from_slice(&suffix);
    (haystack, offset)
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn utf16be(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Asserts that `findings` contain exactly `label` as `encoding` at `offset`, and nothing about
/// any other canary.
fn assert_found(findings: &[Finding], label: &str, encoding: &str, offset: usize) {
    assert!(
        findings
            .iter()
            .any(|f| f.canary == label && f.encoding == encoding && f.offset == offset),
        "expected {label:?} as {encoding} at {offset}, got {findings:#?}"
    );
    assert!(
        findings.iter().all(|f| f.canary == label),
        "findings about other canaries: {findings:#?}"
    );
}

/// The three case forms of `text` with the scanner's encoding suffix.
fn case_forms(text: &str) -> [(String, &'static str); 3] {
    [
        (text.to_owned(), ""),
        (text.to_uppercase(), "-upper"),
        (text.to_lowercase(), "-lower"),
    ]
}

#[test]
fn case_forms_of_the_name_really_differ() {
    // Otherwise the case tests below would prove nothing.
    assert_eq!(NAME.to_uppercase(), "ÄIJÄ ÖHMAN-VIRTANEN");
    assert_eq!(NAME.to_lowercase(), "äijä öhman-virtanen");
}

#[test]
fn every_plain_and_hex_encoding_is_found_at_random_offsets() {
    let scanner = scanner();
    let mut rng = Rng(1);
    for (label, text) in [("name", NAME), ("note", NOTE)] {
        for (form, case) in case_forms(text) {
            let encodings = [
                (format!("utf8{case}"), form.as_bytes().to_vec()),
                (format!("utf16le{case}"), utf16le(&form)),
                (format!("utf16be{case}"), utf16be(&form)),
                (
                    format!("hex-lower/utf8{case}"),
                    hex::encode(&form).into_bytes(),
                ),
                (
                    format!("hex-upper/utf8{case}"),
                    hex::encode_upper(&form).into_bytes(),
                ),
            ];
            for (encoding, bytes) in encodings {
                for _ in 0..10 {
                    let (haystack, offset) = embed(&mut rng, &bytes);
                    let findings = scanner.scan("random", &haystack);
                    assert_found(&findings, label, &encoding, offset);
                    assert!(findings.iter().all(|f| f.source == "random"));
                }
            }
        }
    }
}

#[test]
fn utf16_of_a_non_ascii_name_is_found_and_only_as_utf16() {
    let scanner = scanner();
    let mut rng = Rng(2);
    // `Ä` is U+00C4: one code unit, C4 00 in little-endian, 00 C4 in big-endian.
    assert_eq!(&utf16le(NAME)[..2], &[0xC4, 0x00]);
    assert_eq!(&utf16be(NAME)[..2], &[0x00, 0xC4]);
    for (encoding, bytes) in [("utf16le", utf16le(NAME)), ("utf16be", utf16be(NAME))] {
        let (haystack, offset) = embed(&mut rng, &bytes);
        let findings = scanner.scan("random", &haystack);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_found(&findings, "name", encoding, offset);
    }
}

#[test]
fn base64_is_found_at_every_alignment_padded_and_unpadded() {
    let scanner = scanner();
    let mut rng = Rng(3);
    let engines: [(&str, &GeneralPurpose); 4] = [
        ("std", &STANDARD),
        ("std", &STANDARD_NO_PAD),
        ("url", &URL_SAFE),
        ("url", &URL_SAFE_NO_PAD),
    ];
    for (form, case) in case_forms(NOTE) {
        // Prefixes 0..9 cover each alignment three times; suffixes 0..4 end the blob on every
        // padding length, including the canary ending the blob.
        for prefix_len in 0..9 {
            for suffix_len in 0..4 {
                let mut blob = rng.bytes(prefix_len);
                blob.extend_from_slice(form.as_bytes());
                blob.extend_from_slice(&rng.bytes(suffix_len));
                for (alphabet, engine) in engines {
                    let encoded = engine.encode(&blob);
                    let findings = scanner.scan("base64", encoded.as_bytes());
                    let shift = prefix_len % 3;
                    // The first character carrying only canary bits.
                    let offset = (8 * prefix_len).div_ceil(6);
                    assert_found(
                        &findings,
                        "note",
                        &format!("base64-{alphabet}@{shift}/utf8{case}"),
                        offset,
                    );
                }
            }
        }
    }
}

#[test]
fn base64_inside_a_long_blob_in_random_bytes_is_found() {
    let scanner = scanner();
    let mut rng = Rng(4);
    for _ in 0..50 {
        let mut blob = rng.bytes_below(1000);
        let prefix_len = blob.len();
        blob.extend_from_slice(NAME.as_bytes());
        blob.extend_from_slice(&rng.bytes_below(1000));
        let encoded = STANDARD.encode(&blob);
        let (haystack, offset) = embed(&mut rng, encoded.as_bytes());
        let findings = scanner.scan("random", &haystack);
        assert_found(
            &findings,
            "name",
            &format!("base64-std@{}/utf8", prefix_len % 3),
            offset + (8 * prefix_len).div_ceil(6),
        );
    }
}

#[test]
fn every_six_character_hetu_substring_is_found_only_when_asked() {
    let scanner = scanner();
    let mut rng = Rng(5);
    for start in 0..=HETU.len() - 6 {
        let window = &HETU[start..start + 6];
        // `#` on both sides, so random neighbours cannot extend the window by chance.
        let (haystack, offset) = embed(&mut rng, format!("#{window}#").as_bytes());
        let findings = scanner.scan("raw", &haystack);
        assert_eq!(findings.len(), 1, "{window}: {findings:#?}");
        assert_found(
            &findings,
            "hetu",
            &format!("hetu-substring[{start}..{}]", start + 6),
            offset + 1,
        );
        assert_eq!(scanner.scan_with("text", &haystack, false), []);
    }
}

#[test]
fn five_character_hetu_fragments_are_not_reported() {
    let scanner = scanner();
    let mut rng = Rng(6);
    for start in 0..=HETU.len() - 5 {
        let fragment = &HETU[start..start + 5];
        let (haystack, _) = embed(&mut rng, format!("#{fragment}#").as_bytes());
        assert_eq!(scanner.scan("raw", &haystack), [], "{fragment}");
    }
}

#[test]
fn a_whole_hetu_is_found_with_and_without_short_substrings() {
    let scanner = scanner();
    let mut rng = Rng(7);
    let (haystack, offset) = embed(&mut rng, HETU.as_bytes());

    let without = scanner.scan_with("text", &haystack, false);
    assert_eq!(without.len(), 1, "{without:#?}");
    assert_found(&without, "hetu", "utf8", offset);

    // With substrings: the whole HETU plus its six overlapping windows.
    let with = scanner.scan("raw", &haystack);
    assert_eq!(with.len(), 7, "{with:#?}");
    assert_found(&with, "hetu", "hetu-substring[5..11]", offset + 5);

    // The lower-case form (`t`) is a canary of its own.
    let lower = HETU.to_lowercase();
    let (haystack, offset) = embed(&mut rng, &utf16be(&lower));
    assert_found(
        &scanner.scan_with("text", &haystack, false),
        "hetu",
        "utf16be-lower",
        offset,
    );
}

/// Every way a digest is stored: raw bytes, hex in both cases, padded base64 of the digest alone.
fn digest_forms(digest: &[u8], what: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (format!("raw/{what}"), digest.to_vec()),
        (
            format!("hex-lower/{what}"),
            hex::encode(digest).into_bytes(),
        ),
        (
            format!("hex-upper/{what}"),
            hex::encode_upper(digest).into_bytes(),
        ),
        (
            format!("base64-std@0/{what}"),
            STANDARD.encode(digest).into_bytes(),
        ),
        (
            format!("base64-url@0/{what}"),
            URL_SAFE.encode(digest).into_bytes(),
        ),
    ]
}

#[test]
fn hetu_digests_are_found_raw_and_hex() {
    let scanner = scanner();
    let mut rng = Rng(8);
    for (algorithm, pinned) in HETU_DIGESTS {
        let digest = hex::decode(pinned).unwrap();
        for (encoding, bytes) in digest_forms(&digest, algorithm) {
            let (haystack, offset) = embed(&mut rng, &bytes);
            let findings = scanner.scan_with("raw", &haystack, false);
            // Base64 of a digest without `+`/`/` is the same needle for both alphabets and is
            // reported under the first name, `std`.
            let std_name = encoding.replace("base64-url", "base64-std");
            assert!(
                findings.iter().any(|f| f.canary == "hetu"
                    && (f.encoding == encoding || f.encoding == std_name)
                    && f.offset == offset),
                "{encoding}: {findings:#?}"
            );
        }
    }
}

#[test]
fn email_digests_are_found_as_given_and_lower_cased() {
    use sha2::Digest as _;

    let scanner = scanner();
    let mut rng = Rng(9);
    for (algorithm, pinned) in EMAIL_LOWER_DIGESTS {
        for (encoding, bytes) in digest_forms(&hex::decode(pinned).unwrap(), algorithm) {
            if encoding.starts_with("base64") {
                continue; // Covered for the HETU; the alphabet naming is checked there.
            }
            let (haystack, offset) = embed(&mut rng, &bytes);
            let findings = scanner.scan_with("raw", &haystack, false);
            assert_found(
                &findings,
                "email",
                &format!("{encoding}/lowercased"),
                offset,
            );
        }
    }
    let exact = [
        ("sha256", sha2::Sha256::digest(EMAIL).to_vec()),
        ("sha1", sha1::Sha1::digest(EMAIL).to_vec()),
        ("md5", md5::Md5::digest(EMAIL).to_vec()),
    ];
    for (algorithm, digest) in exact {
        let (haystack, offset) = embed(&mut rng, hex::encode(&digest).as_bytes());
        let findings = scanner.scan_with("raw", &haystack, false);
        assert_found(
            &findings,
            "email",
            &format!("hex-lower/{algorithm}"),
            offset,
        );
        let (haystack, offset) = embed(&mut rng, &digest);
        let findings = scanner.scan_with("raw", &haystack, false);
        assert_found(&findings, "email", &format!("raw/{algorithm}"), offset);
    }
    // The address itself, in upper case, is a text canary too.
    let (haystack, offset) = embed(&mut rng, EMAIL.to_uppercase().as_bytes());
    assert_found(
        &scanner.scan("raw", &haystack),
        "email",
        "utf8-upper",
        offset,
    );
}

#[test]
fn a_clean_haystack_has_no_findings() {
    let scanner = scanner();
    let mut rng = Rng(10);
    let haystack = rng.bytes(4 << 20);
    assert_eq!(scanner.scan("clean", &haystack), []);

    // Text that looks like what a dump holds: near-miss names, dates, another HETU, addresses,
    // hex, base64. Text is scanned without HETU substrings, as a dump test would: the other
    // HETU shares six-character windows with ours, and that is what the flag is for.
    let mut haystack = Vec::new();
    let text = "INSERT INTO notes VALUES ('Aijä Öhman-Virtanen', '131052-308U', \
                'maija.meikalainen@example.com', '2026-01-13 10:52:30', \
                'ed3515bde763330c5943f1829922cbf91d3e5f4ddc659194bd5284487706c3fd', \
                'UMOkaWrDpCDDlmhtYW4tVmlydGFuZW5h');\n";
    // (That base64 is "Päijä Öhman-Virtanena": a lower-case `ä` where the name has `Ä`.)
    for _ in 0..1000 {
        haystack.extend_from_slice(text.as_bytes());
    }
    assert_eq!(scanner.scan_with("clean", &haystack, false), []);
    assert!(
        !scanner.scan("clean", &haystack).is_empty(),
        "the windows are there"
    );
}

#[test]
fn a_near_miss_is_not_found() {
    let scanner = scanner();
    let mut rng = Rng(11);
    let chars: Vec<char> = NAME.chars().collect();
    for position in 0..chars.len() {
        let mut near = chars.clone();
        near[position] = '#';
        let near: String = near.into_iter().collect();
        for (form, _) in case_forms(&near) {
            let mut encodings = vec![
                form.as_bytes().to_vec(),
                utf16le(&form),
                utf16be(&form),
                hex::encode(&form).into_bytes(),
                hex::encode_upper(&form).into_bytes(),
            ];
            // The stable base64 middle leaves up to 4 edge bits of the first and last byte
            // uncovered (documented in the module), so base64 near-misses are checked inside.
            if position != 0 && position != chars.len() - 1 {
                for prefix_len in 0..3 {
                    let mut blob = rng.bytes(prefix_len);
                    blob.extend_from_slice(form.as_bytes());
                    blob.extend_from_slice(&rng.bytes_below(3));
                    encodings.push(STANDARD.encode(&blob).into_bytes());
                    encodings.push(URL_SAFE_NO_PAD.encode(&blob).into_bytes());
                }
            }
            for bytes in encodings {
                let (haystack, _) = embed(&mut rng, &bytes);
                assert_eq!(scanner.scan("near", &haystack), [], "{near:?}");
            }
        }
    }

    // A HETU with one character changed: no full match; its unchanged windows are still
    // (correctly) reported as substrings.
    let near_hetu = "131052-309T";
    let (haystack, _) = embed(&mut rng, near_hetu.as_bytes());
    assert_eq!(scanner.scan_with("text", &haystack, false), []);
    let findings = scanner.scan("raw", &haystack);
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| f.encoding.starts_with("hetu-substring")),
        "{findings:#?}"
    );
}

#[test]
fn overlapping_and_shared_canaries_are_all_reported() {
    let mut scanner = Scanner::new();
    scanner.add_text("name", "Virtanen Äijä");
    scanner.add_text("same name, other patient", "Virtanen Äijä");
    scanner.add_text("note", "kävi vastaanotolla Virtanen Äijä tänään");
    let haystack = "xx kävi vastaanotolla Virtanen Äijä tänään xx".as_bytes();
    let findings = scanner.scan("text", haystack);
    let name_at = "xx kävi vastaanotolla ".len();
    let got: Vec<(&str, &str, usize)> = findings
        .iter()
        .map(|f| (f.canary.as_str(), f.encoding.as_str(), f.offset))
        .collect();
    assert_eq!(
        got,
        [
            ("note", "utf8", 3),
            ("name", "utf8", name_at),
            ("same name, other patient", "utf8", name_at),
        ]
    );
}

#[test]
fn needles_are_counted_and_deduplicated() {
    let mut scanner = Scanner::new();
    assert_eq!(scanner.needle_count(), 0);
    assert_eq!(scanner.scan("empty", b"anything at all"), []);

    // Digits have no case, so the upper and lower forms are the same needles and are dropped;
    // their hex has no letters (lower = upper) and their base64 no `+` or `/` (std = url).
    // Left: utf8/utf16le/utf16be + one hex + base64 at 3 shifts.
    scanner.add_text("number", "1234567890");
    assert_eq!(scanner.needle_count(), 3 + 1 + 3);
    assert_eq!(scanner.canaries().len(), 1);
    assert_eq!(scanner.canaries()[0].text, "1234567890");

    // A scanner keeps working after more canaries are added (the automaton is rebuilt).
    assert_eq!(scanner.scan("a", b"..1234567890..").len(), 1);
    scanner.add_text("other", "0987654321");
    assert_eq!(scanner.scan("b", b"..0987654321..").len(), 1);
}

#[test]
fn many_canaries_scan_together() {
    let mut scanner = Scanner::new();
    let mut rng = Rng(12);
    let names: Vec<String> = (0..2000)
        .map(|i| format!("Potilas-{i:05}-Äijälä"))
        .collect();
    for (i, name) in names.iter().enumerate() {
        scanner.add_text(&format!("patient {i}"), name);
    }
    assert!(scanner.needle_count() > 2000 * 20);
    let (haystack, offset) = embed(&mut rng, &utf16le(&names[1234].to_uppercase()));
    let findings = scanner.scan("random", &haystack);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_found(&findings, "patient 1234", "utf16le-upper", offset);
}

#[test]
#[should_panic(expected = "at least 8")]
fn a_short_canary_is_refused() {
    Scanner::new().add_text("too short", "Äijä");
}

#[test]
#[should_panic(expected = "11 ASCII characters")]
fn a_malformed_hetu_is_refused() {
    Scanner::new().add_hetu("bad", "131052-308");
}
