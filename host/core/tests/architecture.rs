//! The core's layers, as docs/architecture.md lists them, against the
//! imports in its source: every module may import only modules of lower
//! layers, and the files inside a module may not import each other in a
//! circle. Read from the source text (`crate::` and `super::` paths outside
//! comments and test modules), so a new arrow that runs up fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer list of docs/architecture.md, top first: each entry the
/// modules of one layer.
fn layers() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/architecture.md"))
        .expect("docs/architecture.md");
    let start = doc.find("<!-- layers:").expect("the layer list's marker in docs/architecture.md");
    let block = &doc[start..];
    let open = block.find("```\n").expect("the layer list's code block") + 4;
    let close = block[open..].find("```").expect("the end of the layer list") + open;
    block[open..close]
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            // Modules, then two spaces or more, then what they are.
            let names = line.split("  ").next().unwrap_or_default();
            names.split_whitespace().map(str::to_owned).collect()
        })
        .collect()
}

/// A source file: its module path (`["mcp", "current"]`; a `mod.rs` is
/// its folder's module) and its code without comments and test modules.
struct Source {
    module: Vec<String>,
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&root).ok()?.with_extension("");
            let mut module: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if module.last().is_some_and(|last| last == "mod") {
                module.pop();
            }
            // The crate root, and test modules kept in files of their own.
            if module == ["lib"] || module.last().is_some_and(|last| last == "tests") {
                return None;
            }
            let text = std::fs::read_to_string(&path).ok()?;
            Some(Source { module, code: code_of(&text) })
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/").map_while(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// `text` without comment lines and without the `#[cfg(test)] mod` that
/// closes a file (tests may reach what they test from anywhere).
fn code_of(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut code = String::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed == "#[cfg(test)]"
            && lines[i + 1..].iter().find(|l| !l.trim().is_empty()).is_some_and(|l| l.trim_start().starts_with("mod "))
        {
            break;
        }
        if !trimmed.starts_with("//") {
            code.push_str(line);
            code.push('\n');
        }
    }
    code
}

/// Every path `code` names from the crate root, resolved from `module`:
/// `crate::a::b` and `super::…` paths, with `{…}` groups expanded one level.
fn paths(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let ident = |at: usize| -> (String, usize) {
        let end = code[at..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(code.len(), |n| at + n);
        (code[at..end].to_owned(), end)
    };
    let mut at = 0;
    while at < code.len() {
        let starts_word = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let (base, rest) = if starts_word && bytes[at..].starts_with(b"crate::") {
            (Vec::new(), at + "crate::".len())
        } else if starts_word && bytes[at..].starts_with(b"super::") {
            let mut base = module.to_vec();
            let mut rest = at;
            while code[rest..].starts_with("super::") {
                base.pop();
                rest += "super::".len();
            }
            (base, rest)
        } else {
            at += 1;
            continue;
        };
        // `a::b::{c, d::e}` or `a::b`: every name down to the group, then
        // each name in it.
        let mut path = base;
        let mut cursor = rest;
        loop {
            if code[cursor..].starts_with('{') {
                let close = code[cursor..].find('}').map_or(code.len(), |n| cursor + n);
                for item in code[cursor + 1..close].split(',') {
                    let first = item.trim().split("::").next().unwrap_or_default().trim();
                    if !first.is_empty() && first != "self" {
                        let mut grouped = path.clone();
                        grouped.push(first.to_owned());
                        found.push(grouped);
                    }
                }
                found.push(path.clone());
                cursor = close;
                break;
            }
            let (name, end) = ident(cursor);
            if name.is_empty() {
                break;
            }
            path.push(name);
            if code[end..].starts_with("::") {
                cursor = end + 2;
            } else {
                cursor = end;
                break;
            }
        }
        found.push(path);
        at = cursor.max(at + 1);
    }
    found
}

#[test]
fn modules_import_only_lower_layers() {
    let layers = layers();
    let layer_of: BTreeMap<&str, usize> =
        layers.iter().enumerate().flat_map(|(i, names)| names.iter().map(move |n| (n.as_str(), i))).collect();
    let sources = sources();
    let modules: BTreeSet<&str> = sources.iter().map(|s| s.module[0].as_str()).collect();
    for module in &modules {
        assert!(layer_of.contains_key(module), "module `{module}` is in no layer of docs/architecture.md");
    }
    for listed in layer_of.keys() {
        assert!(modules.contains(listed), "docs/architecture.md lists `{listed}`, which is not a module");
    }
    let mut wrong = BTreeSet::new();
    for source in &sources {
        let from = source.module[0].as_str();
        for path in paths(&source.module, &source.code) {
            let Some(to) = path.first().map(String::as_str).filter(|to| *to != from && modules.contains(to)) else {
                continue;
            };
            if layer_of[to] <= layer_of[from] {
                let beside = if layer_of[to] == layer_of[from] { "beside" } else { "above" };
                wrong.insert(format!("{} imports `{to}`, {beside} it", source.module.join("::")));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that do not point down:\n{}", wrong.into_iter().collect::<Vec<_>>().join("\n"));
}

#[test]
fn files_of_a_module_import_each_other_without_circles() {
    let sources = sources();
    let files: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    // Arrows between sibling files (a folder's mod.rs, which declares and
    // re-exports its files, is not one of them).
    let mut arrows: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for source in sources.iter().filter(|s| s.module.len() >= 2) {
        let parent = &source.module[..source.module.len() - 1];
        for path in paths(&source.module, &source.code) {
            if path.len() > parent.len() && path.starts_with(parent) {
                let sibling = path[..=parent.len()].to_vec();
                if sibling != source.module && files.contains(&sibling) {
                    arrows.entry(source.module.clone()).or_default().insert(sibling);
                }
            }
        }
    }
    // Depth-first search for a path that returns to where it started.
    fn circle(
        at: &Vec<String>,
        arrows: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        trail: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(start) = trail.iter().position(|m| m == at) {
            return Some(trail[start..].to_vec());
        }
        if done.contains(at) {
            return None;
        }
        trail.push(at.clone());
        for next in arrows.get(at).into_iter().flatten() {
            if let Some(found) = circle(next, arrows, trail, done) {
                return Some(found);
            }
        }
        trail.pop();
        done.insert(at.clone());
        None
    }
    let mut done = BTreeSet::new();
    for file in arrows.keys() {
        if let Some(found) = circle(file, &arrows, &mut Vec::new(), &mut done) {
            let names: Vec<String> = found.iter().map(|m| m.join("::")).collect();
            panic!("files that import each other in a circle: {}", names.join(" -> "));
        }
    }
}

#[test]
fn the_reader_sees_the_imports_it_must() {
    let module = vec!["mcp".to_owned(), "current".to_owned()];
    let code = "use crate::{audit::Event, http::{Request, Response}};\nuse super::dispatch::Call;\nlet x = crate::names::endpoint(a, b);\n";
    let found = paths(&module, &code_of(code));
    for expected in [vec!["audit"], vec!["http"], vec!["mcp", "dispatch", "Call"], vec!["names", "endpoint"]] {
        assert!(
            found.iter().any(|p| p.starts_with(&expected.iter().map(|s| s.to_string()).collect::<Vec<_>>())),
            "{expected:?} in {found:?}"
        );
    }
    let hidden = "// use crate::engine::Engine;\n#[cfg(test)]\nmod tests {\n    use crate::engine::Engine;\n}\n";
    assert!(paths(&module, &code_of(hidden)).is_empty(), "comments and test modules are not imports");
}

/// Grants are read by auditors and compared on every deploy, so they are
/// pure data and rules: the `policy` layer, and each capability's grant
/// section (`capabilities/<name>/grant.rs`, composed by
/// `capabilities/grant/`), import nothing but each other.
#[test]
fn grant_sections_are_pure() {
    let is_grant = |module: &[String]| match module {
        [top, ..] if top == "policy" => true,
        [top, grant, ..] if top == "capabilities" && grant == "grant" => true,
        [top, _, grant, ..] if top == "capabilities" && grant == "grant" => true,
        _ => false,
    };
    let sources = sources();
    let grants: Vec<&Source> = sources.iter().filter(|s| is_grant(&s.module)).collect();
    assert!(grants.len() >= 7, "the grant sections: {}", grants.len());
    let mut impure = BTreeSet::new();
    for source in grants {
        for path in paths(&source.module, &source.code) {
            if !is_grant(&path) {
                impure.insert(format!("{} imports `{}`", source.module.join("::"), path.join("::")));
            }
        }
    }
    assert!(
        impure.is_empty(),
        "grant code that reaches beyond grants:\n{}",
        impure.into_iter().collect::<Vec<_>>().join("\n")
    );
}
