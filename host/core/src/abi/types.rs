//! Canonical ABI types with their layout and flattening, computed once.

use super::align_to;

/// The core wasm type of one flattened value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlatType {
    I32,
    I64,
    F32,
    F64,
}

impl FlatType {
    /// The canonical ABI's `join` for variant payloads sharing a slot.
    fn join(self, other: FlatType) -> FlatType {
        match (self, other) {
            (a, b) if a == b => a,
            (FlatType::I32, FlatType::F32) | (FlatType::F32, FlatType::I32) => FlatType::I32,
            _ => FlatType::I64,
        }
    }
}

/// A component value type. Tuples are records, `option` and `result` are
/// variants, exactly as the canonical ABI defines them.
#[derive(Debug, Clone, PartialEq)]
pub enum AbiType {
    Bool,
    U8,
    S8,
    U16,
    S16,
    U32,
    S32,
    U64,
    S64,
    F32,
    F64,
    Char,
    String,
    List(Box<AbiType>),
    Record(Vec<AbiType>),
    /// Cases with optional payloads.
    Variant(Vec<Option<AbiType>>),
    Enum(u32),
    /// Up to 32 flags.
    Flags(u32),
    /// A handle to a host resource the callee takes over: the resource
    /// type's index in the host's world.
    Own(u32),
    /// A handle to a host resource lent for the call.
    Borrow(u32),
}

impl AbiType {
    pub fn option(inner: AbiType) -> AbiType {
        AbiType::Variant(vec![None, Some(inner)])
    }

    pub fn result(ok: Option<AbiType>, err: Option<AbiType>) -> AbiType {
        AbiType::Variant(vec![ok, err])
    }

    pub fn size(&self) -> u32 {
        self.layout().0
    }

    pub fn align(&self) -> u32 {
        self.layout().1
    }

    /// Size and alignment in one pass over the type: lifting and lowering
    /// ask for them at every level, and computing each from the other
    /// recursively made that quadratic in the depth of a type.
    pub fn layout(&self) -> (u32, u32) {
        match self {
            AbiType::Bool | AbiType::U8 | AbiType::S8 => (1, 1),
            AbiType::U16 | AbiType::S16 => (2, 2),
            AbiType::U32 | AbiType::S32 | AbiType::F32 | AbiType::Char | AbiType::Own(_) | AbiType::Borrow(_) => (4, 4),
            AbiType::U64 | AbiType::S64 | AbiType::F64 => (8, 8),
            AbiType::String | AbiType::List(_) => (8, 4),
            AbiType::Record(fields) => {
                let (mut size, mut align) = (0, 1);
                for field in fields {
                    let (field_size, field_align) = field.layout();
                    size = align_to(size, field_align) + field_size;
                    align = align.max(field_align);
                }
                (align_to(size, align), align)
            }
            AbiType::Variant(cases) => {
                let (mut payload_size, mut payload_align) = (0, 1);
                for (case_size, case_align) in cases.iter().flatten().map(AbiType::layout) {
                    payload_size = payload_size.max(case_size);
                    payload_align = payload_align.max(case_align);
                }
                let discriminant = discriminant_size(cases.len() as u32);
                let align = discriminant.max(payload_align);
                (align_to(align_to(discriminant, payload_align) + payload_size, align), align)
            }
            AbiType::Enum(count) => {
                let size = discriminant_size(*count);
                (size, size)
            }
            AbiType::Flags(count) => {
                let size = flags_size(*count);
                (size, size)
            }
        }
    }

    /// Offset of a variant's payload after its discriminant.
    pub fn payload_offset(&self) -> u32 {
        match self {
            AbiType::Variant(cases) => {
                let payload_align = cases.iter().flatten().map(AbiType::align).max().unwrap_or(1);
                align_to(discriminant_size(cases.len() as u32), payload_align)
            }
            _ => 0,
        }
    }

    /// The core values this type flattens to.
    pub fn flat(&self) -> Vec<FlatType> {
        let mut out = Vec::new();
        self.push_flat(&mut out);
        out
    }

    fn push_flat(&self, out: &mut Vec<FlatType>) {
        match self {
            AbiType::U64 | AbiType::S64 => out.push(FlatType::I64),
            AbiType::F32 => out.push(FlatType::F32),
            AbiType::F64 => out.push(FlatType::F64),
            AbiType::String | AbiType::List(_) => out.extend([FlatType::I32, FlatType::I32]),
            AbiType::Record(fields) => fields.iter().for_each(|f| f.push_flat(out)),
            AbiType::Variant(cases) => {
                out.push(FlatType::I32);
                let mut joined: Vec<FlatType> = Vec::new();
                for case in cases.iter().flatten() {
                    for (i, flat) in case.flat().into_iter().enumerate() {
                        match joined.get_mut(i) {
                            Some(slot) => *slot = slot.join(flat),
                            None => joined.push(flat),
                        }
                    }
                }
                out.extend(joined);
            }
            _ => out.push(FlatType::I32),
        }
    }
}

pub(crate) fn discriminant_size(cases: u32) -> u32 {
    match cases {
        0..=0x100 => 1,
        0x101..=0x1_0000 => 2,
        _ => 4,
    }
}

fn flags_size(count: u32) -> u32 {
    match count {
        0..=8 => 1,
        9..=16 => 2,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_layouts() {
        assert_eq!((AbiType::Bool.size(), AbiType::Bool.align()), (1, 1));
        assert_eq!((AbiType::U64.size(), AbiType::U64.align()), (8, 8));
        assert_eq!((AbiType::String.size(), AbiType::String.align()), (8, 4));
    }

    #[test]
    fn record_pads_fields_and_tail() {
        let rec = AbiType::Record(vec![AbiType::U8, AbiType::U32, AbiType::U8]);
        assert_eq!((rec.size(), rec.align()), (12, 4));
    }

    #[test]
    fn option_of_string_layout_and_flat() {
        let opt = AbiType::option(AbiType::String);
        assert_eq!((opt.size(), opt.align(), opt.payload_offset()), (12, 4, 4));
        assert_eq!(opt.flat(), vec![FlatType::I32; 3]);
    }

    #[test]
    fn option_u64_aligns_payload_to_eight() {
        let opt = AbiType::option(AbiType::U64);
        assert_eq!((opt.size(), opt.align(), opt.payload_offset()), (16, 8, 8));
        assert_eq!(opt.flat(), vec![FlatType::I32, FlatType::I64]);
    }

    #[test]
    fn variant_joins_payload_slots() {
        let v = AbiType::Variant(vec![Some(AbiType::F32), Some(AbiType::U32), Some(AbiType::F64)]);
        assert_eq!(v.flat(), vec![FlatType::I32, FlatType::I64]);
        let w = AbiType::Variant(vec![Some(AbiType::F32), Some(AbiType::U32)]);
        assert_eq!(w.flat(), vec![FlatType::I32, FlatType::I32]);
    }

    #[test]
    fn discriminants_grow_with_case_count() {
        assert_eq!(AbiType::Enum(2).size(), 1);
        assert_eq!(AbiType::Enum(300).size(), 2);
        assert_eq!(AbiType::Flags(9).size(), 2);
    }
}
