//! The auditor's view of a component: what it imports, what its grant
//! allows for each import, what is imported but not granted and granted
//! but not imported; and the difference between two versions. Pure data,
//! for `smcp inspect` / `smcp diff` and the admin API's upload answers.

use crate::capabilities::Grant;
use crate::component::{Declared, LoadError, PreparedComponent};
use crate::guest::DeclaredTool;
use crate::runtime::Runtime;
use crate::world::HostWorld;
use serde::Serialize;

/// One capability interface of the host's world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capability {
    /// e.g. `smcp:mcp/kv@0.1.0`.
    pub interface: String,
    /// Its functions, as the host's WIT declares them.
    pub functions: Vec<String>,
    pub imported: bool,
    /// Always granted (log, clock, random, notify) or in the grant.
    pub granted: bool,
    /// What the grant allows, in words; empty when not granted.
    pub allows: Vec<String>,
}

/// The whole review of one component (and grant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub digest: String,
    pub size: usize,
    pub exports: Vec<String>,
    pub capabilities: Vec<Capability>,
    /// Imported, needing a grant, and not granted: hosting would fail.
    pub imported_not_granted: Vec<String>,
    /// Granted but not imported: grants nothing the component can use.
    pub granted_not_imported: Vec<String>,
    pub limits: Vec<String>,
    /// The grant reviewed with, as its file names the fields and with every
    /// default filled in ([`Grant::to_json`]); null without one.
    pub grant: Option<serde_json::Value>,
    /// False when the host refuses to run the component at all.
    pub runnable: bool,
    /// Why the host refuses it (empty when runnable).
    pub problems: Vec<String>,
    /// Imports outside the host's world, with their functions: a
    /// component declaring any is refused.
    pub foreign_imports: Vec<ForeignImport>,
    /// The component's WIT world as it declares it: every imported and
    /// exported interface with its functions.
    pub world: WorldView,
    /// The tools the component lists when run in the sandbox under the
    /// grant (see [`listed_tools`]); empty when not run or when the listing
    /// failed.
    pub tools: Vec<ListedTool>,
}

/// A tool as a review shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedTool {
    pub name: String,
    pub description: Option<String>,
    /// Annotated read-only (`readOnlyHint`).
    pub read_only: bool,
    /// How it may run as an MCP task (`optional`, `required`), as the
    /// component's `task-tools` says; whether it does is the grant's
    /// `[tasks]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<&'static str>,
}

/// The tools a component lists: as a review shows them, and what the host
/// enforces of them.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub shown: Vec<ListedTool>,
    pub declared: Vec<DeclaredTool>,
}

/// The tools `component` lists, run as a client's `tools/list` would run
/// it: in a fresh instance, under `grant`'s limits, with `backends`.
pub async fn listed_tools<H: crate::runtime::HostCalls>(
    runtime: &Runtime,
    component: &crate::runtime::Component,
    limits: crate::runtime::Limits,
    host: &mut H,
) -> Result<Listing, crate::guest::ServerError> {
    let server = crate::guest::Server { runtime, component, limits };
    let tools = server.list_tools(host).await?;
    let task_tools = server.task_tools(host).await?;
    let declared: Vec<DeclaredTool> = tools.iter().map(|tool| DeclaredTool::of(tool, &task_tools)).collect();
    let shown = tools
        .into_iter()
        .zip(&declared)
        .map(|(tool, declared)| ListedTool {
            read_only: declared.read_only,
            task: declared.task.map(|support| match support {
                crate::guest::TaskSupport::Optional => "optional",
                crate::guest::TaskSupport::Required => "required",
            }),
            name: tool.name,
            description: tool.description,
        })
        .collect();
    Ok(Listing { shown, declared })
}

/// A component's declared WIT world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorldView {
    pub imports: Vec<ForeignImport>,
    pub exports: Vec<ForeignImport>,
}

/// An interface and its functions (for `foreign_imports`: one the host's
/// world does not offer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignImport {
    pub interface: String,
    pub functions: Vec<String>,
}

fn short(interface: &str) -> &str {
    let name = interface.split_once('/').map_or(interface, |(_, rest)| rest);
    name.split_once('@').map_or(name, |(name, _)| name)
}

/// What `grant` allows for capability `name`, or `None` when it does not
/// grant it. Capabilities every server has say so.
fn allows(grant: &Grant, name: &str) -> Option<Vec<String>> {
    match name {
        "kv" => grant.kv.as_ref().map(|kv| {
            vec![
                "its own key space".into(),
                format!("values up to {} bytes, keys up to {} bytes", kv.max_value_bytes, kv.max_key_bytes),
                format!("up to {} operations per request, {} keys per page", kv.max_ops_per_call, kv.max_list),
            ]
        }),
        "objects" => grant.objects.as_ref().map(|o| {
            vec![
                "its own object space".into(),
                format!(
                    "objects up to {} bytes, {} bytes written per request",
                    o.max_object_bytes, o.max_bytes_written_per_call
                ),
            ]
        }),
        "http" => grant.http.as_ref().map(|h| {
            let mut out = vec![
                format!(
                    "hosts: {}",
                    if h.allowed_hosts.is_empty() { "none".into() } else { h.allowed_hosts.join(", ") }
                ),
                format!("schemes: {}", if h.allow_insecure { "https, http" } else { "https" }),
                format!("methods: {}", h.methods.as_ref().map_or("all".into(), |m| m.join(", "))),
                format!(
                    "up to {} requests per call ({} redirects each), {} bytes out, {} bytes in, {} ms",
                    h.max_requests, h.max_redirects, h.max_request_bytes, h.max_response_bytes, h.timeout_ms
                ),
            ];
            out.extend(
                h.inject
                    .iter()
                    .map(|i| format!("header `{}` from secret `{}` on requests to {}", i.header, i.secret, i.host)),
            );
            out
        }),
        "secrets" => (!grant.secrets.is_empty()).then(|| vec![format!("names: {}", grant.secrets.join(", "))]),
        "log" | "clock" | "random" | "notify" => Some(vec!["always granted".into()]),
        _ => None,
    }
}

/// What a WASI interface of the subset is served as: the capability it
/// maps onto, and how. Every one is granted to every server, because
/// each reaches no more than that capability does.
pub fn wasi_served_as(interface: &str) -> Option<&'static str> {
    let name = interface.split_once('@').map_or(interface, |(name, _)| name);
    Some(match name {
        "wasi:cli/stdout" | "wasi:cli/stderr" => {
            "log: each write is an operator log line, within log's per-call budget"
        }
        "wasi:clocks/wall-clock" | "wasi:clocks/monotonic-clock" => {
            "clock: millisecond resolution; a wait ends at the call's wall-time limit"
        }
        "wasi:random/random" | "wasi:random/insecure" | "wasi:random/insecure-seed" => "random",
        "wasi:cli/environment" => "the grant's [environment] variables; no arguments, no working directory",
        "wasi:cli/stdin" => "nothing: an empty, closed stream",
        "wasi:cli/exit" => "ends the call with an error",
        "wasi:cli/terminal-input" | "wasi:cli/terminal-output" => "nothing: no terminal",
        "wasi:cli/terminal-stdin" | "wasi:cli/terminal-stdout" | "wasi:cli/terminal-stderr" => "nothing: no terminal",
        "wasi:io/error" | "wasi:io/poll" | "wasi:io/streams" => "the streams and clocks above",
        "wasi:filesystem/preopens" | "wasi:filesystem/types" => "nothing: no directory, so no file can be opened",
        "wasi:http/types" => "nothing on its own: the types wasi:http/outgoing-handler sends, under [http]",
        _ => return None,
    })
}

/// What a WASI interface of the subset gives under `grant`.
fn wasi_allows(grant: &Grant, interface: &str, served: &str) -> Vec<String> {
    let mut out = vec![format!("always granted; served as {served}")];
    if interface.starts_with("wasi:cli/environment") {
        out.push(if grant.environment.is_empty() {
            "variables: none".into()
        } else {
            let vars: Vec<String> = grant.environment.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
            format!("variables: {}", vars.join(", "))
        });
    }
    out
}

/// Every capability interface of the host's world: whether the component
/// imports it (`declared`), what `grant` allows for it, and the functions
/// the component imports from it (for the rest, those it could).
fn capabilities(world: &HostWorld, grant: &Grant, declared: &[(String, Vec<String>)]) -> Vec<Capability> {
    world
        .import_interfaces
        .iter()
        .filter_map(|interface| {
            let imported = declared.iter().find(|(i, _)| world.canonical(i) == Some(interface.as_str()));
            // The WASI subset shows only where imported.
            if HostWorld::is_wasi(interface) && imported.is_none() {
                return None;
            }
            let allowed = match wasi_served_as(interface) {
                Some(served) => Some(wasi_allows(grant, interface, served)),
                None => {
                    let section = crate::world::grant_section(interface).unwrap_or(short(interface));
                    let mut allowed = allows(grant, section);
                    if HostWorld::is_wasi(interface)
                        && let Some(lines) = &mut allowed
                    {
                        lines.insert(0, format!("served as the {section} capability, under the grant's [{section}]"));
                    }
                    allowed
                }
            };
            let functions = match imported {
                Some((_, functions)) => functions.clone(),
                None => world.imports.iter().filter(|f| &f.interface == interface).map(|f| f.name.clone()).collect(),
            };
            Some(Capability {
                interface: imported.map_or_else(|| interface.clone(), |(declared, _)| declared.clone()),
                functions,
                // The types-only interface grants nothing; it never counts.
                imported: !crate::world::is_types_interface(interface) && imported.is_some(),
                granted: allowed.is_some(),
                allows: allowed.unwrap_or_default(),
            })
        })
        .collect()
}

/// Reviews a prepared component against `grant` (none: what it would need).
pub fn review(world: &HostWorld, component: &PreparedComponent, grant: Option<&Grant>) -> Review {
    let empty = Grant::default();
    let grant_or_empty = grant.unwrap_or(&empty);
    let capabilities = capabilities(world, grant_or_empty, &component.declared.imports);
    let needs_grant = |c: &&Capability| crate::world::grant_section(&c.interface).is_some();
    Review {
        digest: component.digest.to_string(),
        size: component.size,
        exports: component.exports.clone(),
        imported_not_granted: capabilities
            .iter()
            .filter(needs_grant)
            .filter(|c| c.imported && !c.granted)
            .map(|c| c.interface.clone())
            .collect(),
        granted_not_imported: {
            // A section is used by any import it serves (`[http]` by
            // wasi:http/outgoing-handler too).
            let used: Vec<&str> = capabilities
                .iter()
                .filter(|c| c.imported)
                .filter_map(|c| crate::world::grant_section(&c.interface))
                .collect();
            capabilities
                .iter()
                .filter(needs_grant)
                .filter(|c| !c.imported && c.granted)
                .filter(|c| crate::world::grant_section(&c.interface).is_none_or(|s| !used.contains(&s)))
                .map(|c| c.interface.clone())
                .collect()
        },
        limits: {
            let l = grant_or_empty.limits;
            let mut lines = vec![format!(
                "fuel {} per request, memory {} bytes, output {} bytes, {} bytes per capability call, {} capability calls, {} ms wall time",
                l.fuel, l.memory_bytes, l.output_bytes, l.import_bytes, l.host_calls, l.wall_time_ms
            )];
            if let Some(t) = grant_or_empty.tasks {
                lines.push(format!(
                    "tasks: fuel {} per task, {} ms running time, readable {} ms, {} per principal",
                    t.fuel, t.wall_time_ms, t.ttl_ms, t.per_principal
                ));
            }
            lines
        },
        capabilities,
        grant: grant.map(Grant::to_json),
        runnable: true,
        problems: Vec::new(),
        foreign_imports: Vec::new(),
        world: WorldView::of(&component.declared),
        tools: Vec::new(),
    }
}

impl WorldView {
    fn of(declared: &Declared) -> WorldView {
        WorldView { imports: view(&declared.imports), exports: view(&declared.exports) }
    }
}

fn view(items: &[(String, Vec<String>)]) -> Vec<ForeignImport> {
    items
        .iter()
        .map(|(interface, functions)| ForeignImport { interface: interface.clone(), functions: functions.clone() })
        .collect()
}

/// Reviews component bytes with the checks an upload gets (prepare, then
/// compile and link in `runtime`): like [`review`] when the host can run them;
/// otherwise what the component declares (from its WIT world), which of
/// its imports the host does not offer, and why it is refused. `Err` only
/// when the bytes are not a decodable component.
pub fn review_bytes(runtime: &Runtime, bytes: &[u8], grant: Option<&Grant>) -> Result<Review, LoadError> {
    let world = runtime.world();
    let problems = match crate::component::examine(bytes, world, runtime.limits().max_component_bytes) {
        Ok(prepared) => {
            let mut reviewed = review(world, &prepared, grant);
            // Compiled and linked as deploy does: a core module that does
            // not compile, or imports what its component does not give it
            // with the right type, is refused here as it would be there.
            if let Err(e) = runtime.load_prepared(prepared.clone()) {
                reviewed.problems.push(e.to_string());
            }
            if let Some(grant) = grant {
                reviewed.problems.extend(grant.not_granted(&prepared.imports).iter().map(ToString::to_string));
            }
            reviewed.runnable = reviewed.problems.is_empty();
            return Ok(reviewed);
        }
        Err(problems) => problems,
    };
    let survey = crate::component::survey(bytes)?;
    let foreign_imports: Vec<ForeignImport> = survey
        .declared
        .imports
        .iter()
        .filter(|(interface, _)| !crate::world::is_types_interface(interface) && !world.may_import(interface))
        .map(|(interface, functions)| ForeignImport { interface: interface.clone(), functions: functions.clone() })
        .collect();
    let mut problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    if let Some(grant) = grant {
        let offered: Vec<String> =
            survey.declared.imports.iter().map(|(i, _)| i.clone()).filter(|i| world.may_import(i)).collect();
        problems.extend(grant.not_granted(&offered).iter().map(ToString::to_string));
    }
    let empty = Grant::default();
    let capabilities = capabilities(world, grant.unwrap_or(&empty), &survey.declared.imports);
    Ok(Review {
        digest: survey.digest.to_string(),
        size: survey.size,
        exports: survey.declared.exports.iter().map(|(e, _)| e.clone()).collect(),
        capabilities,
        imported_not_granted: Vec::new(),
        granted_not_imported: Vec::new(),
        limits: Vec::new(),
        grant: grant.map(Grant::to_json),
        runnable: false,
        problems,
        foreign_imports,
        world: WorldView::of(&survey.declared),
        tools: Vec::new(),
    })
}

/// What changes from `old` to `new`, in words: imports added or removed,
/// and grants widened, narrowed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub imports_added: Vec<String>,
    pub imports_removed: Vec<String>,
    /// Functions newly imported from interfaces both versions import
    /// (`kv.delete`), and those no longer imported.
    pub functions_added: Vec<String>,
    pub functions_removed: Vec<String>,
    /// `interface: before -> after` for every capability whose grant
    /// changed.
    pub grants_changed: Vec<String>,
    pub limits_changed: bool,
    /// Every grant field whose value changed, by its path in the grant
    /// file (`http.allowed_hosts`, `limits.fuel`); a section added or
    /// removed is one change from or to null.
    pub grant_changes: Vec<FieldChange>,
    /// Tools the new version lists and the old did not, and the reverse
    /// (by name; from the reviews' sandbox listings).
    pub tools_added: Vec<String>,
    pub tools_removed: Vec<String>,
}

/// One grant field's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub from: serde_json::Value,
    pub to: serde_json::Value,
}

/// The leaves of two grants' JSON that differ, objects walked by key
/// (lists and numbers compared whole).
fn field_changes(path: &str, from: &serde_json::Value, to: &serde_json::Value, out: &mut Vec<FieldChange>) {
    use serde_json::Value;
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                field_changes(&at, a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null), out);
            }
        }
        _ if from != to => out.push(FieldChange { field: path.to_owned(), from: from.clone(), to: to.clone() }),
        _ => {}
    }
}

impl Difference {
    pub fn is_empty(&self) -> bool {
        self.imports_added.is_empty()
            && self.imports_removed.is_empty()
            && self.functions_added.is_empty()
            && self.functions_removed.is_empty()
            && self.grants_changed.is_empty()
            && !self.limits_changed
            && self.grant_changes.is_empty()
            && self.tools_added.is_empty()
            && self.tools_removed.is_empty()
    }
}

pub fn difference(old: &Review, new: &Review) -> Difference {
    let imported =
        |r: &Review| r.capabilities.iter().filter(|c| c.imported).map(|c| c.interface.clone()).collect::<Vec<_>>();
    let (before, after) = (imported(old), imported(new));
    let grants_changed = new
        .capabilities
        .iter()
        .filter_map(|n| {
            let o = old.capabilities.iter().find(|o| o.interface == n.interface)?;
            (o.allows != n.allows).then(|| {
                let words = |c: &Capability| if c.granted { c.allows.join("; ") } else { "not granted".into() };
                format!("{}: {} -> {}", n.interface, words(o), words(n))
            })
        })
        .collect();
    let (mut functions_added, mut functions_removed) = (Vec::new(), Vec::new());
    for n in new.capabilities.iter().filter(|c| c.imported) {
        let Some(o) = old.capabilities.iter().find(|o| o.interface == n.interface && o.imported) else { continue };
        let name = |f: &String| format!("{}.{f}", short(&n.interface));
        functions_added.extend(n.functions.iter().filter(|f| !o.functions.contains(f)).map(name));
        functions_removed.extend(o.functions.iter().filter(|f| !n.functions.contains(f)).map(name));
    }
    Difference {
        imports_added: after.iter().filter(|i| !before.contains(i)).cloned().collect(),
        imports_removed: before.iter().filter(|i| !after.contains(i)).cloned().collect(),
        functions_added,
        functions_removed,
        grants_changed,
        limits_changed: old.limits != new.limits,
        grant_changes: {
            let mut changes = Vec::new();
            let null = serde_json::Value::Null;
            field_changes("", old.grant.as_ref().unwrap_or(&null), new.grant.as_ref().unwrap_or(&null), &mut changes);
            changes
        },
        tools_added: names_missing_from(&new.tools, &old.tools),
        tools_removed: names_missing_from(&old.tools, &new.tools),
    }
}

/// Names of `tools` that `other` does not list.
fn names_missing_from(tools: &[ListedTool], other: &[ListedTool]) -> Vec<String> {
    tools.iter().filter(|t| !other.iter().any(|o| o.name == t.name)).map(|t| t.name.clone()).collect()
}
