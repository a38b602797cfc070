//! Plain components: ones that export ordinary WIT functions instead of
//! `smcp:mcp/server`. Each exported function becomes a tool; its
//! parameters and result keep their WIT shapes here (names included, which
//! the ABI types drop), from which the tool's JSON Schema and the
//! conversion of its arguments and result are made (`guest::plain`).

use super::LoadError;
use crate::world::{HostWorld, WorldFunc};
use wit_parser::{Function, Resolve, Type, TypeDefKind, WorldItem, WorldKey};

/// Tools one plain component may export.
pub const MAX_FUNCTIONS: usize = 128;
/// How deep a parameter or result type may nest.
const MAX_DEPTH: usize = 16;

/// A WIT value type with its names: what JSON a tool takes or gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Bool,
    U8,
    S8,
    U16,
    S16,
    U32,
    S32,
    U64,
    S64,
    F32,
    F64,
    Char,
    String,
    List(Box<Shape>),
    Option(Box<Shape>),
    Result { ok: Option<Box<Shape>>, err: Option<Box<Shape>> },
    Record(Vec<(String, Shape)>),
    Tuple(Vec<Shape>),
    Variant(Vec<(String, Option<Shape>)>),
    Enum(Vec<String>),
    Flags(Vec<String>),
}

/// One exported function, served as a tool.
#[derive(Debug, Clone)]
pub struct PlainFunc {
    /// The tool's name: the function's, or `interface.function` when two
    /// interfaces export the same name.
    pub tool: String,
    /// The function's doc comment, when the component carries its WIT
    /// docs (most toolchains drop them).
    pub docs: Option<String>,
    /// Its WIT signature, e.g. `convert(text: string, to: case) -> string`.
    pub signature: String,
    pub params: Vec<(String, Shape)>,
    pub result: Option<Shape>,
    /// How the runtime calls it.
    pub export: WorldFunc,
}

/// Every function `world` exports (in interfaces or directly), as tools.
/// Refuses a function whose types have no JSON form (resources, futures,
/// streams) or nest too deep, and more than [`MAX_FUNCTIONS`].
pub fn exports(resolve: &Resolve, world: &wit_parser::World, host: &HostWorld) -> Result<Vec<PlainFunc>, LoadError> {
    let mut funcs = Vec::new();
    for (key, item) in &world.exports {
        let (interface, functions): (Option<String>, Vec<&Function>) = match item {
            WorldItem::Interface { id, .. } => {
                (Some(resolve.name_world_key(key)), resolve.interfaces[*id].functions.values().collect())
            }
            WorldItem::Function(f) => (None, vec![f]),
            WorldItem::Type { .. } => continue,
        };
        for func in functions {
            funcs.push(plain_func(resolve, host, interface.as_deref(), key, func)?);
        }
    }
    if funcs.len() > MAX_FUNCTIONS {
        return Err(LoadError::Unsupported(format!("more than {MAX_FUNCTIONS} exported functions")));
    }
    // Names clash across interfaces: qualify those.
    let names: Vec<String> = funcs.iter().map(|f| f.tool.clone()).collect();
    for func in &mut funcs {
        if names.iter().filter(|n| **n == func.tool).count() > 1 {
            let short = func.export.short.clone();
            func.tool = format!("{short}.{}", func.tool);
        }
    }
    Ok(funcs)
}

fn plain_func(
    resolve: &Resolve,
    host: &HostWorld,
    interface: Option<&str>,
    key: &WorldKey,
    func: &Function,
) -> Result<PlainFunc, LoadError> {
    let unsupported = |why: String| LoadError::Unsupported(format!("exported function `{}`: {why}", func.name));
    let params = func
        .params
        .iter()
        .map(|(name, ty)| Ok((name.clone(), shape(resolve, ty, 0).map_err(&unsupported)?)))
        .collect::<Result<Vec<_>, LoadError>>()?;
    let result = func.result.as_ref().map(|t| shape(resolve, t, 0).map_err(&unsupported)).transpose()?;
    let sig = host.component_signature(resolve, func).map_err(|e| unsupported(e.to_string()))?;
    let short = match key {
        WorldKey::Name(name) => name.clone(),
        WorldKey::Interface(id) => resolve.interfaces[*id].name.clone().unwrap_or_default(),
    };
    let export_name = match interface {
        Some(interface) => format!("{interface}#{}", func.name),
        None => func.name.clone(),
    };
    let params_text: Vec<String> =
        func.params.iter().map(|(name, ty)| format!("{name}: {}", type_name(resolve, ty))).collect();
    let result_text = func.result.as_ref().map(|t| format!(" -> {}", type_name(resolve, t))).unwrap_or_default();
    Ok(PlainFunc {
        tool: func.name.clone(),
        signature: format!("{}({}){result_text}", func.name, params_text.join(", ")),
        docs: func.docs.contents.as_ref().map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()),
        params,
        result,
        export: WorldFunc {
            export_name,
            interface: interface.unwrap_or_default().to_owned(),
            short,
            name: func.name.clone(),
            sig,
            optional: false,
        },
    })
}

fn shape(resolve: &Resolve, ty: &Type, depth: usize) -> Result<Shape, String> {
    if depth > MAX_DEPTH {
        return Err(format!("types nest deeper than {MAX_DEPTH}"));
    }
    let inner = |ty: &Type| shape(resolve, ty, depth + 1);
    Ok(match ty {
        Type::Bool => Shape::Bool,
        Type::U8 => Shape::U8,
        Type::S8 => Shape::S8,
        Type::U16 => Shape::U16,
        Type::S16 => Shape::S16,
        Type::U32 => Shape::U32,
        Type::S32 => Shape::S32,
        Type::U64 => Shape::U64,
        Type::S64 => Shape::S64,
        Type::F32 => Shape::F32,
        Type::F64 => Shape::F64,
        Type::Char => Shape::Char,
        Type::String => Shape::String,
        Type::ErrorContext => return Err("error-context has no JSON form".into()),
        Type::Id(id) => match &resolve.types[*id].kind {
            TypeDefKind::Type(t) => inner(t)?,
            TypeDefKind::List(t) => Shape::List(Box::new(inner(t)?)),
            TypeDefKind::Option(t) => Shape::Option(Box::new(inner(t)?)),
            TypeDefKind::Result(r) => Shape::Result {
                ok: r.ok.as_ref().map(|t| inner(t).map(Box::new)).transpose()?,
                err: r.err.as_ref().map(|t| inner(t).map(Box::new)).transpose()?,
            },
            TypeDefKind::Record(r) => Shape::Record(
                r.fields.iter().map(|f| Ok((f.name.clone(), inner(&f.ty)?))).collect::<Result<_, String>>()?,
            ),
            TypeDefKind::Tuple(t) => Shape::Tuple(t.types.iter().map(inner).collect::<Result<_, _>>()?),
            TypeDefKind::Variant(v) => Shape::Variant(
                v.cases
                    .iter()
                    .map(|c| Ok((c.name.clone(), c.ty.as_ref().map(inner).transpose()?)))
                    .collect::<Result<_, String>>()?,
            ),
            TypeDefKind::Enum(e) => Shape::Enum(e.cases.iter().map(|c| c.name.clone()).collect()),
            TypeDefKind::Flags(f) => Shape::Flags(f.flags.iter().map(|f| f.name.clone()).collect()),
            TypeDefKind::Handle(_) | TypeDefKind::Resource => {
                return Err("a resource handle has no JSON form: a tool takes and returns plain data".into());
            }
            other => return Err(format!("a {} has no JSON form", other.as_str())),
        },
    })
}

/// A type as WIT writes it: its name, or its structure when anonymous.
fn type_name(resolve: &Resolve, ty: &Type) -> String {
    let name = |t: &Type| type_name(resolve, t);
    match ty {
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::S8 => "s8".into(),
        Type::U16 => "u16".into(),
        Type::S16 => "s16".into(),
        Type::U32 => "u32".into(),
        Type::S32 => "s32".into(),
        Type::U64 => "u64".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
        Type::Id(id) => {
            let def = &resolve.types[*id];
            if let Some(n) = &def.name {
                return n.clone();
            }
            match &def.kind {
                TypeDefKind::Type(t) => name(t),
                TypeDefKind::List(t) => format!("list<{}>", name(t)),
                TypeDefKind::Option(t) => format!("option<{}>", name(t)),
                TypeDefKind::Result(r) => match (&r.ok, &r.err) {
                    (Some(ok), Some(err)) => format!("result<{}, {}>", name(ok), name(err)),
                    (Some(ok), None) => format!("result<{}>", name(ok)),
                    (None, Some(err)) => format!("result<_, {}>", name(err)),
                    (None, None) => "result".into(),
                },
                TypeDefKind::Tuple(t) => format!("tuple<{}>", t.types.iter().map(name).collect::<Vec<_>>().join(", ")),
                other => other.as_str().into(),
            }
        }
    }
}
