//! What may happen, as data and pure functions: the limits of a call, the
//! rules every grant section is read and compared by, the roles of
//! principals, which network addresses are public. Nothing here holds
//! state or does IO; the layers above enforce it. Each capability's own
//! grant section lives in its unit (`capabilities/<name>/grant.rs`), pure
//! like this layer; the architecture test keeps them so.

pub mod address;
pub mod limits;
mod role;
pub mod section;
pub mod tasks;

pub use limits::Limits;
pub use role::Role;
pub use section::GrantFileError;
pub use tasks::TaskLimits;
