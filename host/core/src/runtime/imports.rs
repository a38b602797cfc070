//! Host functions for the world's imports, one per lowering of a component.
//! Each one lifts its arguments out of guest memory and suspends the guest;
//! the call driver serves the capability asynchronously and resumes it.

use super::CallState;
use super::error::HostStop;
use crate::abi::handles::{Passing, swap_handles};
use crate::abi::{AbiError, FlatType, Lifter, Val};
use crate::world::HostWorld;
use std::sync::Arc;
use wasmi::{Caller, Func, FuncType, Memory, Store, ValType};

/// A capability call the guest is waiting on.
pub(crate) struct PendingCall {
    /// Index into [`HostWorld::imports`].
    pub import: usize,
    /// The lowering the guest called through: whose memory and allocator
    /// the result goes through.
    pub lowering: usize,
    pub args: Vec<Val>,
    /// Where the guest wants the result, when it does not fit a core value.
    pub retptr: Option<u32>,
    /// Bytes lifted out of the guest for the arguments.
    pub bytes: u64,
}

pub(crate) fn func_type((params, results): (Vec<FlatType>, Vec<FlatType>)) -> FuncType {
    let val_type = |t: FlatType| match t {
        FlatType::I32 => ValType::I32,
        FlatType::I64 => ValType::I64,
        FlatType::F32 => ValType::F32,
        FlatType::F64 => ValType::F64,
    };
    FuncType::new(params.into_iter().map(val_type), results.into_iter().map(val_type))
}

/// The memory and allocator a lowered function's values travel through.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LoweringOptions {
    pub memory: Option<Memory>,
    pub realloc: Option<Func>,
}

/// The host function behind lowering `lowering` of world import `import`,
/// made in `store`: it lifts its arguments through the lowering's memory and
/// suspends the guest for the call driver to serve it.
pub(crate) fn lowered_func(
    store: &mut Store<CallState>,
    world: &Arc<HostWorld>,
    import: usize,
    lowering: usize,
) -> Func {
    let ty = func_type(world.imports[import].sig.import_core_type());
    let world = world.clone();
    Func::new(store, ty, move |mut caller: Caller<'_, CallState>, params: &[wasmi::Val], _: &mut [wasmi::Val]| {
        let mut pending = lift_args(&caller, &world, import, lowering, params).map_err(wasmi::Error::host)?;
        let state = caller.data_mut();
        let sig = &world.imports[import].sig;
        if sig.has_handles() {
            // The guest's handles become the host's resources: lent, or
            // taken out of its table when passed as `own`.
            let handles = &mut state.handles;
            let args = std::mem::take(&mut pending.args);
            pending.args = sig
                .params
                .iter()
                .zip(args)
                .map(|(ty, val)| {
                    swap_handles(ty, val, &mut |passing, resource, val| match val {
                        Val::Handle(handle) => handles.lift(handle, resource, passing).map(Val::Resource),
                        _ => Err(AbiError::FlatTypeMismatch),
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(|e| wasmi::Error::host(HostStop::Fault(e)))?;
        }
        // One budget for every capability call of the guest call.
        state.import_bytes -= pending.bytes;
        state.pending = Some(pending);
        Err(wasmi::Error::host(HostStop::Suspend))
    })
}

fn lift_args(
    caller: &Caller<'_, CallState>,
    world: &HostWorld,
    index: usize,
    lowering: usize,
    params: &[wasmi::Val],
) -> Result<PendingCall, HostStop> {
    let sig = &world.imports[index].sig;
    let state = caller.data();
    let memory = state.lowerings.get(lowering).and_then(|o| o.memory);
    let memory = memory.map(|m| m.data(caller)).unwrap_or(&[]);
    let mut lifter = Lifter::new(memory, state.import_bytes);
    let (params, retptr) = if sig.result_in_memory() {
        let (last, rest) = params.split_last().ok_or(HostStop::Fault(AbiError::FlatTypeMismatch))?;
        (rest, Some(last.i32().unwrap_or(0) as u32))
    } else {
        (params, None)
    };
    let fault = |e| match e {
        AbiError::OutputTooLarge { .. } => HostStop::ImportBytes,
        other => HostStop::Fault(other),
    };
    let args = if sig.indirect_params() {
        let ptr = params.first().and_then(|v| v.i32()).unwrap_or(0) as u32;
        match lifter.load(&sig.params_tuple(), ptr).map_err(fault)? {
            Val::Record(fields) => fields,
            _ => return Err(HostStop::Fault(AbiError::FlatTypeMismatch)),
        }
    } else {
        let mut flat = params.iter().cloned();
        sig.params.iter().map(|ty| lifter.lift_flat(ty, &mut flat)).collect::<Result<_, _>>().map_err(fault)?
    };
    let bytes = state.import_bytes - lifter.remaining();
    Ok(PendingCall { import: index, lowering, args, retptr, bytes })
}

/// The host function behind `canon resource.drop` of host resource type
/// `resource`: takes the handle out of the guest's table (a dead or
/// foreign handle is a fault) and leaves the resource for the host to
/// release at its next turn.
pub(crate) fn resource_drop(store: &mut Store<CallState>, resource: u32) -> Func {
    let ty = FuncType::new([ValType::I32], []);
    Func::new(store, ty, move |mut caller: Caller<'_, CallState>, params: &[wasmi::Val], _: &mut [wasmi::Val]| {
        let handle = params.first().and_then(wasmi::Val::i32).unwrap_or(0) as u32;
        let state = caller.data_mut();
        let rep =
            state.handles.lift(handle, resource, Passing::Own).map_err(|e| wasmi::Error::host(HostStop::Fault(e)))?;
        state.dropped.push((resource, rep));
        Ok(())
    })
}
