//! The calendar the checks count in: dates as `YYYY-MM-DD` (proleptic Gregorian), and what
//! `today` is in the UK.

use cel::ExecutionError;

type Result<T> = std::result::Result<T, ExecutionError>;

/// The UK civil date at `unix` seconds, `YYYY-MM-DD`: GMT, or BST (UTC+1) from 01:00 UTC on
/// the last Sunday of March to 01:00 UTC on the last Sunday of October (the Summer Time Order
/// 2002). The `today` of a check: the questions are about UK dates (a prescription dispensed
/// today), and a pharmacy asking at 00:30 BST must not be a day behind.
pub fn uk_date(unix: i64) -> String {
    const DAY: i64 = 86_400;
    let utc = Date::from_days(unix.div_euclid(DAY));
    let in_summer = utc.is_some_and(|date| {
        let last_sunday = |month: u32| {
            let end = Date {
                year: date.year,
                month,
                day: 31,
            }
            .days();
            // 1970-01-01 was a Thursday: weekday 0 = Sunday is (days + 4) mod 7.
            end - (end + 4).rem_euclid(7)
        };
        (last_sunday(3) * DAY + 3_600..last_sunday(10) * DAY + 3_600).contains(&unix)
    });
    let offset = if in_summer { 3_600 } else { 0 };
    Date::from_days((unix + offset).div_euclid(DAY)).map_or_else(String::new, |d| d.to_string())
}

/// A proleptic Gregorian calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Date {
    year: i64,
    month: u32,
    day: u32,
}

impl Date {
    /// Parses exactly `YYYY-MM-DD`.
    pub(crate) fn parse(function: &str, text: &str) -> Result<Self> {
        let invalid = || ExecutionError::function_error(function, "expected a YYYY-MM-DD date");
        let bytes = text.as_bytes();
        if bytes.len() != 10
            || bytes[4] != b'-'
            || bytes[7] != b'-'
            || !bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let number = |range: std::ops::Range<usize>| {
            text.get(range)
                .and_then(|s| s.parse::<u32>().ok())
                .ok_or_else(invalid)
        };
        let year = i64::from(number(0..4)?);
        let month = number(5..7)?;
        let day = number(8..10)?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(invalid());
        }
        Ok(Date { year, month, day })
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    pub(crate) fn days(self) -> i64 {
        let year = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        };
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5
            + i64::from(self.day)
            - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`), if its year has four
    /// digits.
    pub(crate) fn from_days(days: i64) -> Option<Self> {
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).ok()?;
        let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).ok()?;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Date { year, month, day }.in_range()
    }

    pub(crate) fn add_months(self, months: i64) -> Option<Self> {
        let index = self
            .year
            .checked_mul(12)?
            .checked_add(i64::from(self.month) - 1)?
            .checked_add(months)?;
        let year = index.div_euclid(12);
        let month = u32::try_from(index.rem_euclid(12) + 1).ok()?;
        let day = self.day.min(days_in_month(year, month));
        Date { year, month, day }.in_range()
    }

    fn in_range(self) -> Option<Self> {
        (0..=9999).contains(&self.year).then_some(self)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_uk_date_across_the_summer_time_changes() {
        let at = |year, month, day, hour: i64, minute: i64| {
            Date { year, month, day }.days() * 86_400 + hour * 3_600 + minute * 60
        };
        // 2026: BST from 01:00 UTC on Sunday 29 March to 01:00 UTC on Sunday 25 October.
        assert_eq!(uk_date(at(2026, 3, 28, 23, 30)), "2026-03-28", "GMT");
        assert_eq!(
            uk_date(at(2026, 3, 29, 23, 30)),
            "2026-03-30",
            "BST from the 29th"
        );
        assert_eq!(uk_date(at(2026, 6, 30, 22, 59)), "2026-06-30");
        assert_eq!(
            uk_date(at(2026, 6, 30, 23, 0)),
            "2026-07-01",
            "midnight BST"
        );
        assert_eq!(uk_date(at(2026, 10, 24, 23, 30)), "2026-10-25", "still BST");
        assert_eq!(uk_date(at(2026, 10, 25, 23, 30)), "2026-10-25", "GMT again");
        assert_eq!(uk_date(at(2026, 12, 31, 23, 59)), "2026-12-31");
        // 2025 changes on the 30th of March; 2027 ends BST on the 31st of October itself.
        assert_eq!(uk_date(at(2025, 3, 29, 23, 30)), "2025-03-29", "not yet");
        assert_eq!(uk_date(at(2025, 3, 30, 23, 30)), "2025-03-31");
        assert_eq!(
            uk_date(at(2027, 10, 30, 23, 30)),
            "2027-10-31",
            "BST to the 31st"
        );
        assert_eq!(uk_date(at(2027, 10, 31, 23, 30)), "2027-10-31", "GMT after");
        // 2024, a leap year whose last Sunday of March is the 31st.
        assert_eq!(uk_date(at(2024, 3, 31, 0, 59)), "2024-03-31");
        assert_eq!(uk_date(at(2024, 3, 30, 23, 30)), "2024-03-30");
        assert_eq!(uk_date(at(2024, 2, 29, 23, 30)), "2024-02-29");
        assert_eq!(uk_date(at(2024, 7, 31, 23, 30)), "2024-08-01");
        assert_eq!(uk_date(0), "1970-01-01");
    }

    #[test]
    fn days_and_dates_round_trip() {
        for days in (-700_000..2_900_000).step_by(997) {
            let date = Date::from_days(days).expect("a four-digit year");
            assert_eq!(date.days(), days, "{date}");
        }
        assert_eq!(
            Date::from_days(0).map(|d| d.to_string()).as_deref(),
            Some("1970-01-01")
        );
        assert_eq!(
            Date {
                year: 2000,
                month: 3,
                day: 1
            }
            .days(),
            11_017
        );
    }
}
