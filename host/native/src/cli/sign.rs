//! `smcp sign`: signs a component and the grant it is deployed with, for
//! tenants that accept only signed uploads (docs/tenant-guide.md#signed-uploads).

use anyhow::{Context, anyhow, bail};
use smcp_core::component::Digest;
use smcp_core::signing::{SecretKey, statement};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// The component to sign (.wasm).
    #[arg(required_unless_present = "new_key")]
    component: Option<PathBuf>,
    /// The grant it is deployed with: the signature covers it too, and the
    /// host refuses it beside any other grant. Without one: no grant.
    #[arg(long)]
    grant: Option<PathBuf>,
    /// The private key (PKCS#8 PEM, Ed25519 or P-256: from --new-key or
    /// `openssl genpkey`).
    #[arg(long, required_unless_present_any = ["new_key", "statement"])]
    key: Option<PathBuf>,
    /// Where to write the signature [default: the component's path with
    /// `.sig.json`].
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Print the statement a signature signs, to sign it with other tools,
    /// instead of signing.
    #[arg(long, conflicts_with_all = ["key", "out"])]
    statement: bool,
    /// Make a new Ed25519 key in this file (mode 0600) and print the
    /// public key a tenant lists among its signers.
    #[arg(long, conflicts_with_all = ["component", "grant", "key", "out", "statement"])]
    new_key: Option<PathBuf>,
}

pub fn run(args: SignArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.new_key {
        return new_key(path);
    }
    let component_path = args.component.as_ref().ok_or_else(|| anyhow!("name the component to sign"))?;
    let component = std::fs::read(component_path).with_context(|| component_path.display().to_string())?;
    let grant = match &args.grant {
        Some(path) => std::fs::read(path).with_context(|| path.display().to_string())?,
        None => Vec::new(),
    };
    let digest = Digest::of(&component).to_hex();
    if args.statement {
        print!("{}", statement(&digest, &grant));
        return Ok(());
    }
    let key_path = args.key.as_ref().ok_or_else(|| anyhow!("--key names the private key"))?;
    refuse_shared_key(key_path)?;
    let pem =
        zeroize::Zeroizing::new(std::fs::read_to_string(key_path).with_context(|| key_path.display().to_string())?);
    let key = SecretKey::from_pem(&pem).map_err(|e| anyhow!("{}: {e}", key_path.display()))?;
    let file = key.sign(&digest, &grant);
    let out = args.out.clone().unwrap_or_else(|| default_out(component_path));
    std::fs::write(&out, serde_json::to_string_pretty(&file)? + "\n").with_context(|| out.display().to_string())?;
    println!("signed {} (blake3:{digest})", component_path.display());
    match &args.grant {
        Some(path) => println!("  with grant {} ({})", path.display(), file.grant),
        None => println!("  with no grant"),
    }
    println!("  key        {} ({})", file.public_key, key.public_key().fingerprint());
    println!("  signature  {}", out.display());
    println!("deploy with: smcp deploy {} --signature {} …", component_path.display(), out.display());
    Ok(())
}

fn default_out(component: &Path) -> PathBuf {
    let mut name = component.file_stem().unwrap_or_default().to_os_string();
    name.push(".sig.json");
    component.with_file_name(name)
}

fn new_key(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        bail!("{} exists: a signing key is never overwritten", path.display());
    }
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| anyhow!("the operating system's random source failed: {e}"))?;
    let key = SecretKey::ed25519_from_seed(&seed);
    let pem = key.to_pem().map_err(|e| anyhow!("cannot encode the key: {e}"))?;
    write_private(path, pem.as_bytes())?;
    // The public key alone on stdout, for `--add-signer "name=$(…)"`.
    eprintln!("made {} (Ed25519; keep it private); its public key:", path.display());
    println!("{}", key.public_key().to_text());
    eprintln!("list it among the tenant's signers (docs/tenant-guide.md#signed-uploads)");
    Ok(())
}

/// A private key others can read is not private: refused, as ssh does.
fn refuse_shared_key(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).with_context(|| path.display().to_string())?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by others (mode {:o}): `chmod 600` it, or make a new key",
                path.display(),
                mode & 0o777
            );
        }
    }
    let _ = path;
    Ok(())
}

/// Creates `path` readable by its owner only, failing if it exists.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| path.display().to_string())?;
    file.write_all(bytes).with_context(|| path.display().to_string())?;
    Ok(())
}
