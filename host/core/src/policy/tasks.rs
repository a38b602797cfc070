//! The `[tasks]` section of a grant: present, the tools a component lists
//! in `task-tools` may run as MCP tasks, within these bounds. Absent, every
//! tool runs within its request (deny by default: a task holds stored
//! state and runs longer than a call).

use super::section::{GrantFileError, bounded, bounded_count, raised};
use serde::Deserialize;

/// What a server's tasks may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskLimits {
    /// Fuel one task may burn over all its checkpoints (each checkpoint
    /// is also held to the call's `limits.fuel`).
    pub fuel: u64,
    /// Time one task may run, its checkpoints together; waiting for the
    /// client's input is not counted.
    pub wall_time_ms: u64,
    /// How long a task stays readable after it was created.
    pub ttl_ms: u64,
    /// Tasks one principal may hold at once (created and not yet expired).
    pub per_principal: u32,
}

impl TaskLimits {
    /// Ten calls' fuel, five minutes of running, an hour to read the
    /// result, sixteen tasks per principal.
    pub const DEFAULT: TaskLimits =
        TaskLimits { fuel: 1_000_000_000, wall_time_ms: 5 * 60 * 1000, ttl_ms: 60 * 60 * 1000, per_principal: 16 };

    /// The section as the grant file names its fields.
    pub fn to_json(&self) -> serde_json::Value {
        let TaskLimits { fuel, wall_time_ms, ttl_ms, per_principal } = self;
        serde_json::json!({
            "fuel": fuel,
            "wall_time_ms": wall_time_ms,
            "ttl_ms": ttl_ms,
            "per_principal": per_principal,
        })
    }

    /// Adds to `out` every bound `self` raises over `old`.
    pub fn widenings_from(&self, old: &TaskLimits, out: &mut Vec<String>) {
        let TaskLimits { fuel, wall_time_ms, ttl_ms, per_principal } = *self;
        raised(out, "tasks: fuel", fuel, old.fuel);
        raised(out, "tasks: wall_time_ms", wall_time_ms, old.wall_time_ms);
        raised(out, "tasks: ttl_ms", ttl_ms, old.ttl_ms);
        raised(out, "tasks: per_principal", per_principal, old.per_principal);
    }
}

/// The most any grant's `[tasks]` may ask for.
pub mod ceilings {
    pub const FUEL: u64 = 100_000_000_000;
    pub const WALL_TIME_MS: u64 = 60 * 60 * 1000;
    pub const TTL_MS: u64 = 7 * 24 * 60 * 60 * 1000;
    pub const PER_PRINCIPAL: u64 = 1000;
}

/// `[tasks]` as a grant file writes it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TasksSection {
    fuel: Option<u64>,
    wall_time_ms: Option<u64>,
    ttl_ms: Option<u64>,
    per_principal: Option<u64>,
}

impl TasksSection {
    pub fn grant(self) -> Result<TaskLimits, GrantFileError> {
        let d = TaskLimits::DEFAULT;
        let limits = TaskLimits {
            fuel: bounded("tasks.fuel", self.fuel, d.fuel, ceilings::FUEL)?,
            wall_time_ms: bounded("tasks.wall_time_ms", self.wall_time_ms, d.wall_time_ms, ceilings::WALL_TIME_MS)?,
            ttl_ms: bounded("tasks.ttl_ms", self.ttl_ms, d.ttl_ms, ceilings::TTL_MS)?,
            per_principal: bounded_count(
                "tasks.per_principal",
                self.per_principal,
                d.per_principal,
                ceilings::PER_PRINCIPAL,
            )?,
        };
        let positive = |field, value: u64| match value {
            0 => Err(GrantFileError::Invalid { field, why: "must be above 0".into() }),
            _ => Ok(()),
        };
        positive("tasks.fuel", limits.fuel)?;
        positive("tasks.wall_time_ms", limits.wall_time_ms)?;
        positive("tasks.per_principal", u64::from(limits.per_principal))?;
        // A task must stay readable for as long as it may run.
        if limits.ttl_ms < limits.wall_time_ms {
            return Err(GrantFileError::Invalid {
                field: "tasks.ttl_ms",
                why: "must be at least tasks.wall_time_ms".into(),
            });
        }
        Ok(limits)
    }
}
