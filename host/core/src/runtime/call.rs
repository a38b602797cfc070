//! The call driver: one store and instance per call, fuel and memory limits,
//! arguments lowered in, the export run as a resumable call whose capability
//! imports are served asynchronously, the result lifted out, post-return.

use super::error::{CallError, HostStop, classify};
use super::imports::PendingCall;
use super::{CallState, Component, Limits, Runtime};
use crate::abi::{Allocator, Lifter, Lowerer, Val};
use crate::world::WorldFunc;
use wasmi::{Func, Memory, ResumableCall, Store, StoreLimitsBuilder};

/// Serves the capability calls of a running guest. Futures need not be
/// `Send`: on Workers they hold JavaScript values.
#[allow(async_fn_in_trait)]
pub trait HostCalls {
    /// Serves one call of `func` with lifted `args`; `Ok(None)` for functions
    /// without a result. An `Err` aborts the guest call.
    async fn call(&mut self, func: &WorldFunc, args: Vec<Val>) -> Result<Option<Val>, CallError>;

    /// Told, when a guest call ends, how much fuel it burned (with
    /// metering on): for accounting and the audit trail.
    fn fuel_used(&mut self, fuel: u64) {
        let _ = fuel;
    }

    /// Told, when a guest call ends, the size its linear memory reached
    /// (memories only grow, so this is the call's peak).
    fn memory_used(&mut self, bytes: u64) {
        let _ = bytes;
    }

    /// Called between fuel slices of a long guest call, to let the
    /// executor serve other work first. The default returns to it once.
    async fn pause(&mut self) {
        YieldNow::default().await
    }
}

/// The guest's memory and allocator, for lowering values into it.
struct Guest<'s> {
    store: &'s mut Store<CallState>,
    memory: Memory,
    realloc: Option<Func>,
    limits: &'s Limits,
}

impl Allocator for Guest<'_> {
    type Error = CallError;

    fn realloc(&mut self, size: u32, align: u32) -> Result<u32, CallError> {
        let realloc = self.realloc.ok_or_else(|| CallError::MissingExport("cabi_realloc".into()))?;
        let args = [0, 0, align as i32, size as i32].map(wasmi::Val::I32);
        let mut out = [wasmi::Val::I32(0)];
        realloc
            .call(&mut *self.store, &args, &mut out)
            .map_err(|e| classify(e, self.limits.fuel, self.limits.memory_bytes))?;
        Ok(out[0].i32().unwrap_or(0) as u32)
    }

    fn memory(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut *self.store)
    }
}

impl Runtime {
    /// Calls export function `name` of the server interface with `args` in a
    /// fresh instance, serving capability calls through `host`.
    pub async fn call<H: HostCalls>(
        &self,
        component: &Component,
        name: &str,
        args: &[Val],
        limits: &Limits,
        host: &mut H,
    ) -> Result<Option<Val>, CallError> {
        let func_def = self.world.export(name).ok_or_else(|| CallError::MissingExport(name.into()))?;
        let classify = |e| classify(e, limits.fuel, limits.memory_bytes);
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .memories(1)
            .tables(1)
            .table_elements(100_000)
            .instances(1)
            .trap_on_grow_failure(true)
            .build();
        let state = CallState { limits: store_limits, memory: None, import_bytes: limits.import_bytes, pending: None };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        // The call's fuel is handed to the export a slice at a time; what
        // the host calls into the guest outside it (its allocator while
        // arguments and capability results are lowered, post-return) cannot
        // be resumed, so those get all that is left.
        let mut fuel = FuelSlices::new(limits.fuel, self.limits.fuel_slice);
        let metering = self.limits.metering;
        if metering {
            fuel.refill_all(&mut store)?;
        }

        let instance = self.linker.instantiate_and_start(&mut store, &component.module).map_err(classify)?;
        let memory = instance
            .get_memory(&store, &component.memory)
            .ok_or_else(|| CallError::MissingExport(component.memory.clone()))?;
        store.data_mut().memory = Some(memory);
        let realloc = component.realloc.as_deref().and_then(|n| instance.get_func(&store, n));
        let export_name = &func_def.export_name;
        let func = instance.get_func(&store, export_name).ok_or_else(|| CallError::MissingExport(export_name.clone()))?;
        let sig = &func_def.sig;

        let mut guest = Guest { store: &mut store, memory, realloc, limits };
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
        if metering {
            fuel.keep_a_slice(&mut store)?;
        }
        let mut state = func.call_resumable(&mut store, &inputs, &mut outputs).map_err(classify)?;
        let mut host_calls = 0u32;
        loop {
            let trap = match state {
                ResumableCall::Finished => break,
                ResumableCall::OutOfFuel(out) => {
                    let required = out.required_fuel();
                    if fuel.left + store.get_fuel().unwrap_or(0) < required {
                        host.fuel_used(limits.fuel);
                        return Err(CallError::FuelExhausted { limit: limits.fuel });
                    }
                    // A slice is spent: let the executor serve others, then go on.
                    host.pause().await;
                    fuel.refill_for(&mut store, required)?;
                    state = out.resume(&mut store, &mut outputs).map_err(classify)?;
                    continue;
                }
                ResumableCall::HostTrap(trap) => trap,
            };
            let pending = match (trap.host_error().downcast_ref::<HostStop>(), store.data_mut().pending.take()) {
                (Some(HostStop::Suspend), Some(pending)) => pending,
                (Some(HostStop::Fault(e)), _) => return Err(e.clone().into()),
                _ => return Err(CallError::Internal(trap.host_error().to_string())),
            };
            host_calls += 1;
            if host_calls > limits.host_calls {
                return Err(CallError::TooManyHostCalls { limit: limits.host_calls });
            }
            if metering {
                fuel.refill_all(&mut store)?;
            }
            let resume_with = self.serve(pending, host, &mut Guest { store: &mut store, memory, realloc, limits }).await?;
            if metering {
                fuel.keep_a_slice(&mut store)?;
            }
            state = trap.resume(&mut store, &resume_with, &mut outputs).map_err(classify)?;
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
        if let Some(post) = component.prepared.options.post_return.get(export_name)
            && let Some(post) = instance.get_func(&store, post) {
                if metering {
                    fuel.refill_all(&mut store)?;
                }
                post.call(&mut store, &outputs, &mut []).map_err(classify)?;
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
        let result = host.call(func, pending.args).await?;
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
            _ => Err(CallError::Internal(format!("capability {}#{} returned the wrong shape", func.interface, func.name))),
        }
    }
}

/// A call's fuel, handed to the store a slice at a time.
/// The shortest slice of a long call: about 50 µs of interpretation.
const MIN_SLICE: u64 = 100_000;

struct FuelSlices {
    /// The call's whole allowance.
    limit: u64,
    /// Not yet handed to the store.
    left: u64,
    slice: u64,
}

impl FuelSlices {
    fn new(limit: u64, slice: u64) -> FuelSlices {
        FuelSlices { limit, left: limit, slice: if slice == 0 { limit } else { slice } }
    }

    /// Tops the store up to a slice, or to `required` when one instruction
    /// needs more (bulk memory operations are charged per byte).
    fn refill_for(&mut self, store: &mut Store<CallState>, required: u64) -> Result<(), CallError> {
        // Each further slice of a long call is half the last, down to
        // [`MIN_SLICE`]: a call that keeps computing gets turns as short as
        // other requests' whole calls, so it takes a fair share of the
        // thread instead of half of it.
        self.slice = (self.slice / 2).max(MIN_SLICE.min(self.slice));
        let held = store.get_fuel().unwrap_or(0);
        let add = self.slice.max(required).saturating_sub(held).min(self.left);
        self.hand(store, held, add)
    }

    /// Hands the store everything that is left.
    fn refill_all(&mut self, store: &mut Store<CallState>) -> Result<(), CallError> {
        let held = store.get_fuel().unwrap_or(0);
        self.hand(store, held, self.left)
    }

    /// Takes back what the store holds beyond a slice.
    fn keep_a_slice(&mut self, store: &mut Store<CallState>) -> Result<(), CallError> {
        let held = store.get_fuel().unwrap_or(0);
        let kept = held.min(self.slice);
        self.left += held - kept;
        store.set_fuel(kept).map_err(|e| CallError::Internal(e.to_string()))
    }

    fn hand(&mut self, store: &mut Store<CallState>, held: u64, add: u64) -> Result<(), CallError> {
        self.left -= add;
        store.set_fuel(held + add).map_err(|e| CallError::Internal(e.to_string()))
    }

    /// Fuel burned so far.
    fn used(&self, store: &Store<CallState>) -> u64 {
        self.limit.saturating_sub(self.left + store.get_fuel().unwrap_or(0))
    }
}

/// Returns `Pending` once, waking itself: the executor runs whatever else
/// is ready before it polls this again.
#[derive(Default)]
pub(crate) struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
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
