//! Where the `$ref`s of a value are, and which reference targets are recursive.
//!
//! Resolution inlines every target except the recursive ones, so it must know up front which
//! targets can reach themselves through references: those are the targets in a cycle of the
//! reference graph (a strongly connected component with more than one target, or a target
//! that refers to itself). Deciding this once, instead of while expanding, keeps expansion
//! independent of where it happens, so every inlined target is expanded once and cached —
//! linear in the output, where expanding while watching for cycles is exponential on a
//! contract whose recursive schemas refer to one another.

use serde_json::Value;

/// What the keys of an object are, which decides where a `$ref` can be and what is literal
/// data (an `example` is never resolved: its `$ref` keys are data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Keys are OpenAPI / JSON Schema keywords.
    Keywords,
    /// Keys are names chosen by the author (`properties`, `paths`, `responses`, …).
    Names,
    /// Keys name Example Objects.
    Examples,
    /// An Example Object: `value` is literal data.
    Example,
}

/// Maps keyed by author-chosen names rather than keywords.
const NAME_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "paths",
    "webhooks",
    "schemas",
    "responses",
    "parameters",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
    "content",
    "encoding",
    "variables",
    "mapping",
];

/// How the value under keyword `key` is walked; `None` when it is literal data.
pub(crate) fn keyword_context(key: &str, value: &Value, in_example: bool) -> Option<Context> {
    match key {
        "example" | "default" | "enum" | "const" => None,
        "value" | "externalValue" if in_example => None,
        "examples" if value.is_array() => None,
        "examples" if value.is_object() => Some(Context::Examples),
        _ if value.is_object() && NAME_MAPS.contains(&key) => Some(Context::Names),
        _ => Some(Context::Keywords),
    }
}

/// The context of the children of an object walked in `context`.
pub(crate) fn child_context(context: Context, key: &str, value: &Value) -> Option<Context> {
    match context {
        Context::Names => Some(Context::Keywords),
        Context::Examples => Some(Context::Example),
        Context::Keywords | Context::Example => {
            keyword_context(key, value, context == Context::Example)
        }
    }
}

/// Appends every `$ref` string in `value` (walked in `context`) to `out`, including those
/// beside another `$ref` (so the result is a superset of what resolution follows).
pub(crate) fn collect(value: &Value, context: Context, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let is_reference = matches!(context, Context::Keywords | Context::Example);
            for (key, child) in map {
                if is_reference && key == "$ref" {
                    if let Value::String(reference) = child {
                        out.push(reference.clone());
                    }
                    continue;
                }
                if let Some(c) = child_context(context, key, child) {
                    collect(child, c, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, Context::Keywords, out);
            }
        }
        _ => {}
    }
}

/// For a graph given as adjacency lists, whether each node lies on a cycle (Tarjan's strongly
/// connected components, iterative so that a long chain cannot overflow the stack).
pub(crate) fn on_cycles(edges: &[Vec<usize>]) -> Vec<bool> {
    const UNSEEN: usize = usize::MAX;
    let n = edges.len();
    let (mut index, mut low) = (vec![UNSEEN; n], vec![0; n]);
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = vec![false; n];
    let mut next = 0;
    for start in 0..n {
        if index[start] != UNSEEN {
            continue;
        }
        index[start] = next;
        low[start] = next;
        next += 1;
        stack.push(start);
        on_stack[start] = true;
        let mut calls = vec![(start, 0usize)];
        while let Some(frame) = calls.last_mut() {
            let v = frame.0;
            if let Some(&w) = edges[v].get(frame.1) {
                frame.1 += 1;
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 || edges[v].contains(&v) {
                    for w in component {
                        out[w] = true;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cycles_are_found_and_chains_are_not() {
        // 0 → 1 → 2 → 0 is a cycle; 3 → 3 refers to itself; 4 → 0 and 5 lead nowhere new.
        let edges = vec![vec![1], vec![2], vec![0], vec![3], vec![0], vec![]];
        assert_eq!(
            on_cycles(&edges),
            vec![true, true, true, true, false, false]
        );
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let n = 200_000;
        let edges: Vec<Vec<usize>> = (0..n).map(|i| vec![(i + 1) % n]).collect();
        assert!(on_cycles(&edges).iter().all(|c| *c));
    }

    #[test]
    fn references_in_literal_data_are_not_collected() {
        let value = json!({
            "a": {"$ref": "#/x"},
            "example": {"$ref": "#/no"},
            "properties": {"$ref": {"$ref": "#/y"}},
            "examples": {"e": {"value": {"$ref": "#/no"}, "$ref": "#/z"}},
            "allOf": [{"$ref": "#/w", "description": {"$ref": "#/v"}}]
        });
        let mut out = Vec::new();
        collect(&value, Context::Keywords, &mut out);
        out.sort();
        assert_eq!(out, vec!["#/v", "#/w", "#/x", "#/y", "#/z"]);
    }
}
