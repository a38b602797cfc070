//! Structural bounds on each core module, checked before anything is
//! compiled: what the interpreter keeps per function, global, table and
//! segment grows with their number, so their number is bounded, sized for
//! the largest toolchain output the host runs (StarlingMonkey's JavaScript
//! engine has about 12,700 functions, CPython about 10,900; wizer writes up
//! to 10,000 data segments).

use super::LoadError;
use wasmparser::{Parser, Payload};

/// Bounds on one core module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleBounds {
    pub functions: u32,
    pub globals: u32,
    pub tables: u32,
    pub memories: u32,
    pub element_segments: u32,
    pub data_segments: u32,
    /// Parameters or results of one function type.
    pub params: usize,
}

pub const MODULE_BOUNDS: ModuleBounds = ModuleBounds {
    functions: 20_000,
    globals: 2_000,
    tables: 16,
    memories: 1,
    element_segments: 1_000,
    data_segments: 20_000,
    params: 32,
};

fn over(what: &str, count: u64, bound: u64) -> LoadError {
    LoadError::Unsupported(format!("a core module with {count} {what}, over the host's bound of {bound}"))
}

/// Checks one core module against `bounds`.
pub fn check(module: &[u8], bounds: &ModuleBounds) -> Result<(), LoadError> {
    let invalid = |e: wasmparser::BinaryReaderError| LoadError::Invalid(e.to_string());
    let (mut functions, mut globals, mut tables, mut memories) = (0u64, 0u64, 0u64, 0u64);
    for payload in Parser::new(0).parse_all(module) {
        match payload.map_err(invalid)? {
            Payload::ImportSection(reader) => {
                for import in reader {
                    match import.map_err(invalid)?.ty {
                        wasmparser::TypeRef::Func(_) => functions += 1,
                        wasmparser::TypeRef::Global(_) => globals += 1,
                        wasmparser::TypeRef::Table(_) => tables += 1,
                        wasmparser::TypeRef::Memory(_) => memories += 1,
                        wasmparser::TypeRef::Tag(_) => {}
                    }
                }
            }
            Payload::TypeSection(reader) => {
                for group in reader {
                    for ty in group.map_err(invalid)?.into_types() {
                        if let wasmparser::CompositeInnerType::Func(f) = &ty.composite_type.inner
                            && f.params().len().max(f.results().len()) > bounds.params
                        {
                            return Err(over(
                                "parameters or results in a function type",
                                f.params().len() as u64,
                                bounds.params as u64,
                            ));
                        }
                    }
                }
            }
            Payload::FunctionSection(reader) => functions += u64::from(reader.count()),
            Payload::GlobalSection(reader) => globals += u64::from(reader.count()),
            Payload::TableSection(reader) => tables += u64::from(reader.count()),
            Payload::MemorySection(reader) => memories += u64::from(reader.count()),
            Payload::ElementSection(reader) if reader.count() > bounds.element_segments => {
                return Err(over("element segments", reader.count().into(), bounds.element_segments.into()));
            }
            Payload::DataSection(reader) if reader.count() > bounds.data_segments => {
                return Err(over("data segments", reader.count().into(), bounds.data_segments.into()));
            }
            _ => {}
        }
        for (what, count, bound) in [
            ("functions", functions, bounds.functions),
            ("globals", globals, bounds.globals),
            ("tables", tables, bounds.tables),
            ("memories", memories, bounds.memories),
        ] {
            if count > u64::from(bound) {
                return Err(over(what, count, bound.into()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_over_a_bound_are_refused_before_compiling() {
        let tight = ModuleBounds { functions: 2, ..MODULE_BOUNDS };
        let three = wat::parse_str("(module (func) (func) (func))").unwrap();
        let refused = check(&three, &tight).unwrap_err();
        assert!(refused.to_string().contains("3 functions"), "{refused}");
        assert_eq!(check(&three, &MODULE_BOUNDS), Ok(()));
        let imported = wat::parse_str("(module (import \"a\" \"b\" (func)) (func) (func))").unwrap();
        assert!(check(&imported, &tight).is_err(), "imported functions count");
        let wide = format!("(module (type (func (param {}))))", "i32 ".repeat(33));
        assert!(check(&wat::parse_str(&wide).unwrap(), &MODULE_BOUNDS).is_err());
    }
}
