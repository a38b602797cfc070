//! The canonical ABI against a hostile guest: arbitrary guest memory and
//! arbitrary core return values lifted as every type of the host's world.
//! Whatever lifts must lower back into memory and lift again to the same
//! value (through a `cabi_realloc` that may lie about where it put things),
//! both through memory (results and indirect parameters) and as flat core
//! values whose pointers point into guest memory (direct parameters and
//! small results, as the runtime lifts and lowers them).

#![no_main]

use libfuzzer_sys::fuzz_target;
use smcp_core::abi::{AbiError, AbiType, Allocator, Lifter, Lowerer};
use smcp_core::world::HostWorld;

thread_local! {
    static TYPES: Vec<AbiType> = {
        let world = HostWorld::load().unwrap();
        world.imports.iter().chain(&world.exports).flat_map(|f| f.sig.params.iter().cloned().chain(f.sig.result.clone())).collect()
    };
}

/// Guest memory with a bump allocator; `lie` makes it hand out one fixed
/// pointer instead, as a hostile `cabi_realloc` would.
struct Memory {
    bytes: Vec<u8>,
    next: u32,
    lie: Option<u32>,
}

impl Allocator for Memory {
    type Error = AbiError;

    fn realloc(&mut self, size: u32, align: u32) -> Result<u32, AbiError> {
        if let Some(ptr) = self.lie {
            return Ok(ptr);
        }
        let ptr = self.next.div_ceil(align.max(1)) * align.max(1);
        self.next = ptr.checked_add(size).ok_or(AbiError::OutputTooLarge { limit: u64::from(u32::MAX) })?;
        Ok(ptr)
    }

    fn memory(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    TYPES.with(|types| {
        let ty = &types[usize::from(data[0]) % types.len()];
        let ptr = u32::from_le_bytes([data[1], data[2], data[3], data[4]]) % (data.len() as u32 + 64);
        let lie = (data[5] & 1 == 1).then(|| u32::from(data[6]) * 8);
        let memory = &data[8..];
        // From memory, as results and indirect parameters arrive.
        if let Ok(value) = Lifter::new(memory, 1 << 20).load(ty, ptr) {
            let mut target = Memory { bytes: vec![0; memory.len() * 2 + 4096], next: 8, lie };
            let stored = Lowerer::new(&mut target)
                .alloc(ty.size(), ty.align())
                .and_then(|at| Lowerer::new(&mut target).store(ty, &value, at).map(|()| at));
            if let (Ok(at), None) = (stored, lie) {
                // Compared as text: NaN is not equal to itself.
                let back = Lifter::new(&target.bytes, u64::MAX).load(ty, at);
                assert_eq!(
                    format!("{back:?}"),
                    format!("{:?}", Ok::<_, AbiError>(&value)),
                    "round trip through memory"
                );
            }
        }
        // As flat core values, their pointers into the same memory.
        let flat: Vec<wasmi_val::Core> =
            data[8..].chunks(8).zip(ty.flat()).map(|(bytes, kind)| wasmi_val::core(kind, bytes)).collect();
        if let Ok(value) = Lifter::new(memory, 1 << 20).lift_flat(ty, &mut flat.into_iter()) {
            let mut target = Memory { bytes: vec![0; memory.len() * 2 + 4096], next: 8, lie };
            let mut lowered = Vec::new();
            if Lowerer::new(&mut target).lower_flat(ty, &value, &mut lowered).is_ok() && lie.is_none() {
                let back = Lifter::new(&target.bytes, u64::MAX).lift_flat(ty, &mut lowered.into_iter());
                assert_eq!(
                    format!("{back:?}"),
                    format!("{:?}", Ok::<_, AbiError>(&value)),
                    "round trip as flat values"
                );
            }
        }
    });
});

/// Core values from bytes, of the flat type asked for.
mod wasmi_val {
    pub use smcp_core::abi::FlatType;
    pub type Core = smcp_core::runtime::CoreVal;

    pub fn core(kind: FlatType, bytes: &[u8]) -> Core {
        let mut word = [0u8; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        let n = u64::from_le_bytes(word);
        match kind {
            FlatType::I32 => Core::I32(n as i32),
            FlatType::I64 => Core::I64(n as i64),
            FlatType::F32 => Core::F32(f32::from_bits(n as u32).into()),
            FlatType::F64 => Core::F64(f64::from_bits(n).into()),
        }
    }
}
