//! `hostile-recursion`: two kinds of unbounded recursion.
//! - `recurse`: frames live in wasm locals only, so the engine's call
//!   stack runs out (a stack-exhaustion trap).
//! - `smash`: each frame puts 1 KiB on Rust's shadow stack in linear
//!   memory; with the stack placed first in memory (Rust's layout) the
//!   stack pointer runs below address 0 and the next access traps out of
//!   bounds after about 64 frames with the default 64 KiB stack.
//!
//! Calls go through a function pointer hidden by `black_box`, and use the
//! callee's result, so the compiler cannot turn either into a loop.
//! `ping` answers `pong`.

use core::hint::black_box;

use smcp_guest::{McpServer, NoArgs, Tool, Tools};

fn deep(n: u64) -> u64 {
    let next: fn(u64) -> u64 = black_box(deep);
    next(n.wrapping_add(1)).wrapping_mul(31).wrapping_add(n)
}

fn deep_frame(n: u64) -> u64 {
    let mut frame = [0u8; 1024];
    frame[(n % 1024) as usize] = n as u8;
    let frame = black_box(&mut frame);
    let next: fn(u64) -> u64 = black_box(deep_frame);
    next(n.wrapping_add(1)).wrapping_add(u64::from(frame[(n % 7) as usize]))
}

struct Recursion;

impl McpServer for Recursion {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("recurse", |_: NoArgs| Ok(deep(0).to_string())).description("Recurses without end."))
            .tool(
                Tool::new("smash", |_: NoArgs| Ok(deep_frame(0).to_string()))
                    .description("Recurses with 1 KiB frames on the shadow stack."),
            )
            .tool(Tool::new("ping", |_: NoArgs| Ok("pong")))
    }
}

smcp_guest::export_server!(Recursion);
