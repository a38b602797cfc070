//! The `[objects]` section of a grant: present, the server may use object
//! storage within these bounds.

use crate::policy::section::{GrantFileError, bounded_count, bounded_size, raised, raised_size};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectsGrant {
    pub max_key_bytes: usize,
    pub max_object_bytes: usize,
    pub max_list: u32,
    /// Bytes one request may write, all puts together.
    pub max_bytes_written_per_call: usize,
}

impl ObjectsGrant {
    /// The section as the grant file names its fields, every default
    /// filled in (the review's machine-readable form).
    pub fn to_json(&self) -> serde_json::Value {
        let ObjectsGrant { max_key_bytes, max_object_bytes, max_list, max_bytes_written_per_call } = self;
        serde_json::json!({
            "max_key_bytes": max_key_bytes,
            "max_object_bytes": max_object_bytes,
            "max_list": max_list,
            "max_bytes_written_per_call": max_bytes_written_per_call,
        })
    }
}

impl Default for ObjectsGrant {
    fn default() -> Self {
        ObjectsGrant {
            max_key_bytes: 1024,
            max_object_bytes: 4 << 20,
            max_list: 1000,
            max_bytes_written_per_call: 64 << 20,
        }
    }
}

/// The most any `[objects]` section may ask for.
pub mod ceilings {
    pub const KEY_BYTES: u64 = 4096;
    pub const OBJECT_BYTES: u64 = 512 << 20;
    pub const LIST: u64 = 10_000;
    pub const BYTES_WRITTEN: u64 = 1 << 30;
}

/// `[objects]` as a grant file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectsSection {
    max_key_bytes: Option<u64>,
    max_object_bytes: Option<u64>,
    max_list: Option<u64>,
    max_bytes_written_per_call: Option<u64>,
}

impl ObjectsSection {
    pub fn grant(self) -> Result<ObjectsGrant, GrantFileError> {
        let d = ObjectsGrant::default();
        Ok(ObjectsGrant {
            max_key_bytes: bounded_size(
                "objects.max_key_bytes",
                self.max_key_bytes,
                d.max_key_bytes,
                ceilings::KEY_BYTES,
            )?,
            max_object_bytes: bounded_size(
                "objects.max_object_bytes",
                self.max_object_bytes,
                d.max_object_bytes,
                ceilings::OBJECT_BYTES,
            )?,
            max_list: bounded_count("objects.max_list", self.max_list, d.max_list, ceilings::LIST)?,
            max_bytes_written_per_call: bounded_size(
                "objects.max_bytes_written_per_call",
                self.max_bytes_written_per_call,
                d.max_bytes_written_per_call,
                ceilings::BYTES_WRITTEN,
            )?,
        })
    }
}

impl ObjectsGrant {
    /// Adds to `out` everything `self` allows that `old` did not. Taken
    /// apart without `..`: a new field does not compile without a rule.
    pub fn widenings_from(&self, old: &ObjectsGrant, out: &mut Vec<String>) {
        let ObjectsGrant { max_key_bytes, max_object_bytes, max_list, max_bytes_written_per_call } = *self;
        raised_size(out, "objects: max_key_bytes", max_key_bytes, old.max_key_bytes);
        raised_size(out, "objects: max_object_bytes", max_object_bytes, old.max_object_bytes);
        raised(out, "objects: max_list", max_list, old.max_list);
        let written = (max_bytes_written_per_call, old.max_bytes_written_per_call);
        raised_size(out, "objects: max_bytes_written_per_call", written.0, written.1);
    }
}
