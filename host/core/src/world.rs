//! The host's WIT world (`wit/` at the top of the repository) as the
//! canonical-ABI signatures of every import and export.
//!
//! The signatures are worked out from the WIT by the test
//! `the_embedded_world_is_the_wits` and embedded as `host_world.json`:
//! parsing WIT text costs 2 ms natively and about 20 ms in a new Worker
//! isolate, on its first request; reading the JSON, 0.4 and 2.5 ms.

use crate::abi::{AbiType, FlatType};
use serde::{Deserialize, Serialize};
use wit_parser::{Handle, Resolve, Type, TypeDefKind, TypeId, TypeOwner};

/// The host's WIT package, embedded so the binary carries its own contract.
pub const HOST_WIT: &str = concat!(
    include_str!("../../../wit/world.wit"),
    include_str!("../../../wit/types.wit"),
    include_str!("../../../wit/server.wit"),
    include_str!("../../../wit/capabilities.wit"),
);

/// The host's world worked out from [`HOST_WIT`] and the vendored WASI
/// packages; a test keeps it so.
const HOST_WORLD_JSON: &str = include_str!("host_world.json");

/// The WASI 0.2 packages the host's subset comes from, vendored from the
/// WASI release in `wit/deps/` and parsed in dependency order.
#[cfg(test)]
const WASI_WIT: [(&str, &str); 9] = [
    ("wasi-io", include_str!("../../../wit/deps/wasi-io/package.wit")),
    ("wasi-clocks", include_str!("../../../wit/deps/wasi-clocks/package.wit")),
    ("wasi-random", include_str!("../../../wit/deps/wasi-random/package.wit")),
    ("wasi-filesystem", include_str!("../../../wit/deps/wasi-filesystem/package.wit")),
    ("wasi-sockets", include_str!("../../../wit/deps/wasi-sockets/package.wit")),
    ("wasi-cli", include_str!("../../../wit/deps/wasi-cli/package.wit")),
    ("wasi-http", include_str!("../../../wit/deps/wasi-http/package.wit")),
    ("wasi-keyvalue-0.2.0-draft", include_str!("../../../wit/deps/wasi-keyvalue-0.2.0-draft/package.wit")),
    ("wasi-keyvalue-0.2.0-draft2", include_str!("../../../wit/deps/wasi-keyvalue-0.2.0-draft2/package.wit")),
];

/// The WASI version the vendored WIT is; components may import any 0.2.x.
pub const WASI_VERSION: &str = "0.2.12";

/// The WASI interfaces a component may import, deny by default: each is
/// served by [`crate::capabilities::wasi`] on top of a capability the grant
/// governs. Sockets and filesystem access are not among them (`types` is
/// there so that components linking it load; no preopen exists, so no
/// descriptor can). Outgoing HTTP is the http capability, and needs its
/// grant as `smcp:mcp/http` does ([`grant_section`]).
pub const WASI_INTERFACES: [&str; 20] = [
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:http/types",
    "wasi:http/outgoing-handler",
];

/// wasi:keyvalue, served as the kv capability: the two drafts toolchains
/// build against (wasmtime's `0.2.0-draft`, Spin's `0.2.0-draft2`), each at
/// exactly its version, since drafts change without a version track.
/// `atomics` is not among them: guest kv on the Worker is Workers KV, which
/// has no atomic operations to serve it with.
pub const WASI_KEYVALUE: [&str; 4] = [
    "wasi:keyvalue/store@0.2.0-draft",
    "wasi:keyvalue/batch@0.2.0-draft",
    "wasi:keyvalue/store@0.2.0-draft2",
    "wasi:keyvalue/batch@0.2.0-draft2",
];

/// The grant section an imported interface needs (`kv`, `objects`,
/// `http`, `secrets`), or `None` for one every server has.
pub fn grant_section(interface: &str) -> Option<&'static str> {
    let name = interface.split_once('@').map_or(interface, |(name, _)| name);
    Some(match name {
        "smcp:mcp/kv" | "wasi:keyvalue/store" | "wasi:keyvalue/batch" => "kv",
        "smcp:mcp/objects" => "objects",
        "smcp:mcp/http" | "wasi:http/outgoing-handler" => "http",
        "smcp:mcp/secrets" => "secrets",
        _ => return None,
    })
}

/// WASI interfaces present for linking only: their functions need a handle
/// no grant can give (no preopens, so no descriptor).
pub const WASI_LINK_ONLY: [&str; 2] = ["wasi:filesystem/types", "wasi:filesystem/preopens"];

/// The version of the host's own package in `wit/`. Components built
/// against any 0.1.x load: a 0.1 release only adds (functions a component
/// may import, exports the host calls when present).
pub const VERSION: &str = "0.1.2";
pub const PACKAGE: &str = "smcp:mcp@0.1.2";
pub const SERVER_INTERFACE: &str = "smcp:mcp/server@0.1.2";
/// An interface of types only: importing it grants nothing.
pub const TYPES_INTERFACE: &str = "smcp:mcp/types@0.1.2";

/// Server exports added after 0.1.0: a component built against an earlier
/// 0.1 lacks them, and the host falls back (`list-resources-page` to the
/// whole `list-resources`, paged by the host).
pub const ADDED_EXPORTS: [&str; 2] = ["list-resources-page", "task-tools"];

/// The host's name for `interface` when it is one of the host package's
/// (any 0.1.x) or WASI's (any 0.2.x): `name@<the host's version>`.
/// `None` for any other package or version track.
fn on_host_track(interface: &str) -> Option<String> {
    let (name, version) = interface.split_once('@')?;
    let (track, host) = if name.starts_with("smcp:mcp/") {
        ("0.1.", VERSION)
    } else if name.starts_with("wasi:") {
        ("0.2.", WASI_VERSION)
    } else {
        return None;
    };
    let patch = version.strip_prefix(track)?;
    (!patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())).then(|| format!("{name}@{host}"))
}

/// True for `smcp:mcp/server` at any 0.1.x.
pub fn is_server_interface(interface: &str) -> bool {
    on_host_track(interface).is_some_and(|i| i == SERVER_INTERFACE)
}

/// True for `smcp:mcp/types` at any 0.1.x.
pub fn is_types_interface(interface: &str) -> bool {
    on_host_track(interface).is_some_and(|i| i == TYPES_INTERFACE)
}

/// A core export name as the host knows it: wit-component names a lifted
/// function `interface#function`, and a server built against another 0.1.x
/// has its own version in `interface`.
pub fn canonical_export_name(name: &str) -> String {
    match name.split_once('#') {
        Some((interface, function)) if is_server_interface(interface) => format!("{SERVER_INTERFACE}#{function}"),
        _ => name.to_owned(),
    }
}

/// Parameters and result of a WIT function, lowered to ABI types, with
/// the ABI decisions that follow from them made once (calls consult them on
/// every invocation). Serialized as its parameters and result only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "SigShape", into = "SigShape")]
pub struct FuncSig {
    pub params: Vec<AbiType>,
    pub result: Option<AbiType>,
    indirect_params: bool,
    result_in_memory: bool,
    export_results: Vec<FlatType>,
    has_handles: bool,
}

/// A [`FuncSig`] as written down: what the ABI decisions follow from.
#[derive(Serialize, Deserialize)]
struct SigShape {
    params: Vec<AbiType>,
    result: Option<AbiType>,
}

impl From<SigShape> for FuncSig {
    fn from(shape: SigShape) -> FuncSig {
        FuncSig::new(shape.params, shape.result)
    }
}

impl From<FuncSig> for SigShape {
    fn from(sig: FuncSig) -> SigShape {
        SigShape { params: sig.params, result: sig.result }
    }
}

impl FuncSig {
    pub fn new(params: Vec<AbiType>, result: Option<AbiType>) -> FuncSig {
        let flat_params: usize = params.iter().map(|p| p.flat().len()).sum();
        let result_in_memory = result.as_ref().is_some_and(|r| r.flat().len() > MAX_FLAT_RESULTS);
        let export_results = match &result {
            Some(_) if result_in_memory => vec![FlatType::I32],
            Some(r) => r.flat(),
            None => vec![],
        };
        let has_handles = params.iter().chain(&result).any(crate::abi::handles::has_handles);
        FuncSig {
            params,
            result,
            indirect_params: flat_params > MAX_FLAT_PARAMS,
            result_in_memory,
            export_results,
            has_handles,
        }
    }

    /// True when a parameter or the result holds resource handles.
    pub fn has_handles(&self) -> bool {
        self.has_handles
    }

    /// Flat parameter types before any spilling to memory.
    pub fn flat_params(&self) -> Vec<FlatType> {
        self.params.iter().flat_map(AbiType::flat).collect()
    }

    /// True when the parameters travel in memory behind one pointer.
    pub fn indirect_params(&self) -> bool {
        self.indirect_params
    }

    /// True when the result travels in memory (a return area).
    pub fn result_in_memory(&self) -> bool {
        self.result_in_memory
    }

    /// The parameters as one tuple, the shape they have in memory.
    pub fn params_tuple(&self) -> AbiType {
        AbiType::record(self.params.clone())
    }

    /// Core signature of the function as the guest imports it.
    pub fn import_core_type(&self) -> (Vec<FlatType>, Vec<FlatType>) {
        let mut params = self.core_params();
        let results = match &self.result {
            Some(_) if self.result_in_memory() => {
                params.push(FlatType::I32);
                vec![]
            }
            Some(r) => r.flat(),
            None => vec![],
        };
        (params, results)
    }

    /// Core signature of the function as the guest exports it.
    pub fn export_core_type(&self) -> (Vec<FlatType>, Vec<FlatType>) {
        (self.core_params(), self.export_results.clone())
    }

    /// Core result types of the exported function.
    pub fn export_results(&self) -> &[FlatType] {
        &self.export_results
    }

    fn core_params(&self) -> Vec<FlatType> {
        if self.indirect_params() { vec![FlatType::I32] } else { self.flat_params() }
    }
}

pub const MAX_FLAT_PARAMS: usize = 16;
pub const MAX_FLAT_RESULTS: usize = 1;

/// One function of an interface in the host's world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldFunc {
    /// Fully qualified interface, e.g. `smcp:mcp/kv@0.1.2`.
    pub interface: String,
    /// Short interface name, e.g. `kv`.
    pub short: String,
    pub name: String,
    pub sig: FuncSig,
    /// The core export name wit-component gives it when exported:
    /// `interface#name`.
    pub export_name: String,
    /// An export a component built against an earlier 0.1 lacks
    /// ([`ADDED_EXPORTS`]); never set for imports.
    pub optional: bool,
}

/// A host resource type: the interface that defines it and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDef {
    pub interface: String,
    pub name: String,
}

/// Every import and export function of world `mcp-server`, then those of
/// the WASI subset.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct HostWorld {
    pub imports: Vec<WorldFunc>,
    pub exports: Vec<WorldFunc>,
    /// Fully qualified names of the importable interfaces.
    pub import_interfaces: Vec<String>,
    /// The resource types of the imports; `AbiType::Own`/`Borrow` index it.
    pub resources: Vec<ResourceDef>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("host WIT does not parse: {0}")]
    Parse(String),
    #[error("host WIT uses a type the host cannot lift: {0}")]
    UnsupportedType(&'static str),
}

impl HostWorld {
    /// The world embedded in the host.
    pub fn load() -> Result<HostWorld, WorldError> {
        serde_json::from_str(HOST_WORLD_JSON).map_err(|e| WorldError::Parse(e.to_string()))
    }

    /// The world worked out from the WIT texts.
    #[cfg(test)]
    fn from_wit() -> Result<HostWorld, WorldError> {
        use wit_parser::{InterfaceId, WorldItem, WorldKey};
        fn parse(e: impl core::fmt::Display) -> WorldError {
            WorldError::Parse(format!("{e:#}"))
        }
        let mut resolve = Resolve::default();
        for (name, text) in WASI_WIT {
            resolve.push_str(format!("{name}.wit"), text).map_err(parse)?;
        }
        let pkg = resolve.push_str("smcp.wit", HOST_WIT).map_err(parse)?;
        let world_id = resolve.select_world(pkg, Some("mcp-server")).map_err(parse)?;
        let world = &resolve.worlds[world_id];
        let mut host = HostWorld { imports: vec![], exports: vec![], import_interfaces: vec![], resources: vec![] };
        let interfaces = |items: &mut dyn Iterator<Item = (&WorldKey, &WorldItem)>| -> Vec<InterfaceId> {
            items
                .filter_map(|(key, item)| match (key, item) {
                    (WorldKey::Interface(id), WorldItem::Interface { .. }) => Some(*id),
                    _ => None,
                })
                .collect()
        };
        let mut wasi = Vec::new();
        let versioned = WASI_INTERFACES.iter().chain(&WASI_LINK_ONLY).map(|name| format!("{name}@{WASI_VERSION}"));
        for qualified in versioned.chain(WASI_KEYVALUE.map(String::from)) {
            let id = resolve
                .interfaces
                .iter()
                .find(|(id, _)| resolve.id_of(*id).as_deref() == Some(qualified.as_str()))
                .map(|(id, _)| id)
                .ok_or(WorldError::UnsupportedType("a WASI interface missing from wit/deps"))?;
            wasi.push(id);
        }
        let imports: Vec<InterfaceId> = interfaces(&mut world.imports.iter()).into_iter().chain(wasi).collect();
        let exports = interfaces(&mut world.exports.iter());
        for (ids, is_import) in [(imports, true), (exports, false)] {
            for id in ids {
                let interface = resolve.id_of(id).ok_or(WorldError::UnsupportedType("anonymous interface"))?;
                let short = resolve.interfaces[id].name.clone().unwrap_or_default();
                if is_import {
                    host.import_interfaces.push(interface.clone());
                }
                for func in resolve.interfaces[id].functions.values() {
                    let sig = host.signature(&resolve, func, &mut |resolve, resource, resources| {
                        let def = resource_def(resolve, resource)?;
                        Ok(match resources.iter().position(|r| *r == def) {
                            Some(i) => i,
                            None => {
                                resources.push(def);
                                resources.len() - 1
                            }
                        } as u32)
                    })?;
                    let func = WorldFunc {
                        export_name: format!("{interface}#{}", func.name),
                        interface: interface.clone(),
                        short: short.clone(),
                        optional: !is_import && ADDED_EXPORTS.contains(&func.name.as_str()),
                        name: func.name.clone(),
                        sig,
                    };
                    if is_import { host.imports.push(func) } else { host.exports.push(func) }
                }
            }
        }
        Ok(host)
    }

    /// The ABI signature of `func` of `resolve`, its resources numbered by
    /// `resource`.
    #[cfg(test)]
    fn signature(
        &mut self,
        resolve: &Resolve,
        func: &wit_parser::Function,
        resource: &mut ResourceIndex<'_>,
    ) -> Result<FuncSig, WorldError> {
        let resources = &mut self.resources;
        let mut map = |resolve: &Resolve, id: TypeId| resource(resolve, id, resources);
        let params = func.params.iter().map(|(_, ty)| abi_type(resolve, ty, &mut map)).collect::<Result<_, _>>()?;
        let result = func.result.as_ref().map(|t| abi_type(resolve, t, &mut map)).transpose()?;
        Ok(FuncSig::new(params, result))
    }

    /// The signature `func` of a component's own `resolve` has, in the
    /// host's terms: resources numbered as the host numbers them. Fails
    /// for a resource the host does not know.
    pub fn component_signature(&self, resolve: &Resolve, func: &wit_parser::Function) -> Result<FuncSig, WorldError> {
        let mut map = |resolve: &Resolve, id: TypeId| {
            let def = resource_def(resolve, id)?;
            let interface = self.canonical(&def.interface).ok_or(WorldError::UnsupportedType("resource"))?;
            self.resource(interface, &def.name).map(|i| i as u32).ok_or(WorldError::UnsupportedType("resource"))
        };
        let params = func.params.iter().map(|(_, ty)| abi_type(resolve, ty, &mut map)).collect::<Result<_, _>>()?;
        let result = func.result.as_ref().map(|t| abi_type(resolve, t, &mut map)).transpose()?;
        Ok(FuncSig::new(params, result))
    }

    /// The host's name for an interface a component imports: the same
    /// name, or the host's version of it (any 0.1.x of the host's package
    /// and any 0.2.x of WASI are accepted: those releases only add).
    pub fn canonical<'a>(&'a self, interface: &'a str) -> Option<&'a str> {
        if let Some(known) = self.import_interfaces.iter().find(|i| *i == interface) {
            return Some(known);
        }
        let host = on_host_track(interface)?;
        self.import_interfaces.iter().find(|i| **i == host).map(String::as_str)
    }

    /// An import by interface (any accepted version of it) and function.
    pub fn import(&self, interface: &str, name: &str) -> Option<(usize, &WorldFunc)> {
        let interface = self.canonical(interface)?;
        self.imports.iter().enumerate().find(|(_, f)| f.interface == interface && f.name == name)
    }

    /// A resource type by interface (any accepted version) and name.
    pub fn resource(&self, interface: &str, name: &str) -> Option<usize> {
        let interface = self.canonical(interface)?;
        self.resources.iter().position(|r| r.interface == interface && r.name == name)
    }

    pub fn export(&self, name: &str) -> Option<&WorldFunc> {
        self.exports.iter().find(|f| f.name == name)
    }

    /// True for interfaces a component may import (capabilities, types
    /// and the WASI subset).
    pub fn may_import(&self, interface: &str) -> bool {
        is_types_interface(interface) || self.canonical(interface).is_some()
    }

    /// True for a WASI interface (of any version).
    pub fn is_wasi(interface: &str) -> bool {
        interface.starts_with("wasi:")
    }
}

/// Numbers a resource type of a resolve.
#[cfg(test)]
type ResourceIndex<'a> = dyn FnMut(&Resolve, TypeId, &mut Vec<ResourceDef>) -> Result<u32, WorldError> + 'a;

/// The interface (fully qualified) and name of resource type `id`, looking
/// through `use` aliases.
fn resource_def(resolve: &Resolve, mut id: TypeId) -> Result<ResourceDef, WorldError> {
    while let TypeDefKind::Type(Type::Id(next)) = &resolve.types[id].kind {
        id = *next;
    }
    let def = &resolve.types[id];
    let (TypeDefKind::Resource, TypeOwner::Interface(owner)) = (&def.kind, def.owner) else {
        return Err(WorldError::UnsupportedType("a handle to something other than an interface's resource"));
    };
    Ok(ResourceDef {
        interface: resolve.id_of(owner).ok_or(WorldError::UnsupportedType("anonymous interface"))?,
        name: def.name.clone().unwrap_or_default(),
    })
}

fn abi_type(
    resolve: &Resolve,
    ty: &Type,
    resource: &mut dyn FnMut(&Resolve, TypeId) -> Result<u32, WorldError>,
) -> Result<AbiType, WorldError> {
    Ok(match ty {
        Type::Bool => AbiType::Bool,
        Type::U8 => AbiType::U8,
        Type::S8 => AbiType::S8,
        Type::U16 => AbiType::U16,
        Type::S16 => AbiType::S16,
        Type::U32 => AbiType::U32,
        Type::S32 => AbiType::S32,
        Type::U64 => AbiType::U64,
        Type::S64 => AbiType::S64,
        Type::F32 => AbiType::F32,
        Type::F64 => AbiType::F64,
        Type::Char => AbiType::Char,
        Type::String => AbiType::String,
        Type::ErrorContext => return Err(WorldError::UnsupportedType("error-context")),
        Type::Id(id) => {
            let each = |types: &mut dyn Iterator<Item = &Type>,
                        resource: &mut dyn FnMut(&Resolve, TypeId) -> Result<u32, WorldError>|
             -> Result<Vec<AbiType>, WorldError> {
                types.map(|t| abi_type(resolve, t, resource)).collect()
            };
            let opt = |t: &Option<Type>, resource: &mut dyn FnMut(&Resolve, TypeId) -> Result<u32, WorldError>| {
                t.as_ref().map(|t| abi_type(resolve, t, resource)).transpose()
            };
            match &resolve.types[*id].kind {
                TypeDefKind::Type(t) => abi_type(resolve, t, resource)?,
                TypeDefKind::Handle(Handle::Own(r)) => AbiType::Own(resource(resolve, *r)?),
                TypeDefKind::Handle(Handle::Borrow(r)) => AbiType::Borrow(resource(resolve, *r)?),
                TypeDefKind::Record(r) => AbiType::record(each(&mut r.fields.iter().map(|f| &f.ty), resource)?),
                TypeDefKind::Tuple(t) => AbiType::record(each(&mut t.types.iter(), resource)?),
                TypeDefKind::List(t) => AbiType::List(Box::new(abi_type(resolve, t, resource)?)),
                TypeDefKind::Option(t) => AbiType::option(abi_type(resolve, t, resource)?),
                TypeDefKind::Result(r) => AbiType::result(opt(&r.ok, resource)?, opt(&r.err, resource)?),
                TypeDefKind::Variant(v) => {
                    AbiType::variant(v.cases.iter().map(|c| opt(&c.ty, resource)).collect::<Result<_, _>>()?)
                }
                TypeDefKind::Enum(e) => AbiType::Enum(e.cases.len() as u32),
                TypeDefKind::Flags(f) if f.flags.len() <= 32 => AbiType::Flags(f.flags.len() as u32),
                other => return Err(WorldError::UnsupportedType(other.as_str())),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `host_world.json` is what the WIT says. After a change to `wit/`,
    /// `SMCP_BLESS=1 cargo test -p smcp-core world` writes it anew.
    #[test]
    fn the_embedded_world_is_the_wits() {
        let world = HostWorld::from_wit().expect("the host's WIT parses");
        let json = serde_json::to_string_pretty(&world).unwrap() + "\n";
        if std::env::var_os("SMCP_BLESS").is_some() && json != HOST_WORLD_JSON {
            // The build embedded the old file: the next one embeds this.
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/host_world.json");
            std::fs::write(path, &json).unwrap();
            eprintln!("wrote {path}: run the tests again to check it");
            return;
        }
        assert!(
            json == HOST_WORLD_JSON,
            "src/host_world.json is not the world wit/ describes: `SMCP_BLESS=1 cargo test -p smcp-core world` writes it"
        );
        assert_eq!(HostWorld::load().unwrap(), world, "the embedded world reads back as written");
    }

    #[test]
    fn host_world_parses_with_every_interface() {
        let world = HostWorld::load().unwrap();
        for short in ["kv", "objects", "http", "secrets", "log", "clock", "random", "notify"] {
            assert!(world.imports.iter().any(|f| f.short == short), "missing import {short}");
        }
        let names: Vec<_> = world.exports.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "list-tools",
                "call-tool",
                "task-tools",
                "list-resources",
                "list-resources-page",
                "list-resource-templates",
                "read-resource",
                "list-prompts",
                "get-prompt",
                "complete"
            ]
        );
    }

    #[test]
    fn kv_get_returns_through_memory() {
        let world = HostWorld::load().unwrap();
        let (_, get) = world.import("smcp:mcp/kv@0.1.2", "get").unwrap();
        let (params, results) = get.sig.import_core_type();
        assert_eq!(params, vec![FlatType::I32; 3]);
        assert!(results.is_empty());
        let (_, now) = world.import("smcp:mcp/clock@0.1.0", "now-ms").expect("a 0.1.0 import names the same function");
        assert_eq!(now.sig.import_core_type(), (vec![], vec![FlatType::I64]));
    }

    #[test]
    fn any_0_1_release_of_the_package_maps_onto_the_hosts() {
        let world = HostWorld::load().unwrap();
        assert_eq!(world.canonical("smcp:mcp/kv@0.1.0"), Some("smcp:mcp/kv@0.1.2"));
        assert_eq!(world.canonical("smcp:mcp/kv@0.1.7"), Some("smcp:mcp/kv@0.1.2"));
        assert_eq!(world.canonical("smcp:mcp/kv@0.2.0"), None, "another track is another contract");
        assert_eq!(world.canonical("smcp:mcp/kv@0.1."), None);
        assert_eq!(world.canonical("smcp:mcp/kv@0.1.x"), None);
        assert_eq!(world.canonical("evil:mcp/kv@0.1.0"), None);
        assert!(is_server_interface("smcp:mcp/server@0.1.0") && is_types_interface("smcp:mcp/types@0.1.0"));
        assert_eq!(canonical_export_name("smcp:mcp/server@0.1.0#list-tools"), format!("{SERVER_INTERFACE}#list-tools"));
        assert_eq!(canonical_export_name("cabi_realloc"), "cabi_realloc");
        assert_eq!(canonical_export_name("other:pkg/server@0.1.0#f"), "other:pkg/server@0.1.0#f");
        let page = world.export("list-resources-page").unwrap();
        assert!(page.optional && !world.export("list-resources").unwrap().optional);
    }
}
