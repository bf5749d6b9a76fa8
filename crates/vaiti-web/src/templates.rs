//! Note templates: free text, SOAP, DAP and BIRP. A template is only a set of headed sections
//! in the editor; the signed note is plain text with each section under its heading, so any
//! client (the CLI too) reads it without knowing templates.

use crate::i18n::Lang;

/// A note template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// One free-text field.
    Free,
    /// Subjective, Objective, Assessment, Plan.
    Soap,
    /// Data, Assessment, Plan.
    Dap,
    /// Behaviour, Intervention, Response, Plan.
    Birp,
}

impl Template {
    /// Every template, in the order the editor offers them.
    pub const ALL: [Template; 4] = [
        Template::Free,
        Template::Soap,
        Template::Dap,
        Template::Birp,
    ];

    /// The stored name (drafts).
    pub const fn name(self) -> &'static str {
        match self {
            Template::Free => "free",
            Template::Soap => "soap",
            Template::Dap => "dap",
            Template::Birp => "birp",
        }
    }

    /// The template for a stored name (free text for anything unknown).
    pub fn from_name(name: &str) -> Template {
        Template::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .unwrap_or(Template::Free)
    }

    /// The label in the template picker.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Template::Free, Lang::Fi) => "Vapaa teksti",
            (Template::Free, Lang::En) => "Free text",
            (Template::Soap, _) => "SOAP",
            (Template::Dap, _) => "DAP",
            (Template::Birp, _) => "BIRP",
        }
    }

    /// The section headings, in order (one empty heading for free text).
    pub fn sections(self, lang: Lang) -> &'static [&'static str] {
        match (self, lang) {
            (Template::Free, _) => &[""],
            (Template::Soap, Lang::Fi) => &[
                "S — Subjektiivinen (asiakkaan kertoma)",
                "O — Objektiivinen (havainnot)",
                "A — Arvio",
                "P — Suunnitelma",
            ],
            (Template::Soap, Lang::En) => &[
                "S — Subjective",
                "O — Objective",
                "A — Assessment",
                "P — Plan",
            ],
            (Template::Dap, Lang::Fi) => &["D — Tiedot", "A — Arvio", "P — Suunnitelma"],
            (Template::Dap, Lang::En) => &["D — Data", "A — Assessment", "P — Plan"],
            (Template::Birp, Lang::Fi) => &[
                "B — Käyttäytyminen",
                "I — Interventio",
                "R — Vaste",
                "P — Suunnitelma",
            ],
            (Template::Birp, Lang::En) => &[
                "B — Behaviour",
                "I — Intervention",
                "R — Response",
                "P — Plan",
            ],
        }
    }

    /// The note text: each non-empty section under its heading, separated by a blank line.
    pub fn compose(self, lang: Lang, sections: &[String]) -> String {
        let headings = self.sections(lang);
        let mut parts = Vec::new();
        for (i, heading) in headings.iter().enumerate() {
            let text = sections.get(i).map(|s| s.trim_end()).unwrap_or("");
            if text.trim().is_empty() {
                continue;
            }
            if heading.is_empty() {
                parts.push(text.to_string());
            } else {
                parts.push(format!("{heading}\n{text}"));
            }
        }
        parts.join("\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_note_puts_each_section_under_its_heading_and_skips_empty_ones() {
        let text = Template::Soap.compose(
            Lang::En,
            &[
                "Sleeps badly".into(),
                "  ".into(),
                "Low mood".into(),
                "Weekly".into(),
            ],
        );
        assert_eq!(
            text,
            "S — Subjective\nSleeps badly\n\nA — Assessment\nLow mood\n\nP — Plan\nWeekly"
        );
    }

    #[test]
    fn free_text_is_kept_as_typed() {
        assert_eq!(
            Template::Free.compose(Lang::Fi, &["Rivi 1\nRivi 2".into()]),
            "Rivi 1\nRivi 2"
        );
        assert_eq!(Template::Free.compose(Lang::Fi, &[]), "");
    }

    #[test]
    fn every_template_round_trips_its_name_and_has_sections_in_every_language() {
        for t in Template::ALL {
            assert_eq!(Template::from_name(t.name()), t);
            for lang in Lang::ALL {
                assert_eq!(t.sections(lang).len(), t.sections(Lang::Fi).len());
            }
        }
        assert_eq!(Template::from_name("nonsense"), Template::Free);
    }
}
