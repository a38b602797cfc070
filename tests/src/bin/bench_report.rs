//! `bench-report <dir> <out-stem>`: gathers the tables the benchmarks wrote
//! to `<dir>` (see `smcp_tests::report`) into `<out-stem>.md` and
//! `<out-stem>.json`, headed by the machine they ran on.

use serde_json::{Value, json};
use smcp_tests::report::Table;
use std::process::Command;

/// The benches in the order the results file shows them.
const ORDER: [&str; 4] = ["sandbox", "http", "memory", "workerd"];

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, stem] = args.as_slice() else { return Err("usage: bench-report <dir> <out-stem>".into()) };
    let machine = machine();
    let mut benches = Vec::new();
    for name in ORDER {
        let path = std::path::Path::new(dir).join(format!("{name}.json"));
        match std::fs::read(&path) {
            Ok(bytes) => {
                benches.push(serde_json::from_slice::<Value>(&bytes).map_err(|e| format!("{}: {e}", path.display()))?)
            }
            Err(_) => eprintln!("bench-report: no results from `{name}` in {dir}"),
        }
    }
    let mut md = String::from("# Benchmark results\n\n");
    md += "Written by `./scripts/bench.sh`; what each figure means: [../benchmarks.md](../benchmarks.md).\n\n";
    for (key, value) in machine.as_object().into_iter().flatten() {
        md += &format!("- {key}: {}\n", value.as_str().unwrap_or_default());
    }
    for bench in &benches {
        md += &format!("\n## {}\n\n", bench["bench"].as_str().unwrap_or_default());
        for table in bench["tables"].as_array().into_iter().flatten() {
            md += &Table::markdown(table);
            md += "\n";
        }
    }
    let json = json!({ "machine": machine, "benches": benches });
    std::fs::write(format!("{stem}.md"), md).map_err(|e| e.to_string())?;
    std::fs::write(format!("{stem}.json"), serde_json::to_vec_pretty(&json).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    println!("wrote {stem}.md and {stem}.json");
    Ok(())
}

/// Where the figures come from: cores, CPU, kernel, compiler, commit, date.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned());
    let output = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.to_string()).unwrap_or_default(),
        "cpu": model.unwrap_or_else(|| "unknown".into()),
        "memory": cpuinfo_memory(),
        "kernel": output("uname", &["-sr"]).unwrap_or_default(),
        "rustc": output("rustc", &["--version"]).unwrap_or_default(),
        "commit": output("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_default(),
        "date": output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default(),
    })
}

fn cpuinfo_memory() -> String {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kib.map(|k| format!("{:.1} GiB", k as f64 / (1 << 20) as f64)).unwrap_or_default()
}
