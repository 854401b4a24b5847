//! Accepting connections: hyper-util's server with the bounds `axum::serve` leaves out, so
//! that no client can hold the server's connections or file descriptors for ever.
//!
//! - A header-read timeout: a connection that has not sent a whole request head within
//!   `HEADER_READ_TIMEOUT` (10 s) of starting to wait for one is closed. hyper starts that clock
//!   whenever it waits for a request head, so it bounds both a half-sent request (slowloris) and
//!   an idle keep-alive connection. It does not cover the protocol detection before it
//!   (hyper-util reads up to 24 bytes to tell an HTTP/2 preface from HTTP/1, with no clock), so
//!   [`FirstBytes`] gives those first bytes the same deadline: a client that connects and sends
//!   nothing, or stops inside the HTTP/2 preface, is closed too.
//! - A cap on open connections (`MAX_CONNECTIONS`, never above what the file-descriptor limit
//!   leaves room for): past it a new connection gets a short `503` with `Retry-After` and is
//!   closed, instead of the accept loop failing on `EMFILE` for everyone.
//! - The process's soft file-descriptor limit raised to its hard limit at startup
//!   ([`raise_file_limit`]), since services are often started with a soft limit of 1,024.
//! - Graceful shutdown: on the signal the listener closes, in-flight requests finish, idle
//!   connections are closed.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    time::Sleep,
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
            .serve_connection_with_upgrades(
                TokioIo::new(FirstBytes::new(stream, limits.header_read_timeout)),
                TowerToHyperService::new(service),
            )
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

/// What an HTTP/2 client sends first; hyper-util's protocol detection waits until it has
/// these bytes or a byte that differs from them.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A connection whose reads fail with `TimedOut` if the protocol detection has not finished
/// within the deadline: that is, if the client has neither sent a byte that rules HTTP/2 out
/// nor the whole HTTP/2 preface. After that it is the stream itself; hyper's own timers
/// (the header-read timeout, HTTP/2 keep-alive pings) take over.
struct FirstBytes<S> {
    io: S,
    /// `None` once detection has finished.
    deadline: Option<Pin<Box<Sleep>>>,
    /// How many bytes of [`HTTP2_PREFACE`] have arrived so far.
    matched: usize,
}

impl<S> FirstBytes<S> {
    fn new(io: S, within: Duration) -> Self {
        Self {
            io,
            deadline: Some(Box::pin(tokio::time::sleep(within))),
            matched: 0,
        }
    }

    /// Follows the detection over newly read bytes; ends the deadline once it has finished.
    fn saw(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if self.matched == HTTP2_PREFACE.len() || HTTP2_PREFACE[self.matched] != byte {
                self.deadline = None;
                return;
            }
            self.matched += 1;
        }
        if self.matched == HTTP2_PREFACE.len() {
            self.deadline = None;
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FirstBytes<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.deadline.is_none() {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if read.is_empty() {
                    // End of stream: nothing more to wait for.
                    this.deadline = None;
                } else {
                    this.saw(read);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => match this.deadline.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client sent no request within HEADER_READ_TIMEOUT",
                ))),
                _ => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FirstBytes<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
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

    const SHORT: Duration = Duration::from_millis(50);

    /// Reads from a `FirstBytes` over one end of a pipe whose other end sends `sent`, then
    /// waits past the deadline for more.
    async fn read_after(sent: &[u8]) -> io::Result<usize> {
        use tokio::io::AsyncReadExt;
        let (client, server) = tokio::io::duplex(64);
        let mut client = client;
        client.write_all(sent).await.unwrap();
        let mut stream = FirstBytes::new(server, SHORT);
        let mut buf = [0u8; 64];
        let mut total = 0;
        while total < sent.len() {
            total += stream.read(&mut buf).await?;
        }
        // Nothing more arrives: a finished detection waits (hyper's timers apply), an
        // unfinished one ends with TimedOut.
        let waited = tokio::time::timeout(SHORT * 4, stream.read(&mut buf)).await;
        drop(client);
        match waited {
            Ok(result) => result,
            Err(_) => Ok(total),
        }
    }

    #[tokio::test]
    async fn a_silent_client_times_out() {
        let err = read_after(b"").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_client_stopping_inside_the_http2_preface_times_out() {
        let err = read_after(&HTTP2_PREFACE[..10]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn an_http1_start_or_a_whole_preface_ends_the_deadline() {
        assert_eq!(read_after(b"G").await.unwrap(), 1);
        assert_eq!(read_after(b"PRI * HTTP/1.1").await.unwrap(), 14);
        assert_eq!(read_after(HTTP2_PREFACE).await.unwrap(), 24);
    }
}
