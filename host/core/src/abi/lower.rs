//! Lowering: writing host values into guest memory (allocating through the
//! guest's `cabi_realloc`) and into core values.

use super::{AbiError, AbiType, FlatType, Val, align_to};
use wasmi::Val as Core;

/// Guest memory the host may write, and the guest's allocator.
pub trait Allocator {
    type Error: From<AbiError>;

    /// Calls the guest's `cabi_realloc(0, 0, align, size)` and returns the
    /// pointer unchecked: [`Lowerer`] checks it.
    fn realloc(&mut self, size: u32, align: u32) -> Result<u32, Self::Error>;

    /// The guest memory as it is now (an allocation may have grown it).
    fn memory(&mut self) -> &mut [u8];
}

/// Writes values into a guest through an [`Allocator`].
pub struct Lowerer<'a, A: Allocator> {
    alloc: &'a mut A,
}

impl<'a, A: Allocator> Lowerer<'a, A> {
    pub fn new(alloc: &'a mut A) -> Self {
        Lowerer { alloc }
    }

    /// Allocates `size` bytes aligned to `align` and checks what the guest
    /// returned: a lying allocator is an error, not a write out of bounds.
    pub fn alloc(&mut self, size: u32, align: u32) -> Result<u32, A::Error> {
        let ptr = self.alloc.realloc(size, align)?;
        let bad = |problem| AbiError::BadRealloc { ptr, size, align, problem };
        if ptr % align != 0 {
            return Err(bad("misaligned").into());
        }
        if u64::from(ptr) + u64::from(size) > self.alloc.memory().len() as u64 {
            return Err(bad("out of bounds").into());
        }
        Ok(ptr)
    }

    /// The byte range `[ptr, ptr + len)`, checked against memory and `align`.
    fn checked(&mut self, ptr: u32, len: u32, align: u32) -> Result<core::ops::Range<usize>, AbiError> {
        if !ptr.is_multiple_of(align) {
            return Err(AbiError::Misaligned { ptr, align });
        }
        let memory_size = self.alloc.memory().len();
        let end = u64::from(ptr) + u64::from(len);
        if end > memory_size as u64 {
            return Err(AbiError::OutOfBounds { ptr, len: u64::from(len), memory_size });
        }
        Ok(ptr as usize..end as usize)
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), AbiError> {
        let range = self.checked(ptr, bytes.len() as u32, 1)?;
        self.alloc.memory()[range].copy_from_slice(bytes);
        Ok(())
    }

    /// Stores `val` of type `ty` at `ptr` (a return area the guest named, or
    /// memory the host allocated), checking the whole area first.
    pub fn store(&mut self, ty: &AbiType, val: &Val, ptr: u32) -> Result<(), A::Error> {
        self.checked(ptr, ty.size(), ty.align())?;
        let mismatch = || AbiError::HostMismatch("value does not match its type");
        match (ty, val) {
            (AbiType::Bool, Val::Bool(b)) => self.write(ptr, &[u8::from(*b)])?,
            (AbiType::U8, Val::U8(v)) => self.write(ptr, &[*v])?,
            (AbiType::S8, Val::S8(v)) => self.write(ptr, &v.to_le_bytes())?,
            (AbiType::U16, Val::U16(v)) => self.write(ptr, &v.to_le_bytes())?,
            (AbiType::S16, Val::S16(v)) => self.write(ptr, &v.to_le_bytes())?,
            (AbiType::U32, Val::U32(v)) => self.write(ptr, &v.to_le_bytes())?,
            (AbiType::S32, Val::S32(v)) => self.write(ptr, &v.to_le_bytes())?,
            (AbiType::U64, Val::U64(v)) => self.write(ptr, &v.to_le_bytes())?,
            (AbiType::S64, Val::S64(v)) => self.write(ptr, &v.to_le_bytes())?,
            (AbiType::F32, Val::F32(v)) => self.write(ptr, &v.to_le_bytes())?,
            (AbiType::F64, Val::F64(v)) => self.write(ptr, &v.to_le_bytes())?,
            (AbiType::Char, Val::Char(c)) => self.write(ptr, &u32::from(*c).to_le_bytes())?,
            (AbiType::String | AbiType::List(_), _) => {
                let (data, len) = self.lower_list(ty, val)?;
                self.write(ptr, &data.to_le_bytes())?;
                self.write(ptr + 4, &len.to_le_bytes())?;
            }
            (AbiType::Record(fields), Val::Record(vals)) if fields.len() == vals.len() => {
                let mut offset = 0;
                for (field, v) in fields.iter().zip(vals) {
                    offset = align_to(offset, field.align());
                    self.store(field, v, ptr + offset)?;
                    offset += field.size();
                }
            }
            (AbiType::Variant(cases), Val::Variant(case, payload)) => {
                let case_ty = cases.get(*case as usize).ok_or_else(mismatch)?;
                self.write_discriminant(ptr, *case, cases.len() as u32)?;
                match (case_ty, payload) {
                    (Some(t), Some(p)) => self.store(t, p, ptr + ty.payload_offset())?,
                    (None, None) => {}
                    _ => return Err(mismatch().into()),
                }
            }
            (AbiType::Enum(count), Val::Enum(case)) if case < count => self.write_discriminant(ptr, *case, *count)?,
            (AbiType::Own(_) | AbiType::Borrow(_), Val::Handle(handle)) => self.write(ptr, &handle.to_le_bytes())?,
            (AbiType::Flags(_), Val::Flags(bits)) => {
                let bytes = bits.to_le_bytes();
                self.write(ptr, &bytes[..ty.size() as usize])?
            }
            _ => return Err(mismatch().into()),
        }
        Ok(())
    }

    fn write_discriminant(&mut self, ptr: u32, case: u32, cases: u32) -> Result<(), AbiError> {
        let bytes = case.to_le_bytes();
        self.write(ptr, &bytes[..super::types::discriminant_size(cases) as usize])
    }

    /// Copies a string or list into freshly allocated guest memory and
    /// returns its (pointer, length).
    fn lower_list(&mut self, ty: &AbiType, val: &Val) -> Result<(u32, u32), A::Error> {
        let mismatch = || AbiError::HostMismatch("value does not match its type");
        let bytes: &[u8] = match (ty, val) {
            (AbiType::String, Val::String(s)) => s.as_bytes(),
            (AbiType::List(elem), Val::Bytes(b)) if **elem == AbiType::U8 => b,
            (AbiType::List(elem), Val::List(items)) => {
                let len = u32::try_from(items.len()).map_err(|_| mismatch())?;
                let size = elem.size().checked_mul(len).ok_or_else(mismatch)?;
                let ptr = self.alloc(size, elem.align())?;
                for (i, item) in items.iter().enumerate() {
                    self.store(elem, item, ptr + i as u32 * elem.size())?;
                }
                return Ok((ptr, len));
            }
            _ => return Err(mismatch().into()),
        };
        let len = u32::try_from(bytes.len()).map_err(|_| mismatch())?;
        let ptr = self.alloc(len, 1)?;
        self.write(ptr, bytes)?;
        Ok((ptr, len))
    }

    /// Flattens `val` into core values, allocating strings and lists.
    pub fn lower_flat(&mut self, ty: &AbiType, val: &Val, out: &mut Vec<Core>) -> Result<(), A::Error> {
        match (ty, val) {
            (AbiType::String | AbiType::List(_), _) => {
                let (ptr, len) = self.lower_list(ty, val)?;
                out.extend([Core::I32(ptr as i32), Core::I32(len as i32)]);
            }
            (AbiType::Record(fields), Val::Record(vals)) if fields.len() == vals.len() => {
                for (field, v) in fields.iter().zip(vals) {
                    self.lower_flat(field, v, out)?;
                }
            }
            (AbiType::Variant(cases), Val::Variant(case, payload)) => {
                let mismatch = || AbiError::HostMismatch("variant case");
                let case_ty = cases.get(*case as usize).ok_or_else(mismatch)?;
                out.push(Core::I32(*case as i32));
                let joined = ty.joined_payload();
                let mut payload_flat = Vec::new();
                match (case_ty, payload) {
                    (Some(t), Some(p)) => self.lower_flat(t, p, &mut payload_flat)?,
                    (None, None) => {}
                    _ => return Err(mismatch().into()),
                }
                for (i, slot) in joined.iter().enumerate() {
                    out.push(match payload_flat.get(i) {
                        Some(v) => to_joined(v.clone(), *slot),
                        None => zero(*slot),
                    });
                }
            }
            _ => out.push(scalar_flat(ty, val)?),
        }
        Ok(())
    }
}

/// Flattens a value that needs no memory (scalars, and records or variants
/// of scalars) without an allocator.
pub fn lower_flat(ty: &AbiType, val: &Val) -> Result<Vec<Core>, AbiError> {
    struct NoMemory;
    impl Allocator for NoMemory {
        type Error = AbiError;
        fn realloc(&mut self, _: u32, _: u32) -> Result<u32, AbiError> {
            Err(AbiError::HostMismatch("this value needs guest memory"))
        }
        fn memory(&mut self) -> &mut [u8] {
            &mut []
        }
    }
    let mut out = Vec::new();
    Lowerer::new(&mut NoMemory).lower_flat(ty, val, &mut out)?;
    Ok(out)
}

fn scalar_flat(ty: &AbiType, val: &Val) -> Result<Core, AbiError> {
    Ok(match (ty, val) {
        (AbiType::Bool, Val::Bool(b)) => Core::I32(i32::from(*b)),
        (AbiType::U8, Val::U8(v)) => Core::I32(i32::from(*v)),
        (AbiType::S8, Val::S8(v)) => Core::I32(i32::from(*v)),
        (AbiType::U16, Val::U16(v)) => Core::I32(i32::from(*v)),
        (AbiType::S16, Val::S16(v)) => Core::I32(i32::from(*v)),
        (AbiType::U32, Val::U32(v)) => Core::I32(*v as i32),
        (AbiType::S32, Val::S32(v)) => Core::I32(*v),
        (AbiType::U64, Val::U64(v)) => Core::I64(*v as i64),
        (AbiType::S64, Val::S64(v)) => Core::I64(*v),
        (AbiType::F32, Val::F32(v)) => Core::F32(wasmi::F32::from_float(*v)),
        (AbiType::F64, Val::F64(v)) => Core::F64(wasmi::F64::from_float(*v)),
        (AbiType::Char, Val::Char(c)) => Core::I32(u32::from(*c) as i32),
        (AbiType::Enum(count), Val::Enum(case)) if case < count => Core::I32(*case as i32),
        (AbiType::Flags(_), Val::Flags(bits)) => Core::I32(*bits as i32),
        (AbiType::Own(_) | AbiType::Borrow(_), Val::Handle(handle)) => Core::I32(*handle as i32),
        _ => return Err(AbiError::HostMismatch("value does not match its type")),
    })
}

/// The canonical ABI's coercion of a payload value into a joined slot.
fn to_joined(v: Core, slot: FlatType) -> Core {
    match (v, slot) {
        (Core::F32(f), FlatType::I32) => Core::I32(f.to_bits() as i32),
        (Core::I32(i), FlatType::I64) => Core::I64(i64::from(i as u32)),
        (Core::F32(f), FlatType::I64) => Core::I64(i64::from(f.to_bits())),
        (Core::F64(f), FlatType::I64) => Core::I64(f.to_bits() as i64),
        (same, _) => same,
    }
}

fn zero(slot: FlatType) -> Core {
    match slot {
        FlatType::I32 => Core::I32(0),
        FlatType::I64 => Core::I64(0),
        FlatType::F32 => Core::F32(wasmi::F32::from_bits(0)),
        FlatType::F64 => Core::F64(wasmi::F64::from_bits(0)),
    }
}
