//! The client crate's modules are layered: a module uses only modules of lower layers, and
//! within a layer the uses form no cycle. So what a session depends on can be read off the
//! table below (the same order `ARCHITECTURE.md` gives), and a new call that would close a cycle
//! fails here rather than hiding in the code. The check reads the sources: every `crate::name`
//! outside comments and test modules is a use of module `name`.

use std::collections::{BTreeMap, BTreeSet};

/// Lowest first.
const LAYERS: &[&[&str]] = &[
    // Formats and rules with no I/O of their own.
    &["api", "conv", "hetu", "directory", "custody"],
    // The device's account and its memory.
    &["account", "seen"],
    // The access log's checkpoint and its witnesses, as a device accepts them.
    &["checkpoint", "witness"],
    // The verified directory.
    &["session"],
    // What a session does.
    &["access_log", "chart", "invite", "report", "draft"],
    // Work that needs the root key, and checks across charts.
    &["admin", "detection"],
];

/// The modules `source` uses, outside comments and its `#[cfg(test)] mod tests`.
fn uses(source: &str) -> BTreeSet<String> {
    let code = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn modules_use_only_lower_layers_and_form_no_cycle() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, names)| names.iter().map(move |n| (*n, i)))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        if name == "lib" || path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mine = *layer
            .get(name.as_str())
            .unwrap_or_else(|| panic!("module {name} has no layer: add it to LAYERS"));
        let used = uses(&std::fs::read_to_string(&path).unwrap());
        for dep in used
            .iter()
            .filter(|d| layer.contains_key(d.as_str()) && **d != name)
        {
            let theirs = layer[dep.as_str()];
            assert!(
                theirs <= mine,
                "{name} (layer {mine}) uses {dep} (layer {theirs}), a higher layer"
            );
        }
        graph.insert(name, used);
    }
    assert!(graph.len() >= 17, "read only {:?}", graph.keys());
    // No cycle within a layer (across layers there can be none: uses only go down).
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(i) = path.iter().position(|p| p == node) {
            panic!("a cycle of modules: {:?} -> {node}", &path[i..]);
        }
        path.push(node.to_owned());
        for dep in graph.get(node).into_iter().flatten() {
            if dep != node && graph.contains_key(dep) {
                visit(dep, graph, path, done);
            }
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_check_sees_uses_and_ignores_comments_and_tests() {
    let source = "use crate::session::Session;\n// crate::admin in a comment\nlet x = crate::chart::load(); // crate::invite\n#[cfg(test)]\nmod tests {\n    use crate::admin;\n}\n";
    assert_eq!(
        uses(source),
        ["chart", "session"].into_iter().map(String::from).collect()
    );
}
