//! Canonical ABI types with their layout and flattening, computed once.

use super::align_to;

/// The core wasm type of one flattened value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
///
/// A record or variant is serialized as its items alone: its layout is
/// always worked out by [`Composite::record`] and [`Composite::variant`],
/// never read from data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// Made by [`AbiType::record`].
    Record(#[serde(deserialize_with = "Composite::deserialize_record")] Composite<AbiType>),
    /// Cases with optional payloads; made by [`AbiType::variant`].
    Variant(#[serde(deserialize_with = "Composite::deserialize_variant")] Composite<Option<AbiType>>),
    Enum(u32),
    /// Up to 32 flags.
    Flags(u32),
    /// A handle to a host resource the callee takes over: the resource
    /// type's index in the host's world.
    Own(u32),
    /// A handle to a host resource lent for the call.
    Borrow(u32),
}

/// The fields of a record or the cases of a variant, with the layout and
/// flattening worked out when the type is made: every call's lifting and
/// lowering asks for them at every level of every value.
#[derive(Debug, Clone, PartialEq)]
pub struct Composite<T> {
    items: Vec<T>,
    size: u32,
    align: u32,
    /// Variants: where the payload starts, after the discriminant.
    payload_offset: u32,
    /// The core values the type flattens to.
    flat: Vec<FlatType>,
}

impl<T> core::ops::Deref for Composite<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<'a, T> IntoIterator for &'a Composite<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl Composite<AbiType> {
    fn record(fields: Vec<AbiType>) -> Composite<AbiType> {
        let (mut size, mut align) = (0, 1);
        for field in &fields {
            let (field_size, field_align) = field.layout();
            size = align_to(size, field_align) + field_size;
            align = align.max(field_align);
        }
        let mut flat = Vec::new();
        fields.iter().for_each(|f| f.push_flat(&mut flat));
        Composite { items: fields, size: align_to(size, align), align, payload_offset: 0, flat }
    }

    fn deserialize_record<'de, D: serde::Deserializer<'de>>(fields: D) -> Result<Self, D::Error> {
        serde::Deserialize::deserialize(fields).map(Composite::record)
    }
}

impl Composite<Option<AbiType>> {
    fn variant(cases: Vec<Option<AbiType>>) -> Composite<Option<AbiType>> {
        let (mut payload_size, mut payload_align) = (0, 1);
        for (case_size, case_align) in cases.iter().flatten().map(AbiType::layout) {
            payload_size = payload_size.max(case_size);
            payload_align = payload_align.max(case_align);
        }
        let discriminant = discriminant_size(cases.len() as u32);
        let align = discriminant.max(payload_align);
        let payload_offset = align_to(discriminant, payload_align);
        let size = align_to(payload_offset + payload_size, align);
        // The discriminant, then each payload slot joined over the cases.
        let mut flat = vec![FlatType::I32];
        for case in cases.iter().flatten() {
            for (i, one) in case.flat().into_iter().enumerate() {
                match flat.get_mut(i + 1) {
                    Some(slot) => *slot = slot.join(one),
                    None => flat.push(one),
                }
            }
        }
        Composite { items: cases, size, align, payload_offset, flat }
    }

    fn deserialize_variant<'de, D: serde::Deserializer<'de>>(cases: D) -> Result<Self, D::Error> {
        serde::Deserialize::deserialize(cases).map(Composite::variant)
    }
}

/// Only the items: the layout follows from them.
impl<T: serde::Serialize> serde::Serialize for Composite<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(serializer)
    }
}

impl AbiType {
    pub fn record(fields: Vec<AbiType>) -> AbiType {
        AbiType::Record(Composite::record(fields))
    }

    pub fn variant(cases: Vec<Option<AbiType>>) -> AbiType {
        AbiType::Variant(Composite::variant(cases))
    }

    pub fn option(inner: AbiType) -> AbiType {
        AbiType::variant(vec![None, Some(inner)])
    }

    pub fn result(ok: Option<AbiType>, err: Option<AbiType>) -> AbiType {
        AbiType::variant(vec![ok, err])
    }

    pub fn size(&self) -> u32 {
        self.layout().0
    }

    pub fn align(&self) -> u32 {
        self.layout().1
    }

    /// Size and alignment: a record's or variant's were worked out when it
    /// was made.
    pub fn layout(&self) -> (u32, u32) {
        match self {
            AbiType::Bool | AbiType::U8 | AbiType::S8 => (1, 1),
            AbiType::U16 | AbiType::S16 => (2, 2),
            AbiType::U32 | AbiType::S32 | AbiType::F32 | AbiType::Char | AbiType::Own(_) | AbiType::Borrow(_) => (4, 4),
            AbiType::U64 | AbiType::S64 | AbiType::F64 => (8, 8),
            AbiType::String | AbiType::List(_) => (8, 4),
            AbiType::Record(fields) => (fields.size, fields.align),
            AbiType::Variant(cases) => (cases.size, cases.align),
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
            AbiType::Variant(cases) => cases.payload_offset,
            _ => 0,
        }
    }

    /// A variant's payload slots, each joined over its cases (what follows
    /// the discriminant in [`flat`](Self::flat)); empty for other types.
    pub fn joined_payload(&self) -> &[FlatType] {
        match self {
            AbiType::Variant(cases) => &cases.flat[1..],
            _ => &[],
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
            AbiType::Record(Composite { flat, .. }) | AbiType::Variant(Composite { flat, .. }) => {
                out.extend_from_slice(flat)
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
        let rec = AbiType::record(vec![AbiType::U8, AbiType::U32, AbiType::U8]);
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
        let v = AbiType::variant(vec![Some(AbiType::F32), Some(AbiType::U32), Some(AbiType::F64)]);
        assert_eq!(v.flat(), vec![FlatType::I32, FlatType::I64]);
        let w = AbiType::variant(vec![Some(AbiType::F32), Some(AbiType::U32)]);
        assert_eq!(w.flat(), vec![FlatType::I32, FlatType::I32]);
    }

    #[test]
    fn discriminants_grow_with_case_count() {
        assert_eq!(AbiType::Enum(2).size(), 1);
        assert_eq!(AbiType::Enum(300).size(), 2);
        assert_eq!(AbiType::Flags(9).size(), 2);
    }
}
