//! Round trips through a plain byte memory, and lifting from hostile bytes.

use super::*;
use crate::world::HostWorld;

/// Guest memory as a vector, with a bump allocator that can be told to lie.
struct VecMemory {
    bytes: Vec<u8>,
    next: u32,
    lie: Option<u32>,
}

impl VecMemory {
    fn new(size: usize) -> Self {
        VecMemory { bytes: vec![0; size], next: 8, lie: None }
    }
}

impl Allocator for VecMemory {
    type Error = AbiError;

    fn realloc(&mut self, size: u32, align: u32) -> Result<u32, AbiError> {
        if let Some(ptr) = self.lie {
            return Ok(ptr);
        }
        let ptr = align_to(self.next, align);
        self.next = ptr + size;
        Ok(ptr)
    }

    fn memory(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

/// A small deterministic generator, enough to cover the value space.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn value(&mut self, ty: &AbiType, depth: u32) -> Val {
        let n = self.next();
        match ty {
            AbiType::Bool => Val::Bool(n.is_multiple_of(2)),
            AbiType::U8 => Val::U8(n as u8),
            AbiType::S8 => Val::S8(n as i8),
            AbiType::U16 => Val::U16(n as u16),
            AbiType::S16 => Val::S16(n as i16),
            AbiType::U32 => Val::U32(n as u32),
            AbiType::S32 => Val::S32(n as i32),
            AbiType::U64 => Val::U64(n),
            AbiType::S64 => Val::S64(n as i64),
            AbiType::F32 => Val::F32((n % 1000) as f32 / 8.0),
            AbiType::F64 => Val::F64((n % 100_000) as f64 / 16.0),
            AbiType::Char => Val::Char(['a', 'é', '€', '😀'][(n % 4) as usize]),
            AbiType::String => Val::String("héllo ☃ ".repeat((n % 4) as usize)),
            AbiType::List(elem) if **elem == AbiType::U8 => Val::Bytes((0..n % 9).map(|i| i as u8).collect()),
            AbiType::List(elem) => {
                let len = if depth > 3 { 0 } else { n % 3 };
                Val::List((0..len).map(|_| self.value(elem, depth + 1)).collect())
            }
            AbiType::Record(fields) => Val::Record(fields.iter().map(|f| self.value(f, depth + 1)).collect()),
            AbiType::Variant(cases) => {
                let case = (n % cases.len() as u64) as u32;
                let payload = cases[case as usize].as_ref().map(|t| Box::new(self.value(t, depth + 1)));
                Val::Variant(case, payload)
            }
            AbiType::Enum(count) => Val::Enum((n % u64::from(*count)) as u32),
            AbiType::Flags(count) => Val::Flags((n as u32) & ((1u64 << count) - 1) as u32),
            AbiType::Own(_) | AbiType::Borrow(_) => Val::Handle(n as u32),
        }
    }
}

/// Every parameter and result type of the host's world.
fn world_types() -> Vec<AbiType> {
    let world = HostWorld::load().unwrap();
    world
        .imports
        .iter()
        .chain(&world.exports)
        .flat_map(|f| f.sig.params.iter().cloned().chain(f.sig.result.clone()))
        .collect()
}

#[test]
fn every_world_type_round_trips_through_memory_and_flat() {
    let mut generator = Gen(0x9e37_79b9_7f4a_7c15);
    for ty in world_types() {
        for _ in 0..20 {
            let val = generator.value(&ty, 0);
            let mut mem = VecMemory::new(1 << 16);
            let ptr = Lowerer::new(&mut mem).alloc(ty.size(), ty.align()).unwrap();
            Lowerer::new(&mut mem).store(&ty, &val, ptr).unwrap();
            let back = Lifter::new(&mem.bytes, u64::MAX).load(&ty, ptr).unwrap();
            assert_eq!(back, val, "memory round trip of {ty:?}");

            let mut flat = Vec::new();
            Lowerer::new(&mut mem).lower_flat(&ty, &val, &mut flat).unwrap();
            assert_eq!(flat.len(), ty.flat().len());
            let back = Lifter::new(&mem.bytes, u64::MAX).lift_flat(&ty, &mut flat.into_iter()).unwrap();
            assert_eq!(back, val, "flat round trip of {ty:?}");
        }
    }
}

#[test]
fn lifting_random_bytes_never_panics() {
    let mut generator = Gen(42);
    for ty in world_types() {
        for _ in 0..200 {
            let mut bytes = vec![0u8; 256];
            for b in bytes.iter_mut() {
                *b = generator.next() as u8;
            }
            // Small pointers and lengths now and then, so some lifts go deep.
            for i in (0..bytes.len()).step_by(4) {
                if generator.next().is_multiple_of(3) {
                    bytes[i..i + 4].copy_from_slice(&((generator.next() % 64) as u32).to_le_bytes());
                }
            }
            let ptr = (generator.next() % 64) as u32 & !7;
            let _ = Lifter::new(&bytes, 4096).load(&ty, ptr);
        }
    }
}

#[test]
fn out_of_bounds_string_is_an_error() {
    let mut mem = vec![0u8; 64];
    mem[0..4].copy_from_slice(&60u32.to_le_bytes());
    mem[4..8].copy_from_slice(&10u32.to_le_bytes());
    let err = Lifter::new(&mem, 1 << 20).load(&AbiType::String, 0).unwrap_err();
    assert!(matches!(err, AbiError::OutOfBounds { ptr: 60, len: 10, .. }), "{err}");
}

#[test]
fn invalid_utf8_is_an_error() {
    let mut mem = vec![0u8; 64];
    mem[0..4].copy_from_slice(&16u32.to_le_bytes());
    mem[4..8].copy_from_slice(&2u32.to_le_bytes());
    mem[16..18].copy_from_slice(&[0xc3, 0x28]);
    assert_eq!(Lifter::new(&mem, 1 << 20).load(&AbiType::String, 0), Err(AbiError::InvalidUtf8));
}

#[test]
fn misaligned_list_is_an_error() {
    let ty = AbiType::List(Box::new(AbiType::U32));
    let mut mem = vec![0u8; 64];
    mem[0..4].copy_from_slice(&17u32.to_le_bytes());
    mem[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert_eq!(Lifter::new(&mem, 1 << 20).load(&ty, 0), Err(AbiError::Misaligned { ptr: 17, align: 4 }));
}

#[test]
fn huge_list_length_is_refused_before_reading() {
    let ty = AbiType::List(Box::new(AbiType::U64));
    let mut mem = vec![0u8; 64];
    mem[0..4].copy_from_slice(&8u32.to_le_bytes());
    mem[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(Lifter::new(&mem, 1 << 20).load(&ty, 0), Err(AbiError::OutOfBounds { .. })));
}

#[test]
fn output_budget_is_enforced() {
    let mut mem = vec![b'x'; 4096];
    mem[0..4].copy_from_slice(&16u32.to_le_bytes());
    mem[4..8].copy_from_slice(&4000u32.to_le_bytes());
    assert_eq!(Lifter::new(&mem, 1000).load(&AbiType::String, 0), Err(AbiError::OutputTooLarge { limit: 1000 }));
}

#[test]
fn bad_discriminant_char_and_flags_are_errors() {
    let mem = [7u8, 0, 0, 0, 0, 0, 0xd8, 0];
    let opt = AbiType::option(AbiType::U8);
    assert_eq!(Lifter::new(&mem, 64).load(&opt, 0), Err(AbiError::InvalidDiscriminant { value: 7, cases: 2 }));
    assert_eq!(Lifter::new(&mem, 64).load(&AbiType::Char, 4), Err(AbiError::InvalidChar(0xd80000)));
    assert!(matches!(Lifter::new(&mem, 64).load(&AbiType::Flags(2), 0), Err(AbiError::InvalidFlags { .. })));
}

#[test]
fn lying_realloc_is_caught_before_writing() {
    let mut mem = VecMemory::new(256);
    mem.lie = Some(250);
    let err = Lowerer::new(&mut mem).store(&AbiType::String, &Val::string("0123456789"), 0).unwrap_err();
    assert!(matches!(err, AbiError::BadRealloc { problem: "out of bounds", .. }), "{err}");
    mem.lie = Some(3);
    let list = AbiType::List(Box::new(AbiType::U32));
    let err = Lowerer::new(&mut mem).store(&list, &Val::List(vec![Val::U32(1)]), 0).unwrap_err();
    assert!(matches!(err, AbiError::BadRealloc { problem: "misaligned", .. }), "{err}");
    assert!(mem.bytes[250..].iter().all(|b| *b == 0), "nothing written past the lie");
}

#[test]
fn return_area_outside_memory_is_refused() {
    let mut mem = VecMemory::new(64);
    let err = Lowerer::new(&mut mem).store(&AbiType::U64, &Val::U64(1), 64).unwrap_err();
    assert!(matches!(err, AbiError::OutOfBounds { .. }));
}
