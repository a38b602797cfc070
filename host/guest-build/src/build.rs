//! The build itself: cargo for the Rust guests, wat for the WAT guests,
//! then componentize each and write it out; componentize-js for the
//! JavaScript guests and componentize-py for the Python ones.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};

use crate::guests::{self, RustGuest, RustTarget, ScriptGuest, WatGuest};
use crate::toolchain::Toolchain;
use crate::{BuildOptions, BuiltGuest, GuestKind, WorldSummary, component, javascript, python};

/// Builds every guest (or those in `opts.only`) and writes
/// `<out>/<name>.component.wasm` for each, Rust guests first, each group
/// sorted as found. Fails on the first guest that does not build.
pub fn build_all(opts: &BuildOptions) -> Result<Vec<BuiltGuest>> {
    let guests_dir = opts.guests_dir();
    if !guests_dir.join("Cargo.toml").is_file() {
        bail!("no guests workspace at {}", guests_dir.display());
    }
    let wanted = |name: &str| opts.only.is_empty() || opts.only.iter().any(|n| n == name);
    let toolchain = match &opts.toolchain {
        Some(t) => t.clone(),
        None => Toolchain::detect(&guests_dir)?,
    };
    std::fs::create_dir_all(&opts.out_dir).with_context(|| format!("creating {}", opts.out_dir.display()))?;

    let rust: Vec<RustGuest> =
        guests::rust_guests(&toolchain, &guests_dir)?.into_iter().filter(|g| wanted(&g.name)).collect();
    let wat: Vec<WatGuest> = guests::wat_guests(&guests_dir)?.into_iter().filter(|g| wanted(&g.name)).collect();
    let js: Vec<ScriptGuest> =
        guests::script_guests(&guests_dir, "app.js")?.into_iter().filter(|g| wanted(&g.name)).collect();
    let py: Vec<ScriptGuest> =
        guests::script_guests(&guests_dir, "app.py")?.into_iter().filter(|g| wanted(&g.name)).collect();
    let known = |name: &String| {
        rust.iter().any(|g| &g.name == name)
            || wat.iter().any(|g| &g.name == name)
            || js.iter().chain(&py).any(|g| &g.name == name)
    };
    if let Some(missing) = opts.only.iter().find(|n| !known(n)) {
        bail!("no guest called `{missing}` in {}", guests_dir.display());
    }

    let mut built = Vec::new();
    for guest in &rust {
        toolchain.check_target(&guests_dir, guest.target.triple())?;
        let wasm_path = compile(&toolchain, opts, guest)?;
        let wasm = std::fs::read(&wasm_path).with_context(|| format!("reading {}", wasm_path.display()))?;
        let out = match guest.target {
            RustTarget::Bare => {
                BuiltGuest { core_path: Some(wasm_path), ..finish(opts, &guest.name, GuestKind::Rust, &wasm)? }
            }
            RustTarget::Wasip2 => built_component(opts, &guest.name, GuestKind::Rust, &wasm)?,
        };
        built.push(out);
    }
    for guest in &wat {
        let core = assemble(opts, guest)?;
        built.push(finish(opts, &guest.name, GuestKind::Wat, &core)?);
    }
    for guest in &js {
        built.push(scripted(guest, GuestKind::JavaScript, javascript::build(opts, guest)?)?);
    }
    for guest in &py {
        built.push(scripted(guest, GuestKind::Python, python::build(opts, guest)?)?);
    }
    Ok(built)
}

/// A script guest's component, built by its language's own tool.
fn scripted(guest: &ScriptGuest, kind: GuestKind, component_path: PathBuf) -> Result<BuiltGuest> {
    let component = std::fs::read(&component_path).with_context(|| format!("reading {}", component_path.display()))?;
    let world = WorldSummary::of(&component).with_context(|| format!("reading back guest `{}`", guest.name))?;
    Ok(BuiltGuest {
        name: guest.name.clone(),
        kind,
        core_path: None,
        core_size: 0,
        component_path,
        component_size: component.len() as u64,
        world,
    })
}

/// Compiles one Rust guest with its stack size and returns what rustc
/// wrote: a core module, or for `wasm32-wasip2` a component.
///
/// `cargo rustc` passes the stack size to the guest's own link only, so
/// guests with different stacks share every dependency (std included);
/// a per-guest RUSTFLAGS would rebuild them all each time it changed.
fn compile(toolchain: &Toolchain, opts: &BuildOptions, guest: &RustGuest) -> Result<PathBuf> {
    let guests_dir = opts.guests_dir();
    let target_dir = opts.target_dir();
    let target = guest.target.triple();
    let mut cmd = toolchain.cargo();
    cmd.current_dir(&guests_dir)
        .args(["rustc", "--release", "--lib", "--target", target, "-p", &guest.name, "--manifest-path"])
        .arg(guests_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .args(toolchain.build_args());
    if let Some(jobs) = opts.jobs {
        cmd.arg("-j").arg(jobs.to_string());
    }
    cmd.args(["--", "-C"]).arg(format!("link-arg=-zstack-size={}", guest.stack_size));
    // Cargo's own output goes to stderr: a build script's stdout is for
    // `cargo:` directives only.
    cmd.stdin(Stdio::null()).stdout(Stdio::from(std::io::stderr())).stderr(Stdio::inherit());
    let status = cmd.status().with_context(|| format!("running cargo ({})", toolchain.describe()))?;
    if !status.success() {
        bail!("building guest `{}` failed ({})", guest.name, toolchain.describe());
    }
    Ok(target_dir.join(target).join("release").join(format!("{}.wasm", guest.lib_name)))
}

/// Assembles a WAT guest and embeds the world it is written against:
/// `guests/wat/wit/` (smcp:mcp 0.1.0, frozen) when present, else the host's.
fn assemble(opts: &BuildOptions, guest: &WatGuest) -> Result<Vec<u8>> {
    let mut core = wat::parse_file(&guest.path).with_context(|| format!("assembling {}", guest.path.display()))?;
    let frozen = guest.path.with_file_name("wit");
    let wit = if frozen.is_dir() { frozen } else { opts.wit_dir() };
    component::embed_world(&mut core, &wit)?;
    Ok(core)
}

/// Componentizes `core` and writes it out (only when it changed, so
/// consumers' timestamps stay put).
fn finish(opts: &BuildOptions, name: &str, kind: GuestKind, core: &[u8]) -> Result<BuiltGuest> {
    let component = component::componentize(core).with_context(|| format!("componentizing guest `{name}`"))?;
    Ok(BuiltGuest { core_size: core.len() as u64, ..built_component(opts, name, kind, &component)? })
}

/// Writes out a finished component (only when it changed, so consumers'
/// timestamps stay put).
fn built_component(opts: &BuildOptions, name: &str, kind: GuestKind, component: &[u8]) -> Result<BuiltGuest> {
    let world = WorldSummary::of(component).with_context(|| format!("reading back guest `{name}`"))?;
    let component_path = opts.out_dir.join(format!("{name}.component.wasm"));
    write_if_changed(&component_path, component)?;
    Ok(BuiltGuest {
        name: name.to_string(),
        kind,
        core_path: None,
        core_size: 0,
        component_path,
        component_size: component.len() as u64,
        world,
    })
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
