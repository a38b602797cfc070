//! `smcp users` and `smcp signing-keys`: people's accounts of a tenant,
//! the grants they gave to OAuth clients, and the signing keys of the
//! host's authorization server, through a running host's admin API.
//! Passwords are read from standard input, never from the command line
//! (which other users of the machine can see).

use super::remote::Target;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(clap::Subcommand, Debug)]
pub enum UsersCommand {
    /// Creates an account; its password is read from standard input.
    Add {
        username: String,
        /// admin, mcp-user or read-only.
        #[arg(long, default_value = "mcp-user")]
        role: String,
        /// No password: the person signs in only through the tenant's
        /// upstream provider, whose `--username-claim` names them.
        #[arg(long)]
        upstream: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Lists the tenant's accounts.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Changes an account's role, or with --password its password (read
    /// from standard input).
    Set {
        username: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        password: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Removes an account and revokes every grant it gave.
    Remove {
        username: String,
        #[command(flatten)]
        target: Target,
    },
    /// Lists the grants an account gave to OAuth clients.
    Grants {
        username: String,
        #[command(flatten)]
        target: Target,
    },
    /// Revokes one grant of an account, or all of them; their tokens stop
    /// working at once.
    Revoke {
        username: String,
        /// A grant id (see `smcp users grants`); all grants when absent.
        grant: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum SigningKeysCommand {
    /// Lists the authorization server's signing keys (public halves).
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Makes a new current key; the previous one keeps verifying the
    /// tokens it signed.
    Rotate {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum UpstreamCommand {
    /// Lets people sign in through an OpenID Connect provider; the client
    /// secret, if the provider gave one, is read from standard input.
    Set {
        /// The provider's issuer URL (its discovery document is read).
        #[arg(long)]
        issuer: String,
        /// The client id the provider registered for this host, whose
        /// redirect URI is <public URL>/oauth/<tenant>/callback.
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        client_secret_stdin: bool,
        /// The ID token claim that names the account.
        #[arg(long, default_value = "preferred_username")]
        username_claim: String,
        /// Give people without an account this role; without it, only
        /// existing accounts may sign in this way.
        #[arg(long)]
        default_role: Option<String>,
        /// Shown on the button.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Shows the provider.
    Show {
        #[command(flatten)]
        target: Target,
    },
    /// Stops signing in through the provider.
    Remove {
        #[command(flatten)]
        target: Target,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

/// The host's answer, or `made` where it answered with no body.
fn or_else(answer: Value, made: Value) -> Value {
    if answer.is_null() { made } else { answer }
}

fn show_grant(grant: &Value) {
    let state = if grant["revoked_ms"].is_u64() {
        format!("revoked ({})", grant["revoked_reason"].as_str().unwrap_or_default())
    } else {
        "live".into()
    };
    let text = |f: &str| grant[f].as_str().unwrap_or_default().to_owned();
    let scopes: Vec<&str> = grant["scopes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let client =
        grant["client_name"].as_str().filter(|s| !s.is_empty()).or(grant["client_id"].as_str()).unwrap_or_default();
    println!("{}  {client}  {}  [{}]  {state}", text("id"), text("resource"), scopes.join(" "));
}

pub async fn run(command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Add { username, role, upstream, target } => {
            let client = target.client()?;
            let body = if upstream {
                json!({ "username": username, "upstream": true, "role": role })
            } else {
                json!({ "username": username, "password": read_password()?, "role": role })
            };
            let made = client.call(Method::POST, "/users", Some(body)).await?;
            target.show(&made, |made| {
                let text = |f: &str| made[f].as_str().unwrap_or_default().to_owned();
                eprintln!("user {} ({}) of tenant {}", text("username"), text("role"), client.tenant)
            })?;
        }
        UsersCommand::List { target } => {
            let listed = target.client()?.get("/users").await?;
            target.show(&listed, |listed| {
                for user in listed["users"].as_array().into_iter().flatten() {
                    let how = if user["upstream"].as_bool() == Some(true) { "  (upstream sign-in)" } else { "" };
                    println!(
                        "{:<32}  {}{how}",
                        user["username"].as_str().unwrap_or_default(),
                        user["role"].as_str().unwrap_or_default()
                    );
                }
            })?;
        }
        UsersCommand::Set { username, role, password, target } => {
            anyhow::ensure!(role.is_some() || password, "pass --role and/or --password");
            let mut body = json!({ "role": role });
            if password {
                body["password"] = Value::from(read_password()?);
            }
            let set = target.client()?.call(Method::PATCH, &format!("/users/{username}"), Some(body)).await?;
            let set = or_else(set, json!({ "updated": username }));
            target.show(&set, |_| eprintln!("updated user {username}"))?;
        }
        UsersCommand::Remove { username, target } => {
            let removed = target.client()?.call(Method::DELETE, &format!("/users/{username}"), None).await?;
            let removed = or_else(removed, json!({ "removed": username }));
            target.show(&removed, |_| eprintln!("removed user {username} and revoked its grants"))?;
        }
        UsersCommand::Grants { username, target } => {
            let grants = target.client()?.get(&format!("/users/{username}/grants")).await?;
            target.show(&grants, |grants| grants["grants"].as_array().into_iter().flatten().for_each(show_grant))?;
        }
        UsersCommand::Revoke { username, grant, target } => {
            let path = match &grant {
                Some(id) => format!("/users/{username}/grants/{id}"),
                None => format!("/users/{username}/grants"),
            };
            let done = target.client()?.call(Method::DELETE, &path, None).await?;
            target.show(&done, |done| {
                eprintln!("revoked {} grant(s) of {username}", done["revoked"].as_u64().unwrap_or_default())
            })?;
        }
    }
    Ok(())
}

pub async fn signing_keys(command: SigningKeysCommand) -> anyhow::Result<()> {
    match command {
        SigningKeysCommand::List { target } => {
            let keys = target.client()?.get("/oauth/keys").await?;
            target.show(&keys, |keys| {
                for key in keys["keys"].as_array().into_iter().flatten() {
                    let state = if key["retired_ms"].is_u64() { "retired" } else { "current" };
                    println!("{}  {}", key["kid"].as_str().unwrap_or_default(), state);
                }
            })?;
        }
        SigningKeysCommand::Rotate { target } => {
            let key = target.client()?.call(Method::POST, "/oauth/keys/rotate", None).await?;
            target.show(&key, |key| eprintln!("new signing key {}", key["kid"].as_str().unwrap_or_default()))?;
        }
    }
    Ok(())
}

pub async fn upstream(command: UpstreamCommand) -> anyhow::Result<()> {
    match command {
        UpstreamCommand::Set { issuer, client_id, client_secret_stdin, username_claim, default_role, name, target } => {
            let client = target.client()?;
            let mut body = json!({ "issuer": issuer, "client_id": client_id, "username_claim": username_claim, "default_role": default_role, "name": name });
            if client_secret_stdin {
                body["client_secret"] = Value::from(read_password()?);
            }
            let set = client.call(Method::PUT, "/oauth/upstream", Some(body)).await?;
            target.show(&set, |set| {
                let issuer = set["upstream"]["issuer"].as_str().unwrap_or_default();
                eprintln!("people of {} may sign in through {issuer}", client.tenant)
            })?;
        }
        UpstreamCommand::Show { target } => {
            let shown = target.client()?.get("/oauth/upstream").await?;
            // The provider is JSON either way; --json prints the whole answer.
            let upstream = if target.json { shown } else { shown["upstream"].clone() };
            println!("{}", serde_json::to_string_pretty(&upstream)?);
        }
        UpstreamCommand::Remove { target } => {
            let client = target.client()?;
            let removed = client.call(Method::DELETE, "/oauth/upstream", None).await?;
            let removed = or_else(removed, json!({ "removed": "upstream" }));
            target.show(&removed, |_| eprintln!("removed the upstream provider of {}", client.tenant))?;
        }
    }
    Ok(())
}
