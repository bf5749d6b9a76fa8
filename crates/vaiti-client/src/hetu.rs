//! Finnish personal identity codes (henkilötunnus, HETU), validated on the device.
//!
//! A HETU never reaches the server in the clear: it is checked here, as it is typed, and then
//! sealed inside the identity record. The format is `DDMMYYCZZZQ`: birth date, a century sign,
//! an individual number and a check character. Since 2023 the century signs are `+` (1800s),
//! `-`, `Y`, `X`, `W`, `V`, `U` (1900s) and `A`, `B`, `C`, `D`, `E`, `F` (2000s). The check
//! character is `DDMMYYZZZ mod 31` in the alphabet `0123456789ABCDEFHJKLMNPRSTUVWXY`.
//! Individual numbers 900–999 are temporary codes (used also for test data); 000 and 001 are
//! never issued.

use core::fmt;

const CHECK_ALPHABET: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

/// Why a HETU was rejected, in words a front-desk worker can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HetuError {
    /// Not 11 characters of the right shape.
    #[error("a HETU has 11 characters: DDMMYY, a century sign, three digits and a check character")]
    Shape,
    /// The century sign is not one of the valid ones.
    #[error(
        "the 7th character must be a century sign: + for the 1800s, - Y X W V U for the 1900s, A B C D E F for the 2000s"
    )]
    CenturySign,
    /// The first six digits are not a real date.
    #[error("the first six digits are not a valid birth date (DDMMYY)")]
    Date,
    /// 000 and 001 are never issued.
    #[error("the individual number (characters 8–10) must be between 002 and 999")]
    IndividualNumber,
    /// The check character does not match: most likely a typo.
    #[error("the check character does not match: please check the HETU for a typo")]
    Checksum,
}

/// A valid HETU, normalised to upper case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Hetu {
    text: String,
    year: u16,
    month: u8,
    day: u8,
    individual: u16,
}

impl Hetu {
    /// Validates `input` (surrounding whitespace ignored, letters in either case).
    pub fn parse(input: &str) -> Result<Self, HetuError> {
        let text = input.trim().to_ascii_uppercase();
        let b = text.as_bytes();
        if b.len() != 11 || !text.is_ascii() {
            return Err(HetuError::Shape);
        }
        let digits = |range: core::ops::Range<usize>| -> Result<u32, HetuError> {
            let part = b.get(range).ok_or(HetuError::Shape)?;
            part.iter().try_fold(0u32, |acc, &c| {
                if c.is_ascii_digit() {
                    Ok(acc * 10 + u32::from(c - b'0'))
                } else {
                    Err(HetuError::Shape)
                }
            })
        };
        let (day, month, yy) = (digits(0..2)?, digits(2..4)?, digits(4..6)?);
        let individual = digits(7..10)?;
        let century: u32 = match b.get(6) {
            Some(b'+') => 1800,
            Some(b'-' | b'Y' | b'X' | b'W' | b'V' | b'U') => 1900,
            Some(b'A' | b'B' | b'C' | b'D' | b'E' | b'F') => 2000,
            _ => return Err(HetuError::CenturySign),
        };
        let year = century + yy;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(HetuError::Date);
        }
        if individual < 2 {
            return Err(HetuError::IndividualNumber);
        }
        let number = (day * 10_000 + month * 100 + yy) * 1000 + individual;
        let expected = CHECK_ALPHABET.get((number % 31) as usize).copied();
        if b.get(10).copied() != expected {
            return Err(HetuError::Checksum);
        }
        Ok(Self {
            text,
            year: year as u16,
            month: month as u8,
            day: day as u8,
            individual: individual as u16,
        })
    }

    /// The code for a birth date and an individual number, with the main century sign of its
    /// century (`+`, `-` or `A`) and its check character; validated as [`Hetu::parse`] does
    /// (test data and the demo use the temporary numbers 900–999).
    pub fn from_parts(year: u16, month: u8, day: u8, individual: u16) -> Result<Self, HetuError> {
        let sign = match year {
            1800..=1899 => '+',
            1900..=1999 => '-',
            2000..=2099 => 'A',
            _ => return Err(HetuError::CenturySign),
        };
        if individual > 999 {
            return Err(HetuError::IndividualNumber);
        }
        let yy = u32::from(year % 100);
        let number =
            (u32::from(day) * 10_000 + u32::from(month) * 100 + yy) * 1000 + u32::from(individual);
        let check = CHECK_ALPHABET
            .get((number % 31) as usize)
            .map(|c| char::from(*c))
            .ok_or(HetuError::Checksum)?;
        Self::parse(&format!(
            "{day:02}{month:02}{yy:02}{sign}{individual:03}{check}"
        ))
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The birth date as (year, month, day).
    pub fn birth_date(&self) -> (u16, u8, u8) {
        (self.year, self.month, self.day)
    }

    /// Whether this is a temporary code (individual number 900–999).
    pub fn is_temporary(&self) -> bool {
        self.individual >= 900
    }
}

impl fmt::Debug for Hetu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An identity number must not reach a log through a stray `{:?}`.
        f.write_str("Hetu([redacted])")
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a valid HETU (test helper; independent of `parse`'s code path for the check char).
    fn make(day: u32, month: u32, year: u32, sign: char, individual: u32) -> String {
        let yy = year % 100;
        let n = (day * 10_000 + month * 100 + yy) * 1000 + individual;
        let check = "0123456789ABCDEFHJKLMNPRSTUVWXY"
            .chars()
            .nth((n % 31) as usize)
            .unwrap();
        format!("{day:02}{month:02}{yy:02}{sign}{individual:03}{check}")
    }

    #[test]
    fn from_parts_builds_the_published_code() {
        assert_eq!(
            Hetu::from_parts(1952, 10, 13, 308).unwrap().as_str(),
            "131052-308T"
        );
        assert_eq!(
            Hetu::from_parts(2024, 1, 1, 901).unwrap().as_str(),
            make(1, 1, 2024, 'A', 901)
        );
        assert_eq!(
            Hetu::from_parts(1899, 12, 31, 2).unwrap().as_str(),
            make(31, 12, 1899, '+', 2)
        );
        assert_eq!(Hetu::from_parts(2023, 2, 29, 950), Err(HetuError::Date));
        assert_eq!(
            Hetu::from_parts(1990, 5, 5, 1),
            Err(HetuError::IndividualNumber)
        );
        assert_eq!(
            Hetu::from_parts(1990, 5, 5, 1000),
            Err(HetuError::IndividualNumber)
        );
        assert_eq!(
            Hetu::from_parts(2100, 1, 1, 950),
            Err(HetuError::CenturySign)
        );
    }

    #[test]
    fn known_examples() {
        // The example used by the Digital and Population Data Services Agency.
        let h = Hetu::parse("131052-308T").unwrap();
        assert_eq!(h.birth_date(), (1952, 10, 13));
        assert!(!h.is_temporary());
        // The same check rule applies to the 2023 century signs.
        let h = Hetu::parse(&make(1, 1, 2024, 'B', 900)).unwrap();
        assert_eq!(h.birth_date(), (2024, 1, 1));
        assert!(h.is_temporary());
        assert_eq!(
            Hetu::parse(" 131052-308t ").unwrap().as_str(),
            "131052-308T"
        );
    }

    #[test]
    fn clear_errors() {
        assert_eq!(Hetu::parse("131052-308"), Err(HetuError::Shape));
        assert_eq!(Hetu::parse("13105X-308T"), Err(HetuError::Shape));
        assert_eq!(Hetu::parse("131052G308T"), Err(HetuError::CenturySign));
        assert_eq!(
            Hetu::parse(&make(30, 2, 1990, '-', 123)),
            Err(HetuError::Date)
        );
        assert_eq!(
            Hetu::parse(&make(29, 2, 1900, '-', 123)),
            Err(HetuError::Date),
            "1900 was not a leap year"
        );
        assert!(
            Hetu::parse(&make(29, 2, 2000, 'A', 123)).is_ok(),
            "2000 was a leap year"
        );
        assert_eq!(
            Hetu::parse(&make(1, 13, 1990, '-', 123)),
            Err(HetuError::Date)
        );
        assert_eq!(
            Hetu::parse(&make(1, 1, 1990, '-', 1)),
            Err(HetuError::IndividualNumber)
        );
        assert_eq!(Hetu::parse("131052-308U"), Err(HetuError::Checksum));
        assert_eq!(Hetu::parse("ääääää-ääää"), Err(HetuError::Shape));
    }

    #[test]
    fn debug_does_not_print_the_number() {
        assert_eq!(
            format!("{:?}", Hetu::parse("131052-308T").unwrap()),
            "Hetu([redacted])"
        );
    }

    proptest! {
        #[test]
        fn every_valid_code_parses_and_every_digit_typo_is_caught(
            year in 1800u32..2100, month in 1u32..=12, day_seed in 0u32..31, individual in 2u32..1000,
            alt in 0usize..6, pos in 0usize..9, delta in 1u32..10,
        ) {
            let day = 1 + day_seed % days_in_month(year, month);
            let sign = match year {
                1800..=1899 => '+',
                1900..=1999 => ['-', 'Y', 'X', 'W', 'V', 'U'][alt],
                _ => ['A', 'B', 'C', 'D', 'E', 'F'][alt],
            };
            let text = make(day, month, year, sign, individual);
            let h = Hetu::parse(&text).unwrap();
            prop_assert_eq!(h.birth_date(), (year as u16, month as u8, day as u8));
            // Change one of the nine digits: the check character (mod 31, a prime) always notices,
            // unless the change makes the date itself invalid first.
            let idx = if pos < 6 { pos } else { pos + 1 };
            let mut bytes = text.into_bytes();
            bytes[idx] = b'0' + ((u32::from(bytes[idx] - b'0') + delta) % 10) as u8;
            let typo = String::from_utf8(bytes).unwrap();
            prop_assert!(Hetu::parse(&typo).is_err(), "{} accepted", typo);
        }
    }
}
