//! The helper functions a check's expressions may call, besides CEL's standard library (`size`,
//! `has`, `in`, the `all`/`exists`/`exists_one`/`filter`/`map` macros, `startsWith`, …).
//!
//! | function | result |
//! |---|---|
//! | `lastFour(string)` | the last four characters (all of them when there are fewer) |
//! | `digits(string)` | the ASCII digits only, in order: `digits('QQ123456C')` is `'123456'` |
//! | `upper(string)` | upper case |
//! | `normalise(string)` | upper case with all white space removed, for NI numbers and postcodes |
//! | `ninoStem(string)` | an NI number `normalise`d without its suffix letter — what identifies the person, as a number is unique without it and the suffix may be given wrong or not at all: `ninoStem('ab 12 34 56 c')` is `'AB123456'` |
//! | `addDays(date, int)` | a `YYYY-MM-DD` date moved by a number of days, either way |
//! | `addMonths(date, int)` | a `YYYY-MM-DD` date moved by whole months, the day clamped to the end of a shorter month (`addMonths('2026-05-31', -3)` is `'2026-02-28'`) |
//! | `sum(list)` | the sum of a list of numbers: an `int` when all are ints (0 for an empty list), else a `double` |
//!
//! Dates are `YYYY-MM-DD` strings throughout, so they compare correctly as strings
//! (`a.endDate >= addMonths(today, -3)`). The helpers are called as functions, not as methods.
//! Their error messages never quote an argument: it may be personal data.

use std::sync::Arc;

use cel::{Context, DeclarationError, ExecutionError, Value};

use crate::calendar::Date;
use crate::convert::type_name;

/// The names of the helpers, whose error messages are safe to show.
pub(crate) const NAMES: &[&str] = &[
    "lastFour",
    "digits",
    "upper",
    "normalise",
    "ninoStem",
    "addDays",
    "addMonths",
    "sum",
];

/// Adds the helpers to a context.
pub(crate) fn register(context: &mut Context<'_, '_>) -> std::result::Result<(), DeclarationError> {
    context.add_function("lastFour", last_four)?;
    context.add_function("digits", digits)?;
    context.add_function("upper", upper)?;
    context.add_function("normalise", normalise)?;
    context.add_function("ninoStem", nino_stem)?;
    context.add_function("addDays", add_days)?;
    context.add_function("addMonths", add_months)?;
    context.add_function("sum", sum)?;
    Ok(())
}

type Result<T> = std::result::Result<T, ExecutionError>;

fn string(function: &str, value: &Value) -> Result<Arc<String>> {
    match value {
        Value::String(s) => Ok(Arc::clone(s)),
        other => Err(ExecutionError::function_error(
            function,
            format!("expected a string, got {}", type_name(other)),
        )),
    }
}

fn int(function: &str, value: &Value) -> Result<i64> {
    match value {
        Value::Int(i) => Ok(*i),
        other => Err(ExecutionError::function_error(
            function,
            format!("expected an int, got {}", type_name(other)),
        )),
    }
}

fn last_four(value: Value) -> Result<Value> {
    let s = string("lastFour", &value)?;
    let count = s.chars().count();
    Ok(Value::from(
        s.chars().skip(count.saturating_sub(4)).collect::<String>(),
    ))
}

fn digits(value: Value) -> Result<Value> {
    let s = string("digits", &value)?;
    Ok(Value::from(
        s.chars().filter(char::is_ascii_digit).collect::<String>(),
    ))
}

fn upper(value: Value) -> Result<Value> {
    Ok(Value::from(string("upper", &value)?.to_uppercase()))
}

fn normalise(value: Value) -> Result<Value> {
    let s = string("normalise", &value)?;
    Ok(Value::from(
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase(),
    ))
}

fn nino_stem(value: Value) -> Result<Value> {
    let s = string("ninoStem", &value)?;
    let mut stem: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    // Two letters, six digits, then the suffix: only a ninth character is one.
    if stem.len() == 9 && stem.ends_with(['A', 'B', 'C', 'D']) {
        stem.pop();
    }
    Ok(Value::from(stem))
}

fn add_days(date: Value, days: Value) -> Result<Value> {
    let date = Date::parse("addDays", &string("addDays", &date)?)?;
    let days = int("addDays", &days)?;
    let moved = date
        .days()
        .checked_add(days)
        .and_then(Date::from_days)
        .ok_or_else(|| ExecutionError::function_error("addDays", "date out of range"))?;
    Ok(Value::from(moved.to_string()))
}

fn add_months(date: Value, months: Value) -> Result<Value> {
    let date = Date::parse("addMonths", &string("addMonths", &date)?)?;
    let months = int("addMonths", &months)?;
    let moved = date
        .add_months(months)
        .ok_or_else(|| ExecutionError::function_error("addMonths", "date out of range"))?;
    Ok(Value::from(moved.to_string()))
}

fn sum(list: Value) -> Result<Value> {
    let Value::List(items) = list else {
        return Err(ExecutionError::function_error(
            "sum",
            format!("expected a list, got {}", type_name(&list)),
        ));
    };
    if items.iter().all(|item| matches!(item, Value::Int(_))) {
        return items
            .iter()
            .try_fold(0_i64, |total, item| match item {
                Value::Int(i) => total.checked_add(*i),
                _ => None,
            })
            .map(Value::Int)
            .ok_or_else(|| ExecutionError::function_error("sum", "int overflow"));
    }
    let mut total = 0.0_f64;
    for item in items.iter() {
        total += match item {
            Value::Int(i) => *i as f64,
            Value::UInt(u) => *u as f64,
            Value::Float(f) => *f,
            other => {
                return Err(ExecutionError::function_error(
                    "sum",
                    format!("expected numbers, got a {}", type_name(other)),
                ));
            }
        };
    }
    Ok(Value::Float(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: Result<Value>) -> String {
        match value {
            Ok(Value::String(s)) => s.as_str().to_owned(),
            other => panic!("expected a string, got {other:?}"),
        }
    }

    #[test]
    fn add_days_crosses_months_years_and_leap_days() {
        let add = |d: &str, n: i64| text(add_days(Value::from(d), Value::Int(n)));
        assert_eq!(add("2026-11-25", -1), "2026-11-24");
        assert_eq!(add("2026-03-01", -1), "2026-02-28");
        assert_eq!(add("2024-03-01", -1), "2024-02-29");
        assert_eq!(add("2026-12-31", 1), "2027-01-01");
        assert_eq!(add("2000-02-28", 1), "2000-02-29");
        assert_eq!(add("1900-02-28", 1), "1900-03-01");
        assert_eq!(add("1970-01-01", 0), "1970-01-01");
        assert_eq!(add("2026-11-25", 365), "2027-11-25");
    }

    #[test]
    fn add_months_clamps_to_month_end() {
        let add = |d: &str, n: i64| text(add_months(Value::from(d), Value::Int(n)));
        assert_eq!(add("2026-05-31", -3), "2026-02-28");
        assert_eq!(add("2024-05-31", -3), "2024-02-29");
        assert_eq!(add("2026-01-31", 1), "2026-02-28");
        assert_eq!(add("2026-11-25", -3), "2026-08-25");
        assert_eq!(add("2026-02-15", -14), "2024-12-15");
        assert_eq!(add("2026-12-15", 1), "2027-01-15");
    }

    #[test]
    fn malformed_dates_are_errors_that_do_not_quote_the_input() {
        for bad in [
            "2026-13-01",
            "2026-02-29",
            "26-01-01",
            "2026/01/01",
            "2026-1-01x",
            "२०२६-01-01",
        ] {
            let error = add_days(Value::from(bad), Value::Int(1)).expect_err(bad);
            assert!(!error.to_string().contains(bad), "{error}");
        }
        assert!(add_days(Value::from("9999-12-31"), Value::Int(1)).is_err());
        assert!(add_months(Value::from("0000-01-31"), Value::Int(-1)).is_err());
        assert!(add_days(Value::from("2026-01-01"), Value::from("1")).is_err());
    }

    #[test]
    fn string_helpers() {
        assert_eq!(text(last_four(Value::from("QQ123456C"))), "456C");
        assert_eq!(text(last_four(Value::from("abc"))), "abc");
        assert_eq!(text(digits(Value::from("QQ 12 34 56 C"))), "123456");
        assert_eq!(text(upper(Value::from("qq12"))), "QQ12");
        assert_eq!(
            text(normalise(Value::from(" qq 12\t34 56 c "))),
            "QQ123456C"
        );
        assert!(last_four(Value::Int(1)).is_err());
        assert_eq!(text(nino_stem(Value::from("ab 12 34 56 c"))), "AB123456");
        assert_eq!(
            text(nino_stem(Value::from("AB123456"))),
            "AB123456",
            "no suffix"
        );
        assert_eq!(
            text(nino_stem(Value::from("AB1234567"))),
            "AB1234567",
            "not a suffix"
        );
        assert!(nino_stem(Value::Int(1)).is_err());
    }

    #[test]
    fn sum_keeps_ints_exact_and_widens_to_double() {
        let list = |items: Vec<Value>| Value::List(Arc::new(items));
        assert_eq!(sum(list(vec![])), Ok(Value::Int(0)));
        assert_eq!(
            sum(list(vec![Value::Int(2), Value::Int(3)])),
            Ok(Value::Int(5))
        );
        assert_eq!(
            sum(list(vec![Value::Int(2), Value::Float(0.5)])),
            Ok(Value::Float(2.5))
        );
        assert!(sum(list(vec![Value::Int(i64::MAX), Value::Int(1)])).is_err());
        assert!(sum(list(vec![Value::from("1")])).is_err());
        assert!(sum(Value::Int(1)).is_err());
    }
}
