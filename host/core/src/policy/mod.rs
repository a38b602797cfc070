//! What may happen, as data and pure functions: a server's grant, the limits
//! of a call, the roles of principals, which network addresses are public.
//! Nothing here holds state or does IO; the layers above enforce it.

pub mod address;
pub mod grant;
mod limits;
mod role;

pub use grant::Grant;
pub use limits::Limits;
pub use role::Role;
