//! Host functions for the world's imports. Each one lifts its arguments out
//! of guest memory and suspends the guest; the call driver serves the
//! capability asynchronously and resumes it.

use super::CallState;
use super::error::HostStop;
use crate::abi::{AbiError, FlatType, Lifter, Val};
use crate::world::HostWorld;
use std::sync::Arc;
use wasmi::{Caller, Engine, FuncType, Linker, ValType};

/// A capability call the guest is waiting on.
pub(crate) struct PendingCall {
    /// Index into [`HostWorld::imports`].
    pub import: usize,
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

/// A linker that defines every import of the world.
pub(crate) fn linker(engine: &Engine, world: &Arc<HostWorld>) -> Linker<CallState> {
    let mut linker = Linker::new(engine);
    for (index, func) in world.imports.iter().enumerate() {
        let ty = func_type(func.sig.import_core_type());
        let world = world.clone();
        let host_fn = move |mut caller: Caller<'_, CallState>, params: &[wasmi::Val], _: &mut [wasmi::Val]| {
            let pending = lift_args(&caller, &world, index, params).map_err(wasmi::Error::host)?;
            let state = caller.data_mut();
            // One budget for every capability call of the guest call.
            state.import_bytes -= pending.bytes;
            state.pending = Some(pending);
            Err(wasmi::Error::host(HostStop::Suspend))
        };
        // Names are unique in a parsed world, so defining cannot fail.
        let _ = linker.func_new(&func.interface, &func.name, ty, host_fn);
    }
    linker
}

fn lift_args(
    caller: &Caller<'_, CallState>,
    world: &HostWorld,
    index: usize,
    params: &[wasmi::Val],
) -> Result<PendingCall, HostStop> {
    let sig = &world.imports[index].sig;
    let state = caller.data();
    let memory = state.memory.map(|m| m.data(caller)).unwrap_or(&[]);
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
    Ok(PendingCall { import: index, args, retptr, bytes })
}
