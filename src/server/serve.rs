//! Accepting connections: hyper-util's server with the bounds `axum::serve` leaves out, so
//! that no client can hold the server's connections or file descriptors for ever.
//!
//! - A header-read timeout: a connection that has not sent a whole request head within
//!   `HEADER_READ_TIMEOUT` (10 s) of starting to wait for one is closed. hyper starts that clock
//!   whenever it waits for a request head, so it bounds both a half-sent request (slowloris) and
//!   an idle keep-alive connection.
//! - A cap on open connections (`MAX_CONNECTIONS`, never above what the file-descriptor limit
//!   leaves room for): past it a new connection gets a short `503` with `Retry-After` and is
//!   closed, instead of the accept loop failing on `EMFILE` for everyone.
//! - The process's soft file-descriptor limit raised to its hard limit at startup
//!   ([`raise_file_limit`]), since services are often started with a soft limit of 1,024.
//! - Graceful shutdown: on the signal the listener closes, in-flight requests finish, idle
//!   connections are closed.

use std::{sync::Arc, time::Duration};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tower::ServiceExt;

use super::headers;

/// File descriptors kept back from client connections: database connections, the SQLite files
/// and their WAL, log files, the listener, and the short-lived refusals themselves.
const RESERVED_FILES: u64 = 128;

/// How long in-flight requests get to finish after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long a refusal may take to write before the connection is simply dropped.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest wait for a complete request head, on a new or a kept-alive connection.
    pub header_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

/// Raises the soft limit on open files to the hard limit and returns the new soft limit
/// (`None` when it cannot be read; then nothing was changed).
pub fn raise_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) } == 0 {
            limit = raised;
        }
    }
    Some(limit.rlim_cur)
}

/// The connection cap that fits under a file limit of `open_files`: `wanted`, or fewer when
/// the limit leaves no room for that many next to [`RESERVED_FILES`].
pub fn connection_cap(wanted: usize, open_files: Option<u64>) -> usize {
    match open_files {
        Some(files) => {
            let room = usize::try_from(files.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
            wanted.min(room).max(1)
        }
        None => wanted,
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests finish
/// (at most [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(headers::HYPER_MAX_HEADERS);
    // HTTP/2 (prior knowledge only: there is no TLS here) gets the same bound on a silent peer.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_read_timeout)
        .keep_alive_timeout(limits.header_read_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors (or a connection reset before accept): wait a
                    // moment for some to close rather than spinning.
                    tracing::warn!(%err, "could not accept a connection; retrying in 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Leptos streams pages in several chunks; without TCP_NODELAY the last one waits for
        // the client's delayed ACK (~40 ms per page on keep-alive connections).
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(
                max = limits.max_connections,
                "refused a connection: MAX_CONNECTIONS are open"
            );
            tokio::spawn(refuse(stream));
            continue;
        };
        // With the peer address, for rate limits and the sessions list.
        let service = app
            .clone()
            .map_request(move |request: hyper::Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still running {SHUTDOWN_GRACE:?} after the shutdown signal were cut off");
        }
    }
}

/// Answers a connection over the cap with `503` and `Retry-After`, then closes it. Written by
/// hand (no request is read) so that refusing costs next to nothing; it carries the security
/// headers every response has (not HSTS: the browser has it from any earlier response).
async fn refuse(mut stream: TcpStream) {
    const BODY: &str =
        r#"{"detail":"The server is at its connection limit. Try again in a few seconds."}"#;
    let mut response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 2\r\nconnection: close\r\n",
        BODY.len()
    );
    for (name, value) in headers::fixed_headers() {
        response.push_str(name.as_str());
        response.push_str(": ");
        response.push_str(value);
        response.push_str("\r\n");
    }
    response.push_str("content-security-policy: ");
    response.push_str(&headers::content_security_policy(None));
    response.push_str("\r\ncache-control: no-store\r\n\r\n");
    response.push_str(BODY);
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    let _: Result<Result<(), std::io::Error>, _> =
        tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, write).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_process_own_files() {
        assert_eq!(connection_cap(4096, Some(1024)), 1024 - 128);
        assert_eq!(connection_cap(500, Some(1024)), 500);
        assert_eq!(connection_cap(4096, Some(1_048_576)), 4096);
        assert_eq!(connection_cap(4096, None), 4096);
        assert_eq!(connection_cap(4096, Some(10)), 1);
    }
}
