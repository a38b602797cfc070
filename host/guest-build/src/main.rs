//! `smcp-build-guests [--out DIR] [--target-dir DIR] [--root DIR] [-j N] [NAME...]`:
//! builds the guests and prints each component's path, sizes and world.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use smcp_guest_build::{BuildOptions, build_all, default_workspace_root};

const USAGE: &str = "usage: smcp-build-guests [--out DIR] [--target-dir DIR] [--root DIR] [-j N] [NAME...]";

fn main() -> Result<()> {
    let opts = parse_args(std::env::args().skip(1))?;
    let started = Instant::now();
    let built = build_all(&opts)?;
    for guest in &built {
        println!(
            "{}: {} ({} bytes; core module {} bytes) {}",
            guest.name,
            guest.component_path.display(),
            guest.component_size,
            guest.core_size,
            guest.world
        );
    }
    println!("built {} guests in {:.1?}", built.len(), started.elapsed());
    Ok(())
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<BuildOptions> {
    let mut opts = BuildOptions::new(default_workspace_root(), PathBuf::new());
    let mut out = None;
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--target-dir" => opts.target_dir = Some(PathBuf::from(value("--target-dir")?)),
            "--root" => opts.workspace_root = PathBuf::from(value("--root")?),
            "-j" | "--jobs" => opts.jobs = Some(value("-j")?.parse().context("-j needs a number")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            flag if flag.starts_with('-') => bail!("unknown option {flag}\n{USAGE}"),
            name => opts.only.push(name.to_string()),
        }
    }
    opts.out_dir = out.unwrap_or_else(|| opts.target_dir().join("components"));
    Ok(opts)
}
