//! A host in a child process: the running bench binary again, in server
//! mode (chosen by an environment variable), so that the load generator's
//! memory is not counted as the host's. The child prints `READY <words…>`
//! when it serves, and stops when its stdin closes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

pub struct ChildHost {
    child: std::process::Child,
    /// What the child printed after `READY`.
    pub ready: Vec<String>,
}

impl ChildHost {
    /// Starts this binary with `env` set to `value`; returns once it is ready.
    pub fn start(env: &str, value: &str) -> ChildHost {
        let mut child = Command::new(std::env::current_exe().expect("the running binary"))
            .env(env, value)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the host process starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        while !line.starts_with("READY ") {
            line.clear();
            assert!(stdout.read_line(&mut line).unwrap_or(0) > 0, "the host exited before it was ready");
        }
        let ready = line.split_whitespace().skip(1).map(str::to_owned).collect();
        ChildHost { child, ready }
    }

    /// The child's resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Closes its stdin and waits for it to exit.
    pub fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
