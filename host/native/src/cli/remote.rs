//! Talking to a host's admin API (`--url`, `--key`): requests, upload
//! progress, and errors turned into what to do next.

use anyhow::{Context, anyhow};
use serde_json::Value;

/// Where the admin API is and who calls it.
#[derive(clap::Args, Debug, Clone)]
pub struct Remote {
    /// The host's base URL, e.g. http://127.0.0.1:8787.
    #[arg(long, env = "SMCP_URL")]
    pub url: Option<String>,
    /// An admin API key of the tenant (read-only keys may list and read).
    #[arg(long, env = "SMCP_ADMIN_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

/// A connected admin API client for one tenant.
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
    pub tenant: String,
}

impl Remote {
    /// True when the command should go to a host: a URL is given and no
    /// data directory was named explicitly.
    pub fn chosen_over(&self, data: &super::DataDir) -> bool {
        self.url.is_some() && !data.explicit()
    }

    /// A client for `tenant`, or the tenant the key belongs to
    /// (`smcp_<tenant>_…`).
    pub fn client(&self, tenant: Option<&str>) -> anyhow::Result<Client> {
        let url = self.url.as_deref().ok_or_else(|| anyhow!("no host: pass --url or set SMCP_URL"))?;
        check_base_url(url)?;
        let key = self.key.clone().ok_or_else(|| anyhow!("no admin key: pass --key or set SMCP_ADMIN_KEY"))?;
        let tenant = match tenant {
            Some(t) => t.to_owned(),
            None => key
                .strip_prefix("smcp_")
                .and_then(|rest| rest.split_once('_'))
                .map(|(t, _)| t.to_owned())
                .ok_or_else(|| anyhow!("pass --tenant: it cannot be read from this key"))?,
        };
        let base = format!("{}/admin/v1/tenants/{tenant}", url.trim_end_matches('/'));
        Ok(Client { http: smcp_native::admin_client()?, base, key, tenant })
    }
}

/// The admin commands want the host's base URL; an MCP endpoint's (what
/// clients are given) or any other path is a mistake worth naming.
fn check_base_url(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).map_err(|e| anyhow!("--url {url}: {e}"))?;
    if parsed.path().trim_matches('/').is_empty() {
        return Ok(());
    }
    let base = parsed.origin().ascii_serialization();
    let what = if smcp_core::names::parse_endpoint(parsed.path()).is_some() {
        "is a server's MCP endpoint (what MCP clients are given)"
    } else {
        "has a path"
    };
    Err(anyhow!("--url {url} {what}; the admin commands need the host's base URL: --url {base}"))
}

impl Client {
    /// Sends a JSON request (no body when `body` is `None`); the answer's
    /// JSON, or an error that says what went wrong and what to do.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        self.finish(request).await
    }

    /// [`call`](Self::call), with the answer's status.
    pub async fn call_with_status(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        self.finish_with_status(request).await
    }

    /// `PUT`s `bytes` of `content_type` at `path`; the answer's JSON.
    pub async fn put_bytes(&self, path: &str, content_type: &str, bytes: Vec<u8>) -> anyhow::Result<Value> {
        let request = self
            .http
            .put(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("content-type", content_type)
            .body(bytes);
        self.finish(request).await
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Uploads `component` (with `grant` and the stated `digest`) as a
    /// deployment of `server`, drawing a progress bar on a terminal.
    pub async fn upload(&self, server: &str, component: Vec<u8>, parts: UploadParts) -> anyhow::Result<Value> {
        let total = component.len() as u64;
        let bar = indicatif::ProgressBar::new(total);
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_style(
                indicatif::ProgressStyle::with_template("uploading {bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
        } else {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let chunks: Vec<Vec<u8>> = component.chunks(64 << 10).map(<[u8]>::to_vec).collect();
        let progress = bar.clone();
        let stream = futures::stream::iter(chunks.into_iter().map(move |chunk| {
            progress.inc(chunk.len() as u64);
            Ok::<_, std::io::Error>(chunk)
        }));
        let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(stream), total)
            .file_name("component.wasm")
            .mime_str("application/wasm")?;
        let mut form = reqwest::multipart::Form::new().part("component", part);
        if let Some(digest) = parts.digest {
            form = form.text("digest", digest);
        }
        if let Some(grant) = parts.grant {
            form = form.part("grant", reqwest::multipart::Part::bytes(grant).file_name("grant.toml"));
        }
        if let Some(signature) = parts.signature {
            form = form.part("signature", reqwest::multipart::Part::bytes(signature).file_name("signature.json"));
        }
        let request = self
            .http
            .post(format!("{}/servers/{server}/deployments", self.base))
            .bearer_auth(&self.key)
            .multipart(form);
        let result = self.finish(request).await;
        bar.finish_and_clear();
        result
    }

    async fn finish(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        self.finish_with_status(request).await.map(|(_, body)| body)
    }

    async fn finish_with_status(&self, request: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
        let (status, _, bytes) = self.send(request).await?;
        if bytes.is_empty() {
            return Ok((status, Value::Null));
        }
        let body = serde_json::from_slice(&bytes).context("the host's answer is not JSON")?;
        Ok((status, body))
    }

    /// One page of the trail as JSON lines (`GET …/audit/export`): the
    /// lines, and the `from` of the next page.
    pub async fn audit_export(&self, from: u64, limit: u64) -> anyhow::Result<(Vec<u8>, u64)> {
        let request =
            self.http.get(format!("{}/audit/export?from={from}&limit={limit}", self.base)).bearer_auth(&self.key);
        let (_, headers, bytes) = self.send(request).await?;
        let next = headers
            .get("smcp-audit-next")
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .ok_or_else(|| anyhow!("the host's export has no smcp-audit-next header"))?;
        Ok((bytes.to_vec(), next))
    }

    /// Sends `request`: a success's status, headers and body, or an
    /// [`ApiFailure`].
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<(u16, reqwest::header::HeaderMap, bytes::Bytes)> {
        // The reqwest error stays the source: it decides the exit code.
        let response = request.send().await.map_err(|e| {
            let hint =
                format!("cannot reach the host at {} (is `smcp serve` running there, and is --url right?)", self.base);
            anyhow::Error::from(e).context(hint)
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.context("reading the host's answer")?;
        if status.is_success() {
            return Ok((status.as_u16(), headers, bytes));
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(ApiFailure {
            status: status.as_u16(),
            code: body["error"]["code"].as_str().unwrap_or_default().to_owned(),
            body,
            tenant: self.tenant.clone(),
        }
        .into())
    }
}

/// How a command that failed exits, so a script or CI job can tell what
/// went wrong without reading the message (docs/tenant-guide.md lists
/// them): 3 the host refused the request as it stands (a bad component,
/// grant or argument), 4 it needs an approval (`--approve-widening`), 5 the
/// credentials were not accepted or may not do this, 6 what was named does
/// not exist, 7 the host could not be reached or failed (or asked to wait);
/// 1 anything else (a local file, bad input). `inspect`, `diff` and
/// `build` use 3 and 4 the same way; clap's usage errors are 2.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if let Some(failure) = error.downcast_ref::<ApiFailure>() {
        return match (failure.status, failure.code.as_str()) {
            (_, "approval_required") => 4,
            (401 | 403, _) => 5,
            (404, _) => 6,
            (429, _) | (500.., _) => 7,
            (400..=499, _) => 3,
            _ => 1,
        };
    }
    if error.chain().any(|cause| cause.downcast_ref::<reqwest::Error>().is_some()) {
        return 7;
    }
    1
}

/// An error answer of the admin API.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub body: Value,
    tenant: String,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = self.body["error"]["message"].as_str().unwrap_or("(no message)");
        write!(f, "{message} [{} {}]", self.status, self.code)?;
        let hint = match (self.status, self.code.as_str()) {
            (401, _) => format!(
                "the host does not accept this key: pass an admin key of tenant {} with --key or SMCP_ADMIN_KEY",
                self.tenant
            ),
            (403, _) => "this key's role may not do this: use a key with role admin".into(),
            (_, "approval_required") => {
                "review the change (`smcp inspect`, `smcp diff`), then run again with --approve-widening".into()
            }
            (_, "digest_mismatch") => "the file is not the one whose digest was stated: check what you reviewed".into(),
            (_, "digest_required") => {
                "this tenant pins uploads: pass --digest with the blake3 digest from `smcp inspect`".into()
            }
            (_, "server_not_found") => "create the server first (`smcp servers create NAME`) or check --server".into(),
            (_, "invalid_grant" | "not_granted") => "fix the grant file (docs/grants.md) and deploy again".into(),
            (_, "not_a_component" | "invalid_component" | "forbidden_import") => {
                "build the guest as a component of the smcp:mcp world (docs/building-guests.md)".into()
            }
            (429, _) => "too many requests: wait a moment and retry".into(),
            _ => String::new(),
        };
        if !hint.is_empty() {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiFailure {}

/// What an upload carries beside the component.
#[derive(Debug, Default)]
pub struct UploadParts {
    /// grant.toml's bytes.
    pub grant: Option<Vec<u8>>,
    /// The blake3 digest the uploader reviewed.
    pub digest: Option<String>,
    /// A signature file from `smcp sign`.
    pub signature: Option<Vec<u8>>,
}

/// A command's host, tenant and output form: what the commands that only
/// read or change something on a host share.
#[derive(clap::Args, Debug)]
pub struct Target {
    /// Defaults to the tenant of --key.
    #[arg(long, value_parser = super::tenant_id)]
    pub tenant: Option<smcp_core::names::TenantId>,
    #[command(flatten)]
    pub remote: Remote,
    /// Print the host's JSON.
    #[arg(long)]
    pub json: bool,
}

impl Target {
    /// A client of the host for the tenant named, or that of --key.
    pub fn client(&self) -> anyhow::Result<Client> {
        self.remote.client(self.tenant.as_deref())
    }

    /// Prints the host's `answer` as JSON with --json, else as `human` says.
    pub fn show(&self, answer: &Value, human: impl FnOnce(&Value)) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(answer)?);
        } else {
            human(answer);
        }
        Ok(())
    }
}
