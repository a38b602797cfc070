//! Loads the example guests (built by build.rs from guests/) into the
//! sandbox, lists their tools and calls a few: `./scripts/run.sh`.

use serde_json::json;
use smcp_core::capabilities::Grant;
use smcp_core::capabilities::{kv::grant::KvGrant, objects::grant::ObjectsGrant};
use smcp_core::guest::ToolOutcome;
use smcp_tests::{Env, block_on, load, runtime};

fn main() {
    let rt = runtime();
    let grant = Grant { kv: Some(KvGrant::default()), objects: Some(ObjectsGrant::default()), ..Grant::default() };
    let calls = [
        ("calc", "add", json!({"a": 2, "b": 40})),
        ("calc", "fib", json!({"n": 50})),
        ("notes", "put_note", json!({"id": "hello", "text": "stored in KV under the tenant's prefix"})),
        ("notes", "get_note", json!({"id": "hello"})),
        ("files", "write_file", json!({"path": "readme.txt", "content": "stored as an object"})),
        ("files", "list_files", json!({})),
    ];
    let mut env = Env::new("demo", "example", grant);
    for name in ["calc", "notes", "files", "fetcher"] {
        let component = load(&rt, name);
        let tools = block_on(env.server(&rt, &component).list_tools(&mut env.host())).expect("lists tools");
        let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
        println!(
            "{name} ({} bytes, digest {:.12}…): imports {:?}",
            component.prepared.size,
            component.digest().to_hex(),
            component.prepared.imports
        );
        println!("  tools: {}", names.join(", "));
        for (_, tool, args) in calls.iter().filter(|(guest, ..)| *guest == name) {
            let outcome = block_on(env.server(&rt, &component).call_tool(&mut env.host(), tool, args, &[], None));
            match outcome {
                Ok(ToolOutcome::Complete(result)) => {
                    println!("  {tool}({args}) → {}", serde_json::to_string(&result.content).unwrap())
                }
                other => println!("  {tool}({args}) → {other:?}"),
            }
        }
    }
    println!("stored keys: {:?}", env.memory.kv.raw_keys());
    println!("stored objects: {:?}", env.memory.objects.raw_keys());
}
