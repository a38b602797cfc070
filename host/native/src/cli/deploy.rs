//! `smcp deploy`, `smcp rollback` and `smcp servers`: a tenant's servers
//! on a running host, through its admin API.

use super::remote::{ApiFailure, Remote, Target};
use anyhow::anyhow;
use reqwest::Method;
use serde_json::{Value, json};
use smcp_core::names::TenantId;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    /// The component to deploy (.wasm).
    component: PathBuf,
    /// The server to deploy it as (created when missing).
    #[arg(long)]
    server: String,
    /// Its grant (grant.toml); without one it may use no capability that
    /// needs a grant.
    #[arg(long)]
    grant: Option<PathBuf>,
    /// The blake3 digest you reviewed (from `smcp inspect`); the host
    /// refuses the upload when the file differs (tenants that pin uploads
    /// require it).
    #[arg(long)]
    digest: Option<String>,
    /// A signature over the component and grant (from `smcp sign`), for
    /// tenants that require signed uploads.
    #[arg(long)]
    signature: Option<PathBuf>,
    /// Approve a version that may do more than the active one (new
    /// capability imports, a wider grant). Recorded in the audit trail.
    #[arg(long)]
    approve_widening: bool,
    /// Upload only; do not activate.
    #[arg(long)]
    no_activate: bool,
    /// Print the host's answers as one JSON object (`upload`, and
    /// `activation` unless --no-activate) instead of lines for people.
    #[arg(long)]
    json: bool,
    /// Defaults to the tenant of the key.
    #[arg(long, value_parser = super::tenant_id)]
    tenant: Option<TenantId>,
    #[command(flatten)]
    remote: Remote,
}

#[derive(clap::Args, Debug)]
pub struct ActivateArgs {
    /// The deployment to activate (an id from `smcp servers show`).
    deployment: String,
    #[command(flatten)]
    switch: Switch,
}

/// Which server to switch, where, and whether a widening is approved.
#[derive(clap::Args, Debug)]
pub struct Switch {
    #[arg(long)]
    server: String,
    /// Approve a version that may do more than the active one (recorded
    /// in the audit trail).
    #[arg(long)]
    approve_widening: bool,
    /// Print the host's answer as JSON instead of lines for people.
    #[arg(long)]
    json: bool,
    /// Defaults to the tenant of the key.
    #[arg(long, value_parser = super::tenant_id)]
    tenant: Option<TenantId>,
    #[command(flatten)]
    remote: Remote,
}

#[derive(clap::Args, Debug)]
pub struct RollbackArgs {
    /// The deployment to go back to; default: the one active before.
    #[arg(long)]
    to: Option<String>,
    #[command(flatten)]
    switch: Switch,
}

#[derive(clap::Subcommand, Debug)]
pub enum ServersCommand {
    /// Lists the tenant's servers and their active deployments.
    List(Target),
    /// Creates a server (nothing is served until a deployment is active).
    Create {
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// Shows a server with its deployments.
    Show {
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// Loads the active deployment and lists its tools.
    Health {
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// Deletes a server and its deployments (its stored data stays).
    Delete {
        name: String,
        #[command(flatten)]
        target: Target,
    },
}

pub async fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    let client = args.remote.client(args.tenant.as_deref())?;
    let component = std::fs::read(&args.component).map_err(|e| anyhow!("{}: {e}", args.component.display()))?;
    let grant =
        args.grant.as_ref().map(|p| std::fs::read(p).map_err(|e| anyhow!("{}: {e}", p.display()))).transpose()?;
    let signature =
        args.signature.as_ref().map(|p| std::fs::read(p).map_err(|e| anyhow!("{}: {e}", p.display()))).transpose()?;
    let (status, _) = client.call_with_status(Method::PUT, &format!("/servers/{}", args.server), None).await?;
    let parts = super::remote::UploadParts { grant, digest: args.digest.clone(), signature };
    let uploaded = client.upload(&args.server, component, parts).await;
    if args.json
        && let Err(e) = &uploaded
        && let Some(failure) = e.downcast_ref::<ApiFailure>()
    {
        println!("{}", serde_json::to_string_pretty(&json!({ "upload": failure.body }))?);
    }
    let uploaded = match uploaded {
        Ok(uploaded) => uploaded,
        // A refused first upload leaves no empty server behind.
        Err(refused) if status == 201 => {
            let removed = client.call(Method::DELETE, &format!("/servers/{}", args.server), None).await;
            if removed.is_ok() {
                eprintln!("removed server {}, made for this upload", args.server);
            }
            return Err(refused);
        }
        Err(refused) => return Err(refused),
    };
    let id = uploaded["deployment"]["id"].as_str().unwrap_or_default().to_owned();
    if !args.json {
        let verb = if uploaded["created"] == true { "uploaded" } else { "already uploaded" };
        eprintln!(
            "{verb} deployment {id} of {} (blake3:{})",
            args.server,
            uploaded["deployment"]["digest"].as_str().unwrap_or_default()
        );
        print_changes(&uploaded["changes"]);
    }
    if args.no_activate {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&json!({ "upload": uploaded }))?);
        }
        return Ok(());
    }
    let body = json!({ "approve_widening": args.approve_widening });
    let path = format!("/servers/{}/deployments/{id}/activate", args.server);
    let activated = client.call(Method::POST, &path, Some(body)).await;
    if args.json {
        let activation = as_json(&activated);
        println!("{}", serde_json::to_string_pretty(&json!({ "upload": uploaded, "activation": activation }))?);
        return activated.map(|_| ());
    }
    let activated = activated?;
    eprintln!("active: {id}");
    println!("{}", activated["server"]["endpoint"].as_str().unwrap_or_default());
    Ok(())
}

/// The host's answer as `--json` prints it: its body, the error's too.
fn as_json(answer: &anyhow::Result<Value>) -> Value {
    match answer {
        Ok(answer) => answer.clone(),
        Err(e) => e.downcast_ref::<ApiFailure>().map_or(Value::Null, |failure| failure.body.clone()),
    }
}

/// What a version changes, one line each; `+` marks what needs approval.
fn print_changes(changes: &Value) {
    let list = |field: &str| changes[field].as_array().cloned().unwrap_or_default();
    for widened in list("widened") {
        eprintln!("  + {}", widened.as_str().unwrap_or_default());
    }
    for removed in list("imports_removed") {
        eprintln!("  - imports {}", removed.as_str().unwrap_or_default());
    }
}

pub async fn activate(args: ActivateArgs) -> anyhow::Result<()> {
    let path = format!("/servers/{}/deployments/{}/activate", args.switch.server, args.deployment);
    args.switch.run(&path, json!({}), "activated").await
}

pub async fn rollback(args: RollbackArgs) -> anyhow::Result<()> {
    let path = format!("/servers/{}/rollback", args.switch.server);
    args.switch.run(&path, json!({ "to": args.to }), "rolled back").await
}

impl Switch {
    /// POSTs `body` (with the approval flag) to `path` and reports the
    /// outcome, with the changes that need approval when it was refused
    /// for want of it.
    async fn run(&self, path: &str, mut body: Value, done: &str) -> anyhow::Result<()> {
        let client = self.remote.client(self.tenant.as_deref())?;
        body["approve_widening"] = Value::Bool(self.approve_widening);
        let answer = client.call(Method::POST, path, Some(body)).await;
        if self.json {
            let printed = as_json(&answer);
            println!("{}", serde_json::to_string_pretty(&printed)?);
            return answer.map(|_| ());
        }
        report(answer, &self.server, done)
    }
}

fn report(answer: anyhow::Result<Value>, server: &str, done: &str) -> anyhow::Result<()> {
    match answer {
        Ok(answer) => {
            let active = answer["server"]["active"].as_str().unwrap_or_default();
            eprintln!("{server} {done}: active {active}");
            print_changes(&answer["changes"]);
            Ok(())
        }
        Err(e) => {
            if let Some(failure) = e.downcast_ref::<ApiFailure>()
                && failure.code == "approval_required"
            {
                print_changes(&failure.body["error"]["details"]);
            }
            Err(e)
        }
    }
}

pub async fn servers(command: ServersCommand) -> anyhow::Result<()> {
    let (target, method, path) = match &command {
        ServersCommand::List(target) => (target, Method::GET, "/servers".to_owned()),
        ServersCommand::Create { name, target } => (target, Method::PUT, format!("/servers/{name}")),
        ServersCommand::Show { name, target } => (target, Method::GET, format!("/servers/{name}/deployments")),
        ServersCommand::Health { name, target } => (target, Method::GET, format!("/servers/{name}/health")),
        ServersCommand::Delete { name, target } => (target, Method::DELETE, format!("/servers/{name}")),
    };
    let client = target.remote.client(target.tenant.as_deref())?;
    let answer = client.call(method, &path, None).await?;
    if target.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    match command {
        ServersCommand::List(_) => {
            for server in answer["servers"].as_array().into_iter().flatten() {
                let active = server["active"].as_str().unwrap_or("(none)");
                println!(
                    "{:<24} {:<16} {}",
                    server["name"].as_str().unwrap_or_default(),
                    active,
                    server["endpoint"].as_str().unwrap_or_default()
                );
            }
        }
        ServersCommand::Create { name, .. } => {
            eprintln!("server {name}: {}", answer["endpoint"].as_str().unwrap_or_default())
        }
        ServersCommand::Show { .. } => {
            let active = answer["active"].as_str();
            for d in answer["deployments"].as_array().into_iter().flatten() {
                let id = d["id"].as_str().unwrap_or_default();
                let mark = if Some(id) == active { "*" } else { " " };
                println!(
                    "{mark} {id}  blake3:{}  {} bytes  by {}",
                    d["digest"].as_str().unwrap_or_default(),
                    d["size"],
                    d["uploaded_by"].as_str().unwrap_or_default()
                );
            }
        }
        ServersCommand::Health { name, .. } => {
            let tools: Vec<&str> = answer["tools"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            println!(
                "{name}: {} ({} ms), tools: {}",
                answer["status"].as_str().unwrap_or_default(),
                answer["ms"],
                tools.join(", ")
            );
        }
        ServersCommand::Delete { name, .. } => eprintln!("deleted server {name}"),
    }
    Ok(())
}
