//! Connection hygiene of the real server binary: a silent connection, a half-sent request, an
//! idle keep-alive connection or an HTTP/2 connection that only answers pings is closed after
//! `HEADER_READ_TIMEOUT`; many slow clients do not stop normal requests; at `MAX_CONNECTIONS`
//! idle keep-alive connections make room for new ones, and only when none is idle does a new
//! connection get a 503 with `Retry-After` (and the security headers) instead of hanging; one
//! address cannot take every slot (`MAX_CONNECTIONS_PER_IP`).

mod common;

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use common::{Engine, ServerProcess, TestDatabase};
use reqwest::{Client, StatusCode};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

/// The server, then its database, then its folder: dropped in that order.
struct Running {
    server: ServerProcess,
    _database: TestDatabase,
    _dir: tempfile::TempDir,
}

async fn start(extra: &[(&str, &str)]) -> Option<Running> {
    start_with_file_limit(extra, None).await
}

/// As [`start`], with the server's open-files limit (soft and hard) set to `open_files`.
async fn start_with_file_limit(
    extra: &[(&str, &str)],
    open_files: Option<libc::rlim_t>,
) -> Option<Running> {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(Engine::from_env(), dir.path()).await?;
    let server =
        ServerProcess::start_with_file_limit(dir.path(), &database.url, extra, open_files).await;
    Some(Running {
        server,
        _database: database,
        _dir: dir,
    })
}

fn address(server: &ServerProcess) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; returns what it sent and how long that took.
/// Panics if the connection is still open after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut received)).await;
    assert!(
        read.is_ok(),
        "the connection was still open after {limit:?}"
    );
    (
        String::from_utf8_lossy(&received).into_owned(),
        start.elapsed(),
    )
}

/// A client that sent half a request line and went quiet.
async fn slow_client(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /healthz HTT").await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_is_closed_after_the_header_read_timeout() {
    let Some(running) = start(&[("HEADER_READ_TIMEOUT", "1s")]).await else {
        return;
    };
    let server = &running.server;
    let mut stream = slow_client(&address(server)).await;
    let (_, waited) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(
        waited >= Duration::from_millis(900),
        "closed before the timeout: {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let Some(running) = start(&[("HEADER_READ_TIMEOUT", "1s")]).await else {
        return;
    };
    let address = address(&running.server);
    // Silent from the start, and silent inside the HTTP/2 preface (both wait in the protocol
    // detection, before hyper's own header-read timer).
    for sent in [&b""[..], &b"PRI * HTTP/2"[..]] {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream.write_all(sent).await.unwrap();
        let (received, waited) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
        assert!(received.is_empty(), "{received}");
        assert!(
            waited >= Duration::from_millis(900),
            "closed before the timeout: {waited:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_read_timeout() {
    let Some(running) = start(&[("HEADER_READ_TIMEOUT", "1s")]).await else {
        return;
    };
    let server = &running.server;
    let mut stream = TcpStream::connect(address(server)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    // The answer comes, the connection stays open for the next request, then is closed.
    let (received, _) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_requests_are_served_while_many_slow_clients_hang() {
    const SLOW: usize = 300;
    // All from one address: the per-address cap is another test's.
    let Some(running) = start(&[
        ("HEADER_READ_TIMEOUT", "3s"),
        ("MAX_CONNECTIONS_PER_IP", "0"),
    ])
    .await
    else {
        return;
    };
    let server = &running.server;
    let address = address(server);
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        slow.push(slow_client(&address).await);
    }
    let client = Client::new();
    for _ in 0..20 {
        let reply = client
            .get(format!("{}/login", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
    }
    // They were served while the slow clients still held their connections...
    let mut probe = [0u8; 1];
    let still_open = tokio::time::timeout(Duration::from_millis(10), slow[0].read(&mut probe))
        .await
        .is_err();
    assert!(still_open, "the slow clients were dropped before the check");
    // ...and every slow client is closed in the end.
    for stream in &mut slow {
        read_until_closed(stream, Duration::from_secs(15)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_get_a_503_with_retry_after_and_the_security_headers() {
    let Some(running) = start(&[("HEADER_READ_TIMEOUT", "2s"), ("MAX_CONNECTIONS", "8")]).await
    else {
        return;
    };
    let server = &running.server;
    let address = address(server);
    // Eight connections the server holds. The harness's readiness probe may still take a slot
    // for a moment after `start` returns (its connection task ends a little after the client
    // closed it), and a connection that meets the cap is answered 503 and closed at once: such
    // a one is opened again, so that exactly the cap is held before the extra one comes.
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut tries = 0;
        loop {
            let mut stream = slow_client(&address).await;
            let mut probe = [0u8; 1];
            let closed = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut probe))
                .await
                .is_ok();
            if !closed {
                held.push(stream);
                break;
            }
            tries += 1;
            assert!(
                tries < 20,
                "the server kept refusing a connection under its cap"
            );
        }
    }
    let mut extra = TcpStream::connect(&address).await.unwrap();
    let (answer, _) = read_until_closed(&mut extra, Duration::from_secs(5)).await;
    let head = answer.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 503"), "{answer}");
    for header in [
        "retry-after: ",
        "connection: close",
        "x-content-type-options: nosniff",
        "content-security-policy: ",
        "permissions-policy: ",
        "cache-control: no-store",
    ] {
        assert!(head.contains(header), "{header} missing in {answer}");
    }
    assert!(answer.contains("connection limit"), "{answer}");

    // Once the held connections are gone, the server serves again.
    drop(held);
    let client = Client::new();
    let start = Instant::now();
    loop {
        let status = client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .map(|reply| reply.status());
        if matches!(status, Ok(StatusCode::OK)) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the server did not serve again after the connections closed: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Raises this test process's soft open-files limit to its hard limit: the tests below hold
/// over a thousand connections.
fn raise_own_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit), 0);
    }
    assert!(
        limit.rlim_cur > 1_200,
        "this test needs an open-files hard limit above 1,200, not {}",
        limit.rlim_cur
    );
}

/// A connection from the loopback address `127.0.0.<last>` (all of 127.0.0.0/8 is this machine
/// on Linux), so one test can be several clients.
async fn connect_from(last: u8, address: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), 0);
    socket.bind(from).unwrap();
    socket.connect(address.parse().unwrap()).await.unwrap()
}

/// Sends `GET /healthz` on a kept-alive connection and reads exactly its response (the head,
/// then `content-length` bytes), leaving the connection open; returns the head.
async fn get_healthz_and_keep_alive(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(
            read > 0,
            "closed before a response: {}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .unwrap_or_else(|| panic!("no content-length in {head}"))
        .trim()
        .parse()
        .unwrap();
    while received.len() < head_end + length {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "closed inside the body");
        received.extend_from_slice(&chunk[..read]);
    }
    head
}

/// Whether the server has closed `stream` (end of stream or reset), without waiting.
fn closed_by_server(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    match stream.try_read(&mut probe) {
        Ok(0) => true,
        Ok(_) => panic!("unexpected bytes on an idle connection"),
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_make_room_for_new_ones_at_the_cap() {
    const IDLE: usize = 1_000;
    raise_own_file_limit();
    // 1,024 open files leave room for 896 connections. The idle timeout is long, so only the
    // cap closes anything here; all come from one address, so the per-address cap is off.
    let Some(running) = start_with_file_limit(
        &[
            ("HEADER_READ_TIMEOUT", "5m"),
            ("MAX_CONNECTIONS_PER_IP", "0"),
        ],
        Some(1_024),
    )
    .await
    else {
        return;
    };
    let server = &running.server;
    assert!(
        server.log().contains("MAX_CONNECTIONS lowered"),
        "{}",
        server.log()
    );
    let address = address(server);
    // The attack: each connection asks once, reads the answer, then stays open and silent.
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let mut stream = TcpStream::connect(&address).await.unwrap();
        let head = get_healthz_and_keep_alive(&mut stream).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        idle.push(stream);
    }
    // A new visitor is still served, at once.
    let started = Instant::now();
    let reply = Client::new()
        .get(format!("{}/healthz", server.base))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The server closed the longest-idle ones to make that room: at least all beyond its cap
    // of 896 (their closes may take a moment to arrive).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let closed: Vec<bool> = idle.iter().map(closed_by_server).collect();
    let count = closed.iter().filter(|&&closed| closed).count();
    assert!(
        count > IDLE - 896,
        "only {count} idle connections were closed"
    );
    assert!(closed[0], "the longest-idle connection is closed first");
    assert!(!closed[IDLE - 1], "the newest idle connection is kept");
    assert!(
        !server.log().contains("refused a connection"),
        "{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_slot() {
    const PER_IP: usize = 20;
    let Some(running) = start(&[
        ("HEADER_READ_TIMEOUT", "30s"),
        ("MAX_CONNECTIONS_PER_IP", "20"),
    ])
    .await
    else {
        return;
    };
    let server = &running.server;
    let address = address(server);
    // Twenty requests from 127.0.0.1 that are still arriving: busy, so none makes room.
    let mut busy = Vec::new();
    for _ in 0..PER_IP {
        let mut stream = slow_client(&address).await;
        let mut probe = [0u8; 1];
        let closed = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut probe))
            .await
            .is_ok();
        assert!(!closed, "refused under the per-address cap");
        busy.push(stream);
    }
    // The 21st from that address is refused, with the setting named in the log...
    let mut extra = slow_client(&address).await;
    let (answer, _) = read_until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: "),
        "{answer}"
    );
    let log = server.log();
    assert!(log.contains("MAX_CONNECTIONS_PER_IP"), "{log}");
    // ...while another address is served.
    let mut other = connect_from(2, &address).await;
    let head = get_healthz_and_keep_alive(&mut other).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    drop(busy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_at_its_cap_closes_its_own_longest_idle_connection_to_make_room() {
    const PER_IP: usize = 20;
    let Some(running) = start(&[
        ("HEADER_READ_TIMEOUT", "30s"),
        ("MAX_CONNECTIONS_PER_IP", "20"),
    ])
    .await
    else {
        return;
    };
    let address = address(&running.server);
    // 127.0.0.3 is used by nothing else here (the harness's own check comes from 127.0.0.1).
    let mut idle = Vec::new();
    for _ in 0..PER_IP {
        let mut stream = connect_from(3, &address).await;
        let head = get_healthz_and_keep_alive(&mut stream).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        idle.push(stream);
        // Idleness is kept in milliseconds: apart, so "the oldest" is one connection (two
        // idle since the same millisecond are equally old, and either may go).
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut newer = connect_from(3, &address).await;
    let head = get_healthz_and_keep_alive(&mut newer).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    // The oldest of the twenty made room, and only it.
    let (rest, _) = read_until_closed(&mut idle[0], Duration::from_secs(5)).await;
    assert!(rest.is_empty(), "{rest}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(idle[1..].iter().all(|stream| !closed_by_server(stream)));
}

/// HTTP/2 frame types and the flag used here (RFC 9113 §6).
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const ACK: u8 = 0x1;

fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut frame = vec![length[1], length[2], length[3], kind, flags, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_that_only_answers_pings_is_closed_after_the_idle_timeout() {
    let Some(running) = start(&[("HEADER_READ_TIMEOUT", "1s")]).await else {
        return;
    };
    let mut stream = TcpStream::connect(address(&running.server)).await.unwrap();
    // Prior knowledge: the preface and empty settings, then never a request. The client
    // answers the server's pings and sends its own every 200 ms: pings are not activity.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    stream.write_all(&frame(SETTINGS, 0, &[])).await.unwrap();
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut goaway = false;
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the connection was still open after 10 s"
        );
        let read = tokio::select! {
            read = stream.read(&mut chunk) => read,
            _ = ticks.tick() => {
                stream.write_all(&frame(PING, 0, b"client!!")).await.unwrap();
                continue;
            }
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(read) => received.extend_from_slice(&chunk[..read]),
        }
        while received.len() >= 9 {
            let length = usize::from(received[0]) << 16
                | usize::from(received[1]) << 8
                | usize::from(received[2]);
            if received.len() < 9 + length {
                break;
            }
            let (kind, flags) = (received[3], received[4]);
            let payload = received[9..9 + length].to_vec();
            received.drain(..9 + length);
            match kind {
                SETTINGS if flags & ACK == 0 => {
                    stream.write_all(&frame(SETTINGS, ACK, &[])).await.unwrap();
                }
                PING if flags & ACK == 0 => {
                    stream.write_all(&frame(PING, ACK, &payload)).await.unwrap();
                }
                GOAWAY => goaway = true,
                _ => {}
            }
        }
    }
    let waited = started.elapsed();
    assert!(goaway, "closed without a GOAWAY");
    assert!(
        waited >= Duration::from_millis(900),
        "closed before the timeout: {waited:?}"
    );
    // The sweep runs once a second; the GOAWAY's ping round trip is quick.
    assert!(waited < Duration::from_secs(4), "closed late: {waited:?}");
}
