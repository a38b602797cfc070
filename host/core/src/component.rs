//! Loading a component: validate it, recover its WIT world, check its imports
//! against the host's world, and extract the one core module the host runs
//! with its canonical options.
//!
//! A component made by wit-component holds the guest's main module plus small
//! shim and fixup modules that only route imports through a table. The host
//! instantiates the main module alone and supplies its imports itself, so the
//! shims never run.

use crate::world::{HostWorld, SERVER_INTERFACE, TYPES_INTERFACE};
use std::collections::BTreeMap;
use std::ops::Range;
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind, ComponentOuterAliasKind,
    ComponentTypeRef, ExternalKind, Instance, Parser, Payload, Validator, WasmFeatures,
};
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
    #[error("component imports `{0}`, which is not in the host's world smcp:mcp/mcp-server")]
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

/// Canonical options the component lifts its exports with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CanonicalOptions {
    /// Core export name of the memory the exports use.
    pub memory: Option<String>,
    /// Core export name of `cabi_realloc`.
    pub realloc: Option<String>,
    /// Core export name of each lifted function → its post-return export.
    pub post_return: BTreeMap<String, String>,
}

/// What the host keeps of a component: everything needed to run it, keyed by
/// the digest of the uploaded bytes.
#[derive(Debug, Clone)]
pub struct PreparedComponent {
    pub digest: Digest,
    /// Size of the uploaded component in bytes.
    pub size: usize,
    /// The main core module, the only code that runs.
    pub core_module: Vec<u8>,
    /// Capability interfaces the component imports, fully qualified, sorted
    /// (the types-only interface, which grants nothing, is left out).
    pub imports: Vec<String>,
    /// Interfaces the component exports, fully qualified, sorted.
    pub exports: Vec<String>,
    pub options: CanonicalOptions,
    /// Its world as declared, functions included (what auditors read).
    pub declared: Declared,
}

impl PreparedComponent {
    /// True when the component imports `interface` (e.g. `smcp:mcp/kv@0.1.0`).
    pub fn imports_interface(&self, interface: &str) -> bool {
        self.imports.iter().any(|i| i == interface)
    }
}

/// Validates `bytes` and prepares it; the core module is compiled later by
/// the runtime, which checks its core signatures.
pub fn prepare(bytes: &[u8], world: &HostWorld, max_size: usize) -> Result<PreparedComponent, LoadError> {
    if bytes.len() > max_size {
        return Err(LoadError::TooLarge { size: bytes.len(), limit: max_size });
    }
    if !Parser::is_component(bytes) {
        return Err(LoadError::NotAComponent);
    }
    validate_structure(bytes)?;
    let (imports, exports, declared) = check_world(bytes, world)?;
    let graph = CoreGraph::parse(bytes)?;
    let (main_module, options) = graph.main_module()?;
    Ok(PreparedComponent {
        digest: Digest::of(bytes),
        size: bytes.len(),
        core_module: bytes[main_module].to_vec(),
        imports,
        exports,
        declared,
        options,
    })
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

/// Validates everything but function bodies. The main module's bodies are
/// validated by wasmi when it compiles them (under the runtime's stricter
/// feature set); the shim modules' bodies never run.
fn validate_structure(bytes: &[u8]) -> Result<(), LoadError> {
    let invalid = |e: wasmparser::BinaryReaderError| LoadError::Invalid(e.to_string());
    let mut validator = Validator::new_with_features(WasmFeatures::default());
    for payload in Parser::new(0).parse_all(bytes) {
        validator.payload(&payload.map_err(invalid)?).map_err(invalid)?;
    }
    Ok(())
}

/// Recovers the component's WIT world and checks it against the host's.
fn check_world(bytes: &[u8], host: &HostWorld) -> Result<(Vec<String>, Vec<String>, Declared), LoadError> {
    let (resolve, world_id) = decode_world(bytes)?;
    let world = &resolve.worlds[world_id];
    let name_of = |key: &WorldKey| resolve.name_world_key(key);
    let mut imports = Vec::new();
    for (key, item) in &world.imports {
        let name = name_of(key);
        match item {
            WorldItem::Interface { id, .. } if name != TYPES_INTERFACE && host.may_import(&name) => {
                for function in resolve.interfaces[*id].functions.keys() {
                    if host.import(&name, function).is_none() {
                        return Err(LoadError::UnknownFunction { interface: name, function: function.clone() });
                    }
                }
                imports.push(name);
            }
            // Types used by an interface are imported alongside it and grant nothing.
            WorldItem::Type { .. } => {}
            WorldItem::Interface { .. } if name == TYPES_INTERFACE => {}
            _ => return Err(LoadError::ForbiddenImport(name)),
        }
    }
    let mut exports: Vec<String> = world.exports.keys().map(name_of).collect();
    if !exports.iter().any(|e| e == SERVER_INTERFACE) {
        return Err(LoadError::MissingExport(SERVER_INTERFACE.into()));
    }
    imports.sort();
    exports.sort();
    Ok((imports, exports, declared(&resolve, world_id)))
}

/// The core index spaces of a component, enough to trace each lifted
/// function and option back to the module instance that defines it.
#[derive(Default)]
struct CoreGraph {
    /// Core modules by index: those the component defines, and `None` for
    /// those it imports or aliases (code the host cannot account for).
    modules: Vec<Option<Range<usize>>>,
    /// Core instance → module it instantiates (None: built from exports).
    instances: Vec<Option<u32>>,
    /// Core function → (instance, export name) when aliased from an instance.
    funcs: Vec<Option<(u32, String)>>,
    memories: Vec<(u32, String)>,
    lifts: Vec<(u32, Vec<CanonicalOption>)>,
}

impl CoreGraph {
    fn parse(bytes: &[u8]) -> Result<CoreGraph, LoadError> {
        let invalid = |e: wasmparser::BinaryReaderError| LoadError::Invalid(e.to_string());
        let mut graph = CoreGraph::default();
        // Nested sections, innermost last: core modules are outlined and
        // skipped; nested components may only re-export (wit-component wraps
        // each exported interface in one) and must hold no code.
        let mut nesting: Vec<bool> = Vec::new(); // true: a nested component
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(invalid)?;
            if let Some(&in_component) = nesting.last() {
                match payload {
                    Payload::End(_) => {
                        nesting.pop();
                    }
                    Payload::ModuleSection { .. } if in_component => {
                        return Err(LoadError::Unsupported("a nested component with core code".into()));
                    }
                    Payload::ComponentSection { .. } => nesting.push(true),
                    _ => {}
                }
                continue;
            }
            match payload {
                Payload::ModuleSection { unchecked_range, .. } => {
                    graph.modules.push(Some(unchecked_range.start as usize..unchecked_range.end as usize));
                    nesting.push(false);
                }
                // Imports, outer aliases and instance exports of core
                // modules take indices too: counted, so that an index
                // names the module it does.
                Payload::ComponentImportSection(reader) => {
                    for import in reader {
                        if matches!(import.map_err(invalid)?.ty, ComponentTypeRef::Module(_)) {
                            graph.modules.push(None);
                        }
                    }
                }
                Payload::ComponentExportSection(reader) => {
                    for export in reader {
                        if export.map_err(invalid)?.kind == ComponentExternalKind::Module {
                            graph.modules.push(None);
                        }
                    }
                }
                Payload::ComponentSection { .. } => nesting.push(true),
                Payload::InstanceSection(reader) => {
                    for instance in reader {
                        graph.instances.push(match instance.map_err(invalid)? {
                            Instance::Instantiate { module_index, .. } => Some(module_index),
                            Instance::FromExports(_) => None,
                        });
                    }
                }
                Payload::ComponentAliasSection(reader) => {
                    for alias in reader {
                        match alias.map_err(invalid)? {
                            ComponentAlias::CoreInstanceExport { kind, instance_index, name } => match kind {
                                ExternalKind::Func | ExternalKind::FuncExact => {
                                    graph.funcs.push(Some((instance_index, name.to_owned())))
                                }
                                ExternalKind::Memory => graph.memories.push((instance_index, name.to_owned())),
                                _ => {}
                            },
                            ComponentAlias::Outer { kind: ComponentOuterAliasKind::CoreModule, .. }
                            | ComponentAlias::InstanceExport { kind: ComponentExternalKind::Module, .. } => {
                                graph.modules.push(None)
                            }
                            _ => {}
                        }
                    }
                }
                Payload::ComponentCanonicalSection(reader) => {
                    for func in reader {
                        match func.map_err(invalid)? {
                            CanonicalFunction::Lift { core_func_index, options, .. } => {
                                graph.lifts.push((core_func_index, options.into_vec()))
                            }
                            // Every other canonical function defines a core function.
                            _ => graph.funcs.push(None),
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(graph)
    }

    /// The module every lifted export comes from, and the options it uses.
    fn main_module(&self) -> Result<(Range<usize>, CanonicalOptions), LoadError> {
        let unsupported = |what: &str| LoadError::Unsupported(what.to_owned());
        let mut main_instance = None;
        let mut options = CanonicalOptions::default();
        let mut same_instance = |instance: u32| match main_instance {
            None => {
                main_instance = Some(instance);
                Ok(())
            }
            Some(i) if i == instance => Ok(()),
            Some(_) => Err(unsupported("exports lifted from more than one core instance")),
        };
        let func = |index: u32| {
            self.funcs
                .get(index as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| unsupported("a lifted function that is not a core export"))
        };
        for (core_func, opts) in &self.lifts {
            let (instance, export) = func(*core_func)?;
            same_instance(instance)?;
            for opt in opts {
                match opt {
                    CanonicalOption::UTF8 => {}
                    CanonicalOption::Memory(m) => {
                        let (instance, name) =
                            self.memories.get(*m as usize).cloned().ok_or_else(|| unsupported("memory index"))?;
                        same_instance(instance)?;
                        options.memory = Some(name);
                    }
                    CanonicalOption::Realloc(f) => {
                        let (instance, name) = func(*f)?;
                        same_instance(instance)?;
                        options.realloc = Some(name);
                    }
                    CanonicalOption::PostReturn(f) => {
                        let (instance, name) = func(*f)?;
                        same_instance(instance)?;
                        options.post_return.insert(export.clone(), name);
                    }
                    CanonicalOption::UTF16 | CanonicalOption::CompactUTF16 => {
                        return Err(unsupported("string encodings other than UTF-8"));
                    }
                    _ => return Err(unsupported("async, callback or GC canonical options")),
                }
            }
        }
        let instance = main_instance.ok_or_else(|| LoadError::MissingExport(SERVER_INTERFACE.into()))?;
        let module = self
            .instances
            .get(instance as usize)
            .copied()
            .flatten()
            .and_then(|m| self.modules.get(m as usize))
            .ok_or_else(|| unsupported("exports do not come from an instantiated core module"))?
            .clone()
            .ok_or_else(|| {
                unsupported("exports come from a core module the component imports or aliases, not one it defines")
            })?;
        Ok((module, options))
    }
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
        let foreign = wat::parse_str("(component (import \"wasi:filesystem/types@0.2.0\" (instance)))").unwrap();
        let refused = prepare(&foreign, &world(), 1 << 20).expect_err("a foreign import");
        assert!(
            matches!(&refused, LoadError::ForbiddenImport(name) if name.starts_with("wasi:filesystem")),
            "{refused:?}"
        );
    }
}
