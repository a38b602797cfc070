//! Crash safety of the native server: the real `smcp` binary hosting the
//! notes (kv) and files (objects) guests takes many concurrent writes,
//! is killed with SIGKILL in the middle of them, and is started again on
//! the same data directory. Every write carries its own checksum, so a
//! torn or mixed value is caught; every write the server acknowledged
//! before the kill must read back (that value or a later one of the same
//! key), and the server must work normally afterwards.
//!
//! A process kill leaves the OS page cache intact, so this checks that no
//! acknowledged write waits in the process and that nothing is ever seen
//! half written; power loss is out of its reach.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Kill rounds: start, write, kill, check.
const ROUNDS: u64 = 3;
/// Writer threads per guest; each owns its keys, so "later" is well defined.
const WRITERS: usize = 4;
const KEYS_PER_WRITER: usize = 6;
/// Acknowledged writes a round waits for before the kill.
const ACKS_BEFORE_KILL: usize = 80;

/// `<target>`, from this test's path `<target>/<profile>/deps/<binary>`:
/// the server builds the guests in `<target>/wasm-guests`, shared with the
/// other tests.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).expect("the test runs from <target>/<profile>/deps").to_path_buf()
}

/// The `smcp` process; killed when dropped so a failing test leaves none.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(data: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_smcp"))
            .args(["serve", "--listen", "127.0.0.1:0", "--dev-guests", "notes,files", "--data-dir"])
            .arg(data)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("smcp starts");
        // The ready banner names the address, then dev mode's API key;
        // keep draining stdout after them.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut addr = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(found) = line.trim().strip_prefix("listening  http://") {
                    addr = Some(
                        found
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .parse::<SocketAddr>()
                            .expect("a socket address"),
                    );
                }
                if let (Some(addr), Some(key)) = (addr, line.trim().strip_prefix("API key    ")) {
                    let _ = tx.send((addr, key.to_owned()));
                }
            }
        });
        // The first start builds the guests.
        match rx.recv_timeout(Duration::from_secs(900)) {
            Ok((addr, key)) => {
                // Each start makes a new key (and revokes the last).
                *API_KEY.lock().unwrap() = key;
                Server { child, addr }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("smcp did not report its address: {:?}", child.wait());
            }
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Dev mode's API key of the running server (one server at a time).
static API_KEY: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Calls `tool` of `server` (a 2026-07-28 request); `Err` when the server
/// is gone or the answer is not a whole JSON-RPC response.
fn call(addr: SocketAddr, server: &str, tool: &str, arguments: Value) -> Result<Value, String> {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments,
        "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } } })
    .to_string();
    let head = format!(
        "POST /t/dev/s/{server}/mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\nmcp-method: tools/call\r\n\
         mcp-name: {tool}\r\nauthorization: Bearer {}\r\ncontent-length: {}\r\n\r\n",
        API_KEY.lock().unwrap(),
        body.len()
    );
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|e| format!("send: {e}"))?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| format!("receive: {e}"))?;
    let (_, body) = response.split_once("\r\n\r\n").ok_or_else(|| format!("no HTTP response: {response:?}"))?;
    let message: Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
    message.get("result").cloned().ok_or_else(|| format!("no result: {message}"))
}

/// Which guest a key lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Note,
    File,
}

impl Kind {
    fn write(self, addr: SocketAddr, id: &str, text: &str) -> Result<Value, String> {
        match self {
            Kind::Note => call(addr, "notes", "put_note", json!({ "id": id, "text": text })),
            Kind::File => {
                call(addr, "files", "write_file", json!({ "path": format!("crash/{id}.txt"), "content": text }))
            }
        }
    }

    /// The stored text, `None` if absent.
    fn read(self, addr: SocketAddr, id: &str) -> Option<String> {
        let result = match self {
            Kind::Note => call(addr, "notes", "get_note", json!({ "id": id })),
            Kind::File => call(addr, "files", "read_file", json!({ "path": format!("crash/{id}.txt") })),
        }
        .unwrap_or_else(|e| panic!("reading {self:?} {id} after the restart: {e}"));
        let text = result["content"][0]["text"].as_str().unwrap_or_else(|| panic!("no text in {result}"));
        if result["isError"] == true {
            assert!(text.starts_with("no note") || text.starts_with("no file"), "reading {self:?} {id}: {text}");
            return None;
        }
        Some(text.to_owned())
    }
}

/// A value that proves itself: `id#seq#filler#blake3(id#seq#filler)`, the
/// filler's length and letters following from the sequence number (from
/// half a KB to 30 KB, so writes differ in size and take different paths).
fn payload(id: &str, seq: u64) -> String {
    let len = 500 + (seq as usize * 7919) % 30_000;
    let filler: String = (0..len).map(|i| char::from(b'a' + ((i as u64 + seq) % 26) as u8)).collect();
    let body = format!("{id}#{seq}#{filler}");
    let sum = blake3::hash(body.as_bytes()).to_hex();
    format!("{body}#{sum}")
}

/// The sequence number of an intact value of `id`; panics on anything
/// torn, mixed or foreign.
fn verify(id: &str, text: &str) -> u64 {
    let (body, sum) =
        text.rsplit_once('#').unwrap_or_else(|| panic!("{id}: unparseable value of {} bytes", text.len()));
    assert_eq!(blake3::hash(body.as_bytes()).to_hex().as_str(), sum, "{id}: checksum mismatch: a torn or mixed value");
    let mut parts = body.splitn(3, '#');
    assert_eq!(parts.next(), Some(id), "{id}: holds another key's value");
    let seq: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{id}: no sequence number"));
    assert_eq!(text, payload(id, seq), "{id}: value differs from what seq {seq} wrote");
    seq
}

/// What the test knows of one key: the highest sequence number the server
/// acknowledged and the highest it was sent.
#[derive(Default, Clone, Copy, Debug)]
struct Known {
    acked: u64,
    sent: u64,
}

type Ledger = BTreeMap<(Kind, String), Known>;

fn keys() -> Vec<(Kind, String)> {
    let mut keys = Vec::new();
    for kind in [Kind::Note, Kind::File] {
        for w in 0..WRITERS {
            for k in 0..KEYS_PER_WRITER {
                keys.push((kind, format!("w{w}-k{k}")));
            }
        }
    }
    keys
}

/// One writer: writes its keys round-robin with rising sequence numbers
/// until the server goes away. Errors before the kill are failures.
fn writer(
    addr: SocketAddr,
    mut mine: Vec<((Kind, String), Known)>,
    acks: &AtomicUsize,
    killing: &AtomicBool,
) -> Vec<((Kind, String), Known)> {
    for turn in 0.. {
        let ((kind, id), known) = &mut mine[turn % KEYS_PER_WRITER];
        let seq = known.sent + 1;
        known.sent = seq;
        match kind.write(addr, id, &payload(id, seq)) {
            Ok(result) if result["isError"] == false => {
                known.acked = seq;
                acks.fetch_add(1, Ordering::SeqCst);
            }
            Ok(result) => panic!("{kind:?} {id} seq {seq}: the server refused a write: {result}"),
            Err(_) if killing.load(Ordering::SeqCst) => break,
            Err(e) => panic!("{kind:?} {id} seq {seq}: failed while the server ran: {e}"),
        }
    }
    mine
}

/// Writes concurrently until `ACKS_BEFORE_KILL` acknowledgements, kills the
/// server mid-writes, and returns the ledger updated with what was sent.
fn write_and_kill(server: Server, ledger: Ledger) -> Ledger {
    let (addr, acks, killing) = (server.addr, AtomicUsize::new(0), AtomicBool::new(false));
    let entries: Vec<_> = ledger.into_iter().collect();
    std::thread::scope(|scope| {
        let writers: Vec<_> = entries
            .chunks(KEYS_PER_WRITER)
            .map(|chunk| {
                let (acks, killing) = (&acks, &killing);
                scope.spawn(move || writer(addr, chunk.to_vec(), acks, killing))
            })
            .collect();
        while acks.load(Ordering::SeqCst) < ACKS_BEFORE_KILL {
            assert!(!writers.iter().any(|w| w.is_finished()), "a writer stopped before the kill");
            std::thread::sleep(Duration::from_millis(5));
        }
        killing.store(true, Ordering::SeqCst);
        server.kill();
        writers.into_iter().flat_map(|w| w.join().expect("a writer panicked")).collect()
    })
}

/// After a restart: every value intact, every acknowledged write there.
fn check_after_restart(addr: SocketAddr, ledger: &Ledger) -> usize {
    let mut present = 0;
    for ((kind, id), known) in ledger {
        let Some(text) = kind.read(addr, id) else {
            assert_eq!(known.acked, 0, "{kind:?} {id}: acknowledged seq {} was lost in the crash", known.acked);
            continue;
        };
        present += 1;
        let seq = verify(id, &text);
        assert!(seq >= known.acked, "{kind:?} {id}: seq {seq} read back, older than the acknowledged {}", known.acked);
        assert!(seq <= known.sent, "{kind:?} {id}: seq {seq} read back, never sent (last {})", known.sent);
    }
    present
}

#[test]
fn acknowledged_writes_survive_sigkill_and_nothing_is_torn() {
    let data = tempfile::Builder::new().prefix("smcp-crash-").tempdir().unwrap();
    let mut ledger: Ledger = keys().into_iter().map(|k| (k, Known::default())).collect();
    for round in 1..=ROUNDS {
        let server = Server::start(data.path());
        if round > 1 {
            let present = check_after_restart(server.addr, &ledger);
            eprintln!("round {round}: {present} of {} keys present and intact after the restart", ledger.len());
        }
        ledger = write_and_kill(server, ledger);
        let in_flight = ledger.values().filter(|k| k.sent > k.acked).count();
        eprintln!("round {round}: killed with {in_flight} writes unacknowledged");
        assert!(in_flight > 0, "round {round}: the kill must land while writes are in flight");
    }

    let server = Server::start(data.path());
    let present = check_after_restart(server.addr, &ledger);
    eprintln!("final restart: {present} of {} keys present and intact", ledger.len());
    assert_eq!(
        std::fs::read_dir(data.path().join("objects").join("tmp")).unwrap().count(),
        0,
        "the restart removed the interrupted object writes"
    );
    // The server works normally: each key takes a new value and returns it.
    for ((kind, id), known) in &ledger {
        let text = payload(id, known.sent + 1);
        let written = kind.write(server.addr, id, &text).unwrap();
        assert_eq!(written["isError"], false, "{kind:?} {id}: {written}");
        assert_eq!(kind.read(server.addr, id).as_deref(), Some(text.as_str()), "{kind:?} {id} after the crashes");
    }
    let listed = call(server.addr, "notes", "list_notes", json!({ "prefix": "w" })).unwrap();
    let ids = listed["structuredContent"]["ids"].as_array().unwrap_or_else(|| panic!("{listed}")).len();
    assert_eq!(ids, WRITERS * KEYS_PER_WRITER, "notes listed after the crashes");
    server.kill();
}
