//! Dynamically typed component values, and accessors that turn a value of
//! the wrong shape into an [`AbiError::HostMismatch`] instead of a panic.

use super::AbiError;

/// A component value. `list<u8>` is [`Val::Bytes`] so that bodies and blobs
/// stay one allocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Bool(bool),
    U8(u8),
    S8(i8),
    U16(u16),
    S16(i16),
    U32(u32),
    S32(i32),
    U64(u64),
    S64(i64),
    F32(f32),
    F64(f64),
    Char(char),
    String(String),
    Bytes(Vec<u8>),
    List(Vec<Val>),
    Record(Vec<Val>),
    Variant(u32, Option<Box<Val>>),
    Enum(u32),
    Flags(u32),
    /// A resource handle as the guest sees it: an index into its call's
    /// handle table (what lifting and lowering deal in).
    Handle(u32),
    /// A host resource as the host sees it: its representation, which the
    /// runtime swaps for a handle on the way into the guest.
    Resource(u32),
}

type Res<T> = Result<T, AbiError>;

impl Val {
    pub fn none() -> Val {
        Val::Variant(0, None)
    }

    pub fn some(v: Val) -> Val {
        Val::Variant(1, Some(Box::new(v)))
    }

    pub fn ok(v: Option<Val>) -> Val {
        Val::Variant(0, v.map(Box::new))
    }

    pub fn err(v: Option<Val>) -> Val {
        Val::Variant(1, v.map(Box::new))
    }

    pub fn from_option<T>(v: Option<T>, f: impl FnOnce(T) -> Val) -> Val {
        v.map_or_else(Val::none, |x| Val::some(f(x)))
    }

    pub fn string(s: impl Into<String>) -> Val {
        Val::String(s.into())
    }

    pub fn into_string(self) -> Res<String> {
        match self {
            Val::String(s) => Ok(s),
            _ => Err(AbiError::HostMismatch("expected string")),
        }
    }

    pub fn into_bytes(self) -> Res<Vec<u8>> {
        match self {
            Val::Bytes(b) => Ok(b),
            _ => Err(AbiError::HostMismatch("expected list<u8>")),
        }
    }

    pub fn into_list(self) -> Res<Vec<Val>> {
        match self {
            Val::List(items) => Ok(items),
            _ => Err(AbiError::HostMismatch("expected list")),
        }
    }

    /// The fields of a record or tuple, checked for count.
    pub fn into_record<const N: usize>(self) -> Res<[Val; N]> {
        match self {
            Val::Record(fields) => fields.try_into().map_err(|_| AbiError::HostMismatch("record field count")),
            _ => Err(AbiError::HostMismatch("expected record")),
        }
    }

    pub fn into_variant(self) -> Res<(u32, Option<Val>)> {
        match self {
            Val::Variant(case, payload) => Ok((case, payload.map(|b| *b))),
            _ => Err(AbiError::HostMismatch("expected variant")),
        }
    }

    pub fn into_option(self) -> Res<Option<Val>> {
        match self.into_variant()? {
            (0, None) => Ok(None),
            (1, Some(v)) => Ok(Some(v)),
            _ => Err(AbiError::HostMismatch("expected option")),
        }
    }

    /// `Ok(payload)` or `Err(payload)` of a `result`.
    pub fn into_result(self) -> Res<Result<Option<Val>, Option<Val>>> {
        match self.into_variant()? {
            (0, v) => Ok(Ok(v)),
            (1, v) => Ok(Err(v)),
            _ => Err(AbiError::HostMismatch("expected result")),
        }
    }

    pub fn into_enum(self) -> Res<u32> {
        match self {
            Val::Enum(case) => Ok(case),
            _ => Err(AbiError::HostMismatch("expected enum")),
        }
    }

    pub fn as_bool(&self) -> Res<bool> {
        match self {
            Val::Bool(b) => Ok(*b),
            _ => Err(AbiError::HostMismatch("expected bool")),
        }
    }

    pub fn as_u32(&self) -> Res<u32> {
        match self {
            Val::U32(v) => Ok(*v),
            _ => Err(AbiError::HostMismatch("expected u32")),
        }
    }

    pub fn as_u64(&self) -> Res<u64> {
        match self {
            Val::U64(v) => Ok(*v),
            _ => Err(AbiError::HostMismatch("expected u64")),
        }
    }

    pub fn as_u16(&self) -> Res<u16> {
        match self {
            Val::U16(v) => Ok(*v),
            _ => Err(AbiError::HostMismatch("expected u16")),
        }
    }

    pub fn as_f64(&self) -> Res<f64> {
        match self {
            Val::F64(v) => Ok(*v),
            _ => Err(AbiError::HostMismatch("expected f64")),
        }
    }

    pub fn into_opt_string(self) -> Res<Option<String>> {
        self.into_option()?.map(Val::into_string).transpose()
    }
}
