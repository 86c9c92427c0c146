//! Calendar dates and months, written as `YYYY-MM-DD` and `YYYY-MM`.
//!
//! Our own few lines instead of a date crate: the population needs only proleptic Gregorian
//! dates without time or zone, day arithmetic, month arithmetic (assessment periods) and one
//! textual form. A date is a day count, so it is stored in SQLite as a small integer and
//! compared as one.

use std::fmt;

use crate::CitizenError;

/// A calendar date: days since 1970-01-01 (negative before it); years 1000 to 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    days: i32,
}

// === impl Date ===

impl Date {
    /// The date with this year, month (1–12) and day (1–31), if it exists.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date {
            days: days_from_civil(year, month, day),
        })
    }

    /// The date with this year, month and day, for constants; the caller vouches that it
    /// exists.
    pub(crate) const fn from_ymd_const(year: i32, month: u32, day: u32) -> Self {
        Date {
            days: days_from_civil(year, month, day),
        }
    }

    /// The date this many days after 1970-01-01.
    pub const fn from_days(days: i32) -> Self {
        Date { days }
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i32 {
        self.days
    }

    /// Year, month (1–12) and day (1–31).
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.days)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.ymd().0
    }

    /// Parses `YYYY-MM-DD` exactly (four-digit year, two-digit month and day).
    pub fn parse(input: &str) -> Result<Self, CitizenError> {
        parse_ymd(input).ok_or(CitizenError::InvalidDate)
    }

    /// The date `days` days later (earlier if negative).
    pub fn add_days(self, days: i32) -> Self {
        Date {
            days: self.days + days,
        }
    }

    /// The same day `months` months later (earlier if negative), clamped to the end of a
    /// shorter month: 31 January plus one month is 28 (or 29) February.
    pub fn add_months(self, months: i32) -> Self {
        let (y, m, d) = self.ymd();
        let index = y * 12 + (m as i32 - 1) + months;
        let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
        let day = d.min(days_in_month(year, month));
        Date {
            days: days_from_civil(year, month, day),
        }
    }

    /// The same day `years` years later, 29 February becoming 28 February in a common year.
    pub fn add_years(self, years: i32) -> Self {
        self.add_months(years * 12)
    }

    /// Whole years from `self` (a date of birth) to `on`: the age on that date.
    pub fn years_until(self, on: Date) -> i32 {
        let (y0, m0, d0) = self.ymd();
        let (y1, m1, d1) = on.ymd();
        let mut years = y1 - y0;
        if (m1, d1) < (m0, d0) {
            years -= 1;
        }
        years
    }

    /// The month this date falls in.
    pub fn month(self) -> Month {
        let (y, m, _) = self.ymd();
        Month::from_index(y * 12 + m as i32 - 1)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl std::str::FromStr for Date {
    type Err = CitizenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Date::parse(s)
    }
}

/// A calendar month, such as an earnings period: months since January of year 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    index: i32,
}

// === impl Month ===

impl Month {
    /// The month of this year and month number (1–12).
    pub fn new(year: i32, month: u32) -> Option<Self> {
        if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        Some(Month {
            index: year * 12 + month as i32 - 1,
        })
    }

    /// From months since January of year 0 (the integer stored in the database).
    pub fn from_index(index: i32) -> Self {
        Month { index }
    }

    /// Months since January of year 0.
    pub fn index(self) -> i32 {
        self.index
    }

    /// The month `months` later (earlier if negative).
    pub fn add_months(self, months: i32) -> Self {
        Month {
            index: self.index + months,
        }
    }

    /// Its first day.
    pub fn first_day(self) -> Date {
        let (y, m) = (
            self.index.div_euclid(12),
            self.index.rem_euclid(12) as u32 + 1,
        );
        Date::from_days(days_from_civil(y, m, 1))
    }

    /// Its last day.
    pub fn last_day(self) -> Date {
        self.add_months(1).first_day().add_days(-1)
    }

    /// Parses `YYYY-MM`.
    pub fn parse(input: &str) -> Result<Self, CitizenError> {
        let b = input.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return Err(CitizenError::InvalidDate);
        }
        let year = digits(&b[0..4]).ok_or(CitizenError::InvalidDate)?;
        let month = digits(&b[5..7]).ok_or(CitizenError::InvalidDate)?;
        Month::new(year as i32, month).ok_or(CitizenError::InvalidDate)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m) = (self.index.div_euclid(12), self.index.rem_euclid(12) + 1);
        write!(f, "{y:04}-{m:02}")
    }
}

fn parse_ymd(input: &str) -> Option<Date> {
    let b = input.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    Date::from_ymd(year as i32, month, day)
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's `days_from_civil` and `civil_from_days`
// (http://howardhinnant.github.io/date_algorithms.html), exact over the proleptic Gregorian
// calendar.
const fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        let start = d("1900-01-01").days();
        for days in start..start + 146_097 {
            let date = Date::from_days(days);
            let text = date.to_string();
            assert_eq!(Date::parse(&text).unwrap(), date, "{text}");
        }
        assert_eq!(d("1970-01-01").days(), 0);
        assert_eq!(d("2000-03-01").days(), 11_017);
    }

    #[test]
    fn rejects_impossible_and_malformed_dates() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "24-01-01",
            "2024/01/01",
            "2024-1-01",
            "2024-01-0a",
            "",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert!(Date::parse("2024-02-29").is_ok());
    }

    #[test]
    fn adds_months_clamping_to_the_end_of_the_month() {
        assert_eq!(d("2024-01-31").add_months(1), d("2024-02-29"));
        assert_eq!(d("2023-01-31").add_months(1), d("2023-02-28"));
        assert_eq!(d("2024-11-15").add_months(3), d("2025-02-15"));
        assert_eq!(d("2024-03-31").add_months(-1), d("2024-02-29"));
        assert_eq!(d("2024-02-29").add_years(1), d("2025-02-28"));
    }

    #[test]
    fn computes_ages_on_and_around_birthdays() {
        let dob = d("2010-06-15");
        assert_eq!(dob.years_until(d("2026-06-14")), 15);
        assert_eq!(dob.years_until(d("2026-06-15")), 16);
    }

    #[test]
    fn months_parse_format_and_bound_their_days() {
        let m = Month::parse("2024-02").unwrap();
        assert_eq!(m.to_string(), "2024-02");
        assert_eq!(m.first_day(), d("2024-02-01"));
        assert_eq!(m.last_day(), d("2024-02-29"));
        assert_eq!(d("2024-12-31").month().add_months(1).to_string(), "2025-01");
        assert!(Month::parse("2024-13").is_err());
        assert!(Month::parse("2024-1").is_err());
    }
}
