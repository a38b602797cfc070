//! Loading a component: validate it, recover its WIT world, check its imports
//! against the host's world, and read the recipe of core instances the
//! runtime builds for each call ([`recipe`]).

pub mod plain;
pub mod recipe;
pub mod structure;

pub use recipe::Recipe;

use crate::world::{HostWorld, SERVER_INTERFACE, is_server_interface, is_types_interface};
use wasmparser::{Parser, Validator, WasmFeatures};
use wit_parser::decoding::{DecodedWasm, decode};
use wit_parser::{WorldItem, WorldKey};

/// A component's blake3 digest: the key of its prepared artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }
}

impl core::fmt::Display for Digest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Why a component was refused at load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("component is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("not a WebAssembly component (a core module or other bytes)")]
    NotAComponent,
    #[error("invalid component: {0}")]
    Invalid(String),
    #[error(
        "component imports `{0}`, which the host does not offer: it offers smcp:mcp/mcp-server's interfaces and a WASI 0.2 subset (docs/writing-guests.md)"
    )]
    ForbiddenImport(String),
    #[error("component imports function `{function}` that interface `{interface}` does not have")]
    UnknownFunction { interface: String, function: String },
    #[error("component does not export `{0}`")]
    MissingExport(String),
    #[error(
        "core import `{module}#{name}` is not declared by the component's type: the host runs what the component declares, and review shows that"
    )]
    UndeclaredImport { module: String, name: String },
    #[error("core import `{module}#{name}` has the wrong signature")]
    ImportSignature { module: String, name: String },
    #[error("core export `{0}` is missing or has the wrong signature")]
    ExportSignature(String),
    #[error("unsupported component structure: {0}")]
    Unsupported(String),
    #[error("core module does not compile: {0}")]
    Compile(String),
}

/// What the host keeps of a component: everything needed to run it, keyed by
/// the digest of the uploaded bytes.
#[derive(Debug, Clone)]
pub struct PreparedComponent {
    pub digest: Digest,
    /// Size of the uploaded component in bytes.
    pub size: usize,
    /// The core modules the recipe instantiates, by its module index.
    pub modules: Vec<Vec<u8>>,
    /// How the modules are instantiated and linked, each call.
    pub recipe: Recipe,
    /// Capability interfaces the component imports, fully qualified, sorted
    /// (the types-only interface, which grants nothing, is left out).
    pub imports: Vec<String>,
    /// Interfaces the component exports, fully qualified, sorted.
    pub exports: Vec<String>,
    /// Its world as declared, functions included (what auditors read).
    pub declared: Declared,
    /// For a plain component (one that does not export
    /// `smcp:mcp/server`), its exported functions, served as tools.
    pub plain: Option<Vec<plain::PlainFunc>>,
}

impl PreparedComponent {
    /// Bytes of core code and data the component's modules hold.
    pub fn core_bytes(&self) -> usize {
        self.modules.iter().map(Vec::len).sum()
    }

    /// True when the component imports `interface` (e.g. `smcp:mcp/kv@0.1.0`).
    pub fn imports_interface(&self, interface: &str) -> bool {
        self.imports.iter().any(|i| i == interface)
    }
}

/// Validates `bytes` and prepares it; the core modules are compiled later by
/// the runtime, which links the recipe and checks its core signatures.
/// Stops at the first problem: see [`examine`] for all of them.
pub fn prepare(bytes: &[u8], world: &HostWorld, max_size: usize) -> Result<PreparedComponent, LoadError> {
    checked(bytes, world, max_size, Problems::First).map_err(|mut problems| problems.swap_remove(0))
}

/// The checks [`prepare`] makes, each made even after another failed
/// where it can be (a check that needs what a failed one would have
/// given is skipped): every reason the host refuses `bytes`, for review.
/// Empty, with the prepared component, when there is none.
pub fn examine(bytes: &[u8], world: &HostWorld, max_size: usize) -> Result<PreparedComponent, Vec<LoadError>> {
    checked(bytes, world, max_size, Problems::All)
}

/// Whether checking goes on past the first problem.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Problems {
    First,
    All,
}

fn checked(
    bytes: &[u8],
    world: &HostWorld,
    max_size: usize,
    mode: Problems,
) -> Result<PreparedComponent, Vec<LoadError>> {
    let mut problems = Vec::new();
    // Deploy refuses an oversized upload before parsing a byte of it.
    if bytes.len() > max_size {
        problems.push(LoadError::TooLarge { size: bytes.len(), limit: max_size });
        if mode == Problems::First {
            return Err(problems);
        }
    }
    if !Parser::is_component(bytes) {
        problems.push(LoadError::NotAComponent);
        return Err(problems);
    }
    if let Err(e) = validate_structure(bytes) {
        problems.push(e);
        return Err(problems);
    }
    let world = check_world(bytes, world, &mut problems, mode);
    if mode == Problems::First && !problems.is_empty() {
        return Err(problems);
    }
    let parsed = recipe::parse(bytes).map_err(|e| problems.push(e)).ok();
    for module in parsed.iter().flat_map(|p| &p.modules) {
        if mode == Problems::First && !problems.is_empty() {
            break;
        }
        if let Err(e) = structure::check(&bytes[module.clone()], &structure::MODULE_BOUNDS) {
            problems.push(e);
        }
    }
    match (world, parsed) {
        (Some(World { imports, exports, declared, plain }), Some(parsed)) if problems.is_empty() => {
            Ok(PreparedComponent {
                digest: Digest::of(bytes),
                size: bytes.len(),
                modules: parsed.modules.into_iter().map(|range| bytes[range].to_vec()).collect(),
                recipe: parsed.recipe,
                imports,
                exports,
                declared,
                plain,
            })
        }
        _ => Err(problems),
    }
}

/// A component's WIT world as it declares it, checked against nothing:
/// what an auditor reads even when the host would refuse to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    pub digest: Digest,
    pub size: usize,
    pub declared: Declared,
}

/// A component's WIT world as it declares it: every imported interface
/// (types-only ones included) and every export, each with its functions,
/// sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    pub imports: Vec<(String, Vec<String>)>,
    pub exports: Vec<(String, Vec<String>)>,
}

/// Reads the WIT world of `bytes` without judging it. Fails only when the
/// bytes are not a decodable component.
pub fn survey(bytes: &[u8]) -> Result<Survey, LoadError> {
    if !Parser::is_component(bytes) {
        return Err(LoadError::NotAComponent);
    }
    validate_structure(bytes)?;
    let (resolve, world_id) = decode_world(bytes)?;
    Ok(Survey { digest: Digest::of(bytes), size: bytes.len(), declared: declared(&resolve, world_id) })
}

fn decode_world(bytes: &[u8]) -> Result<(wit_parser::Resolve, wit_parser::WorldId), LoadError> {
    match decode(bytes).map_err(|e| LoadError::Invalid(format!("{e:#}")))? {
        DecodedWasm::Component(resolve, world) => Ok((resolve, world)),
        DecodedWasm::WitPackage(..) => Err(LoadError::NotAComponent),
    }
}

fn declared(resolve: &wit_parser::Resolve, world_id: wit_parser::WorldId) -> Declared {
    let world = &resolve.worlds[world_id];
    Declared {
        imports: world_items(resolve, world.imports.iter()),
        exports: world_items(resolve, world.exports.iter()),
    }
}

/// Interfaces and functions of a world, with their function names, sorted.
fn world_items<'a>(
    resolve: &wit_parser::Resolve,
    items: impl Iterator<Item = (&'a WorldKey, &'a WorldItem)>,
) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = items
        .filter_map(|(key, item)| match item {
            WorldItem::Interface { id, .. } => {
                Some((resolve.name_world_key(key), resolve.interfaces[*id].functions.keys().cloned().collect()))
            }
            WorldItem::Function(f) => Some((resolve.name_world_key(key), vec![f.name.clone()])),
            WorldItem::Type { .. } => None,
        })
        .collect();
    out.sort();
    out
}

/// Validates everything but function bodies, which wasmi validates when it
/// compiles each module (under the runtime's stricter feature set).
fn validate_structure(bytes: &[u8]) -> Result<(), LoadError> {
    let invalid = |e: wasmparser::BinaryReaderError| LoadError::Invalid(e.to_string());
    let mut validator = Validator::new_with_features(WasmFeatures::default());
    for payload in Parser::new(0).parse_all(bytes) {
        validator.payload(&payload.map_err(invalid)?).map_err(invalid)?;
    }
    Ok(())
}

/// What [`check_world`] reads of a component's world.
struct World {
    imports: Vec<String>,
    exports: Vec<String>,
    declared: Declared,
    plain: Option<Vec<plain::PlainFunc>>,
}

/// Recovers the component's WIT world and checks it against the host's,
/// adding each problem to `problems` (only the first unless `mode` is
/// [`Problems::All`]). `None` when the world cannot be read at all. A
/// component that does not export `smcp:mcp/server` is a plain one: its
/// exported functions must all be servable as tools.
fn check_world(bytes: &[u8], host: &HostWorld, problems: &mut Vec<LoadError>, mode: Problems) -> Option<World> {
    let (resolve, world_id) = decode_world(bytes).map_err(|e| problems.push(e)).ok()?;
    let world = &resolve.worlds[world_id];
    let name_of = |key: &WorldKey| resolve.name_world_key(key);
    let before = problems.len();
    let mut imports = Vec::new();
    for (key, item) in &world.imports {
        if mode == Problems::First && problems.len() > before {
            return None;
        }
        let name = name_of(key);
        match item {
            WorldItem::Interface { id, .. } if !is_types_interface(&name) && host.may_import(&name) => {
                for (function, func) in &resolve.interfaces[*id].functions {
                    let Some((_, ours)) = host.import(&name, function) else {
                        problems
                            .push(LoadError::UnknownFunction { interface: name.clone(), function: function.clone() });
                        continue;
                    };
                    // Same name, same type: a WASI 0.2.x interface only
                    // adds functions, so any version's agree with ours.
                    let same = host
                        .component_signature(&resolve, func)
                        .is_ok_and(|theirs| theirs.params == ours.sig.params && theirs.result == ours.sig.result);
                    if !same {
                        problems.push(LoadError::ImportSignature { module: name.clone(), name: function.clone() });
                    }
                }
                imports.push(name);
            }
            // Types used by an interface are imported alongside it and grant nothing.
            WorldItem::Type { .. } => {}
            WorldItem::Interface { .. } if is_types_interface(&name) => {}
            _ => problems.push(LoadError::ForbiddenImport(name)),
        }
    }
    let mut exports: Vec<String> = world.exports.keys().map(name_of).collect();
    let mut plain = None;
    if !exports.iter().any(|e| is_server_interface(e)) {
        match plain::exports(&resolve, world, host) {
            Ok(funcs) if !funcs.is_empty() => plain = Some(funcs),
            Ok(_) => problems.push(LoadError::MissingExport(SERVER_INTERFACE.into())),
            Err(e) => problems.push(e),
        }
    }
    imports.sort();
    exports.sort();
    (problems.len() == before).then(|| World { imports, exports, declared: declared(&resolve, world_id), plain })
}

#[cfg(test)]
mod tests {
    use super::{LoadError, prepare, survey};
    use crate::world::HostWorld;

    fn world() -> HostWorld {
        HostWorld::load().expect("the host's WIT parses")
    }

    #[test]
    fn what_is_not_a_component_is_refused_before_any_parsing() {
        let world = world();
        let module = wat::parse_str("(module (func (export \"f\")))").unwrap();
        assert_eq!(prepare(&module, &world, 1 << 20).err(), Some(LoadError::NotAComponent));
        assert_eq!(prepare(b"not wasm at all", &world, 1 << 20).err(), Some(LoadError::NotAComponent));
        assert_eq!(prepare(&module, &world, 4).err(), Some(LoadError::TooLarge { size: module.len(), limit: 4 }));
    }

    #[test]
    fn a_component_without_the_servers_exports_is_refused() {
        let empty = wat::parse_str("(component)").unwrap();
        let refused = prepare(&empty, &world(), 1 << 20).expect_err("an empty component serves nothing");
        assert!(matches!(refused, LoadError::MissingExport(_) | LoadError::Unsupported(_)), "{refused:?}");
        assert!(
            survey(&empty).is_ok_and(|s| s.declared.imports.is_empty() && s.declared.exports.is_empty()),
            "an empty component declares nothing"
        );
    }

    #[test]
    fn a_component_importing_outside_the_world_is_refused() {
        // Sockets are outside the WASI subset; WASI 0.3 is not 0.2.
        for foreign in ["wasi:sockets/tcp@0.2.0", "wasi:io/poll@0.3.0", "wasi:io/poll@0.2.1-rc", "evil:fs/files@0.2.1"]
        {
            let wat = format!("(component (import \"{foreign}\" (instance)))");
            let Ok(bytes) = wat::parse_str(&wat) else { continue };
            let refused = prepare(&bytes, &world(), 1 << 20).expect_err("a foreign import");
            assert_eq!(refused, LoadError::ForbiddenImport(foreign.into()), "{foreign}");
        }
        // Any WASI 0.2.x of an interface in the subset passes the world check
        // (this one then lacks the server's exports).
        let wasi = wat::parse_str("(component (import \"wasi:io/poll@0.2.3\" (instance)))").unwrap();
        assert!(matches!(prepare(&wasi, &world(), 1 << 20), Err(LoadError::MissingExport(_))));
    }
}
