//! The host's WIT world (`wit/` at the top of the repository), parsed once
//! into the canonical-ABI signatures of every import and export.

use crate::abi::{AbiType, FlatType};
use wit_parser::{Resolve, Type, TypeDefKind, WorldItem, WorldKey};

/// The host's WIT package, embedded so the binary carries its own contract.
pub const HOST_WIT: &str = concat!(
    include_str!("../../../wit/world.wit"),
    include_str!("../../../wit/types.wit"),
    include_str!("../../../wit/server.wit"),
    include_str!("../../../wit/capabilities.wit"),
);

pub const PACKAGE: &str = "smcp:mcp@0.1.0";
pub const SERVER_INTERFACE: &str = "smcp:mcp/server@0.1.0";
/// An interface of types only: importing it grants nothing.
pub const TYPES_INTERFACE: &str = "smcp:mcp/types@0.1.0";

/// Parameters and result of a WIT function, lowered to ABI types, with
/// the ABI decisions that follow from them made once (calls consult them on
/// every invocation).
#[derive(Debug, Clone)]
pub struct FuncSig {
    pub params: Vec<AbiType>,
    pub result: Option<AbiType>,
    indirect_params: bool,
    result_in_memory: bool,
    export_results: Vec<FlatType>,
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
        FuncSig { params, result, indirect_params: flat_params > MAX_FLAT_PARAMS, result_in_memory, export_results }
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
        AbiType::Record(self.params.clone())
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
#[derive(Debug, Clone)]
pub struct WorldFunc {
    /// Fully qualified interface, e.g. `smcp:mcp/kv@0.1.0`.
    pub interface: String,
    /// Short interface name, e.g. `kv`.
    pub short: String,
    pub name: String,
    pub sig: FuncSig,
    /// The core export name wit-component gives it when exported:
    /// `interface#name`.
    pub export_name: String,
}

/// Every import and export function of world `mcp-server`.
#[derive(Debug)]
pub struct HostWorld {
    pub imports: Vec<WorldFunc>,
    pub exports: Vec<WorldFunc>,
    /// Fully qualified names of the importable interfaces.
    pub import_interfaces: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("host WIT does not parse: {0}")]
    Parse(String),
    #[error("host WIT uses a type the host cannot lift: {0}")]
    UnsupportedType(&'static str),
}

impl HostWorld {
    pub fn load() -> Result<HostWorld, WorldError> {
        let mut resolve = Resolve::default();
        let pkg = resolve.push_source("smcp.wit", HOST_WIT).map_err(|e| WorldError::Parse(e.to_string()))?;
        let world_id =
            resolve.select_world(&[pkg], Some("mcp-server")).map_err(|e| WorldError::Parse(e.to_string()))?;
        let world = &resolve.worlds[world_id];
        let mut host = HostWorld { imports: vec![], exports: vec![], import_interfaces: vec![] };
        for (items, out, is_import) in
            [(&world.imports, &mut host.imports, true), (&world.exports, &mut host.exports, false)]
        {
            for (key, item) in items {
                let (WorldKey::Interface(id), WorldItem::Interface { .. }) = (key, item) else {
                    continue;
                };
                let interface = resolve.id_of(*id).ok_or(WorldError::UnsupportedType("anonymous interface"))?;
                let short = resolve.interfaces[*id].name.clone().unwrap_or_default();
                if is_import {
                    host.import_interfaces.push(interface.clone());
                }
                for func in resolve.interfaces[*id].functions.values() {
                    let params = func.params.iter().map(|p| abi_type(&resolve, &p.ty)).collect::<Result<_, _>>()?;
                    let result = func.result.as_ref().map(|t| abi_type(&resolve, t)).transpose()?;
                    out.push(WorldFunc {
                        export_name: format!("{interface}#{}", func.name),
                        interface: interface.clone(),
                        short: short.clone(),
                        name: func.name.clone(),
                        sig: FuncSig::new(params, result),
                    });
                }
            }
        }
        Ok(host)
    }

    pub fn import(&self, interface: &str, name: &str) -> Option<(usize, &WorldFunc)> {
        self.imports.iter().enumerate().find(|(_, f)| f.interface == interface && f.name == name)
    }

    pub fn export(&self, name: &str) -> Option<&WorldFunc> {
        self.exports.iter().find(|f| f.name == name)
    }

    /// True for interfaces a component may import (capabilities and types).
    pub fn may_import(&self, interface: &str) -> bool {
        interface == TYPES_INTERFACE || self.import_interfaces.iter().any(|i| i == interface)
    }
}

fn abi_type(resolve: &Resolve, ty: &Type) -> Result<AbiType, WorldError> {
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
            let each = |types: &mut dyn Iterator<Item = &Type>| -> Result<Vec<AbiType>, WorldError> {
                types.map(|t| abi_type(resolve, t)).collect()
            };
            let opt = |t: &Option<Type>| t.as_ref().map(|t| abi_type(resolve, t)).transpose();
            match &resolve.types[*id].kind {
                TypeDefKind::Type(t) => abi_type(resolve, t)?,
                TypeDefKind::Record(r) => AbiType::Record(each(&mut r.fields.iter().map(|f| &f.ty))?),
                TypeDefKind::Tuple(t) => AbiType::Record(each(&mut t.types.iter())?),
                TypeDefKind::List(t) => AbiType::List(Box::new(abi_type(resolve, t)?)),
                TypeDefKind::Option(t) => AbiType::option(abi_type(resolve, t)?),
                TypeDefKind::Result(r) => AbiType::result(opt(&r.ok)?, opt(&r.err)?),
                TypeDefKind::Variant(v) => {
                    AbiType::Variant(v.cases.iter().map(|c| opt(&c.ty)).collect::<Result<_, _>>()?)
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
                "list-resources",
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
        let (_, get) = world.import("smcp:mcp/kv@0.1.0", "get").unwrap();
        let (params, results) = get.sig.import_core_type();
        assert_eq!(params, vec![FlatType::I32; 3]);
        assert!(results.is_empty());
        let (_, now) = world.import("smcp:mcp/clock@0.1.0", "now-ms").unwrap();
        assert_eq!(now.sig.import_core_type(), (vec![], vec![FlatType::I64]));
    }
}
