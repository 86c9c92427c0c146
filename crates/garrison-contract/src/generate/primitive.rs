//! Strings and numbers within a schema's bounds.

use serde_json::{Map, Number, Value};

use super::{Builder, Pattern};

/// How far past a one-sided bound random numbers range.
const SPAN: f64 = 1000.0;
/// Numbers are kept well inside the range where `f64` holds integers exactly.
const LIMIT: f64 = 1e15;

/// The numeric bounds of a schema whose exclusive bounds are numbers (see `effective`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub(super) low: Option<(f64, bool)>,
    pub(super) high: Option<(f64, bool)>,
    pub(super) multiple: Option<f64>,
}

impl Bounds {
    pub(super) fn of(s: &Map<String, Value>) -> Bounds {
        let num = |k: &str| s.get(k).and_then(Value::as_f64);
        let pick = |inclusive: Option<f64>, exclusive: Option<f64>, lower: bool| match (
            inclusive, exclusive,
        ) {
            (Some(i), Some(e)) if (lower && e >= i) || (!lower && e <= i) => Some((e, true)),
            (Some(i), _) => Some((i, false)),
            (None, Some(e)) => Some((e, true)),
            (None, None) => None,
        };
        Bounds {
            low: pick(num("minimum"), num("exclusiveMinimum"), true),
            high: pick(num("maximum"), num("exclusiveMaximum"), false),
            multiple: num("multipleOf").filter(|m| *m > 0.0),
        }
    }

    /// The integer range the bounds allow (`None` ends are open).
    pub(super) fn integer_range(&self) -> (Option<i64>, Option<i64>) {
        let low = self.low.map(|(l, ex)| {
            let l = l.clamp(-LIMIT, LIMIT);
            if ex {
                l.floor() as i64 + 1
            } else {
                l.ceil() as i64
            }
        });
        let high = self.high.map(|(h, ex)| {
            let h = h.clamp(-LIMIT, LIMIT);
            if ex {
                h.ceil() as i64 - 1
            } else {
                h.floor() as i64
            }
        });
        (low, high)
    }

    /// The step integers must be a multiple of: `multipleOf` when it is a whole number, the
    /// least whole multiple of a fractional one (1 when there is none worth finding).
    pub(super) fn integer_step(&self) -> i64 {
        let Some(m) = self.multiple else { return 1 };
        (1..=1000)
            .map(|k| k as f64 * m)
            .find(|v| (v - v.round()).abs() < 1e-9)
            .map_or(1, |v| (v.round() as i64).max(1))
    }
}

pub(super) fn integer(b: &mut Builder<'_>, s: &Map<String, Value>) -> Value {
    let bounds = Bounds::of(s);
    let (low, high) = bounds.integer_range();
    let step = bounds.integer_step();
    let value = if b.random {
        let a = low.unwrap_or_else(|| high.map_or(0, |h| h - SPAN as i64).min(0));
        let z = high.unwrap_or(a + SPAN as i64);
        let (ka, kz) = (
            a.div_euclid(step) + i64::from(a.rem_euclid(step) != 0),
            z.div_euclid(step),
        );
        if ka > kz {
            a
        } else {
            b.rng.i64(ka..=kz) * step
        }
    } else {
        let target = match (low, high) {
            (Some(l), _) => l,
            (None, Some(h)) if h < 1 => h,
            _ => 1,
        };
        let up = target.div_euclid(step) * step
            + if target.rem_euclid(step) != 0 {
                step
            } else {
                0
            };
        match high {
            Some(h) if up > h => h.div_euclid(step) * step,
            _ => up,
        }
    };
    Value::from(value)
}

pub(super) fn number(b: &mut Builder<'_>, s: &Map<String, Value>) -> Value {
    let bounds = Bounds::of(s);
    if let Some(m) = bounds.multiple {
        let decimals = decimals(m);
        let low = bounds.low.map(|(l, ex)| {
            let k = (l / m).ceil();
            if ex && k * m <= l { k + 1.0 } else { k }
        });
        let high = bounds.high.map(|(h, ex)| {
            let k = (h / m).floor();
            if ex && k * m >= h { k - 1.0 } else { k }
        });
        let k = if b.random {
            let a = low.unwrap_or_else(|| high.map_or(0.0, |h| h - 100.0).min(0.0));
            let z = high.unwrap_or(a + 100.0);
            if a > z {
                a
            } else {
                b.rng.i64(a as i64..=z as i64) as f64
            }
        } else {
            low.unwrap_or_else(|| high.map_or(1.0, |h| h.min(1.0)))
        };
        return float(round(k * m, decimals));
    }
    let (low, high) = (bounds.low, bounds.high);
    let inside = |v: f64| {
        low.is_none_or(|(l, ex)| if ex { v > l } else { v >= l })
            && high.is_none_or(|(h, ex)| if ex { v < h } else { v <= h })
    };
    let midpoint = match (low, high) {
        (Some((l, _)), Some((h, _))) => (l + h) / 2.0,
        (Some((l, _)), None) => l + 1.0,
        (None, Some((h, _))) => h - 1.0,
        (None, None) => 1.5,
    };
    let value = if b.random {
        let a = low.map_or_else(|| high.map_or(0.0, |(h, _)| h - SPAN).min(0.0), |(l, _)| l);
        let z = high.map_or(a + SPAN, |(h, _)| h);
        let v = round(a + b.rng.f64() * (z - a), 2);
        if inside(v) { v } else { midpoint }
    } else {
        match low {
            Some((l, false)) => l,
            _ => match high {
                Some((h, false)) if low.is_none() && h < 1.5 => h,
                _ => midpoint,
            },
        }
    };
    float(value)
}

/// The digits after the decimal point of `m` (0.01 → 2), at most 10.
fn decimals(m: f64) -> i32 {
    let text = format!("{m}");
    text.split_once('.')
        .map_or(0, |(_, fraction)| fraction.len().min(10) as i32)
}

fn round(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// A string for a known `format` (deterministic, or random when `rng` is given).
pub(super) fn format_value(format: &str, rng: Option<&mut fastrand::Rng>) -> Option<String> {
    let Some(rng) = rng else {
        return Some(
            match format {
                "date" => "2026-01-31",
                "date-time" => "2026-01-31T09:30:00Z",
                "time" => "09:30:00Z",
                "duration" => "P1D",
                "uuid" => "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                "email" | "idn-email" => "user@example.com",
                "uri" | "url" | "iri" => "https://example.com/resource",
                "uri-reference" | "iri-reference" => "/resource",
                "uri-template" => "https://example.com/{id}",
                "hostname" | "idn-hostname" => "example.com",
                "ipv4" => "192.0.2.1",
                "ipv6" => "2001:db8::1",
                "byte" => "aGVsbG8=",
                "json-pointer" => "/a/b",
                "regex" => "^[a-z]+$",
                _ => return None,
            }
            .to_owned(),
        );
    };
    let date = |rng: &mut fastrand::Rng| {
        format!(
            "{:04}-{:02}-{:02}",
            rng.u32(1990..=2030),
            rng.u32(1..=12),
            rng.u32(1..=28)
        )
    };
    let time = |rng: &mut fastrand::Rng| {
        format!(
            "{:02}:{:02}:{:02}Z",
            rng.u32(0..24),
            rng.u32(0..60),
            rng.u32(0..60)
        )
    };
    Some(match format {
        "date" => date(rng),
        "date-time" => format!("{}T{}", date(rng), time(rng)),
        "time" => time(rng),
        "duration" => format!("P{}D", rng.u32(1..100)),
        "uuid" => {
            let hex = |rng: &mut fastrand::Rng, n: usize| -> String {
                (0..n)
                    .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
                    .collect()
            };
            format!(
                "{}-{}-4{}-{}{}-{}",
                hex(rng, 8),
                hex(rng, 4),
                hex(rng, 3),
                ['8', '9', 'a', 'b'][rng.usize(..4)],
                hex(rng, 3),
                hex(rng, 12)
            )
        }
        "email" | "idn-email" => format!("user{}@example.com", rng.u32(1..10_000)),
        "uri" | "url" | "iri" => format!("https://example.com/resource/{}", rng.u32(1..10_000)),
        "uri-reference" | "iri-reference" => format!("/resource/{}", rng.u32(1..10_000)),
        "hostname" | "idn-hostname" => format!("host{}.example.com", rng.u32(1..1000)),
        "ipv4" => format!("192.0.2.{}", rng.u32(1..255)),
        "ipv6" => format!("2001:db8::{:x}", rng.u32(1..0xffff)),
        _ => return format_value(format, None),
    })
}

pub(super) fn string(b: &mut Builder<'_>, s: &Map<String, Value>) -> Value {
    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = s
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    let fits = |text: &str| {
        let n = text.chars().count();
        n >= min && max.is_none_or(|m| n <= m)
    };
    let pattern = s.get("pattern").and_then(Value::as_str);
    let parsed = pattern.and_then(Pattern::parse);
    let format = s.get("format").and_then(Value::as_str);
    if let Some(format) = format {
        let rng = if b.random { Some(&mut *b.rng) } else { None };
        if let Some(text) = format_value(format, rng)
            && parsed.as_ref().is_none_or(|p| p.is_match(&text))
            && fits(&text)
        {
            return Value::String(text);
        }
    }
    if let Some(parsed) = parsed {
        return Value::String(from_pattern(b, &parsed, min, max));
    }
    if pattern.is_some() {
        // A pattern outside the supported subset: the schema's own example is the best
        // guess; failing that, a plain string (which may not match).
        if let Some(Value::String(example)) = b.example_of(s).or_else(|| s.get("default").cloned())
        {
            return Value::String(example);
        }
    }
    let length = if b.random {
        let top = max.unwrap_or(min + 12).min(min + 12);
        b.rng.usize(min.max(1).min(top)..=top)
    } else {
        min.max(6).min(max.unwrap_or(usize::MAX))
    };
    let text: String = if b.random {
        (0..length).map(|_| b.rng.alphanumeric()).collect()
    } else {
        "string"
            .chars()
            .chain(std::iter::repeat('x'))
            .take(length)
            .collect()
    };
    Value::String(text)
}

/// A string matching `pattern` within the length bounds when one can be found in a few
/// attempts; unanchored patterns are padded on their open side.
fn from_pattern(b: &mut Builder<'_>, pattern: &Pattern, min: usize, max: Option<usize>) -> String {
    let (start, end) = pattern.anchored();
    let mut last = String::new();
    for _ in 0..64 {
        let mut text = pattern.generate(b.rng);
        let n = text.chars().count();
        if n < min && !end {
            text.extend(std::iter::repeat_n('a', min - n));
        } else if n < min && !start {
            text = "a".repeat(min - n) + &text;
        }
        let n = text.chars().count();
        if n >= min && max.is_none_or(|m| n <= m) {
            return text;
        }
        last = text;
    }
    last
}
