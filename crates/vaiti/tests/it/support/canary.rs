//! Canary scanner for dump tests: finds patient data in bytes an attacker could steal.
//!
//! A dump test stores known, unique patient data (a name, a note fragment, an e-mail address,
//! a HETU) through the real server, then reads everything the server left on disk or in its
//! logs (the SQLite file and its WAL, `pg_dump` output, log files) and asks this scanner whether
//! any of it appears in any encoding a careless server might have used. The server must only
//! ever hold ciphertext, so every scan is expected to come back empty.
//!
//! Use it from a test module with `use crate::support::canary;`.
//!
//! # What is searched
//!
//! For every canary text (and its Unicode upper- and lower-case forms, e.g. `Äijä` → `ÄIJÄ`,
//! `äijä`):
//!
//! - the UTF-8, UTF-16LE and UTF-16BE bytes;
//! - of the UTF-8 bytes: base64 (standard and URL-safe alphabet) at all three alignments, and
//!   hex in lower and upper case.
//!
//! For a HETU additionally every 6-character substring as raw UTF-8 bytes (only when the caller
//! asks for short substrings, see [`Scanner::scan_with`]), and for a HETU and an e-mail address
//! the unsalted SHA-256, SHA-1 and MD5 digests (of an e-mail both as given and lower-cased), each
//! as raw bytes, lower/upper hex and base64.
//!
//! # Base64 alignment
//!
//! When the canary is a part of a longer base64-encoded blob, its encoding depends on where in
//! the blob it starts, modulo 3 bytes: base64 turns every 3 input bytes into 4 characters, each
//! character carrying 6 bits. For a shift `k` in 0..3 we encode `k` filler bytes followed by the
//! canary and keep only the characters whose 6 bits all come from the canary (the "stable
//! middle"). That middle appears in the encoding of *any* blob with the canary at that shift,
//! whatever comes before or after it, padded or not, so one needle per shift and alphabet covers
//! padded and unpadded encodings alike.
//!
//! The price is that up to 4 bits at each end of the canary are not covered by any stable
//! character: a text that differs from a canary only in those edge bits can be reported as a
//! base64 finding. For a dump test that errs on the safe side.
//!
//! # Limits
//!
//! - Canaries must be at least [`MIN_CANARY_CHARS`] characters (asserted), so that they cannot
//!   occur by chance; the shortest needle is a [`HETU_SUBSTRING_CHARS`]-byte HETU substring.
//! - Not searched: base64 with line breaks inside the canary (MIME, PostgreSQL's
//!   `encode(.., 'base64')`), other Unicode normalisation forms, legacy 8-bit code pages, and
//!   compressed data.

// `support` declares `pub(crate) mod canary;`, so `pub` here is crate-visible only; the API is
// still spelled `pub` because it is the module's interface to every test module that uses it.
#![allow(unreachable_pub)]

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

/// The shortest canary text accepted by [`Scanner::add_text`], in characters.
pub const MIN_CANARY_CHARS: usize = 8;

/// The length of the HETU substrings searched by [`Scanner::scan_with`], in characters.
pub const HETU_SUBSTRING_CHARS: usize = 6;

/// The length of a HETU (`DDMMYYCZZZQ`), in characters.
const HETU_CHARS: usize = 11;

/// One piece of patient data that must never appear in a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    /// What the canary is, for the test's failure message (e.g. `"patient name"`).
    pub label: String,
    /// The data itself, exactly as it was given to the server.
    pub text: String,
}

/// One occurrence of a canary in a haystack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The label of the canary that was found.
    pub canary: String,
    /// How it was encoded: `utf8`, `utf16le`, `utf16be`, each possibly with `-upper` or
    /// `-lower`; `<transform>/<input>` with transform `raw`, `hex-lower`, `hex-upper` or
    /// `base64-{std,url}@<shift>` and input `utf8[-upper|-lower]` or a digest
    /// `{sha256,sha1,md5}[/lowercased]` (e.g. `base64-url@2/utf8-lower`, `hex-upper/sha1`,
    /// `raw/md5/lowercased`); or `hetu-substring[<start>..<end>]`.
    pub encoding: String,
    /// The byte offset of the match in the haystack.
    pub offset: usize,
    /// The name of the haystack, as passed to [`Scanner::scan`] (e.g. a file name).
    pub source: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{}: canary {:?} encoded as {}",
            self.source, self.offset, self.canary, self.encoding
        )
    }
}

/// Who a search pattern belongs to and what it means.
#[derive(Debug, Clone)]
struct Needle {
    /// Index into `Scanner::canaries`.
    canary: usize,
    encoding: String,
    /// A HETU substring: reported only when the caller asks for short substrings.
    short: bool,
}

/// A set of canaries, searched for all at once with one Aho-Corasick automaton.
pub struct Scanner {
    canaries: Vec<Canary>,
    /// Distinct search patterns; `owners[i]` says whose `patterns[i]` is. Different canaries may
    /// share a pattern, so one match can yield several findings.
    patterns: Vec<Vec<u8>>,
    owners: Vec<Vec<Needle>>,
    /// Pattern bytes → index into `patterns`.
    index: HashMap<Vec<u8>, usize>,
    /// Built on the first scan after the last `add_*`, so a test can scan many files against
    /// the same canaries without rebuilding it.
    automaton: OnceLock<AhoCorasick>,
}

impl fmt::Debug for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The automaton's internals would drown the interesting part.
        f.debug_struct("Scanner")
            .field("canaries", &self.canaries)
            .field("needles", &self.needle_count())
            .finish_non_exhaustive()
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    /// An empty scanner: it finds nothing.
    pub fn new() -> Self {
        Self {
            canaries: Vec::new(),
            patterns: Vec::new(),
            owners: Vec::new(),
            index: HashMap::new(),
            automaton: OnceLock::new(),
        }
    }

    /// Adds a generic canary (a name, note text, a title) in all text encodings.
    ///
    /// # Panics
    ///
    /// If `text` is shorter than [`MIN_CANARY_CHARS`] characters.
    pub fn add_text(&mut self, label: &str, text: &str) {
        assert_long_enough(label, text);
        let canary = self.push_canary(label, text);
        self.add_text_needles(canary, text);
    }

    /// Adds a HETU: the text encodings, every [`HETU_SUBSTRING_CHARS`]-character substring and
    /// the unsalted digests.
    ///
    /// # Panics
    ///
    /// If `hetu` is not 11 ASCII characters.
    pub fn add_hetu(&mut self, label: &str, hetu: &str) {
        assert!(
            hetu.is_ascii() && hetu.len() == HETU_CHARS,
            "canary {label:?}: a HETU is {HETU_CHARS} ASCII characters, got {} bytes",
            hetu.len()
        );
        let canary = self.push_canary(label, hetu);
        self.add_text_needles(canary, hetu);
        // ASCII, so byte offsets are character offsets.
        for start in 0..=hetu.len() - HETU_SUBSTRING_CHARS {
            let end = start + HETU_SUBSTRING_CHARS;
            self.push_needle(
                canary,
                hetu.as_bytes()[start..end].to_vec(),
                format!("hetu-substring[{start}..{end}]"),
                true,
            );
        }
        self.add_digest_needles(canary, hetu.as_bytes(), "");
    }

    /// Adds an e-mail address: the text encodings and the unsalted digests of the address as
    /// given and lower-cased.
    ///
    /// # Panics
    ///
    /// If `email` is shorter than [`MIN_CANARY_CHARS`] characters.
    pub fn add_email(&mut self, label: &str, email: &str) {
        assert_long_enough(label, email);
        let canary = self.push_canary(label, email);
        self.add_text_needles(canary, email);
        self.add_digest_needles(canary, email.as_bytes(), "");
        // When the address is already lower-case these are the same patterns and are dropped.
        self.add_digest_needles(canary, email.to_lowercase().as_bytes(), "/lowercased");
    }

    /// Every occurrence of every canary in `haystack`, including HETU substrings; sorted by
    /// offset. `source` names the haystack in the findings.
    pub fn scan(&self, source: &str, haystack: &[u8]) -> Vec<Finding> {
        self.scan_with(source, haystack, true)
    }

    /// Like [`scan`](Self::scan), but HETU substrings are reported only when `short_substrings`
    /// is true. Six characters can occur by chance in text (a date of birth is six digits), so
    /// a caller uses them only on raw binary haystacks.
    pub fn scan_with(&self, source: &str, haystack: &[u8], short_substrings: bool) -> Vec<Finding> {
        let mut findings = Vec::new();
        // Overlapping search: a HETU overlaps its own substrings, and two canaries may overlap.
        for found in self.automaton().find_overlapping_iter(haystack) {
            for needle in &self.owners[found.pattern().as_usize()] {
                if needle.short && !short_substrings {
                    continue;
                }
                findings.push(Finding {
                    canary: self.canaries[needle.canary].label.clone(),
                    encoding: needle.encoding.clone(),
                    offset: found.start(),
                    source: source.to_owned(),
                });
            }
        }
        findings.sort_by(|a, b| {
            (a.offset, &a.canary, &a.encoding).cmp(&(b.offset, &b.canary, &b.encoding))
        });
        findings
    }

    /// How many (pattern, canary) pairs are searched for.
    pub fn needle_count(&self) -> usize {
        self.owners.iter().map(Vec::len).sum()
    }

    /// The canaries added so far.
    pub fn canaries(&self) -> &[Canary] {
        &self.canaries
    }

    fn push_canary(&mut self, label: &str, text: &str) -> usize {
        self.canaries.push(Canary {
            label: label.to_owned(),
            text: text.to_owned(),
        });
        self.canaries.len() - 1
    }

    /// The text encodings of `text` and of its upper- and lower-case forms.
    fn add_text_needles(&mut self, canary: usize, text: &str) {
        // The original first, so that a case form equal to it keeps the plain name.
        let forms = [
            (text.to_owned(), ""),
            (text.to_uppercase(), "-upper"),
            (text.to_lowercase(), "-lower"),
        ];
        for (form, case) in &forms {
            self.push_needle(
                canary,
                form.as_bytes().to_vec(),
                format!("utf8{case}"),
                false,
            );
            let utf16le = form.encode_utf16().flat_map(u16::to_le_bytes).collect();
            self.push_needle(canary, utf16le, format!("utf16le{case}"), false);
            let utf16be = form.encode_utf16().flat_map(u16::to_be_bytes).collect();
            self.push_needle(canary, utf16be, format!("utf16be{case}"), false);
        }
        for (form, case) in &forms {
            self.add_binary_encodings(canary, form.as_bytes(), &format!("utf8{case}"));
        }
    }

    /// SHA-256, SHA-1 and MD5 of `data`: raw, hex and base64.
    fn add_digest_needles(&mut self, canary: usize, data: &[u8], suffix: &str) {
        let digests = [
            ("sha256", Sha256::digest(data).to_vec()),
            ("sha1", Sha1::digest(data).to_vec()),
            ("md5", Md5::digest(data).to_vec()),
        ];
        for (algorithm, digest) in digests {
            let what = format!("{algorithm}{suffix}");
            self.push_needle(canary, digest.clone(), format!("raw/{what}"), false);
            self.add_binary_encodings(canary, &digest, &what);
        }
    }

    /// Base64 (both alphabets, all three alignments) and hex (both cases) of `bytes`.
    /// `what` names `bytes` in the encoding, e.g. `utf8-upper`.
    fn add_binary_encodings(&mut self, canary: usize, bytes: &[u8], what: &str) {
        for (alphabet, engine) in [("std", &STANDARD_NO_PAD), ("url", &URL_SAFE_NO_PAD)] {
            for shift in 0..3 {
                self.push_needle(
                    canary,
                    base64_stable_middle(engine, bytes, shift),
                    format!("base64-{alphabet}@{shift}/{what}"),
                    false,
                );
            }
        }
        self.push_needle(
            canary,
            hex::encode(bytes).into_bytes(),
            format!("hex-lower/{what}"),
            false,
        );
        self.push_needle(
            canary,
            hex::encode_upper(bytes).into_bytes(),
            format!("hex-upper/{what}"),
            false,
        );
    }

    /// Records that `canary` is found as `pattern`, unless that canary already has it (e.g. the
    /// upper-case form of a HETU without letters, or base64 without `+` and `/`, where both
    /// alphabets agree): the first name given wins.
    fn push_needle(&mut self, canary: usize, pattern: Vec<u8>, encoding: String, short: bool) {
        // Canary lengths are asserted by the callers; this guards the derived patterns.
        assert!(
            pattern.len() >= HETU_SUBSTRING_CHARS,
            "internal: needle {encoding} is only {} bytes",
            pattern.len()
        );
        let slot = match self.index.get(&pattern) {
            Some(&slot) => slot,
            None => {
                self.index.insert(pattern.clone(), self.patterns.len());
                self.patterns.push(pattern);
                self.owners.push(Vec::new());
                self.patterns.len() - 1
            }
        };
        let owners = &mut self.owners[slot];
        if owners.iter().any(|needle| needle.canary == canary) {
            return;
        }
        owners.push(Needle {
            canary,
            encoding,
            short,
        });
        self.automaton = OnceLock::new();
    }

    // Test-support code: a pattern set the automaton cannot hold is a bug in the test.
    #[allow(clippy::expect_used)]
    fn automaton(&self) -> &AhoCorasick {
        self.automaton.get_or_init(|| {
            // The default match kind (`Standard`) is the one that supports overlapping search.
            AhoCorasick::new(&self.patterns)
                .expect("canary patterns fit in an Aho-Corasick automaton")
        })
    }
}

fn assert_long_enough(label: &str, text: &str) {
    let chars = text.chars().count();
    assert!(
        chars >= MIN_CANARY_CHARS,
        "canary {label:?} has {chars} characters; at least {MIN_CANARY_CHARS} are needed so it \
         cannot occur by chance"
    );
}

/// The base64 characters that depend only on `bytes` when `bytes` start `shift` (0..3) bytes
/// past a 3-byte boundary of a longer encoded blob.
///
/// Output character `j` carries input bits `6j .. 6j + 6`; the canary occupies bits
/// `8 * shift .. 8 * (shift + len)`. The characters wholly inside that range are
/// `ceil(8 * shift / 6) .. floor(8 * (shift + len) / 6)`. The filler bytes' values do not
/// matter: they only reach characters outside that range.
fn base64_stable_middle(engine: &GeneralPurpose, bytes: &[u8], shift: usize) -> Vec<u8> {
    let mut blob = vec![0u8; shift];
    blob.extend_from_slice(bytes);
    let encoded = engine.encode(&blob);
    let first = (8 * shift).div_ceil(6);
    let end = 8 * (shift + bytes.len()) / 6;
    encoded.as_bytes()[first..end].to_vec()
}
