//! Linking a component's recipe once, at load: compile its modules, resolve
//! every core import of every step to the item that satisfies it, and check
//! each against the type the importing module declares, so that a call only
//! replays the steps.

use super::imports::func_type;
use crate::component::LoadError;
use crate::component::plain::PlainFunc;
use crate::component::recipe::{Argument, CoreItem, Recipe};
use crate::world::{HostWorld, WorldFunc};
use wasmi::{Engine, ExternType, FuncType, Module, ValType};

/// A recipe linked against its compiled modules and the host's world.
#[derive(Debug)]
pub(crate) struct Linked {
    pub modules: Vec<Module>,
    /// Per step, the item each import of its module gets, in import order.
    pub imports: Vec<Vec<CoreItem>>,
    /// Per lowering, the index of its function in [`HostWorld::imports`].
    pub lowered: Vec<usize>,
    /// Per resource type of the recipe, its index in [`HostWorld::resources`].
    pub resources: Vec<u32>,
}

/// What a lowered function's realloc option must look like.
fn realloc_type() -> FuncType {
    FuncType::new([ValType::I32; 4], [ValType::I32])
}

pub(crate) fn link(
    engine: &Engine,
    world: &HostWorld,
    module_bytes: &[Vec<u8>],
    recipe: &Recipe,
    declared: &[String],
    plain: Option<&[PlainFunc]>,
) -> Result<Linked, LoadError> {
    let modules = module_bytes
        .iter()
        .map(|bytes| Module::new(engine, bytes).map_err(|e| LoadError::Compile(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let mut lowered = Vec::with_capacity(recipe.lowerings.len());
    for lowering in &recipe.lowerings {
        let (interface, function) = (&lowering.interface, &lowering.function);
        let Some((index, _)) = world.import(interface, function) else {
            return Err(LoadError::ForbiddenImport(format!("{interface}#{function}")));
        };
        // A lowering reaches a capability only through the component's
        // type, which review and the grant check read; a prepared component
        // whose declared imports were altered cannot widen that.
        if !declared.iter().any(|d| d == interface) {
            return Err(LoadError::UndeclaredImport { module: interface.clone(), name: function.clone() });
        }
        lowered.push(index);
    }
    let mut resources = Vec::with_capacity(recipe.resources.len());
    for resource in &recipe.resources {
        let index = world.resource(&resource.interface, &resource.name).ok_or_else(|| {
            LoadError::ForbiddenImport(format!("{}#[resource-drop]{}", resource.interface, resource.name))
        })?;
        if !declared.contains(&resource.interface) {
            return Err(LoadError::UndeclaredImport {
                module: resource.interface.clone(),
                name: format!("[resource-drop]{}", resource.name),
            });
        }
        resources.push(index as u32);
    }
    let linker = Linker { world, recipe, modules: &modules, lowered: &lowered };
    let mut imports = Vec::with_capacity(recipe.steps.len());
    for step in &recipe.steps {
        let module = &modules[step.module];
        let mut items = Vec::new();
        for import in module.imports() {
            let (from, name) = (import.module(), import.name());
            let item = match step.arguments.get(from) {
                Some(Argument::Step(earlier)) => Some(CoreItem::Export { step: *earlier, name: name.to_owned() }),
                Some(Argument::Bag(bag)) => bag.get(name).cloned(),
                None => None,
            }
            .ok_or_else(|| LoadError::Invalid(format!("core import `{from}#{name}` is given nothing")))?;
            let fits = match (import.ty(), linker.type_of(&item)) {
                (ExternType::Func(want), Some(ExternType::Func(have))) => *want == have,
                (ExternType::Memory(_), Some(ExternType::Memory(_)))
                | (ExternType::Table(_), Some(ExternType::Table(_)))
                | (ExternType::Global(_), Some(ExternType::Global(_))) => true,
                _ => false,
            };
            if !fits {
                return Err(LoadError::ImportSignature { module: from.into(), name: name.into() });
            }
            items.push(item);
        }
        imports.push(items);
    }
    for (lowering, world_index) in recipe.lowerings.iter().zip(&lowered) {
        let func = &world.imports[*world_index];
        let what = format!("{}#{}", func.interface, func.name);
        linker.check_memory(lowering.memory.as_ref(), &what)?;
        linker.check_func(lowering.realloc.as_ref(), &realloc_type(), &what)?;
    }
    // The server's exports, or a plain component's own functions.
    let exports: Vec<&WorldFunc> = match plain {
        Some(funcs) => funcs.iter().map(|f| &f.export).collect(),
        None => world.exports.iter().collect(),
    };
    for func in exports {
        let name = &func.export_name;
        let lift = match recipe.lifts.get(name) {
            Some(lift) => lift,
            None if func.optional => continue,
            None => return Err(LoadError::ExportSignature(name.clone())),
        };
        linker.check_func(Some(&lift.func), &func_type(func.sig.export_core_type()), name)?;
        if lift.memory.is_none() {
            return Err(LoadError::ExportSignature(format!("{name}: no memory option")));
        }
        linker.check_memory(lift.memory.as_ref(), name)?;
        linker.check_func(lift.realloc.as_ref(), &realloc_type(), name)?;
        let post_return = func_type((func.sig.export_results().to_vec(), vec![]));
        linker.check_func(lift.post_return.as_ref(), &post_return, name)?;
    }
    Ok(Linked { modules, imports, lowered, resources })
}

struct Linker<'a> {
    world: &'a HostWorld,
    recipe: &'a Recipe,
    modules: &'a [Module],
    lowered: &'a [usize],
}

impl Linker<'_> {
    /// The type of what `item` stands for, `None` when it names nothing.
    fn type_of(&self, item: &CoreItem) -> Option<ExternType> {
        match item {
            CoreItem::Export { step, name } => {
                let module = self.recipe.steps.get(*step)?.module;
                self.modules.get(module)?.get_export(name)
            }
            CoreItem::Lowered(i) => {
                let func = &self.world.imports[*self.lowered.get(*i)?];
                Some(ExternType::Func(func_type(func.sig.import_core_type())))
            }
            CoreItem::ResourceDrop(_) => Some(ExternType::Func(FuncType::new([ValType::I32], []))),
        }
    }

    fn check_func(&self, item: Option<&CoreItem>, want: &FuncType, what: &str) -> Result<(), LoadError> {
        match item.map(|item| self.type_of(item)) {
            None => Ok(()),
            Some(Some(ExternType::Func(have))) if have == *want => Ok(()),
            Some(_) => Err(LoadError::ExportSignature(format!("{what}: a canonical option has the wrong type"))),
        }
    }

    fn check_memory(&self, item: Option<&CoreItem>, what: &str) -> Result<(), LoadError> {
        match item.map(|item| self.type_of(item)) {
            None | Some(Some(ExternType::Memory(_))) => Ok(()),
            Some(_) => Err(LoadError::ExportSignature(format!("{what}: its memory option is not a memory"))),
        }
    }
}
