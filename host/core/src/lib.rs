pub mod abi;
pub mod component;
pub mod runtime;
pub mod world;
