//! UK postcodes: well-formed ones for the generator, and a validator.
//!
//! A postcode is an outward code (area and district: `A9`, `A99`, `AA9`, `AA99`, `A9A` or
//! `AA9A`), a space, and an inward code (sector and unit: `9AA`). The letter positions have
//! their own exclusions (Royal Mail's Postcode Address File rules, BS 7666): the first letter
//! is never Q, V or X; the second never I, J or Z; a letter third in `A9A` is one of
//! `ABCDEFGHJKPSTUW`; a letter fourth in `AA9A` is one of `ABEHMNPRVWXY`; the inward letters
//! are never C, I, K, M, O or V. Well-formed is not the same as existing: the validator checks
//! the shape, not Royal Mail's list.

use std::fmt;

use crate::CitizenError;

const NOT_FIRST: &[u8] = b"QVX";
const NOT_SECOND: &[u8] = b"IJZ";
const THIRD_IN_A9A: &[u8] = b"ABCDEFGHJKPSTUW";
const FOURTH_IN_AA9A: &[u8] = b"ABEHMNPRVWXY";
/// Letters allowed in the inward code.
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// A well-formed UK postcode, held in its canonical form (`SW1A 1AA`: upper case, one space).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Postcode(String);

// === impl Postcode ===

impl Postcode {
    /// Parses a postcode in either case, with or without the space (`sw1a1aa`).
    pub fn parse(input: &str) -> Result<Self, CitizenError> {
        let compact: Vec<u8> = input
            .bytes()
            .filter(|c| !c.is_ascii_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !(5..=7).contains(&compact.len()) {
            return Err(CitizenError::InvalidPostcode);
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        if !outward_ok(outward) || !inward_ok(inward) {
            return Err(CitizenError::InvalidPostcode);
        }
        let mut text = String::with_capacity(compact.len() + 1);
        text.extend(outward.iter().map(|&c| char::from(c)));
        text.push(' ');
        text.extend(inward.iter().map(|&c| char::from(c)));
        Ok(Postcode(text))
    }

    /// The canonical form, `SW1A 1AA`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The outward code (`SW1A`): area and district.
    pub fn outward(&self) -> &str {
        self.0.split(' ').next().unwrap_or_default()
    }

    /// A postcode in `area` (one or two letters from a real area, such as `LS`) drawn from
    /// `rng`; well-formed, though not necessarily issued.
    pub(crate) fn generate(rng: &mut fastrand::Rng, area: &str) -> Postcode {
        let mut text = String::with_capacity(8);
        text.push_str(area);
        let district = rng.u8(1..=(if area.len() == 1 { 99 } else { 30 }));
        // Central London districts carry a letter (W1A, EC1A, SW1A): a few percent of codes.
        let lettered = matches!(area, "W" | "EC" | "WC" | "SW" | "E" | "N") && rng.u8(0..20) == 0;
        if lettered {
            text.push('1');
            let choices = if area.len() == 1 {
                THIRD_IN_A9A
            } else {
                FOURTH_IN_AA9A
            };
            text.push(char::from(choices[rng.usize(..choices.len())]));
        } else {
            text.push_str(&district.to_string());
        }
        text.push(' ');
        text.push(char::from(b'0' + rng.u8(0..10)));
        for _ in 0..2 {
            text.push(char::from(
                INWARD_LETTERS[rng.usize(..INWARD_LETTERS.len())],
            ));
        }
        Postcode(text)
    }

    /// A postcode already in canonical form, as the store wrote it; checked again because a
    /// file can be edited.
    pub(crate) fn from_stored(text: String) -> Option<Postcode> {
        Postcode::parse(&text).ok().filter(|p| p.0 == text)
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Postcode({})", self.0)
    }
}

impl std::str::FromStr for Postcode {
    type Err = CitizenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Postcode::parse(s)
    }
}

fn letter(c: u8) -> bool {
    c.is_ascii_uppercase()
}

fn digit(c: u8) -> bool {
    c.is_ascii_digit()
}

fn outward_ok(o: &[u8]) -> bool {
    let first = |c: u8| letter(c) && !NOT_FIRST.contains(&c);
    let second = |c: u8| letter(c) && !NOT_SECOND.contains(&c);
    match *o {
        // A9, A99, A9A
        [a, n] => first(a) && digit(n),
        [a, n, m] if first(a) && digit(n) => digit(m) || THIRD_IN_A9A.contains(&m),
        // AA9
        [a, b, n] => first(a) && second(b) && digit(n),
        // AA99, AA9A
        [a, b, n, m] => {
            first(a) && second(b) && digit(n) && (digit(m) || FOURTH_IN_AA9A.contains(&m))
        }
        _ => false,
    }
}

fn inward_ok(i: &[u8]) -> bool {
    matches!(*i, [n, x, y] if digit(n) && INWARD_LETTERS.contains(&x) && INWARD_LETTERS.contains(&y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_outward_format() {
        for ok in [
            "M1 1AE",
            "B33 8TH",
            "CR2 6XH",
            "DN55 1PT",
            "W1A 0AX",
            "EC1A 1BB",
            "sw1a1aa",
            " ls1  4ap ",
        ] {
            assert!(Postcode::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Postcode::parse("sw1a1aa").unwrap().as_str(), "SW1A 1AA");
        assert_eq!(Postcode::parse("sw1a1aa").unwrap().outward(), "SW1A");
    }

    #[test]
    fn rejects_malformed_codes_and_excluded_letters() {
        for bad in [
            "",
            "M1",
            "M1 1A",
            "1M 1AA",
            "Q1 1AA",   // Q never first
            "V1 1AA",   // V never first
            "X1 1AA",   // X never first
            "AI1 1AA",  // I never second
            "AZ1 1AA",  // Z never second
            "W1I 1AA",  // I not a district letter in A9A
            "EC1C 1AA", // C not a district letter in AA9A
            "M1 1CA",   // C not an inward letter
            "M1 1AI",
            "M1 1AK",
            "M1 1AM",
            "M1 1AO",
            "M1 1AV",
            "M1 AAA", // inward starts with a digit
            "ABC1 1AA",
            "AB123 1AA",
        ] {
            assert!(Postcode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_postcodes_are_well_formed() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..20_000 {
            for area in ["W", "EC", "LS", "M", "SW", "B", "N"] {
                let code = Postcode::generate(&mut rng, area);
                assert_eq!(Postcode::parse(code.as_str()).unwrap(), code, "{code}");
            }
        }
    }
}
