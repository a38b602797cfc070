//! `smcp settings`: a tenant's deployment, audit and sign-in policy on a
//! host (pinning, separate approvers, signers, audit retention, which
//! applications may ask its people to sign in), changed one setting at a
//! time (`PATCH …/settings`).

use super::remote::Target;
use anyhow::{Context, anyhow, bail};
use serde_json::{Map, Value, json};

// Parsed once per process from the command line: its size is no cost.
#[allow(clippy::large_enum_variant)]
#[derive(clap::Subcommand, Debug)]
pub enum SettingsCommand {
    /// Shows the tenant's settings.
    Show(Target),
    /// Changes the settings named, leaving the others as they are.
    Set {
        /// Uploads must state the component's digest (true or false).
        #[arg(long)]
        require_digest: Option<bool>,
        /// A widening needs an approver other than its uploader.
        #[arg(long)]
        separate_approver: Option<bool>,
        /// Days the audit trail keeps records (1 to 3650).
        #[arg(long)]
        audit_retention_days: Option<u32>,
        /// Lists a signer whose signatures uploads need: NAME=PUBLIC_KEY
        /// (from `smcp sign --new-key`); repeatable.
        #[arg(long = "add-signer", value_name = "NAME=KEY")]
        add_signers: Vec<String>,
        /// Lists a keyless signer: NAME, whose Sigstore (Fulcio)
        /// certificates name --certificate-identity from
        /// --certificate-oidc-issuer (the host needs a trusted root:
        /// `smcp serve --sigstore-trusted-root`).
        #[arg(long, value_name = "NAME", requires_all = ["certificate_identity", "certificate_oidc_issuer"])]
        add_identity_signer: Option<String>,
        /// The identity a keyless signer's certificates name: a workflow
        /// URI or an email address, exactly.
        #[arg(long, value_name = "SUBJECT", requires = "add_identity_signer")]
        certificate_identity: Option<String>,
        /// The OIDC issuer that vouched for it, exactly (e.g.
        /// https://token.actions.githubusercontent.com).
        #[arg(long, value_name = "ISSUER", requires = "add_identity_signer")]
        certificate_oidc_issuer: Option<String>,
        /// Unlists a signer: its versions no longer activate; repeatable.
        #[arg(long = "remove-signer", value_name = "NAME")]
        remove_signers: Vec<String>,
        /// Marks a signer revoked now (it stays listed, for the record).
        #[arg(long = "revoke-signer", value_name = "NAME")]
        revoke_signers: Vec<String>,
        /// Anyone may register an OAuth client (true or false).
        #[arg(long)]
        client_registration: Option<bool>,
        /// Registered OAuth clients may sign people in; false requires a
        /// client ID metadata document (true or false).
        #[arg(long)]
        registered_clients: Option<bool>,
        /// Hosts whose client ID metadata documents are accepted,
        /// comma-separated (`*.example.com`: its subdomains); `any` for
        /// every host, `none` for none.
        #[arg(long, value_name = "HOSTS")]
        client_document_hosts: Option<String>,
        /// The name the sign-in and account pages give the tenant (`none`
        /// to remove it).
        #[arg(long)]
        display_name: Option<String>,
        /// An https link to help, shown on those pages (`none` to remove it).
        #[arg(long)]
        support_url: Option<String>,
        /// A PNG logo for those pages (at most 64 KiB; `none` to remove it).
        #[arg(long, value_name = "PNG")]
        logo: Option<std::path::PathBuf>,
        #[command(flatten)]
        target: Target,
    },
}

pub async fn run(command: SettingsCommand) -> anyhow::Result<()> {
    let (settings, json) = match command {
        SettingsCommand::Show(target) => {
            (target.remote.client(target.tenant.as_deref())?.get("/settings").await?, target.json)
        }
        SettingsCommand::Set {
            require_digest,
            separate_approver,
            audit_retention_days,
            add_signers,
            add_identity_signer,
            certificate_identity,
            certificate_oidc_issuer,
            remove_signers,
            revoke_signers,
            client_registration,
            registered_clients,
            client_document_hosts,
            display_name,
            support_url,
            logo,
            target,
        } => {
            let client = target.remote.client(target.tenant.as_deref())?;
            let mut change = Map::new();
            if let Some(on) = require_digest {
                change.insert("require_digest".into(), on.into());
            }
            if let Some(on) = separate_approver {
                change.insert("separate_approver".into(), on.into());
            }
            if let Some(days) = audit_retention_days {
                change.insert("audit_retention_days".into(), days.into());
            }
            let identity = match (add_identity_signer, certificate_identity, certificate_oidc_issuer) {
                (Some(name), Some(subject), Some(issuer)) => Some((name, subject, issuer)),
                _ => None,
            };
            let changes =
                SignerChanges { add: &add_signers, identity, remove: &remove_signers, revoke: &revoke_signers };
            if !changes.is_empty() {
                let current = client.get("/settings").await?;
                change.insert("signers".into(), changes.apply(&current["signers"])?);
            }
            if client_registration.is_some() || registered_clients.is_some() || client_document_hosts.is_some() {
                let mut policy = client.get("/settings").await?["oauth_clients"].clone();
                if let Some(on) = client_registration {
                    policy["registration"] = on.into();
                }
                if let Some(on) = registered_clients {
                    policy["registered"] = on.into();
                }
                match client_document_hosts.as_deref().map(str::trim) {
                    None => {}
                    Some("any") => policy["document_hosts"] = Value::Null,
                    Some("none") => policy["document_hosts"] = json!([]),
                    Some(list) => {
                        policy["document_hosts"] = list.split(',').map(|h| h.trim().to_ascii_lowercase()).collect()
                    }
                }
                change.insert("oauth_clients".into(), policy);
            }
            if display_name.is_some() || support_url.is_some() {
                let mut branding = client.get("/settings").await?["branding"].clone();
                let given = |value: String| if value == "none" { Value::Null } else { Value::String(value) };
                if let Some(name) = display_name {
                    branding["display_name"] = given(name);
                }
                if let Some(url) = support_url {
                    branding["support_url"] = given(url);
                }
                change.insert("branding".into(), branding);
            }
            let logo_changed = logo.is_some();
            match logo {
                None => {}
                Some(path) if path.as_os_str() == "none" => {
                    client.call(reqwest::Method::DELETE, "/oauth/logo", None).await?;
                }
                Some(path) => {
                    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                    client.put_bytes("/oauth/logo", "image/png", bytes).await?;
                }
            }
            if change.is_empty() {
                if logo_changed {
                    return Ok(());
                }
                bail!("name a setting to change (see `smcp settings set --help`)");
            }
            (client.call(reqwest::Method::PATCH, "/settings", Some(Value::Object(change))).await?, target.json)
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&settings)?);
        return Ok(());
    }
    println!("require_digest        {}", settings["require_digest"]);
    println!("separate_approver     {}", settings["separate_approver"]);
    let retention = settings["audit_retention_days"].as_u64().map_or("30 (default)".to_owned(), |d| d.to_string());
    println!("audit_retention_days  {retention}");
    let clients = &settings["oauth_clients"];
    println!("client_registration   {}", clients["registration"]);
    println!("registered_clients    {}", clients["registered"]);
    let hosts = match clients["document_hosts"].as_array() {
        None => "any".to_owned(),
        Some(hosts) if hosts.is_empty() => "none".to_owned(),
        Some(hosts) => hosts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
    };
    println!("client_document_hosts {hosts}");
    let branding = &settings["branding"];
    println!("display_name          {}", branding["display_name"].as_str().unwrap_or("none (the tenant's id)"));
    println!("support_url           {}", branding["support_url"].as_str().unwrap_or("none"));
    let signers = settings["signers"].as_array().cloned().unwrap_or_default();
    if signers.is_empty() {
        println!("signers               none (uploads need no signature)");
    }
    for signer in signers {
        let state = if !signer["revoked_ms"].is_null() {
            " [revoked]"
        } else if !signer["expires_ms"].is_null() {
            " [expires]"
        } else {
            ""
        };
        let by = match &signer["identity"] {
            Value::Null => signer["public_key"].as_str().unwrap_or_default().to_owned(),
            identity => format!(
                "keyless: {} from {}",
                identity["subject"].as_str().unwrap_or_default(),
                identity["issuer"].as_str().unwrap_or_default()
            ),
        };
        println!("signer                {}  {by}{state}", signer["name"].as_str().unwrap_or_default());
    }
    Ok(())
}

/// What `settings set` changes in the signer list.
struct SignerChanges<'a> {
    /// NAME=PUBLIC_KEY each.
    add: &'a [String],
    /// A keyless signer: name, subject, issuer.
    identity: Option<(String, String, String)>,
    remove: &'a [String],
    revoke: &'a [String],
}

impl SignerChanges<'_> {
    fn is_empty(&self) -> bool {
        self.add.is_empty() && self.identity.is_none() && self.remove.is_empty() && self.revoke.is_empty()
    }

    /// The signer list `current` with the additions, removals and revocations.
    fn apply(&self, current: &Value) -> anyhow::Result<Value> {
        let mut signers: Vec<Value> = current.as_array().cloned().unwrap_or_default();
        let named = |signers: &[Value], name: &str| signers.iter().position(|s| s["name"] == name);
        for name in self.remove {
            let at = named(&signers, name).ok_or_else(|| anyhow!("no signer `{name}` is listed"))?;
            signers.remove(at);
        }
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        for name in self.revoke {
            let at = named(&signers, name).ok_or_else(|| anyhow!("no signer `{name}` is listed"))?;
            signers[at]["revoked_ms"] = now.into();
        }
        let mut added: Vec<(String, Value)> = Vec::new();
        for entry in self.add {
            let (name, key) = entry.split_once('=').ok_or_else(|| anyhow!("--add-signer takes NAME=PUBLIC_KEY"))?;
            added.push((name.to_owned(), json!({ "name": name, "public_key": key })));
        }
        if let Some((name, subject, issuer)) = &self.identity {
            added.push((name.clone(), json!({ "name": name, "identity": { "subject": subject, "issuer": issuer } })));
        }
        for (name, signer) in added {
            if named(&signers, &name).is_some() {
                bail!("a signer `{name}` is listed already: remove it first");
            }
            signers.push(signer);
        }
        Ok(Value::Array(signers))
    }
}
