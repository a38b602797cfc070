//! The blocks a guide in docs/ marks to run (`<!-- run -->` on the line
//! before the fence), for the tests that run them as written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const MARK: &str = "<!-- run -->";

/// A block the guide marks to run: its language and text (a list item's
/// indentation removed).
pub struct Runnable {
    pub lang: String,
    pub text: String,
    /// The output the guide shows for it: an untagged block right after
    /// it, `…` standing for any text.
    pub shows: Option<String>,
}

impl Runnable {
    /// True when `output` has the lines the guide shows, in order, each
    /// whole (`…` matching any text within a line), and nothing between.
    pub fn output_matches(&self, output: &str) -> bool {
        let Some(shows) = &self.shows else { return true };
        let expected: Vec<&str> = shows.lines().collect();
        let actual: Vec<&str> = output.lines().collect();
        actual.windows(expected.len()).any(|window| window.iter().zip(&expected).all(|(a, e)| line_matches(a, e)))
    }
}

/// `line` against `pattern`, whose `…` stand for any text.
fn line_matches(line: &str, pattern: &str) -> bool {
    let mut parts = pattern.split('…');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// The marked blocks of `guide`, in order.
pub fn runnable(guide: &str) -> Vec<Runnable> {
    let mut blocks = Vec::new();
    let mut lines = guide.lines();
    while let Some(line) = lines.next() {
        if line.trim() != MARK {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        let indent = fence.len() - fence.trim_start().len();
        let lang =
            fence.trim_start().strip_prefix("```").unwrap_or_else(|| panic!("{MARK} must come right before a fence"));
        let body = |lines: &mut std::str::Lines| -> String {
            let text: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.trim_start().starts_with("```"))
                .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
                .collect();
            text.join("\n")
        };
        let text = body(&mut lines);
        let shows = lines.clone().next().filter(|l| l.trim() == "```").map(|_| {
            lines.next();
            body(&mut lines)
        });
        blocks.push(Runnable { lang: lang.trim().to_owned(), text, shows });
    }
    blocks
}

/// `script` by bash in `dir`, as a tenant's shell: `smcp`, the Python
/// SDK's interpreter and the Inspector (with its Node) of tests/clients on
/// the path, none of the tests' cargo settings.
pub fn bash(dir: &Path, script: &str) -> Output {
    let smcp = PathBuf::from(env!("CARGO_BIN_EXE_smcp"));
    let clients = super::clients_dir();
    let ours = [smcp.parent().unwrap().to_owned(), clients.join(".venv/bin"), clients.join("node_modules/.bin")];
    let path = std::env::join_paths(ours.into_iter().chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())))
        .unwrap();
    let script = format!("set -euo pipefail\n{script}");
    let mut command: Command = super::tenant_command("bash", dir);
    command.args(["-c", &script]).env("PATH", path).output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
