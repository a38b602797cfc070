//! Builds every guest in `guests/` into a component (see host/guest-build)
//! and writes `guests.rs` with their paths, so `cargo test` always runs the
//! guests as they are in the tree.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    // At run time, not `env!`: a build script compiled for another clone
    // sharing this target directory must build this clone's guests.
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir.parent().expect("tests/ has a parent").to_path_buf();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut opts = smcp_guest_build::BuildOptions::new(&root, out_dir.join("components"));
    // OUT_DIR is <target>/<profile>/build/<pkg>/out: keep the wasm build
    // beside the host's, in its own directory (it has its own std).
    if let Some(target) = out_dir.ancestors().nth(4) {
        opts.target_dir = Some(target.join("wasm-guests"));
    }
    opts.emit_rerun_if_changed();
    let guests = smcp_guest_build::build_all(&opts)?;
    let mut code = String::new();
    for guest in &guests {
        writeln!(code, "pub const {}: &str = {:?};", guest.env_name(), guest.component_path.display().to_string())?;
    }
    writeln!(code, "pub const ALL: &[(&str, &str)] = &[")?;
    for guest in &guests {
        writeln!(code, "    ({:?}, {}),", guest.name, guest.env_name())?;
    }
    writeln!(code, "];")?;
    std::fs::write(out_dir.join("guests.rs"), code)?;
    Ok(())
}
