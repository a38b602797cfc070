//! Lifting: reading guest values out of linear memory and core values, with
//! every check the canonical ABI asks for and a byte budget on the total.

use super::{AbiError, AbiType, FlatType, Val, align_to};
use wasmi::Val as Core;

type Res<T> = Result<T, AbiError>;

/// Reads values out of a guest memory, charging every byte it copies against
/// an output budget so that a guest cannot make the host allocate without end.
pub struct Lifter<'m> {
    mem: &'m [u8],
    remaining: u64,
    limit: u64,
}

impl<'m> Lifter<'m> {
    pub fn new(mem: &'m [u8], budget: u64) -> Self {
        Lifter { mem, remaining: budget, limit: budget }
    }

    /// Bytes of the budget left after lifting.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    fn charge(&mut self, bytes: u64) -> Res<()> {
        self.remaining = self.remaining.checked_sub(bytes).ok_or(AbiError::OutputTooLarge { limit: self.limit })?;
        Ok(())
    }

    fn range(&self, ptr: u32, len: u64, align: u32) -> Res<core::ops::Range<usize>> {
        if !ptr.is_multiple_of(align) {
            return Err(AbiError::Misaligned { ptr, align });
        }
        let end = u64::from(ptr) + len;
        if end > self.mem.len() as u64 {
            return Err(AbiError::OutOfBounds { ptr, len, memory_size: self.mem.len() });
        }
        Ok(ptr as usize..end as usize)
    }

    fn read<const N: usize>(&self, ptr: u32) -> Res<[u8; N]> {
        let range = self.range(ptr, N as u64, 1)?;
        Ok(self.mem[range].try_into().expect("range has length N"))
    }

    fn u32_at(&self, ptr: u32) -> Res<u32> {
        Ok(u32::from_le_bytes(self.read(ptr)?))
    }

    /// Loads a value of type `ty` stored at `ptr`.
    pub fn load(&mut self, ty: &AbiType, ptr: u32) -> Res<Val> {
        self.range(ptr, u64::from(ty.size()), ty.align())?;
        Ok(match ty {
            AbiType::Bool => Val::Bool(self.read::<1>(ptr)?[0] != 0),
            AbiType::U8 => Val::U8(self.read::<1>(ptr)?[0]),
            AbiType::S8 => Val::S8(self.read::<1>(ptr)?[0] as i8),
            AbiType::U16 => Val::U16(u16::from_le_bytes(self.read(ptr)?)),
            AbiType::S16 => Val::S16(i16::from_le_bytes(self.read(ptr)?)),
            AbiType::U32 => Val::U32(self.u32_at(ptr)?),
            AbiType::S32 => Val::S32(i32::from_le_bytes(self.read(ptr)?)),
            AbiType::U64 => Val::U64(u64::from_le_bytes(self.read(ptr)?)),
            AbiType::S64 => Val::S64(i64::from_le_bytes(self.read(ptr)?)),
            AbiType::F32 => Val::F32(f32::from_le_bytes(self.read(ptr)?)),
            AbiType::F64 => Val::F64(f64::from_le_bytes(self.read(ptr)?)),
            AbiType::Char => char_from(self.u32_at(ptr)?)?,
            AbiType::String => self.string(self.u32_at(ptr)?, self.u32_at(ptr + 4)?)?,
            AbiType::List(elem) => self.list(elem, self.u32_at(ptr)?, self.u32_at(ptr + 4)?)?,
            AbiType::Record(fields) => {
                let mut offset = 0;
                let mut vals = Vec::with_capacity(fields.len());
                for field in fields {
                    offset = align_to(offset, field.align());
                    vals.push(self.load(field, ptr + offset)?);
                    offset += field.size();
                }
                Val::Record(vals)
            }
            AbiType::Variant(cases) => {
                let case = self.discriminant(ptr, cases.len() as u32)?;
                let payload = match &cases[case as usize] {
                    Some(payload_ty) => Some(Box::new(self.load(payload_ty, ptr + ty.payload_offset())?)),
                    None => None,
                };
                Val::Variant(case, payload)
            }
            AbiType::Enum(count) => Val::Enum(self.discriminant(ptr, *count)?),
            AbiType::Own(_) | AbiType::Borrow(_) => Val::Handle(self.u32_at(ptr)?),
            AbiType::Flags(count) => {
                let bits = match ty.size() {
                    1 => u32::from(self.read::<1>(ptr)?[0]),
                    2 => u32::from(u16::from_le_bytes(self.read(ptr)?)),
                    _ => self.u32_at(ptr)?,
                };
                flags_from(bits, *count)?
            }
        })
    }

    fn discriminant(&self, ptr: u32, cases: u32) -> Res<u32> {
        let value = match super::types::discriminant_size(cases) {
            1 => u32::from(self.read::<1>(ptr)?[0]),
            2 => u32::from(u16::from_le_bytes(self.read(ptr)?)),
            _ => self.u32_at(ptr)?,
        };
        check_case(value, cases)
    }

    fn string(&mut self, ptr: u32, len: u32) -> Res<Val> {
        let range = self.range(ptr, u64::from(len), 1)?;
        self.charge(u64::from(len))?;
        let s = core::str::from_utf8(&self.mem[range]).map_err(|_| AbiError::InvalidUtf8)?;
        Ok(Val::String(s.to_owned()))
    }

    fn list(&mut self, elem: &AbiType, ptr: u32, len: u32) -> Res<Val> {
        let elem_size = elem.size();
        let byte_len = u64::from(len) * u64::from(elem_size);
        let range = self.range(ptr, byte_len, elem.align())?;
        // Charge at least a byte per element so that empty payloads still count.
        self.charge(byte_len.max(u64::from(len)))?;
        if *elem == AbiType::U8 {
            return Ok(Val::Bytes(self.mem[range].to_vec()));
        }
        let mut items = Vec::with_capacity(len as usize);
        for i in 0..len {
            items.push(self.load(elem, ptr + i * elem_size)?);
        }
        Ok(Val::List(items))
    }

    /// Lifts a value of type `ty` from flattened core values (and the memory
    /// they point into).
    pub fn lift_flat(&mut self, ty: &AbiType, flat: &mut impl Iterator<Item = Core>) -> Res<Val> {
        let mut next = |want: FlatType| next_flat(flat, want);
        Ok(match ty {
            AbiType::Bool => Val::Bool(i32_of(next(FlatType::I32)?) != 0),
            AbiType::U8 => Val::U8(i32_of(next(FlatType::I32)?) as u8),
            AbiType::S8 => Val::S8(i32_of(next(FlatType::I32)?) as i8),
            AbiType::U16 => Val::U16(i32_of(next(FlatType::I32)?) as u16),
            AbiType::S16 => Val::S16(i32_of(next(FlatType::I32)?) as i16),
            AbiType::U32 => Val::U32(i32_of(next(FlatType::I32)?) as u32),
            AbiType::S32 => Val::S32(i32_of(next(FlatType::I32)?)),
            AbiType::U64 => Val::U64(i64_of(next(FlatType::I64)?) as u64),
            AbiType::S64 => Val::S64(i64_of(next(FlatType::I64)?)),
            AbiType::F32 => match next(FlatType::F32)? {
                Core::F32(f) => Val::F32(f.to_float()),
                _ => return Err(AbiError::FlatTypeMismatch),
            },
            AbiType::F64 => match next(FlatType::F64)? {
                Core::F64(f) => Val::F64(f.to_float()),
                _ => return Err(AbiError::FlatTypeMismatch),
            },
            AbiType::Char => char_from(i32_of(next(FlatType::I32)?) as u32)?,
            AbiType::String | AbiType::List(_) => {
                let ptr = i32_of(next(FlatType::I32)?) as u32;
                let len = i32_of(next(FlatType::I32)?) as u32;
                match ty {
                    AbiType::List(elem) => self.list(elem, ptr, len)?,
                    _ => self.string(ptr, len)?,
                }
            }
            AbiType::Record(fields) => {
                let mut vals = Vec::with_capacity(fields.len());
                for field in fields {
                    vals.push(self.lift_flat(field, flat)?);
                }
                Val::Record(vals)
            }
            AbiType::Variant(cases) => {
                let case = check_case(i32_of(next(FlatType::I32)?) as u32, cases.len() as u32)?;
                let joined = ty.joined_payload();
                let slots: Vec<Core> = (0..joined.len()).map(|i| next_flat(flat, joined[i])).collect::<Res<_>>()?;
                match &cases[case as usize] {
                    Some(payload_ty) => {
                        let coerced = payload_ty
                            .flat()
                            .into_iter()
                            .zip(slots)
                            .map(|(want, have)| from_joined(have, want))
                            .collect::<Res<Vec<_>>>()?;
                        let payload = self.lift_flat(payload_ty, &mut coerced.into_iter())?;
                        Val::Variant(case, Some(Box::new(payload)))
                    }
                    None => Val::Variant(case, None),
                }
            }
            AbiType::Enum(count) => Val::Enum(check_case(i32_of(next(FlatType::I32)?) as u32, *count)?),
            AbiType::Own(_) | AbiType::Borrow(_) => Val::Handle(i32_of(next(FlatType::I32)?) as u32),
            AbiType::Flags(count) => flags_from(i32_of(next(FlatType::I32)?) as u32, *count)?,
        })
    }
}

/// Lifts `ty` from core values alone (no memory behind them).
pub fn lift_flat(ty: &AbiType, flat: &[Core]) -> Res<Val> {
    Lifter::new(&[], 0).lift_flat(ty, &mut flat.iter().cloned())
}

fn next_flat(flat: &mut impl Iterator<Item = Core>, want: FlatType) -> Res<Core> {
    let v = flat.next().ok_or(AbiError::FlatTypeMismatch)?;
    let matches = matches!(
        (&v, want),
        (Core::I32(_), FlatType::I32)
            | (Core::I64(_), FlatType::I64)
            | (Core::F32(_), FlatType::F32)
            | (Core::F64(_), FlatType::F64)
    );
    if matches { Ok(v) } else { Err(AbiError::FlatTypeMismatch) }
}

fn i32_of(v: Core) -> i32 {
    match v {
        Core::I32(i) => i,
        _ => 0,
    }
}

fn i64_of(v: Core) -> i64 {
    match v {
        Core::I64(i) => i,
        _ => 0,
    }
}

/// Undoes the canonical ABI's `join` of variant payload slots.
fn from_joined(have: Core, want: FlatType) -> Res<Core> {
    Ok(match (have, want) {
        (Core::I32(i), FlatType::F32) => Core::F32(wasmi::F32::from_bits(i as u32)),
        (Core::I64(i), FlatType::I32) => Core::I32(u32::try_from(i).map_err(|_| AbiError::FlatTypeMismatch)? as i32),
        (Core::I64(i), FlatType::F32) => {
            let bits = u32::try_from(i).map_err(|_| AbiError::FlatTypeMismatch)?;
            Core::F32(wasmi::F32::from_bits(bits))
        }
        (Core::I64(i), FlatType::F64) => Core::F64(wasmi::F64::from_bits(i as u64)),
        (same, _) => same,
    })
}

fn check_case(value: u32, cases: u32) -> Res<u32> {
    if value < cases { Ok(value) } else { Err(AbiError::InvalidDiscriminant { value, cases }) }
}

fn char_from(code: u32) -> Res<Val> {
    char::from_u32(code).map(Val::Char).ok_or(AbiError::InvalidChar(code))
}

fn flags_from(bits: u32, count: u32) -> Res<Val> {
    if count < 32 && bits >> count != 0 {
        return Err(AbiError::InvalidFlags { bits, count });
    }
    Ok(Val::Flags(bits))
}
