//! The engine: routes a request to its hosted server and speaks MCP.

use super::http::{Body, Request, Response};
use crate::capabilities::{Backends, Grant};
use crate::runtime::{Component, Runtime};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Operator settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Values of `Host` accepted (DNS-rebinding protection), e.g.
    /// `localhost:8080`; `host` without a port matches any port.
    pub allowed_hosts: Vec<String>,
    /// Values of `Origin` accepted when the header is present.
    pub allowed_origins: Vec<String>,
    /// Larger POST bodies get 413.
    pub max_body_bytes: usize,
    /// Legacy sessions expire after this long without use.
    pub session_ttl_seconds: u32,
    pub server_name: String,
    pub server_version: String,
    /// Key of the MAC that protects `requestState` handed to clients.
    pub state_key: [u8; 32],
}

/// A server the engine serves: its component and grant.
#[derive(Clone)]
pub struct Hosted {
    pub tenant: String,
    pub server: String,
    pub component: Arc<Component>,
    pub grant: Grant,
}

/// MCP over Streamable HTTP for every hosted server.
pub struct Engine {
    pub runtime: Arc<Runtime>,
    pub config: EngineConfig,
    servers: RwLock<HashMap<(String, String), Hosted>>,
}

impl Engine {
    pub fn new(runtime: Arc<Runtime>, config: EngineConfig) -> Engine {
        Engine { runtime, config, servers: RwLock::default() }
    }

    /// Serves `hosted` at `/t/{tenant}/s/{server}/mcp`, replacing any
    /// server already there.
    pub fn host(&self, hosted: Hosted) {
        if let Ok(mut servers) = self.servers.write() {
            servers.insert((hosted.tenant.clone(), hosted.server.clone()), hosted);
        }
    }

    /// The endpoint path of a hosted server.
    pub fn endpoint(tenant: &str, server: &str) -> String {
        format!("/t/{tenant}/s/{server}/mcp")
    }

    /// Answers one HTTP request. Never panics on anything a client sends.
    pub async fn handle(&self, request: Request, backends: Backends<'_>) -> Response {
        let _ = (&request, backends);
        Response { status: 404, headers: vec![], body: Body::Empty }
    }
}
