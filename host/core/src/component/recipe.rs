//! How to build a component's core instances: the flat shape standard
//! toolchains emit (wit-component, `wasm-component-ld`, componentize-js),
//! read out of the component's top level into a list of steps the runtime
//! replays for every call.
//!
//! A flat component defines its core modules, instantiates each with core
//! instances as arguments (other module instances, or bags of exports made
//! of aliases and canonical functions), lowers the capability functions it
//! imports into core functions, and lifts its exports out of core exports.
//! Nested components may only re-export (wit-component wraps each exported
//! interface in one); imported or aliased modules, component-to-component
//! calls and async builtins are refused: code the host cannot account for.

use super::LoadError;
use std::collections::BTreeMap;
use std::ops::Range;
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind, ComponentOuterAliasKind,
    ComponentTypeRef, ExternalKind, Instance, Parser, Payload,
};

/// Core modules a component may define, and core instances it may make:
/// what the toolchains emit (four or five of each for a wasip2 build) with
/// room for linked libraries, and a bound on per-call instantiation work.
pub const MAX_MODULES: usize = 64;
pub const MAX_INSTANCES: usize = 128;

/// A core item as a step's import or an option sees it, with bags of
/// exports looked through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreItem {
    /// Export `name` of the module instance made by step `step`.
    Export { step: usize, name: String },
    /// A host function lowered into the component: index into
    /// [`Recipe::lowerings`].
    Lowered(usize),
    /// `resource.drop` of a host resource: index into [`Recipe::resources`].
    ResourceDrop(usize),
}

/// One core instance argument of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Argument {
    /// The module instance made by an earlier step.
    Step(usize),
    /// A bag of named items.
    Bag(BTreeMap<String, CoreItem>),
}

/// Instantiate `module` with core instances as arguments, by import module
/// name. Runs in order: a step's arguments name only earlier steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Index into [`super::PreparedComponent::modules`].
    pub module: usize,
    pub arguments: BTreeMap<String, Argument>,
}

/// A host function lowered into core code, and the memory and allocator
/// its arguments and results travel through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lowering {
    /// Fully qualified interface, e.g. `smcp:mcp/kv@0.1.0`.
    pub interface: String,
    pub function: String,
    pub memory: Option<CoreItem>,
    pub realloc: Option<CoreItem>,
}

/// A core export lifted into a component function, with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lift {
    pub func: CoreItem,
    pub memory: Option<CoreItem>,
    pub realloc: Option<CoreItem>,
    pub post_return: Option<CoreItem>,
}

/// A resource type the component imports: its interface and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    pub interface: String,
    pub name: String,
}

/// Everything the runtime needs to build a component's core instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recipe {
    pub steps: Vec<Step>,
    pub lowerings: Vec<Lowering>,
    pub resources: Vec<ResourceType>,
    /// Lifted functions by the core export they lift (wit-component names
    /// an exported function's core export `interface#function`).
    pub lifts: BTreeMap<String, Lift>,
}

/// A recipe and the byte ranges of the modules its steps instantiate.
pub(super) struct Parsed {
    pub recipe: Recipe,
    pub modules: Vec<Range<usize>>,
}

/// A core instance of the component's index space.
#[derive(Clone)]
enum CoreInstance {
    Step(usize),
    Bag(BTreeMap<String, CoreItem>),
}

/// The component's top-level index spaces, as far as the recipe needs them.
#[derive(Default)]
struct Spaces {
    /// Core modules: the byte range of those defined here, `None` for
    /// imported or aliased ones.
    modules: Vec<Option<Range<usize>>>,
    core_instances: Vec<CoreInstance>,
    core_funcs: Vec<Option<CoreItem>>,
    /// Core memories, tables and globals (one space each; all come from
    /// instance exports at the top level).
    memories: Vec<Option<CoreItem>>,
    tables: Vec<Option<CoreItem>>,
    globals: Vec<Option<CoreItem>>,
    /// Component instances: the interface name of those imported.
    instances: Vec<Option<String>>,
    /// Component functions: (instance, export name) of those aliased from
    /// an imported instance.
    funcs: Vec<Option<(u32, String)>>,
    /// Component types: (instance, export name) of those aliased from an
    /// imported instance.
    types: Vec<Option<(u32, String)>>,
}

fn unsupported(what: impl Into<String>) -> LoadError {
    LoadError::Unsupported(what.into())
}

fn invalid(e: wasmparser::BinaryReaderError) -> LoadError {
    LoadError::Invalid(e.to_string())
}

/// Reads the recipe of a validated component.
pub(super) fn parse(bytes: &[u8]) -> Result<Parsed, LoadError> {
    let mut spaces = Spaces::default();
    let mut recipe = Recipe::default();
    let mut modules: Vec<Range<usize>> = Vec::new();
    // Nested sections, innermost last: core modules are skipped; nested
    // components may only re-export and must hold no code.
    let mut nesting: Vec<bool> = Vec::new(); // true: a nested component
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(invalid)?;
        if let Some(&in_component) = nesting.last() {
            match payload {
                Payload::End(_) => {
                    nesting.pop();
                }
                Payload::ModuleSection { .. } if in_component => {
                    return Err(unsupported("a nested component with core code"));
                }
                Payload::ModuleSection { .. } => nesting.push(false),
                Payload::ComponentSection { .. } => nesting.push(true),
                _ => {}
            }
            continue;
        }
        match payload {
            Payload::ModuleSection { unchecked_range, .. } => {
                spaces.modules.push(Some(unchecked_range.start..unchecked_range.end));
                nesting.push(false);
            }
            Payload::ComponentSection { .. } => nesting.push(true),
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(invalid)?;
                    match import.ty {
                        ComponentTypeRef::Module(_) => spaces.modules.push(None),
                        ComponentTypeRef::Instance(_) => spaces.instances.push(Some(import.name.0.to_owned())),
                        ComponentTypeRef::Func(_) => spaces.funcs.push(None),
                        ComponentTypeRef::Type(_) => spaces.types.push(None),
                        ComponentTypeRef::Value(_) | ComponentTypeRef::Component(_) => {}
                    }
                }
            }
            Payload::ComponentExportSection(reader) => {
                // An export adds a fresh index to its kind's space.
                for export in reader {
                    match export.map_err(invalid)?.kind {
                        ComponentExternalKind::Module => spaces.modules.push(None),
                        ComponentExternalKind::Instance => spaces.instances.push(None),
                        ComponentExternalKind::Func => spaces.funcs.push(None),
                        ComponentExternalKind::Type => spaces.types.push(None),
                        ComponentExternalKind::Value | ComponentExternalKind::Component => {}
                    }
                }
            }
            Payload::ComponentInstanceSection(reader) => {
                for instance in reader {
                    instance.map_err(invalid)?;
                    spaces.instances.push(None);
                }
            }
            Payload::ComponentTypeSection(reader) => {
                for ty in reader {
                    ty.map_err(invalid)?;
                    spaces.types.push(None);
                }
            }
            Payload::InstanceSection(reader) => {
                for instance in reader {
                    let made = match instance.map_err(invalid)? {
                        Instance::Instantiate { module_index, args } => {
                            let range = spaces
                                .modules
                                .get(module_index as usize)
                                .cloned()
                                .ok_or_else(|| unsupported("a module index out of range"))?
                                .ok_or_else(|| {
                                    unsupported("instantiates a core module it imports or aliases, not one it defines")
                                })?;
                            let module = match modules.iter().position(|m| *m == range) {
                                Some(i) => i,
                                None => {
                                    modules.push(range);
                                    modules.len() - 1
                                }
                            };
                            let mut arguments = BTreeMap::new();
                            for arg in args.iter() {
                                let argument = match spaces.core_instance(arg.index)? {
                                    CoreInstance::Step(step) => Argument::Step(step),
                                    CoreInstance::Bag(items) => Argument::Bag(items),
                                };
                                arguments.insert(arg.name.to_owned(), argument);
                            }
                            recipe.steps.push(Step { module, arguments });
                            CoreInstance::Step(recipe.steps.len() - 1)
                        }
                        Instance::FromExports(exports) => {
                            let mut items = BTreeMap::new();
                            for export in exports.iter() {
                                let item = spaces.core_item(export.kind, export.index)?;
                                items.insert(export.name.to_owned(), item);
                            }
                            CoreInstance::Bag(items)
                        }
                    };
                    spaces.core_instances.push(made);
                    if spaces.core_instances.len() > MAX_INSTANCES || modules.len() > MAX_MODULES {
                        return Err(unsupported(format!(
                            "more than {MAX_MODULES} core modules or {MAX_INSTANCES} core instances"
                        )));
                    }
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader {
                    match alias.map_err(invalid)? {
                        ComponentAlias::CoreInstanceExport { kind, instance_index, name } => {
                            let item = match spaces.core_instance(instance_index)? {
                                CoreInstance::Step(step) => Some(CoreItem::Export { step, name: name.to_owned() }),
                                CoreInstance::Bag(items) => items.get(name).cloned(),
                            };
                            let item =
                                item.ok_or_else(|| unsupported(format!("alias of a missing export `{name}`")))?;
                            spaces.space(kind)?.push(Some(item));
                        }
                        ComponentAlias::InstanceExport { kind, instance_index, name } => {
                            let from = Some((instance_index, name.to_owned()));
                            match kind {
                                ComponentExternalKind::Func => spaces.funcs.push(from),
                                ComponentExternalKind::Type => spaces.types.push(from),
                                ComponentExternalKind::Instance => spaces.instances.push(None),
                                ComponentExternalKind::Module => spaces.modules.push(None),
                                ComponentExternalKind::Value | ComponentExternalKind::Component => {}
                            }
                        }
                        ComponentAlias::Outer { kind, .. } => match kind {
                            ComponentOuterAliasKind::CoreModule => spaces.modules.push(None),
                            ComponentOuterAliasKind::Type => spaces.types.push(None),
                            ComponentOuterAliasKind::CoreType | ComponentOuterAliasKind::Component => {}
                        },
                    }
                }
            }
            Payload::ComponentCanonicalSection(reader) => {
                for func in reader {
                    match func.map_err(invalid)? {
                        CanonicalFunction::Lift { core_func_index, options, .. } => {
                            let func = spaces.core_func(core_func_index)?;
                            let CoreItem::Export { name, .. } = &func else {
                                return Err(unsupported("a lifted function that is not a core export"));
                            };
                            // Keyed by the host's name, whichever 0.1.x the server was built against.
                            let export = crate::world::canonical_export_name(name);
                            let (memory, realloc, post_return) = spaces.options(&options)?;
                            recipe.lifts.insert(export, Lift { func, memory, realloc, post_return });
                            spaces.funcs.push(None);
                        }
                        CanonicalFunction::Lower { func_index, options } => {
                            let (interface, function) = spaces.imported_func(func_index)?;
                            let (memory, realloc, post_return) = spaces.options(&options)?;
                            if post_return.is_some() {
                                return Err(unsupported("post-return on a lowered function"));
                            }
                            recipe.lowerings.push(Lowering { interface, function, memory, realloc });
                            spaces.core_funcs.push(Some(CoreItem::Lowered(recipe.lowerings.len() - 1)));
                        }
                        CanonicalFunction::ResourceDrop { resource } => {
                            let (interface, name) = spaces.imported_type(resource)?;
                            let ty = ResourceType { interface, name };
                            let index = match recipe.resources.iter().position(|r| *r == ty) {
                                Some(i) => i,
                                None => {
                                    recipe.resources.push(ty);
                                    recipe.resources.len() - 1
                                }
                            };
                            spaces.core_funcs.push(Some(CoreItem::ResourceDrop(index)));
                        }
                        CanonicalFunction::ResourceNew { .. } | CanonicalFunction::ResourceRep { .. } => {
                            return Err(unsupported("resources the component defines itself"));
                        }
                        _ => return Err(unsupported("async, thread or other canonical builtins")),
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Parsed { recipe, modules })
}

impl Spaces {
    fn core_instance(&self, index: u32) -> Result<CoreInstance, LoadError> {
        self.core_instances
            .get(index as usize)
            .cloned()
            .ok_or_else(|| unsupported("a core instance index out of range"))
    }

    fn space(&mut self, kind: ExternalKind) -> Result<&mut Vec<Option<CoreItem>>, LoadError> {
        Ok(match kind {
            ExternalKind::Func => &mut self.core_funcs,
            ExternalKind::Memory => &mut self.memories,
            ExternalKind::Table => &mut self.tables,
            ExternalKind::Global => &mut self.globals,
            ExternalKind::Tag => return Err(unsupported("exception tags")),
        })
    }

    fn core_item(&mut self, kind: ExternalKind, index: u32) -> Result<CoreItem, LoadError> {
        self.space(kind)?
            .get(index as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| unsupported("a core item index out of range"))
    }

    fn core_func(&mut self, index: u32) -> Result<CoreItem, LoadError> {
        self.core_item(ExternalKind::Func, index)
    }

    /// The interface and function a component function is aliased from.
    fn imported_func(&self, index: u32) -> Result<(String, String), LoadError> {
        let (instance, name) = self
            .funcs
            .get(index as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| unsupported("lowers a function that is not an import"))?;
        Ok((self.imported_instance(instance)?, name))
    }

    fn imported_type(&self, index: u32) -> Result<(String, String), LoadError> {
        let (instance, name) = self
            .types
            .get(index as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| unsupported("drops a resource that is not an import"))?;
        Ok((self.imported_instance(instance)?, name))
    }

    fn imported_instance(&self, index: u32) -> Result<String, LoadError> {
        self.instances
            .get(index as usize)
            .cloned()
            .flatten()
            .ok_or_else(|| unsupported("a function or type of an instance the component does not import"))
    }

    /// Memory, realloc and post-return of a lift or lower; UTF-8 only.
    #[allow(clippy::type_complexity)]
    fn options(
        &mut self,
        options: &[CanonicalOption],
    ) -> Result<(Option<CoreItem>, Option<CoreItem>, Option<CoreItem>), LoadError> {
        let (mut memory, mut realloc, mut post_return) = (None, None, None);
        for option in options {
            match option {
                CanonicalOption::UTF8 => {}
                CanonicalOption::Memory(m) => memory = Some(self.core_item(ExternalKind::Memory, *m)?),
                CanonicalOption::Realloc(f) => realloc = Some(self.core_func(*f)?),
                CanonicalOption::PostReturn(f) => post_return = Some(self.core_func(*f)?),
                CanonicalOption::UTF16 | CanonicalOption::CompactUTF16 => {
                    return Err(unsupported("string encodings other than UTF-8"));
                }
                _ => return Err(unsupported("async, callback or GC canonical options")),
            }
        }
        Ok((memory, realloc, post_return))
    }
}
