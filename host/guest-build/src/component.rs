//! Turning core modules into components, and reading a component's world
//! back. Components get no WASI adapter: a guest imports the host's WIT and
//! nothing else, so its import list is the whole truth about what it can reach.

use std::path::Path;

use anyhow::{Context, Result, bail};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::decoding::{DecodedWasm, decode};
use wit_parser::{Resolve, WorldItem, WorldKey};

/// The world every guest is built against, in the host's `wit/` directory.
pub const WORLD: &str = "mcp-server";

/// A core module with `component-type` metadata (as wit-bindgen emits it)
/// made into a validated component.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>> {
    ComponentEncoder::default()
        .validate(true)
        .module(core)
        .context("reading the core module's component-type metadata")?
        .encode()
        .context("encoding the component")
}

/// Adds `component-type` metadata for the world [`WORLD`] of the WIT
/// package in `wit_dir` to a core module that has none (a hand-written
/// one), as `wasm-tools component embed` would.
pub fn embed_world(core: &mut Vec<u8>, wit_dir: &Path) -> Result<()> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_dir(wit_dir).with_context(|| format!("parsing {}", wit_dir.display()))?;
    let world = resolve.select_world(&[package], Some(WORLD))?;
    wit_component::embed_component_metadata(core, &resolve, world, StringEncoding::UTF8, false)
}

/// The interfaces a component imports and exports, as `pkg:name/iface@ver`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorldSummary {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

impl WorldSummary {
    /// Reads the world of a component.
    pub fn of(component: &[u8]) -> Result<Self> {
        let DecodedWasm::Component(resolve, world) = decode(component).context("decoding the component")? else {
            bail!("a WIT package, not a component");
        };
        let world = &resolve.worlds[world];
        let names = |items: &wit_parser::IndexMap<WorldKey, WorldItem>| -> Vec<String> {
            items
                .iter()
                .map(|(key, item)| match item {
                    WorldItem::Interface { id, .. } => {
                        resolve.id_of(*id).unwrap_or_else(|| resolve.name_world_key(key))
                    }
                    _ => resolve.name_world_key(key),
                })
                .collect()
        };
        Ok(Self { imports: names(&world.imports), exports: names(&world.exports) })
    }
}

impl std::fmt::Display for WorldSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "imports [{}] exports [{}]", self.imports.join(", "), self.exports.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat_guest(name: &str) -> Vec<u8> {
        let root = crate::default_workspace_root();
        let mut core = wat::parse_file(root.join(format!("guests/wat/{name}.wat"))).unwrap();
        embed_world(&mut core, &root.join("guests/wat/wit")).unwrap();
        core
    }

    #[test]
    fn wat_guests_become_components_of_the_0_1_0_server_world() {
        for name in ["bad-utf8", "lying-realloc"] {
            let component = componentize(&wat_guest(name)).unwrap();
            let world = WorldSummary::of(&component).unwrap();
            assert_eq!(world.exports, ["smcp:mcp/server@0.1.0"], "{name}");
            assert_eq!(world.imports, ["smcp:mcp/types@0.1.0"], "{name}: only the types the exports use");
        }
    }

    #[test]
    fn a_module_that_misses_an_export_is_refused() {
        let root = crate::default_workspace_root();
        let mut core = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
        embed_world(&mut core, &root.join("wit")).unwrap();
        let err = componentize(&core).unwrap_err();
        assert!(format!("{err:#}").contains("list-tools"), "{err:#}");
    }
}
