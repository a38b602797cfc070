//! The component runtime: loads components into compiled wasmi modules and
//! runs calls into them, one fresh store and instance per call.

mod call;
mod error;
mod imports;
mod instances;
mod limiter;
mod limits;
mod link;

pub use crate::policy::Limits;
pub use call::{HOST_CALL_BYTES_PER_FUEL, HOST_CALL_FUEL, HostCalls};
pub use error::CallError;
pub use limiter::MemoryBudget;
pub use limits::RuntimeLimits;
/// A core wasm value, as guests return them (what [`crate::abi::lift_flat`] takes).
pub use wasmi::Val as CoreVal;

use crate::component::{Digest, LoadError, PreparedComponent, prepare};
use crate::world::HostWorld;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use wasmi::{CompilationMode, Config, CustomFuelCosts, EnforcedLimits, Engine};

/// State of one call, owned by its store.
pub(crate) struct CallState {
    limiter: limiter::CallLimiter,
    /// The memory and allocator of each lowering of the component, set as
    /// the instance that provides them is made.
    lowerings: Vec<imports::LoweringOptions>,
    /// The guest's handles to host resources.
    handles: crate::abi::handles::HandleTable,
    /// Host resources the guest dropped, (resource type, representation),
    /// for the host to release at its next turn.
    dropped: Vec<(u32, u32)>,
    /// What is left of the call's budget of bytes lifted for capability calls.
    import_bytes: u64,
    pending: Option<imports::PendingCall>,
    /// The call's fuel not yet handed to the store.
    fuel_left: u64,
}

/// A loaded component: prepared, compiled and checked against the world.
#[derive(Debug)]
pub struct Component {
    pub prepared: PreparedComponent,
    linked: link::Linked,
}

impl Component {
    pub fn digest(&self) -> Digest {
        self.prepared.digest
    }

    /// True when the component exports `function` of the host's server
    /// interface: always for the functions of 0.1.0, and for a function
    /// added since ([`crate::world::ADDED_EXPORTS`]) when built against a
    /// release that has it.
    pub fn exports_server_function(&self, function: &str) -> bool {
        let name = format!("{}#{function}", crate::world::SERVER_INTERFACE);
        self.prepared.recipe.lifts.contains_key(&name)
    }
}

/// Runs components. Cheap to share; one per process is enough.
pub struct Runtime {
    engine: Engine,
    world: Arc<HostWorld>,
    limits: RuntimeLimits,
    cache: Mutex<ModuleCache>,
    /// Guest memory of every running call together.
    memory_budget: Arc<MemoryBudget>,
}

/// Compiled components by digest, least recently used first.
#[derive(Default)]
struct ModuleCache {
    by_digest: HashMap<Digest, Arc<Component>>,
    order: VecDeque<Digest>,
    bytes: usize,
}

/// What a cached component is counted as weighing.
fn weight(component: &Component) -> usize {
    component.prepared.core_bytes().saturating_mul(3)
}

impl Runtime {
    pub fn new(limits: RuntimeLimits) -> Result<Runtime, crate::world::WorldError> {
        let mut config = Config::default();
        config
            .consume_fuel(limits.metering)
            .compilation_mode(CompilationMode::LazyTranslation)
            // Modules' structure is bounded at load (component::structure),
            // with bounds sized for real toolchains' output.
            .enforced_limits(EnforcedLimits::default())
            .set_max_recursion_depth(limits.max_recursion_depth)
            .set_max_stack_height(limits.max_stack_height)
            // Components made from wasm32 guests use one memory and no tail
            // calls; refusing both keeps the attack surface small.
            .wasm_multi_memory(false)
            .wasm_tail_call(false)
            .floats(true)
            // Translating a function (once per process; lazily, on its first
            // call) costs the guest no fuel: wasmi reports running out of
            // fuel there as an error, not as a call the host can resume, and
            // calls get their fuel in slices. Validation was done at load.
            .fuel_cost(CustomFuelCosts {
                bytes_copied_per_fuel: 64,
                fuel_per_bytes_translated: 0,
                fuel_per_bytes_validated: 0,
            });
        let engine = Engine::new(&config);
        let world = Arc::new(HostWorld::load()?);
        let memory_budget = Arc::new(MemoryBudget::new(limits.guest_memory_bytes));
        Ok(Runtime { engine, world, limits, cache: Mutex::default(), memory_budget })
    }

    pub fn limits(&self) -> &RuntimeLimits {
        &self.limits
    }

    /// The host-wide budget of guest memory, and what running calls hold.
    pub fn memory_budget(&self) -> &MemoryBudget {
        &self.memory_budget
    }

    pub fn world(&self) -> &HostWorld {
        &self.world
    }

    /// Validates, prepares and compiles a component, or returns the cached
    /// one with the same digest.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<Component>, LoadError> {
        let digest = Digest::of(bytes);
        if let Some(hit) = self.cached(&digest) {
            return Ok(hit);
        }
        let prepared = prepare(bytes, &self.world, self.limits.max_component_bytes)?;
        self.load_prepared(prepared)
    }

    /// Compiles an already prepared component (for example one read back
    /// from storage by its digest).
    pub fn load_prepared(&self, prepared: PreparedComponent) -> Result<Arc<Component>, LoadError> {
        if let Some(hit) = self.cached(&prepared.digest) {
            return Ok(hit);
        }
        let linked = link::link(
            &self.engine,
            &self.world,
            &prepared.modules,
            &prepared.recipe,
            &prepared.imports,
            prepared.plain.as_deref(),
        )?;
        let component = Arc::new(Component { prepared, linked });
        self.insert(component.clone());
        Ok(component)
    }

    fn cached(&self, digest: &Digest) -> Option<Arc<Component>> {
        let mut cache = self.cache.lock().ok()?;
        let hit = cache.by_digest.get(digest).cloned()?;
        // Most recently used last.
        if cache.order.back() != Some(digest) {
            cache.order.retain(|d| d != digest);
            cache.order.push_back(*digest);
        }
        Some(hit)
    }

    fn insert(&self, component: Arc<Component>) {
        let Ok(mut cache) = self.cache.lock() else { return };
        let digest = component.digest();
        let added = weight(&component);
        if cache.by_digest.insert(digest, component).is_none() {
            cache.order.push_back(digest);
            cache.bytes += added;
        }
        while cache.order.len() > self.limits.module_cache_entries
            || (cache.bytes > self.limits.module_cache_bytes && cache.order.len() > 1)
        {
            let Some(old) = cache.order.pop_front() else { break };
            if let Some(gone) = cache.by_digest.remove(&old) {
                cache.bytes -= weight(&gone);
            }
        }
    }

    /// Components in the cache, and what they are counted as weighing.
    pub fn cache_usage(&self) -> (usize, usize) {
        self.cache.lock().map(|c| (c.by_digest.len(), c.bytes)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::{Runtime, RuntimeLimits};
    use crate::component::LoadError;

    #[test]
    fn loading_refuses_what_is_not_a_component_and_caches_nothing() {
        let runtime = Runtime::new(RuntimeLimits { max_component_bytes: 1 << 10, ..RuntimeLimits::default() }).unwrap();
        let module = wat::parse_str("(module)").unwrap();
        assert_eq!(runtime.load(&module).err(), Some(LoadError::NotAComponent));
        assert!(matches!(runtime.load(&vec![0; 2 << 10]).err(), Some(LoadError::TooLarge { .. })));
        assert_eq!(runtime.cache_usage(), (0, 0), "a refused component takes no room");
    }
}
