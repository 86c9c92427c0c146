//! UTC timestamps with microsecond precision, written as RFC 3339 (`2026-01-31T12:00:00.000000Z`).
//!
//! Our own few lines instead of a date crate: the audit store only needs UTC, one fixed
//! textual form (so the serialisation is canonical: always six fractional digits, always `Z`),
//! and ordering.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::AuditError;

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A point in time, UTC, microseconds since the Unix epoch; years 0000 to 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    micros: i64,
}

// === impl Timestamp ===

impl Timestamp {
    /// The current time from the system clock.
    pub fn now() -> Self {
        let micros = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            // A clock before 1970 is a broken clock; the epoch is the least wrong answer.
            Err(_) => 0,
        };
        Timestamp { micros }
    }

    /// From microseconds since the Unix epoch.
    pub fn from_unix_micros(micros: i64) -> Self {
        Timestamp { micros }
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(self) -> i64 {
        self.micros
    }

    /// Parses RFC 3339 in UTC (`Z`), with 0 to 9 fractional digits (kept to microseconds), or a
    /// bare date `YYYY-MM-DD` meaning its midnight (convenient for search ranges).
    pub fn parse(input: &str) -> Result<Self, AuditError> {
        parse(input).ok_or_else(|| AuditError::Timestamp {
            input: input.to_owned(),
        })
    }
}

impl Timestamp {
    /// The RFC 3339 text, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, formatted by hand (the writer does this
    /// for every record; `fmt` would cost several times as much). `None` outside years 0–9999,
    /// whose text would not have this fixed shape.
    fn rfc3339(self) -> Option<[u8; 27]> {
        let secs = self.micros.div_euclid(MICROS_PER_SEC);
        let frac = self.micros.rem_euclid(MICROS_PER_SEC);
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return None;
        }
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut n: i64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, sod / 3600);
        put(14, 2, (sod / 60) % 60);
        put(17, 2, sod % 60);
        put(20, 6, frac);
        Some(out)
    }

    /// Appends the RFC 3339 text (what `Display` writes) to `buf`.
    pub(crate) fn write_rfc3339(self, buf: &mut Vec<u8>) {
        match self.rfc3339() {
            Some(text) => buf.extend_from_slice(&text),
            None => buf.extend_from_slice(self.to_string().as_bytes()),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.rfc3339() {
            // Only ASCII digits and separators were written.
            return f.write_str(std::str::from_utf8(&text).unwrap_or_default());
        }
        let secs = self.micros.div_euclid(MICROS_PER_SEC);
        let frac = self.micros.rem_euclid(MICROS_PER_SEC);
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339() {
            Some(text) => s.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn parse(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    if b.len() == 10 {
        return Some(Timestamp::from_unix_micros(
            days * SECS_PER_DAY * MICROS_PER_SEC,
        ));
    }
    if b.len() < 20 || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        // Finer than a microsecond rounds up: a time given as a search bound then keeps its
        // meaning — every record before it (at a whole microsecond) stays before it.
        let mut finer = false;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + i64::from(b[i] - b'0');
            } else {
                finer |= b[i] != b'0';
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 9 {
            return None;
        }
        for _ in digits..6 {
            micros *= 10;
        }
        micros += i64::from(finer);
    }
    if i + 1 != b.len() || !matches!(b[i], b'Z' | b'z') {
        return None;
    }
    let secs = days * SECS_PER_DAY + h * 3600 + mi * 60 + sec;
    Some(Timestamp::from_unix_micros(secs * MICROS_PER_SEC + micros))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's `days_from_civil` / `civil_from_days` (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finer_than_a_microsecond_rounds_up() {
        let at = |s| Timestamp::parse(s).unwrap().to_string();
        assert_eq!(
            at("2026-01-01T00:00:00.0000001Z"),
            "2026-01-01T00:00:00.000001Z"
        );
        assert_eq!(
            at("2026-01-01T00:00:00.000000000Z"),
            "2026-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            at("2026-01-01T23:59:59.999999001Z"),
            "2026-01-02T00:00:00.000000Z"
        );
        // So a record at a whole microsecond is before a bound just after it.
        assert!(
            Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
                < Timestamp::parse("2026-01-01T00:00:00.0000001Z").unwrap()
        );
    }

    #[test]
    fn formats_and_parses_round_trip() {
        let t = Timestamp::parse("2024-02-29T23:59:58.5Z").unwrap();
        assert_eq!(t.to_string(), "2024-02-29T23:59:58.500000Z");
        assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        assert_eq!(
            Timestamp::from_unix_micros(0).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            Timestamp::parse("9999-12-31T23:59:59.999999Z")
                .unwrap()
                .to_string(),
            "9999-12-31T23:59:59.999999Z"
        );
        // Outside the four-digit years the text is still written, if not in the fixed shape.
        let before = Timestamp::from_unix_micros(-62_167_219_200_000_001);
        assert_eq!(before.to_string(), "-001-12-31T23:59:59.999999Z");
        assert_eq!(
            Timestamp::parse("2026-11-25").unwrap(),
            Timestamp::parse("2026-11-25T00:00:00Z").unwrap()
        );
    }

    #[test]
    fn rejects_non_utc_and_impossible_dates() {
        for bad in [
            "2023-02-29T00:00:00Z",
            "2026-01-01T00:00:00+01:00",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00.Z",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
