//! The `[kv]` section of a grant: present, the server may use kv within
//! these bounds.

use crate::policy::section::{GrantFileError, bounded_count, bounded_size, raised, raised_size};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq)]
pub struct KvGrant {
    pub max_key_bytes: usize,
    pub max_value_bytes: usize,
    /// Most keys `list-keys` returns in one page.
    pub max_list: u32,
    /// kv operations one request may make.
    pub max_ops_per_call: u32,
}

impl KvGrant {
    /// The section as the grant file names its fields, every default
    /// filled in (the review's machine-readable form).
    pub fn to_json(&self) -> serde_json::Value {
        let KvGrant { max_key_bytes, max_value_bytes, max_list, max_ops_per_call } = self;
        serde_json::json!({
            "max_key_bytes": max_key_bytes,
            "max_value_bytes": max_value_bytes,
            "max_list": max_list,
            "max_ops_per_call": max_ops_per_call,
        })
    }
}

impl Default for KvGrant {
    fn default() -> Self {
        KvGrant { max_key_bytes: 512, max_value_bytes: 1 << 20, max_list: 1000, max_ops_per_call: 1000 }
    }
}

/// The most any `[kv]` section may ask for.
pub mod ceilings {
    pub const KEY_BYTES: u64 = 4096;
    pub const VALUE_BYTES: u64 = 25 << 20;
    pub const LIST: u64 = 10_000;
    pub const OPS_PER_CALL: u64 = 100_000;
}

/// `[kv]` as a grant file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvSection {
    max_key_bytes: Option<u64>,
    max_value_bytes: Option<u64>,
    max_list: Option<u64>,
    max_ops_per_call: Option<u64>,
}

impl KvSection {
    pub fn grant(self) -> Result<KvGrant, GrantFileError> {
        let d = KvGrant::default();
        Ok(KvGrant {
            max_key_bytes: bounded_size("kv.max_key_bytes", self.max_key_bytes, d.max_key_bytes, ceilings::KEY_BYTES)?,
            max_value_bytes: bounded_size(
                "kv.max_value_bytes",
                self.max_value_bytes,
                d.max_value_bytes,
                ceilings::VALUE_BYTES,
            )?,
            max_list: bounded_count("kv.max_list", self.max_list, d.max_list, ceilings::LIST)?,
            max_ops_per_call: bounded_count(
                "kv.max_ops_per_call",
                self.max_ops_per_call,
                d.max_ops_per_call,
                ceilings::OPS_PER_CALL,
            )?,
        })
    }
}

impl KvGrant {
    /// Adds to `out` everything `self` allows that `old` did not. Taken
    /// apart without `..`: a new field does not compile without a rule.
    pub fn widenings_from(&self, old: &KvGrant, out: &mut Vec<String>) {
        let KvGrant { max_key_bytes, max_value_bytes, max_list, max_ops_per_call } = *self;
        raised_size(out, "kv: max_key_bytes", max_key_bytes, old.max_key_bytes);
        raised_size(out, "kv: max_value_bytes", max_value_bytes, old.max_value_bytes);
        raised(out, "kv: max_list", max_list, old.max_list);
        raised(out, "kv: max_ops_per_call", max_ops_per_call, old.max_ops_per_call);
    }
}
