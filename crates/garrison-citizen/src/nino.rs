//! National Insurance numbers under HMRC's rules (National Insurance Manual NIM39110).
//!
//! A number is two prefix letters, six digits and a suffix letter A–D, shown as
//! `QQ 12 34 56 A` (`QQ` is never issued, so it makes an obviously fake example). Neither
//! prefix letter is D, F, I, Q, U or V; the second is not O; the prefixes BG, GB, KN, NK, NT,
//! TN and ZZ are not issued. That leaves 373 prefixes, so 373,000,000 numbers. The suffix is
//! not part of a person's identity: a number is unique without it.
//!
//! The generator gives person `id` the number at position `permute(seed, id)` of that space,
//! where `permute` is a bijection, so numbers are unique within a population by construction
//! (no set of issued numbers to consult), and look scattered rather than sequential.

use std::fmt;

use crate::CitizenError;

/// Letters that never appear in either prefix position.
const FORBIDDEN_LETTERS: &[u8] = b"DFIQUV";

/// Prefixes made of allowed letters that HMRC nevertheless does not issue.
const UNISSUED_PREFIXES: [[u8; 2]; 7] = [*b"BG", *b"GB", *b"KN", *b"NK", *b"NT", *b"TN", *b"ZZ"];

/// How many prefixes are issued.
pub const PREFIX_COUNT: usize = 373;

/// How many distinct numbers (without suffix) exist: the most people a population can hold.
pub const NINO_SPACE: u64 = PREFIX_COUNT as u64 * 1_000_000;

const PREFIXES: [[u8; 2]; PREFIX_COUNT] = issued_prefixes();

// An odd multiplier, prime, and neither 5 nor 373: coprime with 373 × 2⁶ × 5⁶, so
// `x ↦ (A·x + b) mod NINO_SPACE` is a bijection of the number space.
const MULTIPLIER: u64 = 2_654_435_761;

/// Which rule a rejected National Insurance number breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NinoRule {
    /// Not nine characters (two letters, six digits, a suffix) once spaces are removed.
    Length,
    /// A prefix position holds something other than a letter.
    PrefixNotLetters,
    /// A prefix letter is D, F, I, Q, U or V.
    ForbiddenLetter,
    /// The second prefix letter is O.
    SecondLetterO,
    /// The prefix is one never issued (BG, GB, KN, NK, NT, TN, ZZ).
    UnissuedPrefix,
    /// The middle six characters are not all digits.
    NotDigits,
    /// The suffix is not A, B, C or D.
    Suffix,
}

impl fmt::Display for NinoRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NinoRule::Length => "expected two letters, six digits and a suffix letter",
            NinoRule::PrefixNotLetters => "the prefix must be two letters",
            NinoRule::ForbiddenLetter => "the prefix cannot contain D, F, I, Q, U or V",
            NinoRule::SecondLetterO => "the second prefix letter cannot be O",
            NinoRule::UnissuedPrefix => "BG, GB, KN, NK, NT, TN and ZZ are not issued",
            NinoRule::NotDigits => "the middle six characters must be digits",
            NinoRule::Suffix => "the suffix must be A, B, C or D",
        })
    }
}

/// A valid National Insurance number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nino {
    prefix: [u8; 2],
    number: u32,
    suffix: u8,
}

// === impl Nino ===

impl Nino {
    /// Parses a number, with or without spaces, in either case: `QQ123456A`, `qq 12 34 56 a`.
    pub fn parse(input: &str) -> Result<Self, CitizenError> {
        check(input).map_err(CitizenError::InvalidNino)
    }

    /// The number at `index` (below [`NINO_SPACE`]) of the space of issued numbers, in
    /// prefix-then-digits order, with this suffix (`b'A'`..=`b'D'`).
    pub fn from_index(index: u64, suffix: u8) -> Option<Self> {
        if index >= NINO_SPACE || !(b'A'..=b'D').contains(&suffix) {
            return None;
        }
        Some(Nino {
            prefix: PREFIXES[(index / 1_000_000) as usize],
            number: (index % 1_000_000) as u32,
            suffix,
        })
    }

    /// The number the generator gives person `id` (1 to [`NINO_SPACE`]) of the population with
    /// this seed. Distinct ids get numbers distinct without their suffix.
    pub fn for_person(seed: u64, id: u64, suffix: u8) -> Option<Self> {
        let index = id.checked_sub(1)?;
        if index >= NINO_SPACE {
            return None;
        }
        let offset = crate::generate::mix(seed, 0x4e49_4e4f) % NINO_SPACE;
        let permuted = (MULTIPLIER % NINO_SPACE * index + offset) % NINO_SPACE;
        Nino::from_index(permuted, suffix)
    }

    /// The identity part: prefix and digits, `QQ123456` (the suffix is not part of it).
    pub fn stem(&self) -> String {
        format!(
            "{}{}{:06}",
            char::from(self.prefix[0]),
            char::from(self.prefix[1]),
            self.number
        )
    }

    /// The compact form, `QQ123456A`.
    pub fn compact(&self) -> String {
        format!("{}{}", self.stem(), char::from(self.suffix))
    }

    /// The last four digits: what the DWP Citizen API calls a `ninoFragment`.
    pub fn fragment(&self) -> String {
        format!("{:04}", self.number % 10_000)
    }

    /// The suffix letter.
    pub fn suffix(&self) -> char {
        char::from(self.suffix)
    }
}

impl fmt::Display for Nino {
    /// The form HMRC prints: `QQ 12 34 56 A`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.number;
        write!(
            f,
            "{}{} {:02} {:02} {:02} {}",
            char::from(self.prefix[0]),
            char::from(self.prefix[1]),
            n / 10_000,
            n / 100 % 100,
            n % 100,
            char::from(self.suffix)
        )
    }
}

impl fmt::Debug for Nino {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nino({self})")
    }
}

impl std::str::FromStr for Nino {
    type Err = CitizenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Nino::parse(s)
    }
}

fn check(input: &str) -> Result<Nino, NinoRule> {
    let mut chars = [0u8; 9];
    let mut len = 0;
    for c in input.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if len == chars.len() {
            return Err(NinoRule::Length);
        }
        chars[len] = c.to_ascii_uppercase();
        len += 1;
    }
    if len != chars.len() {
        return Err(NinoRule::Length);
    }
    let (a, b) = (chars[0], chars[1]);
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return Err(NinoRule::PrefixNotLetters);
    }
    if FORBIDDEN_LETTERS.contains(&a) || FORBIDDEN_LETTERS.contains(&b) {
        return Err(NinoRule::ForbiddenLetter);
    }
    if b == b'O' {
        return Err(NinoRule::SecondLetterO);
    }
    if UNISSUED_PREFIXES.contains(&[a, b]) {
        return Err(NinoRule::UnissuedPrefix);
    }
    let mut number = 0u32;
    for &c in &chars[2..8] {
        if !c.is_ascii_digit() {
            return Err(NinoRule::NotDigits);
        }
        number = number * 10 + u32::from(c - b'0');
    }
    if !(b'A'..=b'D').contains(&chars[8]) {
        return Err(NinoRule::Suffix);
    }
    Ok(Nino {
        prefix: [a, b],
        number,
        suffix: chars[8],
    })
}

const fn prefix_issued(a: u8, b: u8) -> bool {
    let mut i = 0;
    while i < FORBIDDEN_LETTERS.len() {
        if a == FORBIDDEN_LETTERS[i] || b == FORBIDDEN_LETTERS[i] {
            return false;
        }
        i += 1;
    }
    if b == b'O' {
        return false;
    }
    let mut j = 0;
    while j < UNISSUED_PREFIXES.len() {
        if a == UNISSUED_PREFIXES[j][0] && b == UNISSUED_PREFIXES[j][1] {
            return false;
        }
        j += 1;
    }
    true
}

// Evaluated at compile time: a miscount of PREFIX_COUNT fails the build (index out of bounds,
// or the assertion below).
const fn issued_prefixes() -> [[u8; 2]; PREFIX_COUNT] {
    let mut out = [[0u8; 2]; PREFIX_COUNT];
    let mut n = 0;
    let mut a = b'A';
    while a <= b'Z' {
        let mut b = b'A';
        while b <= b'Z' {
            if prefix_issued(a, b) {
                out[n] = [a, b];
                n += 1;
            }
            b += 1;
        }
        a += 1;
    }
    assert!(n == PREFIX_COUNT);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn rule(input: &str) -> NinoRule {
        match Nino::parse(input) {
            Err(CitizenError::InvalidNino(rule)) => rule,
            other => panic!("{input}: expected a rule violation, got {other:?}"),
        }
    }

    #[test]
    fn two_million_generated_numbers_are_valid_and_unique_without_suffix() {
        let mut stems = HashSet::with_capacity(2_000_000);
        for id in 1..=2_000_000u64 {
            let suffix = b'A' + (id % 4) as u8;
            let nino = Nino::for_person(7, id, suffix).unwrap();
            let text = nino.to_string();
            assert_eq!(Nino::parse(&text).unwrap(), nino, "{text}");
            assert!(stems.insert(nino.stem()), "duplicate {text}");
        }
    }

    #[test]
    fn the_permutation_is_a_bijection_at_the_edges_of_the_space() {
        let first = Nino::for_person(1, 1, b'A').unwrap();
        let last = Nino::for_person(1, NINO_SPACE, b'A').unwrap();
        assert_ne!(first.stem(), last.stem());
        assert!(Nino::for_person(1, 0, b'A').is_none());
        assert!(Nino::for_person(1, NINO_SPACE + 1, b'A').is_none());
        assert_eq!(Nino::from_index(0, b'A').unwrap().compact(), "AA000000A");
        assert_eq!(
            Nino::from_index(NINO_SPACE - 1, b'D').unwrap().compact(),
            "ZY999999D"
        );
    }

    #[test]
    fn every_prefix_follows_the_rules() {
        for p in PREFIXES {
            let text = format!("{}{}123456A", char::from(p[0]), char::from(p[1]));
            assert!(Nino::parse(&text).is_ok(), "{text}");
        }
    }

    #[test]
    fn parses_with_spaces_in_either_case_and_prints_hmrc_form() {
        let nino = Nino::parse("ab 12 34 56 c").unwrap();
        assert_eq!(nino.to_string(), "AB 12 34 56 C");
        assert_eq!(nino.compact(), "AB123456C");
        assert_eq!(nino.stem(), "AB123456");
        assert_eq!(nino.fragment(), "3456");
        assert_eq!(Nino::parse("AB123456C").unwrap(), nino);
    }

    #[test]
    fn rejects_each_forbidden_case() {
        assert_eq!(rule("QQ 12 34 56 A"), NinoRule::ForbiddenLetter);
        for letter in ["D", "F", "I", "Q", "U", "V"] {
            assert_eq!(
                rule(&format!("{letter}A123456A")),
                NinoRule::ForbiddenLetter
            );
            assert_eq!(
                rule(&format!("A{letter}123456A")),
                NinoRule::ForbiddenLetter
            );
        }
        assert_eq!(rule("AO123456A"), NinoRule::SecondLetterO);
        assert!(Nino::parse("OA123456A").is_ok(), "O is allowed first");
        for prefix in ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"] {
            assert_eq!(rule(&format!("{prefix}123456A")), NinoRule::UnissuedPrefix);
        }
        assert_eq!(rule("AB123456E"), NinoRule::Suffix);
        assert_eq!(rule("AB1234567"), NinoRule::Suffix);
        assert_eq!(rule("AB12345XA"), NinoRule::NotDigits);
        assert_eq!(rule("1B123456A"), NinoRule::PrefixNotLetters);
        assert_eq!(rule("AB123456"), NinoRule::Length);
        assert_eq!(rule("AB123456AA"), NinoRule::Length);
        assert_eq!(rule(""), NinoRule::Length);
        assert_eq!(rule("ÀB123456A"), NinoRule::Length);
    }

    #[test]
    fn errors_do_not_repeat_the_number() {
        let message = Nino::parse("QQ123456A").unwrap_err().to_string();
        assert!(!message.contains("123456"), "{message}");
    }
}
