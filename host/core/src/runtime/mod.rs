//! The component runtime: loads components into compiled wasmi modules and
//! runs calls into them, one fresh store and instance per call.

mod call;
mod error;
mod imports;
mod limiter;
mod limits;

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
use wasmi::{CompilationMode, Config, CustomFuelCosts, EnforcedLimits, Engine, ExternType, Linker, Module};

/// State of one call, owned by its store.
pub(crate) struct CallState {
    limiter: limiter::CallLimiter,
    memory: Option<wasmi::Memory>,
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
    module: Module,
    memory: String,
    realloc: Option<String>,
}

impl Component {
    pub fn digest(&self) -> Digest {
        self.prepared.digest
    }
}

/// Runs components. Cheap to share; one per process is enough.
pub struct Runtime {
    engine: Engine,
    world: Arc<HostWorld>,
    linker: Linker<CallState>,
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
    component.prepared.core_module.len().saturating_mul(3)
}

impl Runtime {
    pub fn new(limits: RuntimeLimits) -> Result<Runtime, crate::world::WorldError> {
        let mut config = Config::default();
        config
            .consume_fuel(limits.metering)
            .compilation_mode(CompilationMode::LazyTranslation)
            .enforced_limits(EnforcedLimits::strict())
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
        let linker = imports::linker(&engine, &world);
        let memory_budget = Arc::new(MemoryBudget::new(limits.guest_memory_bytes));
        Ok(Runtime { engine, world, linker, limits, cache: Mutex::default(), memory_budget })
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
        let module = Module::new(&self.engine, &prepared.core_module).map_err(|e| LoadError::Compile(e.to_string()))?;
        let memory = prepared.options.memory.clone().unwrap_or_else(|| "memory".into());
        self.check_core(&module, &memory, &prepared.imports)?;
        let realloc = prepared
            .options
            .realloc
            .clone()
            .or_else(|| module.get_export("cabi_realloc").map(|_| "cabi_realloc".to_owned()));
        let component = Arc::new(Component { prepared, module, memory, realloc });
        self.insert(component.clone());
        Ok(component)
    }

    /// Checks the core module's imports and exports against the world's
    /// canonical-ABI signatures, and its imports against what the
    /// component's type declares (`declared`): a core module may not reach
    /// a capability that review and the grant check never saw.
    fn check_core(&self, module: &Module, memory: &str, declared: &[String]) -> Result<(), LoadError> {
        for import in module.imports() {
            let (module_name, name) = (import.module(), import.name());
            let Some((_, func)) = self.world.import(module_name, name) else {
                return Err(LoadError::ForbiddenImport(format!("{module_name}#{name}")));
            };
            if !declared.iter().any(|interface| interface == module_name) {
                return Err(LoadError::UndeclaredImport { module: module_name.into(), name: name.into() });
            }
            let want = imports::func_type(func.sig.import_core_type());
            match import.ty() {
                ExternType::Func(ty) if *ty == want => {}
                _ => return Err(LoadError::ImportSignature { module: module_name.into(), name: name.into() }),
            }
        }
        for func in &self.world.exports {
            let name = &func.export_name;
            let want = imports::func_type(func.sig.export_core_type());
            match module.get_export(name) {
                Some(ExternType::Func(ty)) if ty == want => {}
                _ => return Err(LoadError::ExportSignature(name.clone())),
            }
        }
        match module.get_export(memory) {
            Some(ExternType::Memory(_)) => Ok(()),
            _ => Err(LoadError::ExportSignature(memory.to_owned())),
        }
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
