//! A real SMTP server for the mail tests: `tests/smtp_sink.py` (aiosmtpd) as a child process,
//! on a port of its own. The app's lettre client speaks SMTP to it; Python's email package
//! reads what arrived, so the checks do not trust the app's own code.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// A running sink. Stopped when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts a sink that accepts every message.
    pub fn start() -> Self {
        Self::start_refusing(0)
    }

    /// Starts a sink that answers the first `refuse` messages with `451` (try again later).
    pub fn start_refusing(refuse: u32) -> Self {
        Self::start_on(0, refuse)
    }

    /// Starts a sink on `port` (0: any free one).
    pub fn start_on(port: u16, refuse: u32) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("mail.jsonl");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--out")
            .arg(&out)
            .arg("--port")
            .arg(port.to_string())
            .arg("--refuse")
            .arg(refuse.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs tests/smtp_sink.py (aiosmtpd: `bash .ci/setup --test`)");
        let stdout = child.stdout.take().expect("sink stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the sink says READY");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!("the SMTP sink did not start (is aiosmtpd installed?): {line:?}")
            });
        Self {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    /// `SMTP_URL` for the app.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Value> {
        let written = std::fs::read_to_string(&self.out).unwrap_or_default();
        // Only whole lines: the sink may be writing the next one right now.
        let complete = &written[..written.rfind('\n').map_or(0, |end| end + 1)];
        complete
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line from the sink"))
            .collect()
    }

    /// Waits (up to 20 s) until at least `n` messages arrived, and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "expected {n} messages at the SMTP sink, got {}: {messages:#?}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The newest message to `to`, waiting up to 20 s for one.
    pub async fn last_to(&self, to: &str) -> Value {
        let start = Instant::now();
        loop {
            if let Some(m) = self
                .messages()
                .into_iter()
                .rev()
                .find(|m| m["rcpt_tos"][0].as_str() == Some(to))
            {
                return m;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no message to {to} arrived at the SMTP sink: {:#?}",
                self.messages()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `token` parameter of the first link to `page` (such as `/reset-password`) in a mail's
/// text.
pub fn token_in(text: &str, page: &str) -> String {
    let start = text
        .find(&format!("{page}?token="))
        .unwrap_or_else(|| panic!("no {page} link in: {text}"));
    let rest = &text[start + page.len() + "?token=".len()..];
    rest.split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_owned()
}
