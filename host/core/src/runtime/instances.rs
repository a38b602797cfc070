//! A component's core instances in one call's store: the linked recipe
//! replayed step by step, each lowered host function made when a step first
//! needs it, with the memory and allocator its options name.

use super::imports::{LoweringOptions, lowered_func, resource_drop};
use super::{CallState, Component};
use crate::component::recipe::CoreItem;
use crate::world::HostWorld;
use std::sync::Arc;
use wasmi::{Extern, Func, Instance, Memory, Store};

/// Why the instances could not be made.
pub(crate) enum BuildError {
    /// Instantiation (or a start function) failed in wasmi.
    Wasm(wasmi::Error),
    /// An item the recipe names is not there (linking rules this out).
    Missing(String),
}

pub(crate) struct Instances {
    instances: Vec<Instance>,
    lowered: Vec<Option<Func>>,
    drops: Vec<Option<Func>>,
}

impl Instances {
    pub(crate) fn build(
        store: &mut Store<CallState>,
        world: &Arc<HostWorld>,
        component: &Component,
    ) -> Result<Instances, BuildError> {
        let recipe = &component.prepared.recipe;
        let linked = &component.linked;
        let mut built = Instances {
            instances: Vec::with_capacity(recipe.steps.len()),
            lowered: vec![None; recipe.lowerings.len()],
            drops: vec![None; recipe.resources.len()],
        };
        store.data_mut().lowerings = vec![LoweringOptions::default(); recipe.lowerings.len()];
        for (step, imports) in recipe.steps.iter().zip(&linked.imports) {
            let mut externs = Vec::with_capacity(imports.len());
            for item in imports {
                let resolved = match item {
                    CoreItem::Lowered(i) => Extern::Func(built.lowered(store, world, component, *i)?),
                    CoreItem::ResourceDrop(i) => {
                        let func = *built.drops[*i]
                            .get_or_insert_with(|| resource_drop(store, component.linked.resources[*i]));
                        Extern::Func(func)
                    }
                    other => built.resolve(store, other)?,
                };
                externs.push(resolved);
            }
            let instance =
                Instance::new(&mut *store, &linked.modules[step.module], &externs).map_err(BuildError::Wasm)?;
            built.instances.push(instance);
        }
        Ok(built)
    }

    /// The host function of lowering `index`, made on first use.
    fn lowered(
        &mut self,
        store: &mut Store<CallState>,
        world: &Arc<HostWorld>,
        component: &Component,
        index: usize,
    ) -> Result<Func, BuildError> {
        if let Some(func) = self.lowered[index] {
            return Ok(func);
        }
        let lowering = &component.prepared.recipe.lowerings[index];
        let memory = lowering.memory.as_ref().map(|m| self.memory(store, m)).transpose()?;
        let realloc = lowering.realloc.as_ref().map(|f| self.func(store, f)).transpose()?;
        store.data_mut().lowerings[index] = LoweringOptions { memory, realloc };
        let func = lowered_func(store, world, component.linked.lowered[index], index);
        self.lowered[index] = Some(func);
        Ok(func)
    }

    fn resolve(&self, store: &Store<CallState>, item: &CoreItem) -> Result<Extern, BuildError> {
        match item {
            CoreItem::Export { step, name } => self
                .instances
                .get(*step)
                .and_then(|instance| instance.get_export(store, name))
                .ok_or_else(|| BuildError::Missing(name.clone())),
            CoreItem::Lowered(i) => {
                self.lowered[*i].map(Extern::Func).ok_or_else(|| BuildError::Missing(format!("lowering {i}")))
            }
            CoreItem::ResourceDrop(i) => {
                self.drops[*i].map(Extern::Func).ok_or_else(|| BuildError::Missing(format!("resource {i}")))
            }
        }
    }

    pub(crate) fn func(&self, store: &Store<CallState>, item: &CoreItem) -> Result<Func, BuildError> {
        self.resolve(store, item)?.into_func().ok_or_else(|| BuildError::Missing(format!("{item:?}")))
    }

    pub(crate) fn memory(&self, store: &Store<CallState>, item: &CoreItem) -> Result<Memory, BuildError> {
        self.resolve(store, item)?.into_memory().ok_or_else(|| BuildError::Missing(format!("{item:?}")))
    }
}
