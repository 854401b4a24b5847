//! The real server binary as a child process, for tests about the process itself: killed with
//! SIGKILL mid-write, or left running while its database goes away.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::SECRET;

/// A running `tasks` binary listening on a loopback port. Killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub log_path: std::path::PathBuf,
}

impl ServerProcess {
    /// Starts the binary on `database_url` with `extra` variables, and waits until `/healthz`
    /// answers. Its log goes to `dir/server-<port>.log`.
    pub async fn start(dir: &std::path::Path, database_url: &str, extra: &[(&str, &str)]) -> Self {
        Self::start_with_file_limit(dir, database_url, extra, None).await
    }

    /// As [`start`](Self::start), with the process's open-files limit (soft and hard) set to
    /// `open_files` when given, as `LimitNOFILE=` in a systemd unit would.
    pub async fn start_with_file_limit(
        dir: &std::path::Path,
        database_url: &str,
        extra: &[(&str, &str)],
        open_files: Option<libc::rlim_t>,
    ) -> Self {
        // Ask the OS for a free port, then hand it to the server (a tiny race, fine in tests).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log_path = dir.join(format!("server-{port}.log"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_tasks"));
        if let Some(limit) = open_files {
            use std::os::unix::process::CommandExt;
            let limit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            // SAFETY: the closure runs between fork and exec, and only calls setrlimit, which is
            // async-signal-safe and allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let child = command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("DATA_DIR", dir)
            .env("JWT_SECRET", SECRET)
            .env("TOTP_ENCRYPTION_KEY", super::TOTP_KEY)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LOG_FORMAT", "json")
            .env("REGISTRATIONS_PER_IP", "100000")
            .env("LOGIN_FAILURES_PER_IP", "100000")
            .env("WRITES_PER_MINUTE", "1000000")
            .envs(extra.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the server binary starts");
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log_path,
        };
        server
            .wait_until("/healthz", 200, Duration::from_secs(60))
            .await;
        server
    }

    /// Polls `path` until it answers `status`; panics with the server log after `limit`.
    pub async fn wait_until(&self, path: &str, status: u16, limit: Duration) {
        let client = reqwest::Client::new();
        let start = Instant::now();
        loop {
            if let Ok(reply) = client
                .get(format!("{}{path}", self.base))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                && reply.status().as_u16() == status
            {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "{path} did not answer {status} within {limit:?}; server log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends SIGKILL: no shutdown handler runs, nothing is flushed by the process.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    /// Sends SIGTERM and waits (up to `limit`) for the process to exit.
    pub fn terminate_and_wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "the server did not exit within {limit:?} of SIGTERM; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
