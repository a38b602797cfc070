//! Resource handles: the per-call table that maps the guest's handle
//! indices to the host's representations, as the canonical ABI's handle
//! table does (slot 0 never used, a wrong type or an empty slot is a
//! fault), and the walk that swaps one for the other inside a value.

use super::{AbiError, AbiType, Val};

/// Handles one call may hold at once.
pub const MAX_HANDLES: usize = 1024;

/// How a handle travels: taken over (`own`) or lent (`borrow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passing {
    Own,
    Borrow,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    resource: u32,
    rep: u32,
}

/// The handles of one call's guest, every one to a host resource.
#[derive(Debug, Default)]
pub struct HandleTable {
    /// Index 0 is never handed out.
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    live: usize,
}

impl HandleTable {
    /// A new handle to host resource `rep` of type `resource`.
    pub fn insert(&mut self, resource: u32, rep: u32) -> Result<u32, AbiError> {
        if self.live >= MAX_HANDLES {
            return Err(AbiError::TooManyHandles { limit: MAX_HANDLES });
        }
        if self.slots.is_empty() {
            self.slots.push(None);
        }
        let entry = Some(Entry { resource, rep });
        let handle = match self.free.pop() {
            Some(handle) => {
                self.slots[handle as usize] = entry;
                handle
            }
            None => {
                self.slots.push(entry);
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        Ok(handle)
    }

    /// The representation behind `handle`, which must be of `resource`;
    /// an owned handle leaves the table.
    pub fn lift(&mut self, handle: u32, resource: u32, passing: Passing) -> Result<u32, AbiError> {
        let bad = AbiError::BadHandle { handle };
        let slot = self.slots.get_mut(handle as usize).filter(|_| handle != 0).ok_or(bad.clone())?;
        let entry = slot.filter(|e| e.resource == resource).ok_or(bad)?;
        if passing == Passing::Own {
            *slot = None;
            self.free.push(handle);
            self.live -= 1;
        }
        Ok(entry.rep)
    }

    /// Handles live now.
    pub fn live(&self) -> usize {
        self.live
    }
}

/// True when a value of `ty` may hold a handle.
pub fn has_handles(ty: &AbiType) -> bool {
    match ty {
        AbiType::Own(_) | AbiType::Borrow(_) => true,
        AbiType::List(t) => has_handles(t),
        AbiType::Record(fields) => fields.iter().any(has_handles),
        AbiType::Variant(cases) => cases.iter().flatten().any(has_handles),
        _ => false,
    }
}

/// Rebuilds `val` of type `ty` with every handle (or representation) in
/// it passed through `swap(passing, resource, value)`.
pub fn swap_handles(
    ty: &AbiType,
    val: Val,
    swap: &mut dyn FnMut(Passing, u32, Val) -> Result<Val, AbiError>,
) -> Result<Val, AbiError> {
    let mismatch = || AbiError::HostMismatch("value does not match its type");
    Ok(match (ty, val) {
        (AbiType::Own(resource), val) => swap(Passing::Own, *resource, val)?,
        (AbiType::Borrow(resource), val) => swap(Passing::Borrow, *resource, val)?,
        (ty, val) if !has_handles(ty) => val,
        (AbiType::List(t), Val::List(items)) => {
            Val::List(items.into_iter().map(|v| swap_handles(t, v, swap)).collect::<Result<_, _>>()?)
        }
        (AbiType::Record(fields), Val::Record(vals)) if fields.len() == vals.len() => {
            Val::Record(fields.iter().zip(vals).map(|(t, v)| swap_handles(t, v, swap)).collect::<Result<_, _>>()?)
        }
        (AbiType::Variant(cases), Val::Variant(case, payload)) => {
            let payload = match (cases.get(case as usize).ok_or_else(mismatch)?, payload) {
                (Some(t), Some(p)) => Some(Box::new(swap_handles(t, *p, swap)?)),
                (_, payload) => payload,
            };
            Val::Variant(case, payload)
        }
        _ => return Err(mismatch()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_checked_for_type_and_liveness() {
        let mut table = HandleTable::default();
        let a = table.insert(0, 7).unwrap();
        assert_ne!(a, 0, "handle 0 is never used");
        assert_eq!(table.lift(a, 0, Passing::Borrow), Ok(7));
        assert_eq!(table.lift(a, 1, Passing::Borrow), Err(AbiError::BadHandle { handle: a }), "wrong type");
        assert_eq!(table.lift(0, 0, Passing::Borrow), Err(AbiError::BadHandle { handle: 0 }));
        assert_eq!(table.lift(a, 0, Passing::Own), Ok(7));
        assert_eq!(table.lift(a, 0, Passing::Own), Err(AbiError::BadHandle { handle: a }), "double drop");
        assert_eq!(table.live(), 0);
        for i in 0..MAX_HANDLES as u32 {
            table.insert(0, i).unwrap();
        }
        assert_eq!(table.insert(0, 0), Err(AbiError::TooManyHandles { limit: MAX_HANDLES }));
    }

    #[test]
    fn handles_inside_values_are_swapped() {
        let ty = AbiType::List(Box::new(AbiType::record(vec![AbiType::U32, AbiType::Borrow(3)])));
        let val = Val::List(vec![Val::Record(vec![Val::U32(1), Val::Handle(9)])]);
        let swapped = swap_handles(&ty, val, &mut |passing, resource, val| {
            assert_eq!((passing, resource, val), (Passing::Borrow, 3, Val::Handle(9)));
            Ok(Val::Resource(90))
        });
        assert_eq!(swapped, Ok(Val::List(vec![Val::Record(vec![Val::U32(1), Val::Resource(90)])])));
    }
}
