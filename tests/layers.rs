//! The module layers of `src/`: a module may name (`crate::<module>`) only modules of lower
//! layers, and modules of one layer never name each other. The order is the one
//! `docs/architecture.md` draws; a module added to `src/` must be given its layer here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// From the bottom up; the modules of one line form one layer.
const LAYERS: &[&[&str]] = &[
    // Wire types and settings.
    &["api", "config", "pki"],
    // What resources and kinds exist: names, scopes, codecs, schemas.
    &["catalog"],
    // The OpenAPI documents built from the catalogue.
    &["openapi"],
    // The generic store, per-resource rules, field manager, patches, watch hub.
    &["registry"],
    // Calls to services in the cluster: endpoint resolution, TLS, webhooks.
    &["outbound"],
    // CRDs and custom resources: schemas, CEL, the CRD strategy and conversion.
    &["apiextensions"],
    // Request context: user, RequestInfo, the authorization model.
    &["request"],
    // The RBAC model and authorizer.
    &["rbac"],
    // The admission plugins and the filter chain's filters.
    &["admission", "filters"],
    // The servers: aggregator, core, apiextensions, discovery, system endpoints.
    &["servers"],
    // The in-process controllers.
    &["controllers"],
    // Composition: access control, the chain, TLS serving, the storage backend and its
    // encryption at rest.
    &["access", "backend", "chain", "encryption", "serve"],
    &["control_plane"],
    &["app"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for `lib.rs` and `main.rs`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Every `crate::<name>` the text names (paths and `use crate::{a::..., b::...}` groups).
fn named_modules(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let group = rest.strip_prefix('{');
        let segment = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        match group {
            Some(inner) => {
                let end = inner.find('}').unwrap_or(inner.len());
                for item in inner[..end].split(',') {
                    let name = segment(item.trim());
                    if !name.is_empty() {
                        names.push(name);
                    }
                }
            }
            None => names.push(segment(rest)),
        }
    }
    names
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut modules = BTreeMap::new();
    let mut violations = Vec::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else {
            continue;
        };
        let Some(own) = layer_of(&module) else {
            violations.push(format!("src/{module} is in no layer of tests/layers.rs"));
            continue;
        };
        modules.insert(module.clone(), own);
        let text = fs::read_to_string(file).expect("read source");
        for named in named_modules(&text) {
            if named == module {
                continue;
            }
            match layer_of(&named) {
                Some(layer) if layer < own => {}
                Some(_) => violations.push(format!(
                    "{} names crate::{named}, which is not in a lower layer than {module}",
                    file.strip_prefix(&src).unwrap().display()
                )),
                // Not a module of src/ (a macro, `crate::` inside a string).
                None => {}
            }
        }
    }
    assert!(
        modules.len() > 10,
        "the check found only {} modules in src/",
        modules.len()
    );
    assert!(
        violations.is_empty(),
        "layer violations:\n{}",
        violations.join("\n")
    );
}

/// The code of a file that is not test code: test files (`tests.rs`, `tests/`, `test_support.rs`,
/// `*_tests.rs`) are none; an inline `#[cfg(test)] mod tests { .. }` ends a file.
fn production_code(file: &Path) -> Option<String> {
    let name = file.file_name()?.to_str()?;
    let in_tests_dir = file.components().any(|c| c.as_os_str() == "tests");
    if in_tests_dir
        || name == "tests.rs"
        || name == "test_support.rs"
        || name.ends_with("_tests.rs")
    {
        return None;
    }
    let text = fs::read_to_string(file).ok()?;
    Some(match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => text[..at].to_string(),
        None => text,
    })
}

/// Whether the graph has a cycle; answers one when it does.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_circle_spans_two_folders_of_one_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // (top-level module, child) -> the children of the same module it names.
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let relative: Vec<String> = file
            .strip_prefix(&src)
            .expect("under src")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let [top, child, ..] = relative.as_slice() else {
            continue;
        };
        let child = child.strip_suffix(".rs").unwrap_or(child).to_string();
        if child == "mod" {
            continue;
        }
        let Some(code) = production_code(file) else {
            continue;
        };
        let prefix = format!("crate::{top}::");
        let named: BTreeSet<String> = code
            .match_indices(&prefix)
            .map(|(at, _)| {
                code[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|name| !name.is_empty() && *name != child)
            .collect();
        edges
            .entry(top.clone())
            .or_default()
            .entry(child)
            .or_default()
            .extend(named);
    }
    let circles: Vec<String> = edges
        .iter()
        .filter_map(|(top, graph)| {
            find_cycle(graph).map(|cycle| format!("src/{top}: {}", cycle.join(" -> ")))
        })
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph = |pairs: &[(&str, &str)]| {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            edges
                .entry(a.to_string())
                .or_default()
                .insert(b.to_string());
        }
        edges
    };
    assert_eq!(find_cycle(&graph(&[("a", "b"), ("b", "c")])), None);
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn the_check_sees_grouped_and_plain_paths() {
    assert_eq!(
        named_modules(
            "use crate::{api::status, registry::store};\nlet x = crate::servers::core::X;"
        ),
        vec!["api", "registry", "servers"]
    );
}
