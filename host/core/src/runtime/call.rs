//! The call driver: one store and instance per call, fuel and memory limits,
//! arguments lowered in, the export run as a resumable call whose capability
//! imports are served asynchronously, the result lifted out, post-return.

use super::error::{CallError, HostStop, classify};
use super::imports::PendingCall;
use super::instances::{BuildError, Instances};
use super::limiter::{CallLimiter, Denied};
use super::{CallState, Component, Limits, Runtime};
use crate::abi::handles::swap_handles;
use crate::abi::{AbiError, Allocator, Lifter, Lowerer, Val};
use crate::world::{ResourceDef, WorldFunc};
use wasmi::{Func, Memory, ResumableCall, Store};

/// Serves the capability calls of a running guest. Futures need not be
/// `Send`: on Workers they hold JavaScript values.
#[allow(async_fn_in_trait)]
pub trait HostCalls {
    /// Serves one call of import `import` (its index in
    /// [`HostWorld::imports`](crate::world::HostWorld::imports), `func`) with lifted
    /// `args`; `Ok(None)` for functions without a result. An `Err` aborts
    /// the guest call.
    async fn call(&mut self, import: usize, func: &WorldFunc, args: Vec<Val>) -> Result<Option<Val>, CallError>;

    /// Told, when a guest call ends, how much fuel it burned (with
    /// metering on): for accounting and the audit trail.
    fn fuel_used(&mut self, fuel: u64) {
        let _ = fuel;
    }

    /// Told that the guest dropped its handle to host resource `rep` of
    /// type `resource`.
    fn drop_resource(&mut self, resource: &ResourceDef, rep: u32) {
        let _ = (resource, rep);
    }

    /// Told, when a guest call ends, the size its linear memory reached
    /// (memories only grow, so this is the call's peak).
    fn memory_used(&mut self, bytes: u64) {
        let _ = bytes;
    }

    /// Called between fuel slices of a long guest call, to let the
    /// executor serve other work first. The default returns to it once.
    async fn pause(&mut self) {
        crate::platform::clock::YieldNow::default().await
    }

    /// True once the call is past its deadline: checked at every capability
    /// call and every fuel slice, ending the call with
    /// [`CallError::WallTime`]. The default never expires.
    fn out_of_time(&mut self) -> bool {
        false
    }
}

/// The guest's memory and allocator, for lowering values into it.
struct Guest<'s> {
    store: &'s mut Store<CallState>,
    /// None when the lowering names no memory: then nothing can be stored.
    memory: Option<Memory>,
    realloc: Option<Func>,
    limits: &'s Limits,
    /// Bytes allocated in the guest so far (what lowering wrote).
    allocated: u64,
}

impl Allocator for Guest<'_> {
    type Error = CallError;

    fn realloc(&mut self, size: u32, align: u32) -> Result<u32, CallError> {
        let realloc = self.realloc.ok_or_else(|| CallError::MissingExport("cabi_realloc".into()))?;
        let args = [0, 0, align as i32, size as i32].map(wasmi::Val::I32);
        let mut out = [wasmi::Val::I32(0)];
        realloc
            .call(&mut *self.store, &args, &mut out)
            .map_err(|e| self.store.data().classify(e, self.limits, "cabi_realloc"))?;
        self.allocated = self.allocated.saturating_add(u64::from(size));
        Ok(out[0].i32().unwrap_or(0) as u32)
    }

    fn memory(&mut self) -> &mut [u8] {
        match self.memory {
            Some(memory) => memory.data_mut(&mut *self.store),
            None => &mut [],
        }
    }
}

impl Runtime {
    /// Calls export function `name` of the server interface with `args` in a
    /// fresh instance, serving capability calls through `host`.
    ///
    /// Everything the call makes the host do is charged to it: the guest's
    /// instructions and each capability call (a base plus its bytes) to its
    /// fuel, the bytes lifted out for capability calls to one budget, its
    /// memory to the host-wide budget. It yields to other work between fuel
    /// slices and after every capability call, and stops at the deadline
    /// the host reports. Code the host cannot suspend (the start function,
    /// `cabi_realloc`, post-return) gets one slice of fuel at a time.
    pub async fn call<H: HostCalls>(
        &self,
        component: &Component,
        name: &str,
        args: &[Val],
        limits: &Limits,
        host: &mut H,
    ) -> Result<Option<Val>, CallError> {
        let func_def = self.world.export(name).ok_or_else(|| CallError::MissingExport(name.into()))?;
        self.call_export(component, func_def, args, limits, host).await
    }

    /// Like [`Runtime::call`], for an export the component declares itself
    /// (a plain component's function) rather than one of the host's world.
    pub async fn call_export<H: HostCalls>(
        &self,
        component: &Component,
        func_def: &WorldFunc,
        args: &[Val],
        limits: &Limits,
        host: &mut H,
    ) -> Result<Option<Val>, CallError> {
        let limiter = CallLimiter::new(limits.memory_bytes, TABLE_ELEMENTS, self.memory_budget.clone());
        let state = CallState {
            limiter,
            lowerings: Vec::new(),
            handles: Default::default(),
            dropped: Vec::new(),
            import_bytes: limits.import_bytes,
            pending: None,
            fuel_left: 0,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        let metering = self.limits.metering;
        let mut fuel = FuelSlices::new(limits.fuel, self.limits.fuel_slice, metering);
        fuel.start(&mut store)?;

        let instances = Instances::build(&mut store, &self.world, component).map_err(|e| match e {
            BuildError::Wasm(e) => store.data().classify(e, limits, "start function"),
            BuildError::Missing(what) => CallError::MissingExport(what),
        })?;
        let export_name = &func_def.export_name;
        let missing = |_| CallError::MissingExport(export_name.clone());
        let lift = component
            .prepared
            .recipe
            .lifts
            .get(export_name)
            .ok_or_else(|| CallError::MissingExport(export_name.clone()))?;
        let func = instances.func(&store, &lift.func).map_err(missing)?;
        let memory = lift.memory.as_ref().map(|m| instances.memory(&store, m)).transpose().map_err(missing)?;
        let memory = memory.ok_or_else(|| CallError::MissingExport(format!("{export_name}: memory")))?;
        let realloc = lift.realloc.as_ref().map(|f| instances.func(&store, f)).transpose().map_err(missing)?;
        let sig = &func_def.sig;

        fuel.hold_a_slice(&mut store)?;
        let mut guest = Guest { store: &mut store, memory: Some(memory), realloc, limits, allocated: 0 };
        let inputs = if sig.indirect_params() {
            let tuple = sig.params_tuple();
            let mut lowerer = Lowerer::new(&mut guest);
            let ptr = lowerer.alloc(tuple.size(), tuple.align())?;
            lowerer.store(&tuple, &Val::Record(args.to_vec()), ptr)?;
            vec![wasmi::Val::I32(ptr as i32)]
        } else {
            let mut flat = Vec::new();
            let mut lowerer = Lowerer::new(&mut guest);
            for (ty, val) in sig.params.iter().zip(args) {
                lowerer.lower_flat(ty, val, &mut flat)?;
            }
            flat
        };

        let mut outputs: Vec<wasmi::Val> = sig.export_results().iter().map(|t| zero(*t)).collect();
        fuel.hold_a_slice(&mut store)?;
        let classify = |store: &Store<CallState>, e| store.data().classify(e, limits, "export");
        let mut state = func.call_resumable(&mut store, &inputs, &mut outputs).map_err(|e| classify(&store, e))?;
        let mut host_calls = 0u32;
        loop {
            let trap = match state {
                ResumableCall::Finished => break,
                ResumableCall::OutOfFuel(out) => {
                    let required = out.required_fuel();
                    if fuel.remaining(&store) < required {
                        host.fuel_used(limits.fuel);
                        return Err(CallError::FuelExhausted { limit: limits.fuel });
                    }
                    // A slice is spent: let the executor serve others, then go on.
                    host.pause().await;
                    if host.out_of_time() {
                        return Err(CallError::WallTime { limit_ms: limits.wall_time_ms });
                    }
                    fuel.refill_for(&mut store, required)?;
                    state = out.resume(&mut store, &mut outputs).map_err(|e| classify(&store, e))?;
                    continue;
                }
                ResumableCall::HostTrap(trap) => trap,
            };
            let pending = match (trap.host_error().downcast_ref::<HostStop>(), store.data_mut().pending.take()) {
                (Some(HostStop::Suspend), Some(pending)) => pending,
                (Some(HostStop::Fault(e)), _) => return Err(e.clone().into()),
                (Some(HostStop::ImportBytes), _) => return Err(CallError::ImportBytes { limit: limits.import_bytes }),
                _ => return Err(CallError::Internal(trap.host_error().to_string())),
            };
            host_calls += 1;
            if host_calls > limits.host_calls {
                return Err(CallError::TooManyHostCalls { limit: limits.host_calls });
            }
            let lifted = pending.bytes;
            for (resource, rep) in std::mem::take(&mut store.data_mut().dropped) {
                if let Some(def) = self.world.resources.get(resource as usize) {
                    host.drop_resource(def, rep);
                }
            }
            fuel.hold_a_slice(&mut store)?;
            let options = store.data().lowerings[pending.lowering];
            let mut guest =
                Guest { store: &mut store, memory: options.memory, realloc: options.realloc, limits, allocated: 0 };
            let resume_with = self.serve(pending, host, &mut guest).await?;
            let lowered = guest.allocated;
            // The host's work for the guest is the guest's cost.
            if let Err(e) = fuel.charge(&mut store, host_call_fuel(lifted, lowered)) {
                host.fuel_used(limits.fuel);
                return Err(e);
            }
            // Capability calls that complete at once never return to the
            // executor on their own: yield, so a guest calling them in a
            // loop takes turns with other requests, and check the deadline.
            host.pause().await;
            if host.out_of_time() {
                return Err(CallError::WallTime { limit_ms: limits.wall_time_ms });
            }
            fuel.hold_a_slice(&mut store)?;
            state = trap.resume(&mut store, &resume_with, &mut outputs).map_err(|e| classify(&store, e))?;
        }

        let result = match &sig.result {
            None => None,
            Some(ty) => {
                let mut lifter = Lifter::new(memory.data(&store), limits.output_bytes);
                Some(if sig.result_in_memory() {
                    let ptr = outputs.first().and_then(wasmi::Val::i32).unwrap_or(0) as u32;
                    lifter.load(ty, ptr)?
                } else {
                    lifter.lift_flat(ty, &mut outputs.iter().cloned())?
                })
            }
        };
        if let Some(post) = &lift.post_return {
            let post = instances.func(&store, post).map_err(missing)?;
            fuel.hold_a_slice(&mut store)?;
            post.call(&mut store, &outputs, &mut []).map_err(|e| store.data().classify(e, limits, "post-return"))?;
        }
        for (resource, rep) in std::mem::take(&mut store.data_mut().dropped) {
            if let Some(def) = self.world.resources.get(resource as usize) {
                host.drop_resource(def, rep);
            }
        }
        if metering {
            host.fuel_used(fuel.used(&store));
        }
        host.memory_used(memory.data_size(&store) as u64);
        Ok(result)
    }

    /// Serves one capability call and lowers its result: into the guest's
    /// return area, or as the core values the import returns.
    async fn serve<H: HostCalls>(
        &self,
        pending: PendingCall,
        host: &mut H,
        guest: &mut Guest<'_>,
    ) -> Result<Vec<wasmi::Val>, CallError> {
        let func = &self.world.imports[pending.import];
        let mut result = host.call(pending.import, func, pending.args).await?;
        // Host resources in the result become handles of the guest's.
        if let (Some(ty), Some(val)) = (&func.sig.result, result.take_if(|_| func.sig.has_handles())) {
            let handles = &mut guest.store.data_mut().handles;
            result = Some(swap_handles(ty, val, &mut |_, resource, val| match val {
                Val::Resource(rep) => handles.insert(resource, rep).map(Val::Handle),
                _ => Err(AbiError::HostMismatch("a handle the host returned is not a resource")),
            })?);
        }
        let mut lowerer = Lowerer::new(guest);
        match (&func.sig.result, result, pending.retptr) {
            (None, None, _) => Ok(vec![]),
            (Some(ty), Some(val), Some(retptr)) => {
                lowerer.store(ty, &val, retptr)?;
                Ok(vec![])
            }
            (Some(ty), Some(val), None) => {
                let mut flat = Vec::new();
                lowerer.lower_flat(ty, &val, &mut flat)?;
                Ok(flat)
            }
            _ => Err(CallError::Internal(format!(
                "capability {}#{} returned the wrong shape",
                func.interface, func.name
            ))),
        }
    }
}

/// Table elements one instance may have.
const TABLE_ELEMENTS: usize = 100_000;

/// Fuel every capability call costs the guest before its bytes: about what
/// the host spends serving the smallest one (lifting, dispatch, the grant
/// checks, lowering), so that a loop of cheap calls costs what it takes.
pub const HOST_CALL_FUEL: u64 = 2_000;
/// Bytes lifted or lowered per unit of fuel, as wasmi charges bulk copies.
pub const HOST_CALL_BYTES_PER_FUEL: u64 = 64;

/// What a capability call costs that lifted `lifted` bytes out of the guest
/// and allocated `lowered` bytes for its result.
fn host_call_fuel(lifted: u64, lowered: u64) -> u64 {
    HOST_CALL_FUEL.saturating_add(lifted.saturating_add(lowered) / HOST_CALL_BYTES_PER_FUEL)
}

impl CallState {
    /// Maps a wasmi error raised while running guest code in `phase` to a
    /// [`CallError`], with what only the store knows: which limit refused
    /// memory, and whether fuel was only withheld from code that cannot
    /// yield.
    fn classify(&self, error: wasmi::Error, limits: &Limits, phase: &'static str) -> CallError {
        match classify(error, limits.fuel, limits.memory_bytes) {
            CallError::MemoryLimit { .. } if self.limiter.denied == Some(Denied::HostBudget) => {
                CallError::HostMemoryBusy
            }
            CallError::FuelExhausted { .. } if self.fuel_left > 0 => CallError::UnyieldingFuel { phase },
            CallError::ImportBytes { .. } => CallError::ImportBytes { limit: limits.import_bytes },
            other => other,
        }
    }
}

/// The shortest slice of a long call: about 50 µs of interpretation.
const MIN_SLICE: u64 = 100_000;

/// A call's fuel, handed to the store a slice at a time. What is not yet
/// handed is kept in the store's state ([`CallState::fuel_left`]), where
/// error classification can see it.
struct FuelSlices {
    /// The call's whole allowance.
    limit: u64,
    /// The slice long guest code runs for before yielding; shrinks.
    slice: u64,
    /// What code that cannot yield gets at once.
    unyielding: u64,
    metering: bool,
}

impl FuelSlices {
    fn new(limit: u64, slice: u64, metering: bool) -> FuelSlices {
        let slice = if slice == 0 { limit } else { slice };
        FuelSlices { limit, slice, unyielding: slice, metering }
    }

    /// Puts the whole allowance in the store's keeping and hands a slice.
    fn start(&mut self, store: &mut Store<CallState>) -> Result<(), CallError> {
        if !self.metering {
            return Ok(());
        }
        store.data_mut().fuel_left = self.limit;
        self.hold_a_slice(store)
    }

    fn left(store: &Store<CallState>) -> u64 {
        store.data().fuel_left
    }

    /// Fuel not yet burned: held by the store or still to hand.
    fn remaining(&self, store: &Store<CallState>) -> u64 {
        Self::left(store).saturating_add(store.get_fuel().unwrap_or(0))
    }

    /// Tops the store up to a slice, or to `required` when one instruction
    /// needs more (bulk memory operations are charged per byte).
    fn refill_for(&mut self, store: &mut Store<CallState>, required: u64) -> Result<(), CallError> {
        // Each further slice of a long call is half the last, down to
        // [`MIN_SLICE`]: a call that keeps computing gets turns as short as
        // other requests' whole calls, so it takes a fair share of the
        // thread instead of half of it.
        self.slice = (self.slice / 2).max(MIN_SLICE.min(self.slice));
        self.set_held(store, self.slice.max(required))
    }

    /// Leaves the store holding one unyielding slice (what the start
    /// function, the allocator or post-return may burn before the host
    /// gets control back), taking back or handing out the difference.
    fn hold_a_slice(&mut self, store: &mut Store<CallState>) -> Result<(), CallError> {
        if !self.metering {
            return Ok(());
        }
        self.set_held(store, self.unyielding)
    }

    fn set_held(&mut self, store: &mut Store<CallState>, want: u64) -> Result<(), CallError> {
        let total = self.remaining(store);
        let held = want.min(total);
        store.data_mut().fuel_left = total - held;
        store.set_fuel(held).map_err(|e| CallError::Internal(e.to_string()))
    }

    /// Burns `cost` for work the host did for the guest.
    fn charge(&mut self, store: &mut Store<CallState>, cost: u64) -> Result<(), CallError> {
        if !self.metering {
            return Ok(());
        }
        let total = self.remaining(store);
        let Some(rest) = total.checked_sub(cost) else {
            return Err(CallError::FuelExhausted { limit: self.limit });
        };
        store.data_mut().fuel_left = rest;
        store.set_fuel(0).map_err(|e| CallError::Internal(e.to_string()))
    }

    /// Fuel burned so far.
    fn used(&self, store: &Store<CallState>) -> u64 {
        self.limit.saturating_sub(self.remaining(store))
    }
}

fn zero(t: crate::abi::FlatType) -> wasmi::Val {
    use crate::abi::FlatType;
    match t {
        FlatType::I32 => wasmi::Val::I32(0),
        FlatType::I64 => wasmi::Val::I64(0),
        FlatType::F32 => wasmi::Val::F32(wasmi::F32::from_bits(0)),
        FlatType::F64 => wasmi::Val::F64(wasmi::F64::from_bits(0)),
    }
}
