//! Scalar values written as text in the configuration: durations and rates.

use std::time::Duration;

/// Parses `250ms`, `10s`, `5m`, `1h` or `30d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit: write e.g. 500ms, 10s, 5m or 1h"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|e: std::num::ParseIntError| {
        if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) {
            format!("{text:?} is too long")
        } else {
            format!("{text:?} does not start with a whole number: write e.g. 500ms, 10s, 5m or 1h")
        }
    })?;
    let seconds_per_unit = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit: use ms, s, m, h or d"
            ));
        }
    };
    // Checked, not saturating: a saturated `u64::MAX` seconds would pass as a valid duration
    // and then overflow (and panic) wherever it is added to an `Instant`.
    n.checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// Parses a rate such as `100/s`, `6000/min` or `10000/h` into (requests, period).
pub fn parse_rate(text: &str) -> Result<(u32, Duration), String> {
    let (count, per) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not a rate: write e.g. 100/s or 6000/min"))?;
    let count: u32 = count
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: {count:?} is not a whole number of requests"))?;
    if count == 0 {
        return Err(format!("{text:?}: a rate of zero admits nothing"));
    }
    let period = match per.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        "d" | "day" => Duration::from_secs(86_400),
        other => {
            return Err(format!(
                "{text:?}: unknown period {other:?}: use s, min, h or day"
            ));
        }
    };
    Ok((count, period))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_parse_or_explain() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("10y").unwrap_err().contains("unknown unit"));
        assert!(
            parse_duration("5124095576030432h")
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            parse_duration("99999999999999999999s")
                .unwrap_err()
                .contains("too long")
        );
        assert_eq!(parse_rate("100/s"), Ok((100, Duration::from_secs(1))));
        assert_eq!(parse_rate("6000/min"), Ok((6000, Duration::from_secs(60))));
        assert!(parse_rate("0/s").unwrap_err().contains("zero"));
        assert!(parse_rate("fast").unwrap_err().contains("not a rate"));
    }
}
