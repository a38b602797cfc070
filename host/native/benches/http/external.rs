//! The comparison driven from outside: wrk (an external load generator)
//! against the real `smcp` binary and against rmcp's server in a process
//! of its own, with each server's CPU time per request read from
//! `/proc/PID/stat` over the run. On a 2-core machine the load generator
//! competes with the server for the CPUs, so CPU per request is the steadier
//! figure; req/s is reported beside it.
//!
//! Where `taskset` exists, the load generator is pinned to the last core
//! and one-thread servers to the first, so they do not share one.

use smcp_tests::report::{Table, num};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Set in the child that serves rmcp for this comparison.
pub const RMCP_CHILD_ENV: &str = "SMCP_HTTP_BENCH_RMCP";
/// wrk's connections: what the issue's figures are stated at.
const CONNECTIONS: usize = 16;

/// How long each measurement runs, and how many rounds alternate.
pub struct Plan {
    pub seconds: u32,
    pub rounds: u32,
}

/// A server under load in a process of its own.
struct Server {
    child: Child,
    addr: SocketAddr,
    key: Option<String>,
}

impl Server {
    /// The `smcp` binary serving calc from a fresh data directory, with
    /// rate limits out of the way (throughput is measured, not them).
    fn smcp(data: &Path, threads: usize, pinned: bool) -> Server {
        let mut command = pinned_command(env!("CARGO_BIN_EXE_smcp"), pinned);
        let unlimited = "1000000000/1000000000";
        command
            .args(["serve", "--dev-guests", "calc", "--listen", "127.0.0.1:0", "--threads"])
            .arg(threads.to_string())
            .arg("--data-dir")
            .arg(data)
            .args(["--rate-limit-principal", unlimited, "--rate-limit-tenant", unlimited]);
        // The guests built for the tests are reused: dev mode builds into
        // $CARGO_TARGET_DIR/wasm-guests.
        if let Some(target) = smcp_tests::guest_target_dir().as_deref().and_then(Path::parent) {
            command.env("CARGO_TARGET_DIR", target);
        }
        // The access log stays on, as an operator runs it.
        command.env("RUST_LOG", "info").stderr(Stdio::null());
        let (child, lines) = start(command, |line| line.contains("Ctrl-C stops the server"));
        let field = |prefix: &str| {
            lines.iter().find_map(|l| l.trim().strip_prefix(prefix)).map(|v| v.split_whitespace().next().unwrap_or(""))
        };
        let addr = field("listening  http://").expect("smcp prints its address").parse().expect("an address");
        let key = field("API key").map(str::to_owned);
        Server { child, addr, key }
    }

    /// rmcp's server: this bench binary again, in the mode `main` checks.
    fn rmcp(pinned: bool) -> Server {
        let exe = std::env::current_exe().expect("the running binary");
        let mut command = pinned_command(exe.to_str().expect("a UTF-8 path"), pinned);
        command.env(RMCP_CHILD_ENV, "1");
        let (child, lines) = start(command, |line| line.starts_with("READY "));
        let addr = lines.last().and_then(|l| l.strip_prefix("READY ")).expect("READY").trim().parse().unwrap();
        Server { child, addr, key: None }
    }

    /// User plus system time of the whole process (all threads), seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).expect("/proc/PID/stat");
        // Fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat.rsplit_once(')').expect("a stat line").1.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        ticks as f64 / clock_ticks_per_second()
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One run of wrk against one server.
struct Run {
    requests: u64,
    seconds: f64,
    cpu_seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// What a row reports: each figure the median of its rounds, so that a
/// round disturbed by other work on the machine does not move it.
#[derive(Default)]
struct Rounds {
    rps: Vec<f64>,
    cpu_us: Vec<f64>,
    p50_ms: Vec<f64>,
    p99_ms: Vec<f64>,
}

impl Rounds {
    fn add(&mut self, run: Run) {
        self.rps.push(run.requests as f64 / run.seconds);
        self.cpu_us.push(run.cpu_seconds * 1e6 / run.requests as f64);
        self.p50_ms.push(run.p50_ms);
        self.p99_ms.push(run.p99_ms);
    }

    fn median(values: &[f64]) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    }
}

/// Runs the comparison, or says why it cannot (no wrk); `None` then.
pub fn compare(plan: Plan, path: &str, body: &str) -> Option<Table> {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("   wrk is not installed: skipping the external load generator (./scripts/bench.sh installs it)");
        return None;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let pinned = cores > 1 && Command::new("taskset").arg("-V").output().is_ok();
    let data = tempfile::Builder::new().prefix("smcp-bench-wrk-").tempdir().unwrap();
    let wide_data = tempfile::Builder::new().prefix("smcp-bench-wrk-").tempdir().unwrap();
    let servers = [
        ("rmcp", 1, Server::rmcp(pinned)),
        ("SMCP", 1, Server::smcp(data.path(), 1, pinned)),
        ("SMCP", cores, Server::smcp(wide_data.path(), cores, false)),
    ];
    let scripts: Vec<PathBuf> = servers
        .iter()
        .enumerate()
        .map(|(index, (_, _, server))| {
            script(&data.path().join(format!("noop-{index}.lua")), server.key.as_deref(), body)
        })
        .collect();
    for (_, _, server) in &servers {
        check_noop(server, path, body);
    }
    let mut totals: Vec<Rounds> = servers.iter().map(|_| Rounds::default()).collect();
    for _ in 0..plan.rounds {
        for (((name, threads, server), script), totals) in servers.iter().zip(&scripts).zip(&mut totals) {
            let run = wrk(server, path, script, plan.seconds, pinned.then_some(cores - 1));
            eprintln!(
                "   wrk {name} {threads} thread(s): {:.0} req/s, {:.1} µs CPU/request",
                run.requests as f64 / run.seconds,
                run.cpu_seconds * 1e6 / run.requests as f64
            );
            totals.add(run);
        }
    }
    let median = Rounds::median;
    let (rmcp_rps, rmcp_cpu) = (median(&totals[0].rps), median(&totals[0].cpu_us));
    let mut table = Table::new(
        &format!("External load generator: wrk -t1 -c{CONNECTIONS}, `tools/call noop` (2026-07-28)"),
        &[
            "server",
            "serving threads",
            "req/s",
            "p50 ms",
            "p99 ms",
            "server CPU µs/request",
            "req/s / rmcp",
            "CPU / rmcp",
        ],
    );
    for ((name, threads, _), totals) in servers.iter().zip(&totals) {
        table.row(vec![
            (*name).into(),
            (*threads).into(),
            num(median(&totals.rps), 0),
            num(median(&totals.p50_ms), 2),
            num(median(&totals.p99_ms), 2),
            num(median(&totals.cpu_us), 1),
            num(median(&totals.rps) / rmcp_rps, 2),
            num(median(&totals.cpu_us) / rmcp_cpu, 2),
        ]);
    }
    table.note(format!(
        "wrk 1 thread, {CONNECTIONS} keep-alive connections, {} round(s) of {} s per server, alternating; each figure is the median round's. SMCP: the `smcp serve --dev-guests calc` binary of this build (release under `cargo bench`) with its access log on, an API key checked, a `tool.call` audit record and a fresh wasm instance per request; rate limits raised. rmcp: its Streamable HTTP server (JSON responses, no authentication) in a process of its own.",
        plan.rounds, plan.seconds
    ));
    table.note("Server CPU: user plus system time of the server's process (every thread: serving, log writer, audit) over the run, divided by the requests answered.");
    table.note(if pinned {
        format!(
            "{cores} cores: wrk pinned to core {}, one-thread servers to core 0; the {cores}-thread server shares its cores with wrk, so its req/s shows what the machine has left, not the server's ceiling.",
            cores - 1
        )
    } else {
        format!("{cores} core(s), nothing pinned: the load generator shares the CPUs with the server.")
    });
    for (_, _, server) in servers {
        server.stop();
    }
    Some(table)
}

/// The child's half: rmcp's server until stdin closes.
pub fn serve_rmcp() {
    let server = super::RmcpServer::start();
    println!("READY {}", server.addr);
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.stop();
}

fn pinned_command(program: &str, pinned: bool) -> Command {
    if pinned {
        let mut command = Command::new("taskset");
        command.args(["-c", "0", program]);
        command
    } else {
        Command::new(program)
    }
}

/// Starts `command` and reads its stdout until `ready` matches a line.
fn start(mut command: Command, ready: impl Fn(&str) -> bool) -> (Child, Vec<String>) {
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the server starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap_or(0) > 0, "the server exited before it was ready: {lines:?}");
        let done = ready(&line);
        lines.push(line);
        if done {
            break;
        }
    }
    // Keep draining stdout so that the server never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (child, lines)
}

/// A wrk script sending `body` as a `tools/call` with the request headers
/// of the 2026-07-28 era.
fn script(path: &Path, key: Option<&str>, body: &str) -> PathBuf {
    let lua = |s: &str| format!("{s:?}");
    let mut text = String::from("wrk.method = \"POST\"\n");
    for (name, value) in [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "noop"),
    ] {
        text.push_str(&format!("wrk.headers[{}] = {}\n", lua(name), lua(value)));
    }
    if let Some(key) = key {
        text.push_str(&format!("wrk.headers[\"Authorization\"] = {}\n", lua(&format!("Bearer {key}"))));
    }
    text.push_str(&format!("wrk.body = {}\n", lua(body)));
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

/// One request by hand: the server answers `noop` with "ok".
fn check_noop(server: &Server, path: &str, body: &str) {
    let mut stream = TcpStream::connect(server.addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = server.key.as_ref().map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: noop\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr.port(),
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "noop failed: {answer}");
    assert!(answer.contains(r#""text":"ok""#), "noop answered something else: {answer}");
}

/// Runs wrk for `seconds` against `server`, reading the server's CPU time
/// around it. Any non-2xx answer or socket error fails the bench.
fn wrk(server: &Server, path: &str, script: &Path, seconds: u32, core: Option<usize>) -> Run {
    let mut command = match core {
        Some(core) => {
            let mut command = Command::new("taskset");
            command.args(["-c", &core.to_string(), "wrk"]);
            command
        }
        None => Command::new("wrk"),
    };
    let url = format!("http://{}{path}", server.addr);
    command
        .args(["-t1", &format!("-c{CONNECTIONS}"), &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(script)
        .arg(&url);
    let before = server.cpu_seconds();
    let output = command.output().expect("wrk runs");
    let cpu_seconds = server.cpu_seconds() - before;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(!text.contains("Non-2xx"), "the server refused requests under load:\n{text}");
    assert!(!text.contains("Socket errors"), "connections failed under load:\n{text}");
    // "  1234 requests in 5.00s, …"
    let (requests, seconds) = text
        .lines()
        .find_map(|l| {
            let (n, rest) = l.trim().split_once(" requests in ")?;
            Some((n.parse().ok()?, rest.split(',').next()?.trim_end_matches('s').parse().ok()?))
        })
        .unwrap_or_else(|| panic!("wrk's output has no request count:\n{text}"));
    let percentile = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| duration_ms(v.trim())))
            .unwrap_or_else(|| panic!("wrk's output has no {label} latency:\n{text}"))
    };
    Run { requests, seconds, cpu_seconds, p50_ms: percentile("50%"), p99_ms: percentile("99%") }
}

/// wrk's latencies: `812.00us`, `1.23ms`, `2.00s`.
fn duration_ms(text: &str) -> f64 {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        _ => f64::NAN,
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}
