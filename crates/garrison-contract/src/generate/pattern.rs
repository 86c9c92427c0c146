//! A generator and matcher for the subset of ECMA-262 regular expressions that contracts use
//! in `pattern`: literals, `.`, character classes (ranges, negation, `\d \w \s`), groups with
//! alternation, the quantifiers `? * + {n} {n,} {n,m}`, and `^`/`$` anchoring the whole
//! pattern. Anything else (look-around, back-references, `\b`, `\p{…}`, inner anchors) makes
//! [`Pattern::parse`] return `None` and the caller fall back.

use std::collections::BTreeSet;

/// Extra repetitions allowed past the minimum of an unbounded quantifier (`*`, `+`, `{n,}`)
/// or a very wide bounded one, so generated strings stay short.
const EXTRA_REPEATS: u32 = 6;

/// A parsed `pattern`.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    start: bool,
    end: bool,
    alternatives: Vec<Vec<Item>>,
}

#[derive(Debug, Clone)]
struct Item {
    node: Node,
    min: u32,
    max: Option<u32>,
}

#[derive(Debug, Clone)]
enum Node {
    Literal(char),
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    Any,
    Group(Vec<Vec<Item>>),
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
const SPACE: &[(char, char)] = &[(' ', ' '), ('\t', '\t'), ('\n', '\n'), ('\r', '\r')];

// === impl Pattern ===

impl Pattern {
    /// Parses `source`; `None` when it uses anything outside the supported subset.
    pub(crate) fn parse(source: &str) -> Option<Pattern> {
        let mut chars: Vec<char> = source.chars().collect();
        let start = chars.first() == Some(&'^');
        if start {
            chars.remove(0);
        }
        // A trailing `$` anchors unless it is escaped (`\$`).
        let escaped = chars.len() >= 2 && chars[chars.len() - 2] == '\\';
        let end = chars.last() == Some(&'$') && !escaped;
        if end {
            chars.pop();
        }
        let mut parser = Parser { chars, at: 0 };
        let alternatives = parser.alternatives()?;
        if parser.at != parser.chars.len() {
            return None;
        }
        // `^a|b$` anchors only the outer alternatives: not the whole pattern.
        if alternatives.len() > 1 && (start || end) {
            return None;
        }
        Some(Pattern {
            start,
            end,
            alternatives,
        })
    }

    /// Whether the pattern anchors the start and the end of the string.
    pub(crate) fn anchored(&self) -> (bool, bool) {
        (self.start, self.end)
    }

    /// A random string the pattern matches.
    pub(crate) fn generate(&self, rng: &mut fastrand::Rng) -> String {
        let mut out = String::new();
        generate_alternatives(&self.alternatives, rng, &mut out);
        out
    }

    /// Whether `text` matches (as a search, as ECMA-262 `pattern` does, unless anchored).
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let starts: Vec<usize> = if self.start {
            vec![0]
        } else {
            (0..=chars.len()).collect()
        };
        starts.into_iter().any(|start| {
            let ends = alternatives_ends(&self.alternatives, &chars, start);
            if self.end {
                ends.contains(&chars.len())
            } else {
                !ends.is_empty()
            }
        })
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += 1;
        c
    }

    fn alternatives(&mut self) -> Option<Vec<Vec<Item>>> {
        let mut out = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.at += 1;
            out.push(self.sequence()?);
        }
        Some(out)
    }

    fn sequence(&mut self) -> Option<Vec<Item>> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let node = self.atom()?;
            let (min, max) = self.quantifier()?;
            items.push(Item { node, min, max });
        }
        Some(items)
    }

    fn atom(&mut self) -> Option<Node> {
        match self.next()? {
            '(' => {
                if self.peek() == Some('?') {
                    self.at += 1;
                    match self.next()? {
                        ':' => {}
                        // Named groups: skip the name.
                        'P' | '<' if self.peek() != Some('=') && self.peek() != Some('!') => {
                            while self.next()? != '>' {}
                        }
                        _ => return None,
                    }
                }
                let group = self.alternatives()?;
                (self.next()? == ')').then_some(Node::Group(group))
            }
            '[' => self.class(),
            '.' => Some(Node::Any),
            '\\' => self.escape(false),
            '^' | '$' | '*' | '+' | '?' | ')' => None,
            c => Some(Node::Literal(c)),
        }
    }

    /// After a `\`; inside a class, `\b` is a backspace, elsewhere an unsupported boundary.
    fn escape(&mut self, in_class: bool) -> Option<Node> {
        let class = |ranges: &[(char, char)], negated| {
            Some(Node::Class {
                ranges: ranges.to_vec(),
                negated,
            })
        };
        match self.next()? {
            'd' => class(DIGIT, false),
            'D' => class(DIGIT, true),
            'w' => class(WORD, false),
            'W' => class(WORD, true),
            's' => class(SPACE, false),
            'S' => class(SPACE, true),
            'n' => Some(Node::Literal('\n')),
            't' => Some(Node::Literal('\t')),
            'r' => Some(Node::Literal('\r')),
            'b' if in_class => Some(Node::Literal('\u{8}')),
            'u' => {
                let hex: String = (0..4).map(|_| self.next()).collect::<Option<_>>()?;
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?).map(Node::Literal)
            }
            'x' => {
                let hex: String = (0..2).map(|_| self.next()).collect::<Option<_>>()?;
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?).map(Node::Literal)
            }
            c if c.is_ascii_alphanumeric() => None,
            c => Some(Node::Literal(c)),
        }
    }

    fn class(&mut self) -> Option<Node> {
        let negated = self.peek() == Some('^');
        if negated {
            self.at += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.next()?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let low = if c == '\\' {
                match self.escape(true)? {
                    Node::Literal(l) => l,
                    Node::Class {
                        ranges: r,
                        negated: false,
                    } => {
                        ranges.extend(r);
                        continue;
                    }
                    _ => return None,
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|&n| n != ']') {
                self.at += 1;
                let high = match self.next()? {
                    '\\' => match self.escape(true)? {
                        Node::Literal(h) => h,
                        _ => return None,
                    },
                    h => h,
                };
                if high < low {
                    return None;
                }
                ranges.push((low, high));
            } else {
                ranges.push((low, low));
            }
        }
        Some(Node::Class { ranges, negated })
    }

    fn quantifier(&mut self) -> Option<(u32, Option<u32>)> {
        let bounds = match self.peek() {
            Some('?') => (0, Some(1)),
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('{') => {
                let close = self.chars[self.at..].iter().position(|&c| c == '}')?;
                let inner: String = self.chars[self.at + 1..self.at + close].iter().collect();
                let bounds = match inner.split_once(',') {
                    None => {
                        let n = inner.trim().parse().ok()?;
                        (n, Some(n))
                    }
                    Some((lo, "")) => (lo.trim().parse().ok()?, None),
                    Some((lo, hi)) => (lo.trim().parse().ok()?, Some(hi.trim().parse().ok()?)),
                };
                self.at += close;
                bounds
            }
            _ => return Some((1, Some(1))),
        };
        self.at += 1;
        // Lazy and possessive suffixes do not change what matches.
        if matches!(self.peek(), Some('?' | '+')) {
            self.at += 1;
        }
        Some(bounds)
    }
}

fn generate_alternatives(alternatives: &[Vec<Item>], rng: &mut fastrand::Rng, out: &mut String) {
    let Some(sequence) = alternatives.get(rng.usize(..alternatives.len().max(1))) else {
        return;
    };
    for item in sequence {
        let spread = item
            .max
            .map_or(EXTRA_REPEATS, |max| max.saturating_sub(item.min))
            .min(EXTRA_REPEATS);
        let count = item.min + rng.u32(0..=spread);
        for _ in 0..count {
            generate_node(&item.node, rng, out);
        }
    }
}

fn generate_node(node: &Node, rng: &mut fastrand::Rng, out: &mut String) {
    match node {
        Node::Literal(c) => out.push(*c),
        Node::Any => out.push(rng.alphanumeric()),
        Node::Group(alternatives) => generate_alternatives(alternatives, rng, out),
        Node::Class {
            ranges,
            negated: false,
        } => {
            let total: u32 = ranges.iter().map(|&(l, h)| h as u32 - l as u32 + 1).sum();
            let mut pick = rng.u32(0..total.max(1));
            for &(low, high) in ranges {
                let size = high as u32 - low as u32 + 1;
                if pick < size {
                    // A range crossing the surrogate gap may land in it: fall back to `low`.
                    out.push(char::from_u32(low as u32 + pick).unwrap_or(low));
                    return;
                }
                pick -= size;
            }
        }
        Node::Class {
            ranges,
            negated: true,
        } => {
            let allowed: Vec<char> = ('!'..='~')
                .filter(|c| !ranges.iter().any(|&(l, h)| (l..=h).contains(c)))
                .collect();
            if let Some(&c) = allowed.get(rng.usize(..allowed.len().max(1))) {
                out.push(c);
            }
        }
    }
}

fn alternatives_ends(alternatives: &[Vec<Item>], chars: &[char], start: usize) -> BTreeSet<usize> {
    alternatives
        .iter()
        .flat_map(|sequence| sequence_ends(sequence, chars, start))
        .collect()
}

fn sequence_ends(sequence: &[Item], chars: &[char], start: usize) -> BTreeSet<usize> {
    let mut here = BTreeSet::from([start]);
    for item in sequence {
        let mut reached = BTreeSet::new();
        if item.min == 0 {
            reached.extend(here.iter().copied());
        }
        let mut frontier = here;
        // Each repetition that matches consumes at least... possibly nothing (an empty group),
        // so stop once no new positions appear or past the string's length.
        let limit = item.max.unwrap_or(u32::MAX);
        let mut count = 0;
        while count < limit && !frontier.is_empty() && count as usize <= chars.len() {
            count += 1;
            let next: BTreeSet<usize> = frontier
                .iter()
                .flat_map(|&p| node_ends(&item.node, chars, p))
                .collect();
            if count >= item.min {
                reached.extend(next.iter().copied());
            }
            if next == frontier {
                break;
            }
            frontier = next;
        }
        here = reached;
    }
    here
}

fn node_ends(node: &Node, chars: &[char], at: usize) -> BTreeSet<usize> {
    let Some(&c) = chars.get(at) else {
        return match node {
            Node::Group(alternatives) => alternatives_ends(alternatives, chars, at),
            _ => BTreeSet::new(),
        };
    };
    let one = |ok: bool| {
        if ok {
            BTreeSet::from([at + 1])
        } else {
            BTreeSet::new()
        }
    };
    match node {
        Node::Literal(l) => one(*l == c),
        Node::Any => one(c != '\n' && c != '\r'),
        Node::Class { ranges, negated } => {
            one(ranges.iter().any(|&(l, h)| (l..=h).contains(&c)) != *negated)
        }
        Node::Group(alternatives) => alternatives_ends(alternatives, chars, at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_strings_match_their_pattern() {
        let mut rng = fastrand::Rng::with_seed(7);
        for source in [
            "^[A-Z]{2}[0-9]{6}[A-D]$",
            "^\\d{3}-\\d{4}$",
            "^(GB|IE)[0-9]{2,4}$",
            "^[a-z][a-z0-9_-]*$",
            "^(?:[A-Z][a-z]+ ?)+$",
            "^[^@\\s]+@example\\.com$",
            "abc",
            "^\\w+\\.?\\w*$",
            "^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$",
        ] {
            let pattern = Pattern::parse(source).unwrap();
            for _ in 0..200 {
                let s = pattern.generate(&mut rng);
                assert!(pattern.is_match(&s), "{source}: {s:?}");
            }
        }
    }

    #[test]
    fn the_matcher_rejects_what_does_not_match() {
        let p = Pattern::parse("^[A-Z]{2}[0-9]{6}[A-D]$").unwrap();
        assert!(p.is_match("QQ123456A"));
        assert!(!p.is_match("QQ123456E"));
        assert!(!p.is_match("xQQ123456A"));
        let unanchored = Pattern::parse("[0-9]{2}").unwrap();
        assert!(unanchored.is_match("ab12cd"));
        assert!(!unanchored.is_match("a1b"));
    }

    #[test]
    fn unsupported_syntax_is_refused() {
        for source in ["(?=a)b", "(a)\\1", "\\bword", "\\p{L}+", "a^b", "^a|b$"] {
            assert!(Pattern::parse(source).is_none(), "{source}");
        }
    }
}
