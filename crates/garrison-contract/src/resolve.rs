//! `$ref` resolution: one self-contained document out of a contract and the files it refers
//! to.
//!
//! Every reference is replaced by (a resolved copy of) its target, so that later stages never
//! chase a pointer — except a reference to a *recursive* target (one that can reach itself
//! through references, such as a tree node schema), which stays a `$ref` rewritten to point
//! inside the output: `#/…` when the target is in the root file, `#/$defs/<name>` when it comes
//! from another file (the expanded target is then bundled under the root's `$defs`). A chain of
//! references that never reaches a value (`A → B → A`) is an error, not a recursive schema.
//!
//! Only relative file references are followed: a contract must never make the loader reach
//! out to the network (OWASP API7, server-side request forgery, and reproducible builds), so
//! `http(s)://` and any other URI scheme is an error.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::OpenApiVersion;
use crate::error::LoadError;
use crate::pointer::{
    escape_segment, lookup, percent_decode, push_escaped, to_fragment, unescape_segment,
};
use crate::references::{Context, child_context, collect, keyword_context, on_cycles};
use crate::yaml::parse_document;

/// A reference target: a canonical file and an unencoded JSON pointer into it.
type Target = (PathBuf, String);

/// Resolves every `$ref` of `raw`, the document read from `path`.
pub(crate) fn resolve(
    path: &Path,
    raw: Value,
    version: OpenApiVersion,
) -> Result<Value, LoadError> {
    let root = canonical(path);
    let mut used_names = HashSet::new();
    if let Some(Value::Object(defs)) = raw.get("$defs") {
        used_names.extend(defs.keys().cloned());
    }
    let raw = Rc::new(raw);
    let mut resolver = Resolver {
        version,
        root: root.clone(),
        files: HashMap::from([(root.clone(), raw.clone())]),
        shown: HashMap::from([(root.clone(), path.to_owned())]),
        recursive: HashSet::new(),
        expanding: Vec::new(),
        cache: HashMap::new(),
        bundle_names: HashMap::new(),
        to_bundle: Vec::new(),
        used_names,
    };
    resolver.recursive = resolver.find_recursive(&raw);
    let mut pointer = String::new();
    let mut out = resolver.walk(&root, &raw, &mut pointer, Context::Keywords)?;

    // External recursive targets, bundled under `$defs`; expanding one may name more.
    let mut bundled = Map::new();
    while let Some((target, name)) = resolver.to_bundle.pop() {
        let document = resolver.files.get(&target.0).cloned();
        let Some(value) = document.as_deref().and_then(|d| lookup(d, &target.1)) else {
            continue; // unreachable: checked when the reference was kept
        };
        let mut at = target.1.clone();
        let expanded = resolver.walk(&target.0, value, &mut at, Context::Keywords)?;
        bundled.insert(name, expanded);
    }
    if !bundled.is_empty()
        && let Value::Object(doc) = &mut out
    {
        let defs = doc
            .entry("$defs")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(defs) = defs {
            defs.extend(bundled);
        }
    }
    Ok(out)
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

struct Resolver {
    version: OpenApiVersion,
    root: PathBuf,
    /// Parsed files by canonical path.
    files: HashMap<PathBuf, Rc<Value>>,
    /// Each canonical path as it was reached, for error messages.
    shown: HashMap<PathBuf, PathBuf>,
    /// Targets on a reference cycle: referred to, never inlined.
    recursive: HashSet<Target>,
    /// Targets being expanded (a guard: `recursive` already rules out re-entry).
    expanding: Vec<Target>,
    /// Expanded targets; an expansion does not depend on where it is used.
    cache: HashMap<Target, Value>,
    /// `$defs` names of external recursive targets.
    bundle_names: HashMap<Target, String>,
    /// External recursive targets still to expand into `$defs`.
    to_bundle: Vec<(Target, String)>,
    used_names: HashSet<String>,
}

// === impl Resolver ===

impl Resolver {
    /// Discovers every target reachable from the root document and returns those on a cycle.
    /// Targets that cannot be read or do not resolve are skipped here and reported by `walk`,
    /// which knows where the reference is written.
    fn find_recursive(&mut self, root: &Value) -> HashSet<Target> {
        let mut graph = Graph::default();
        let mut refs = Vec::new();
        collect(root, Context::Keywords, &mut refs);
        let root_file = self.root.clone();
        for r in refs {
            if let Ok(t) = self.target(&root_file, &r) {
                graph.intern(t);
            }
        }
        // Nodes are appended as they are discovered, so this visits each one once.
        let mut next = 0;
        while next < graph.nodes.len() {
            let (file, pointer) = graph.nodes[next].clone();
            let mut refs = Vec::new();
            if let Ok(document) = self.file(&file)
                && let Some(value) = lookup(&document, &pointer)
            {
                collect(value, Context::Keywords, &mut refs);
            }
            for r in refs {
                if let Ok(t) = self.target(&file, &r) {
                    let j = graph.intern(t);
                    graph.edges[next].push(j);
                }
            }
            next += 1;
        }
        let cyclic = on_cycles(&graph.edges);
        graph
            .nodes
            .into_iter()
            .zip(cyclic)
            .filter_map(|(t, c)| c.then_some(t))
            .collect()
    }

    fn walk(
        &mut self,
        file: &Path,
        value: &Value,
        pointer: &mut String,
        context: Context,
    ) -> Result<Value, LoadError> {
        match value {
            Value::Object(map) => {
                if matches!(context, Context::Keywords | Context::Example)
                    && let Some(reference) = map.get("$ref")
                {
                    return self.follow(file, map, reference, pointer, context);
                }
                let mut out = Map::new();
                for (key, child) in map {
                    let resolved = match child_context(context, key, child) {
                        None => child.clone(),
                        Some(c) => self.descend(file, child, pointer, key, c)?,
                    };
                    out.insert(key.clone(), resolved);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    // An index needs no escaping: written straight into the pointer.
                    let len = pointer.len();
                    write!(pointer, "/{i}").ok();
                    let resolved = self.walk(file, item, pointer, Context::Keywords);
                    pointer.truncate(len);
                    out.push(resolved?);
                }
                Ok(Value::Array(out))
            }
            scalar => Ok(scalar.clone()),
        }
    }

    fn descend(
        &mut self,
        file: &Path,
        value: &Value,
        pointer: &mut String,
        segment: &str,
        context: Context,
    ) -> Result<Value, LoadError> {
        let len = pointer.len();
        pointer.push('/');
        push_escaped(pointer, segment);
        let out = self.walk(file, value, pointer, context);
        pointer.truncate(len);
        out
    }

    /// Replaces the Reference Object `map` (at `pointer` in `file`) by its target.
    fn follow(
        &mut self,
        file: &Path,
        map: &Map<String, Value>,
        reference: &Value,
        pointer: &mut String,
        context: Context,
    ) -> Result<Value, LoadError> {
        let shown = self.shown(file);
        let at = |reference: &str, reason: &str| LoadError::Reference {
            file: shown.clone(),
            pointer: format!("#{pointer}"),
            reference: reference.to_owned(),
            reason: reason.to_owned(),
        };
        let Value::String(reference) = reference else {
            return Err(at(&reference.to_string(), "must be a string"));
        };
        let target = self
            .target(file, reference)
            .map_err(|r| at(reference, &r))?;
        let document = self.file(&target.0).map_err(|r| at(reference, &r))?;
        let Some(value) = lookup(&document, &target.1) else {
            return Err(at(reference, "does not resolve"));
        };

        if self.recursive.contains(&target) || self.expanding.contains(&target) {
            if self.is_alias_cycle(&target) {
                return Err(at(
                    reference,
                    "is a cycle of references that never reaches a value",
                ));
            }
            return self.keep_recursive(file, map, target, pointer);
        }

        let resolved = match self.cache.get(&target) {
            Some(v) => v.clone(),
            None => {
                self.expanding.push(target.clone());
                let mut target_pointer = target.1.clone();
                let result = self.walk(&target.0, value, &mut target_pointer, context);
                self.expanding.pop();
                let value = result?;
                self.cache.insert(target, value.clone());
                value
            }
        };
        self.merge_siblings(file, map, resolved, pointer)
    }

    /// Whether following `target` through plain `{$ref}` objects comes back round without
    /// reaching a value.
    fn is_alias_cycle(&mut self, target: &Target) -> bool {
        let mut seen = HashSet::new();
        let mut here = target.clone();
        loop {
            let next = {
                let Ok(document) = self.file(&here.0) else {
                    return false;
                };
                match lookup(&document, &here.1).and_then(|v| v.get("$ref")) {
                    Some(Value::String(r)) => r.clone(),
                    _ => return false,
                }
            };
            let Ok(next) = self.target(&here.0, &next) else {
                return false;
            };
            if !seen.insert(here) {
                return true;
            }
            here = next;
        }
    }

    /// A reference to a recursive target: kept as a `$ref` into the output.
    fn keep_recursive(
        &mut self,
        file: &Path,
        map: &Map<String, Value>,
        target: Target,
        pointer: &mut String,
    ) -> Result<Value, LoadError> {
        let fragment = if target.0 == self.root {
            to_fragment(&target.1)
        } else {
            let name = self.bundle_name(&target);
            to_fragment(&format!("/$defs/{}", escape_segment(&name)))
        };
        let mut out = Map::new();
        out.insert("$ref".to_owned(), Value::String(fragment));
        // OpenAPI 3.0: "any properties added SHALL be ignored"; 3.1 schemas keep them.
        if self.version == OpenApiVersion::V3_1 {
            for (key, value) in map.iter().filter(|(k, _)| *k != "$ref") {
                let v = match keyword_context(key, value, false) {
                    None => value.clone(),
                    Some(c) => self.descend(file, value, pointer, key, c)?,
                };
                out.insert(key.clone(), v);
            }
        }
        Ok(Value::Object(out))
    }

    /// Applies the keywords written beside a `$ref`: ignored in 3.0; in 3.1 `summary` and
    /// `description` override the target's, and any other keyword applies alongside it (as
    /// JSON Schema 2020-12 does), expressed as `allOf`.
    fn merge_siblings(
        &mut self,
        file: &Path,
        map: &Map<String, Value>,
        resolved: Value,
        pointer: &mut String,
    ) -> Result<Value, LoadError> {
        if self.version == OpenApiVersion::V3_0 || map.len() == 1 {
            return Ok(resolved);
        }
        let mut siblings = Map::new();
        for (key, value) in map.iter().filter(|(k, _)| *k != "$ref") {
            let v = match keyword_context(key, value, false) {
                None => value.clone(),
                Some(c) => self.descend(file, value, pointer, key, c)?,
            };
            siblings.insert(key.clone(), v);
        }
        let annotations_only = siblings
            .keys()
            .all(|k| k == "summary" || k == "description");
        match resolved {
            Value::Object(mut target) if annotations_only => {
                target.extend(siblings);
                Ok(Value::Object(target))
            }
            resolved => {
                match siblings.get_mut("allOf") {
                    Some(Value::Array(all)) => all.push(resolved),
                    _ => {
                        siblings.insert("allOf".to_owned(), Value::Array(vec![resolved]));
                    }
                }
                Ok(Value::Object(siblings))
            }
        }
    }

    /// Parses `reference`, written in `file`, into a target; the error is the reason.
    fn target(&mut self, file: &Path, reference: &str) -> Result<Target, String> {
        let (location, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        if let Some(scheme) = uri_scheme(location) {
            return Err(if scheme == "http" || scheme == "https" {
                "is a network reference: contracts are never fetched over the network; \
                 save the file beside the contract and refer to it by relative path"
                    .to_owned()
            } else {
                format!("uses the {scheme}: scheme; only relative file references are followed")
            });
        }
        let pointer =
            percent_decode(fragment).ok_or_else(|| "has a malformed %-escape".to_owned())?;
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err("names an anchor; only JSON-pointer fragments (#/…) are supported".into());
        }
        if location.is_empty() {
            return Ok((file.to_owned(), pointer));
        }
        let location =
            percent_decode(location).ok_or_else(|| "has a malformed %-escape".to_owned())?;
        if Path::new(&location).is_absolute() {
            return Err("is an absolute path; refer to files relative to the contract".into());
        }
        let referrer = self.shown(file);
        let shown = referrer
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(&location);
        let key = canonical(&shown);
        self.shown.entry(key.clone()).or_insert(shown);
        Ok((key, pointer))
    }

    /// The parsed file at canonical path `key`, read on first use.
    fn file(&mut self, key: &Path) -> Result<Rc<Value>, String> {
        if let Some(doc) = self.files.get(key) {
            return Ok(doc.clone());
        }
        let shown = self.shown(key);
        let text = std::fs::read_to_string(&shown)
            .map_err(|e| format!("cannot be loaded: {}: {e}", shown.display()))?;
        let doc = parse_document(&shown, &text)
            .map_err(|e| format!("cannot be loaded: {e}"))
            .map(Rc::new)?;
        self.files.insert(key.to_owned(), doc.clone());
        Ok(doc)
    }

    fn shown(&self, key: &Path) -> PathBuf {
        self.shown
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    /// A `$defs` name for an external target: its last pointer token (or the file stem),
    /// made unique.
    fn bundle_name(&mut self, target: &Target) -> String {
        if let Some(name) = self.bundle_names.get(target) {
            return name.clone();
        }
        let last = target.1.rsplit('/').next().unwrap_or("");
        let base = if last.is_empty() {
            target
                .0
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "external".to_owned())
        } else {
            unescape_segment(last).unwrap_or_else(|| last.to_owned())
        };
        let mut name = base.clone();
        let mut n = 2;
        while self.used_names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        self.used_names.insert(name.clone());
        self.bundle_names.insert(target.clone(), name.clone());
        self.to_bundle.push((target.clone(), name.clone()));
        name
    }
}

/// The reference graph, built as targets are discovered.
#[derive(Default)]
struct Graph {
    ids: HashMap<Target, usize>,
    nodes: Vec<Target>,
    edges: Vec<Vec<usize>>,
}

impl Graph {
    fn intern(&mut self, target: Target) -> usize {
        if let Some(&i) = self.ids.get(&target) {
            return i;
        }
        let i = self.nodes.len();
        self.ids.insert(target.clone(), i);
        self.nodes.push(target);
        self.edges.push(Vec::new());
        i
    }
}

/// The URI scheme of `location` (RFC 3986 §3.1), lower-cased, if it has one.
fn uri_scheme(location: &str) -> Option<String> {
    let (scheme, _) = location.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests;
