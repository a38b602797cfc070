//! The docs' snippets hold for the `smcp` that is built: every `smcp …`
//! command in a shell block of docs/*.md and the README names a real
//! command and only flags it takes, and every TOML block parses (grant
//! files as grants). What a snippet does against a running host is run by
//! the tests of that feature, and the tenant guide's walk-through as written
//! by `tenant_guide.rs`; this keeps the words from drifting from the binary.

use smcp_core::capabilities::Grant;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The user-facing Markdown files.
fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.push(root.join("README.md"));
    files.sort();
    files
}

/// The fenced blocks of `text` with their language: (language, lines).
fn blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(fence) = trimmed.strip_prefix("```") {
            match open.take() {
                Some(block) => out.push(block),
                None => open = Some((fence.trim().to_owned(), Vec::new())),
            }
        } else if let Some((_, lines)) = open.as_mut() {
            lines.push(trimmed.to_owned());
        }
    }
    out
}

/// The `smcp` commands of a shell block, continuation lines joined and
/// comments dropped.
fn smcp_commands(lines: &[String]) -> Vec<String> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in lines {
        let line = line.split(" #").next().unwrap_or_default().trim_end();
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .flat_map(|line| line.split("&&").map(str::trim).map(str::to_owned).collect::<Vec<_>>())
        .filter(|command| command.starts_with("smcp "))
        .collect()
}

fn help(path: &[&str]) -> Option<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_smcp")).args(path).arg("--help").output().unwrap();
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn every_documented_smcp_command_and_flag_exists() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (language, lines) in blocks(&text) {
            if !matches!(language.as_str(), "sh" | "bash" | "shell" | "") {
                continue;
            }
            for command in smcp_commands(&lines) {
                let words: Vec<&str> = command.split_whitespace().skip(1).collect();
                let Some(first) = words.first().filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
                else {
                    continue;
                };
                let mut path = vec![*first];
                let Some(mut text) = help(&path) else {
                    wrong.push(format!("{}: `{command}`: no command `smcp {first}`", file.display()));
                    continue;
                };
                // A command with subcommands: the next word names one.
                if text.contains("\nCommands:") {
                    match words.get(1).and_then(|second| help(&[first, second]).map(|t| (second, t))) {
                        Some((second, sub)) => {
                            path.push(second);
                            text = sub;
                        }
                        None => {
                            wrong.push(format!("{}: `{command}`: no such subcommand", file.display()));
                            continue;
                        }
                    }
                }
                for flag in words.iter().filter(|w| w.starts_with("--")) {
                    let flag = flag.split('=').next().unwrap_or_default();
                    if !text.contains(&format!("{flag} ")) && !text.contains(&format!("{flag}\n")) {
                        wrong.push(format!("{}: `{command}`: `smcp {}` has no {flag}", file.display(), path.join(" ")));
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "the docs name commands or flags the binary does not have:\n{}", wrong.join("\n"));
    assert!(checked > 40, "only {checked} commands found: is the extraction broken?");
}

#[test]
fn every_toml_block_parses_and_grants_are_grants() {
    let mut grants = 0;
    for file in documents() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (language, lines) in blocks(&text) {
            if language != "toml" {
                continue;
            }
            let block = lines.join("\n");
            let table = toml::from_str::<toml::Table>(&block)
                .unwrap_or_else(|e| panic!("{}: a TOML block does not parse: {e}\n{block}", file.display()));
            // A grant has a top-level integer `version` (a Cargo.toml's is a string, in [package]).
            if table.get("version").is_some_and(toml::Value::is_integer) {
                Grant::from_toml(&block)
                    .unwrap_or_else(|e| panic!("{}: a grant does not parse: {e}\n{block}", file.display()));
                grants += 1;
            }
        }
    }
    assert!(grants >= 1, "the grant example of docs/grants.md is checked");
}
