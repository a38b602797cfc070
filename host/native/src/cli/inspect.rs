//! `smcp inspect` and `smcp diff`: what a component may touch, for a
//! person or (with `--json`) for tools; and what changes between two
//! versions. Nothing runs: the component is only validated and read.

use smcp_core::capabilities::Grant;
use smcp_core::review::{self, Review};
use smcp_core::runtime::{Runtime, RuntimeLimits};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    component: PathBuf,
    /// The grant to review it with (grant.toml).
    #[arg(long)]
    grant: Option<PathBuf>,
    /// The host's `--max-upload-bytes`, which sets the largest component it takes.
    #[arg(long, default_value_t = smcp_native::DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: usize,
    /// A signature (from `smcp sign`) to check against this component and
    /// grant.
    #[arg(long)]
    signature: Option<PathBuf>,
    /// A public key the signature must be by (as tenants list signers);
    /// repeatable. Without one, the signature is checked against the key
    /// it names, which shows it is intact but not whose it is.
    #[arg(long = "signer", requires = "signature")]
    signers: Vec<String>,
    /// Check a keyless Sigstore bundle against this trusted root (as
    /// `smcp serve --sigstore-trusted-root` does).
    #[arg(long, requires = "signature")]
    sigstore_trusted_root: Option<PathBuf>,
    /// The identity a keyless signature must be by: the certificate's
    /// subject (a workflow URI or email address), exactly.
    #[arg(long, requires_all = ["sigstore_trusted_root", "certificate_oidc_issuer"])]
    certificate_identity: Option<String>,
    /// ... and the OIDC issuer that vouched for it, exactly.
    #[arg(long, requires = "certificate_identity")]
    certificate_oidc_issuer: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    old: PathBuf,
    new: PathBuf,
    /// The old version's grant.
    #[arg(long)]
    old_grant: Option<PathBuf>,
    /// The new version's grant (default: the old one's).
    #[arg(long)]
    new_grant: Option<PathBuf>,
    /// The host's `--max-upload-bytes`, which sets the largest component it takes.
    #[arg(long, default_value_t = smcp_native::DEFAULT_MAX_UPLOAD_BYTES)]
    max_upload_bytes: usize,
    #[arg(long)]
    json: bool,
}

pub(crate) fn read_review(runtime: &Runtime, component: &Path, grant: Option<&Path>) -> anyhow::Result<Review> {
    let bytes = std::fs::read(component).map_err(|e| anyhow::anyhow!("{}: {e}", component.display()))?;
    let grant = read_grant(grant)?;
    let mut review = review::review_bytes(runtime, &bytes, grant.as_ref())
        .map_err(|e| anyhow::anyhow!("{} is not a component this host can run: {e}", component.display()))?;
    if review.runnable {
        review.tools = sandbox_tools(runtime, &bytes, grant.as_ref().unwrap_or(&Grant::default()));
    }
    Ok(review)
}

/// The tools the component lists, run in the sandbox under `grant` with
/// in-memory stores (nothing it does there is kept); none when the
/// listing fails.
fn sandbox_tools(runtime: &Runtime, bytes: &[u8], grant: &Grant) -> Vec<review::ListedTool> {
    use smcp_core::capabilities::{CallHost, Discard};
    use smcp_core::platform::{Scope, memory::InMemory};
    let Ok(component) = runtime.load(bytes) else { return Vec::new() };
    let memory = InMemory::new();
    let scope = Scope {
        tenant: smcp_core::names::TenantId::from_static("inspect"),
        server: "inspect".into(),
        request: "inspect".into(),
    };
    let mut discard = Discard;
    let mut host = CallHost::new(memory.backends(), grant, &scope, &mut discard);
    futures::executor::block_on(review::listed_tools(runtime, &component, grant.limits, &mut host))
        .map(|listing| listing.shown)
        .unwrap_or_default()
}

fn read_grant(path: Option<&Path>) -> anyhow::Result<Option<Grant>> {
    path.map(|path| {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Grant::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    })
    .transpose()
}

/// What a review says of hosting the component, as `inspect` and `diff`
/// exit with it, so a CI job can gate on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The host would run it as it is (exit 0).
    Fine,
    /// The host would refuse it, or its grant does not cover its imports
    /// (exit 3).
    Refused,
    /// Activating it over the old version needs an approval (exit 4).
    NeedsApproval,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Fine => 0,
            Verdict::Refused => 3,
            Verdict::NeedsApproval => 4,
        }
    }

    pub(crate) fn of(review: &Review) -> Verdict {
        if review.runnable && review.imported_not_granted.is_empty() { Verdict::Fine } else { Verdict::Refused }
    }
}

/// A runtime as the host runs one with `--max-upload-bytes max_upload`.
pub(crate) fn runtime(max_upload: usize) -> anyhow::Result<Runtime> {
    let limits = RuntimeLimits {
        max_component_bytes: RuntimeLimits::component_bytes_for_upload(max_upload),
        ..RuntimeLimits::default()
    };
    Runtime::new(limits).map_err(|e| anyhow::anyhow!("host world: {e}"))
}

pub fn inspect(args: InspectArgs) -> anyhow::Result<Verdict> {
    let review = read_review(&runtime(args.max_upload_bytes)?, &args.component, args.grant.as_deref())?;
    let signature = args.signature.as_deref().map(|path| check_signature(path, &args, &review.digest)).transpose()?;
    let verdict = match &signature {
        Some(check) if !check.valid => Verdict::Refused,
        _ => Verdict::of(&review),
    };
    if args.json {
        let mut json = serde_json::to_value(&review)?;
        if let (Some(check), Some(object)) = (&signature, json.as_object_mut()) {
            object.insert("signature".into(), serde_json::to_value(check)?);
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(verdict);
    }
    print_review(&args.component, &review, args.grant.is_some());
    if let Some(check) = &signature {
        check.print();
    }
    Ok(verdict)
}

/// What `--signature` found: whether it signs this component and grant,
/// by which key, and whether that key is one of the `--signer` keys.
#[derive(serde::Serialize)]
struct SignatureCheck {
    valid: bool,
    /// The key it verified under (or, when it did not, the key it names).
    public_key: String,
    fingerprint: String,
    /// A keyless signature's verified identity (then the key fields are
    /// empty: the certificate's key lived minutes).
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<smcp_core::signing::sigstore::Identity>,
    /// Whether the key is one of `--signer` (the identity the one of
    /// `--certificate-identity`); absent without either.
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted: Option<bool>,
    /// Why it does not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

impl SignatureCheck {
    fn print(&self) {
        let trust = match self.trusted {
            Some(true) => ", one of the --signer keys",
            Some(false) => "",
            None => " (the key the file names: pass --signer to say whose key it must be)",
        };
        match (&self.problem, &self.identity) {
            (None, Some(id)) => {
                let trust = match self.trusted {
                    Some(true) => ", the --certificate-identity",
                    Some(false) => "",
                    None => " (pass --certificate-identity and --certificate-oidc-issuer to say whose it must be)",
                };
                println!("signature  valid, keyless, by {} from {}{trust}", id.subject, id.issuer)
            }
            (None, None) => println!("signature  valid, by {} ({}){trust}", self.public_key, self.fingerprint),
            (Some(problem), _) => println!("signature  REFUSED: {problem}"),
        }
    }
}

fn check_signature(path: &Path, args: &InspectArgs, digest: &str) -> anyhow::Result<SignatureCheck> {
    use smcp_core::signing::{PublicKey, SignatureFile, Signer, sigstore, verify};
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let grant = match &args.grant {
        Some(grant) => std::fs::read(grant).map_err(|e| anyhow::anyhow!("{}: {e}", grant.display()))?,
        None => Vec::new(),
    };
    if let Some(root_path) = args.sigstore_trusted_root.as_deref().filter(|_| sigstore::is_bundle(&bytes)) {
        let read = std::fs::read(root_path).map_err(|e| anyhow::anyhow!("{}: {e}", root_path.display()))?;
        let root = sigstore::TrustedRoot::parse(&read)
            .map_err(|e| anyhow::anyhow!("{}: not a Sigstore trusted root: {e}", root_path.display()))?;
        let statement = smcp_core::signing::statement(digest, &grant);
        let keyless = |identity, problem: Option<String>| SignatureCheck {
            valid: problem.is_none(),
            public_key: String::new(),
            fingerprint: String::new(),
            trusted: None,
            identity,
            problem,
        };
        match sigstore::check(&bytes, &statement, Some(&root)) {
            Ok(sigstore::Signed::ByIdentity(identity)) => {
                // As for keys: a signature by someone other than the one
                // asked for does not pass.
                let Some(subject) = args.certificate_identity.as_deref() else {
                    return Ok(keyless(Some(identity), None));
                };
                let same = subject == identity.subject
                    && args.certificate_oidc_issuer.as_deref() == Some(identity.issuer.as_str());
                let problem = (!same).then(|| {
                    format!("signed by {} from {}, not the --certificate-identity", identity.subject, identity.issuer)
                });
                return Ok(SignatureCheck { trusted: Some(same), ..keyless(Some(identity), problem) });
            }
            Ok(sigstore::Signed::ByKey(_)) => {}
            Err(e) => return Ok(keyless(None, Some(e.to_string()))),
        }
    }
    let named = SignatureFile::parse(&bytes).ok().and_then(|f| PublicKey::parse(&f.public_key).ok());
    let keys: Vec<String> =
        if args.signers.is_empty() { named.iter().map(PublicKey::to_text).collect() } else { args.signers.clone() };
    let mut signers = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let parsed = PublicKey::parse(key).map_err(|e| anyhow::anyhow!("--signer {key}: {e}"))?;
        let name = format!("key-{index}");
        signers.push(Signer { name, public_key: parsed.to_text(), identity: None, expires_ms: None, revoked_ms: None });
    }
    let trusted = (!args.signers.is_empty()).then_some(());
    let (valid, key, problem) = match verify(&signers, Some(&bytes), digest, &grant, 0, None) {
        Ok(Some(by)) => {
            let index: usize = by.signer.trim_start_matches("key-").parse().unwrap_or(0);
            (true, PublicKey::parse(&signers[index].public_key).ok(), None)
        }
        Ok(None) => (false, named, Some("no key to check it against".to_owned())),
        Err(e) => (false, named, Some(e.to_string())),
    };
    Ok(SignatureCheck {
        valid,
        public_key: key.as_ref().map(PublicKey::to_text).unwrap_or_default(),
        fingerprint: key.as_ref().map(PublicKey::fingerprint).unwrap_or_default(),
        trusted: trusted.map(|()| valid),
        identity: None,
        problem,
    })
}

/// A review as people read it.
pub(crate) fn print_review(component: &Path, review: &Review, with_grant: bool) {
    println!("component  {}", component.display());
    println!("digest     blake3:{}  ({} bytes)", review.digest, review.size);
    println!("exports    {}", review.exports.join(", "));
    for export in &review.world.exports {
        println!("  {}  ({})", export.interface, export.functions.join(", "));
    }
    if !review.tools.is_empty() {
        let tools: Vec<String> = review
            .tools
            .iter()
            .map(|t| {
                let notes: Vec<String> =
                    [t.read_only.then(|| "read-only".to_owned()), t.task.map(|task| format!("task: {task}"))]
                        .into_iter()
                        .flatten()
                        .collect();
                if notes.is_empty() { t.name.clone() } else { format!("{} ({})", t.name, notes.join(", ")) }
            })
            .collect();
        println!("tools      {}", tools.join(", "));
    }
    if !review.runnable {
        for problem in &review.problems {
            println!("REFUSED    {problem}");
        }
    }
    for foreign in &review.foreign_imports {
        println!("  {}  [NOT IN THE HOST'S WORLD]  ({})", foreign.interface, foreign.functions.join(", "));
    }
    println!("imports:");
    for capability in review.capabilities.iter().filter(|c| c.imported) {
        let state = if capability.granted { "granted" } else { "NOT GRANTED" };
        println!("  {}  [{state}]  ({})", capability.interface, capability.functions.join(", "));
        for line in &capability.allows {
            println!("      {line}");
        }
    }
    if with_grant {
        println!("limits     {}", review.limits.join("; "));
        if !review.imported_not_granted.is_empty() {
            println!("imported but not granted (hosting fails): {}", review.imported_not_granted.join(", "));
        }
        if !review.granted_not_imported.is_empty() {
            println!("granted but not imported (unused): {}", review.granted_not_imported.join(", "));
        }
    }
}

pub fn diff(args: DiffArgs) -> anyhow::Result<Verdict> {
    let runtime = runtime(args.max_upload_bytes)?;
    let old = read_review(&runtime, &args.old, args.old_grant.as_deref())?;
    let new_grant = args.new_grant.as_deref().or(args.old_grant.as_deref());
    let new = read_review(&runtime, &args.new, new_grant)?;
    let difference = review::difference(&old, &new);
    // What the host would ask approval for: new capability imports and
    // every grant field that allows more (the words above may not show all).
    let (old_grant, new_grant) =
        (read_grant(args.old_grant.as_deref())?.unwrap_or_default(), read_grant(new_grant)?.unwrap_or_default());
    let widened = smcp_core::deploy::widenings(&difference.imports_added, &old_grant, &new_grant);
    let verdict = match Verdict::of(&new) {
        Verdict::Fine if !widened.is_empty() => Verdict::NeedsApproval,
        other => other,
    };
    if args.json {
        let mut json = serde_json::to_value(&difference)?;
        json["widened"] = serde_json::json!(widened);
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(verdict);
    }
    println!("{} -> {}", old.digest, new.digest);
    if difference.is_empty() {
        println!("no capability changes");
    }
    for added in &difference.imports_added {
        println!("+ imports {added}");
    }
    for removed in &difference.imports_removed {
        println!("- imports {removed}");
    }
    for added in &difference.functions_added {
        println!("+ calls {added}");
    }
    for removed in &difference.functions_removed {
        println!("- calls {removed}");
    }
    for added in &difference.tools_added {
        println!("+ tool {added}");
    }
    for removed in &difference.tools_removed {
        println!("- tool {removed}");
    }
    for change in &difference.grant_changes {
        println!("~ {}: {} -> {}", change.field, change.from, change.to);
    }
    if !widened.is_empty() {
        println!("activating the new version needs approval (--approve-widening):");
        for line in &widened {
            println!("  + {line}");
        }
    }
    if verdict == Verdict::Refused {
        println!("the host would refuse the new version as it is (see `smcp inspect`)");
    }
    Ok(verdict)
}
