//! Finnish sorting and accent-insensitive search, done on the device over decrypted names (the
//! server has no names to sort or search).
//!
//! Finnish collation puts `å`, `ä` and `ö` after `z` as letters of their own, and treats other
//! accented Latin letters (`é`, `ü`, `š`, …) as their base letter. Search is looser still: a
//! receptionist typing "hameenlinna" or "MEIKALAINEN" must find "Hämeenlinna" and
//! "Meikäläinen", so search folds every accent, case and run of spaces.

use std::cmp::Ordering;

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// The sort key of one character in Finnish order: base letter, then the Finnish extra letters
/// after `z`.
fn finnish_weight(c: char) -> (u32, u32) {
    match c {
        'å' => ('z' as u32 + 1, 0),
        'ä' | 'æ' => ('z' as u32 + 2, 0),
        'ö' | 'ø' => ('z' as u32 + 3, 0),
        _ => {
            let mut base = c.nfd().filter(|c| !is_combining_mark(*c));
            let b = base.next().unwrap_or(c);
            // Secondary weight: the accented form after the plain one, so "e" < "é" breaks ties.
            (b as u32, u32::from(b != c))
        }
    }
}

/// Compares two names in Finnish alphabetical order, ignoring case (ties broken by accent, then
/// by the exact text so the order is total and stable).
pub fn finnish_cmp(a: &str, b: &str) -> Ordering {
    let key = |s: &str| -> Vec<(u32, u32)> {
        s.nfc()
            .flat_map(char::to_lowercase)
            .map(finnish_weight)
            .collect()
    };
    let (ka, kb) = (key(a), key(b));
    let primary = |k: &[(u32, u32)]| k.iter().map(|w| w.0).collect::<Vec<_>>();
    primary(&ka)
        .cmp(&primary(&kb))
        .then_with(|| ka.cmp(&kb))
        .then_with(|| a.cmp(b))
}

/// The form of a text that search compares: lower case, every accent removed (ä → a, é → e),
/// whitespace runs collapsed to one space, trimmed.
pub fn search_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        match c {
            'ø' | 'Ø' => out.push('o'),
            'æ' | 'Æ' => out.push('a'),
            'ß' => out.push_str("ss"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Whether every word of `query` occurs in one of `fields` (accent- and case-insensitively), so
/// "maija 1952" finds Maija born in 1952. An empty query matches everything.
pub fn matches(query: &str, fields: &[&str]) -> bool {
    let folded: Vec<String> = fields.iter().map(|f| search_fold(f)).collect();
    search_fold(query)
        .split(' ')
        .filter(|w| !w.is_empty())
        .all(|w| folded.iter().any(|f| f.contains(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| (*s).to_string()).collect();
        v.sort_by(|a, b| finnish_cmp(a, b));
        v
    }

    #[test]
    fn finnish_letters_sort_after_z() {
        assert_eq!(
            sorted(&["Öhman", "Aalto", "Ärvinen", "Zetterberg", "Åberg", "Ahonen"]),
            ["Aalto", "Ahonen", "Zetterberg", "Åberg", "Ärvinen", "Öhman"]
        );
    }

    #[test]
    fn other_accents_sort_with_their_base_letter_and_case_is_ignored() {
        assert_eq!(
            sorted(&["Eskola", "émile", "Ezra", "ebeling"]),
            ["ebeling", "émile", "Eskola", "Ezra"]
        );
        // The plain letter comes before the accented one when nothing else differs.
        assert_eq!(sorted(&["René", "Rene"]), ["Rene", "René"]);
    }

    #[test]
    fn decomposed_and_composed_forms_sort_the_same() {
        let composed = "Mäkinen";
        let decomposed = "Ma\u{308}kinen";
        assert_eq!(
            finnish_cmp(composed, "Öberg"),
            finnish_cmp(decomposed, "Öberg")
        );
        // ä sorts after z even when typed as a + combining diaeresis.
        assert_eq!(finnish_cmp(decomposed, "Mazur"), Ordering::Greater);
    }

    #[test]
    fn search_ignores_accents_case_and_spacing() {
        assert_eq!(search_fold("  Maija   MEIKÄLÄINEN "), "maija meikalainen");
        assert!(matches("meikalainen", &["Maija Meikäläinen"]));
        assert!(matches("HÄMEEN", &["Hämeenlinna"]));
        assert!(matches("maija 1952", &["Maija Meikäläinen", "1952-10-13"]));
        assert!(!matches("maija 1953", &["Maija Meikäläinen", "1952-10-13"]));
        assert!(matches("", &["anything"]));
        assert!(matches("sorensen", &["Søren Sørensen"]));
    }
}
