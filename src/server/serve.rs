//! Accepting connections: hyper-util's server with the bounds `axum::serve` leaves out, so
//! that no client can hold the server's connections or file descriptors for ever, and no one
//! address can take them all.
//!
//! - A header-read timeout: a connection that has not sent a whole request head within
//!   `HEADER_READ_TIMEOUT` (10 s) of starting to wait for one is closed. hyper starts that clock
//!   whenever it waits for a request head, so it bounds both a half-sent request (slowloris) and
//!   an idle keep-alive connection. It does not cover the protocol detection before it
//!   (hyper-util reads up to 24 bytes to tell an HTTP/2 preface from HTTP/1, with no clock), so
//!   [`FirstBytes`] gives those first bytes the same deadline: a client that connects and sends
//!   nothing, or stops inside the HTTP/2 preface, is closed too.
//! - The same limit on idleness for every connection with no request in flight, HTTP/2
//!   included: hyper's HTTP/2 server has no idle limit of its own (a client that answers its
//!   pings but never opens a stream would stay for ever), so the [`Registry`]'s sweep closes
//!   such a connection with a GOAWAY once it has been idle for `HEADER_READ_TIMEOUT`.
//! - A cap on open connections (`MAX_CONNECTIONS`, never above what the file-descriptor limit
//!   leaves room for). At the cap an idle keep-alive connection (no request in flight, at least
//!   one answered) is closed to make room for the new one, the longest-idle first, as nginx
//!   does; a browser simply opens a new connection when it needs one. Only when none is idle
//!   does a new connection get a short `503` with `Retry-After` and is closed, instead of the
//!   accept loop failing on `EMFILE` for everyone.
//! - A cap per peer address (`MAX_CONNECTIONS_PER_IP`): an address at its cap makes room by
//!   closing its own longest-idle connection, or is refused the same way. So neither idle
//!   keep-alive connections nor busy ones from one address can take every slot.
//! - The process's soft file-descriptor limit raised to its hard limit at startup
//!   ([`raise_file_limit`]), since services are often started with a soft limit of 1,024.
//! - Graceful shutdown: on the signal the listener closes, in-flight requests finish, idle
//!   connections are closed.
//!
//! The accept loop and the requests stay cheap: a connection takes the registry's lock once
//! when it is accepted and once when it ends, and a request only adds to and subtracts from its
//! connection's atomic counter. The registry is scanned only at a cap and by the sweep (once a
//! second), never on the way of a request.

use std::{
    collections::HashMap,
    convert::Infallible,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, Weak,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::ConnectInfo,
    response::Response,
};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use pin_project_lite::pin_project;
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Notify,
    time::Sleep,
};
use tower::Service;

use super::headers;

/// File descriptors kept back from client connections: database connections, the SQLite files
/// and their WAL, log files, the listener, and the short-lived refusals themselves.
const RESERVED_FILES: u64 = 128;

/// How many connections already asked to close may still be open past `MAX_CONNECTIONS` while
/// new ones take their places: half of [`RESERVED_FILES`]. An idle HTTP/1 connection closes at
/// once, but an HTTP/2 one first waits for its client's answer to the GOAWAY (at most
/// [`CLOSE_GRACE`]); a flood of new connections must not grow the overshoot without bound.
const MAX_CLOSING: usize = 64;

/// How long a connection asked to close (to make room, for idleness or for shutdown) may take
/// to finish closing before it is dropped, if it still has no request in flight by then. A
/// request that started in the meantime is let finish.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How often the idle sweep runs: an idle connection is closed between `HEADER_READ_TIMEOUT`
/// and this much later.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// How long in-flight requests get to finish after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long a refusal may take to write before the connection is simply dropped.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Longest wait for a complete request head, on a new or a kept-alive connection; also the
    /// longest any connection may stay open with no request in flight.
    pub header_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one peer address; 0 for no such cap.
    pub max_connections_per_ip: usize,
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
    // HTTP/2 (prior knowledge only: there is no TLS here): pings find a peer that went away
    // without a word; an idle one that answers them is the sweep's to close.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_read_timeout)
        .keep_alive_timeout(limits.header_read_timeout);
    let registry = Arc::new(Registry::new(&limits));
    tokio::spawn(sweep(Arc::downgrade(&registry), limits.header_read_timeout));
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
        let registration = match registry.admit(peer.ip()) {
            Ok(registration) => registration,
            Err(cap) => {
                cap.log_refusal(peer.ip(), &limits);
                tokio::spawn(refuse(stream));
                continue;
            }
        };
        let service = ConnectionService {
            app: app.clone(),
            peer,
            activity: Arc::clone(&registration.activity),
        };
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(FirstBytes::new(stream, limits.header_read_timeout)),
                service,
            )
            .into_owned();
        tokio::spawn(drive(connection, registration));
    }
    drop(listener);
    registry.close_all();
    tokio::select! {
        () = registry.emptied() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still running {SHUTDOWN_GRACE:?} after the shutdown signal were cut off");
        }
    }
}

/// One accepted connection as hyper serves it.
type Connection = auto::UpgradeableConnection<
    'static,
    TokioIo<FirstBytes<TcpStream>>,
    ConnectionService,
    TokioExecutor,
>;

/// Runs a connection until it ends, or until the registry asks it to close: then it closes
/// gracefully (an idle HTTP/1 connection at once; HTTP/2 with a GOAWAY, letting open streams
/// finish). One that is still idle [`CLOSE_GRACE`] later (an HTTP/2 client that does not
/// answer the GOAWAY's ping) is dropped.
async fn drive(connection: Connection, registration: Registration) {
    let activity = &registration.activity;
    let mut connection = std::pin::pin!(connection);
    let ended = tokio::select! {
        biased;
        ended = connection.as_mut() => Some(ended),
        () = activity.close.notified() => None,
    };
    let ended = match ended {
        Some(ended) => ended,
        None => {
            connection.as_mut().graceful_shutdown();
            loop {
                match tokio::time::timeout(CLOSE_GRACE, connection.as_mut()).await {
                    Ok(ended) => break ended,
                    Err(_) if activity.in_flight() == 0 => break Ok(()),
                    Err(_) => {}
                }
            }
        }
    };
    if let Err(err) = ended {
        tracing::debug!(%err, "connection ended with an error");
    }
}

/// The app as hyper calls it on one connection: each request gets the peer address (for rate
/// limits and the sessions list) and counts as in flight on its connection until its response
/// body has been sent or dropped, so a streamed page is busy until its last chunk.
struct ConnectionService {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = hyper::Response<CountedBody>;
    type Error = Infallible;
    type Future = CountedFuture<<Router as Service<axum::extract::Request>>::Future>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(&self.activity);
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        // A `Router` is always ready (its `poll_ready` returns `Ready` at once), as
        // `TowerToHyperService` relies on too.
        CountedFuture {
            future: self.app.clone().call(request),
            in_flight: Some(in_flight),
        }
    }
}

pin_project! {
    /// The router's future; hands the request's [`InFlight`] on to the response body.
    struct CountedFuture<F> {
        #[pin]
        future: F,
        in_flight: Option<InFlight>,
    }
}

impl<F> Future for CountedFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<hyper::Response<CountedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = ready!(this.future.poll(cx));
        let in_flight = this.in_flight.take();
        Poll::Ready(Ok(response.map(|body| CountedBody {
            body,
            _in_flight: in_flight,
        })))
    }
}

/// A response body that keeps its request in flight until it is done or dropped.
struct CountedBody {
    body: Body,
    _in_flight: Option<InFlight>,
}

impl hyper::body::Body for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    // hyper takes the `content-length` of a body it is not told otherwise from here.
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Milliseconds from `epoch` to now.
fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What one connection's requests update without a lock, and how the registry asks it to
/// close.
struct Activity {
    /// Requests whose response has not been sent (or dropped) yet.
    in_flight: AtomicU32,
    /// When the connection last had no request in flight (ms since `epoch`): its acceptance,
    /// or the end of its latest response.
    idle_since: AtomicU64,
    /// Whether a response has been sent: only a kept-alive connection is closed to make room,
    /// never a new one whose first request may be on its way.
    answered: AtomicBool,
    /// Told once to close.
    close: Notify,
    /// The registry's clock.
    epoch: Instant,
}

impl Activity {
    fn new(epoch: Instant, now: u64) -> Self {
        Self {
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(now),
            answered: AtomicBool::new(false),
            close: Notify::new(),
            epoch,
        }
    }

    fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Since when an idle kept-alive connection has been idle; `None` while it is busy or has
    /// not answered a request yet.
    fn idle_keep_alive_since(&self) -> Option<u64> {
        (self.in_flight() == 0 && self.answered.load(Ordering::Relaxed))
            .then(|| self.idle_since.load(Ordering::Relaxed))
    }
}

/// A request in flight on a connection, from the call of the service to the end (or drop) of
/// its response body: one atomic add and one subtract.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            // `fetch_max`: of two HTTP/2 streams ending at once, the later end counts.
            let now = millis_since(activity.epoch);
            activity.idle_since.fetch_max(now, Ordering::Relaxed);
            activity.answered.store(true, Ordering::Relaxed);
        }
    }
}

/// The cap a new connection meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cap {
    /// `MAX_CONNECTIONS`.
    Total,
    /// `MAX_CONNECTIONS_PER_IP`.
    PerIp,
}

impl Cap {
    /// One warning per refusal, saying which setting to change (an address is not a secret).
    fn log_refusal(self, ip: IpAddr, limits: &ConnectionLimits) {
        match self {
            Self::Total => tracing::warn!(
                max = limits.max_connections,
                "refused a connection: MAX_CONNECTIONS are open and none is idle"
            ),
            Self::PerIp => tracing::warn!(
                peer = %ip,
                max = limits.max_connections_per_ip,
                "refused a connection: this address has MAX_CONNECTIONS_PER_IP open and none \
                 is idle; if many clients share it (a proxy not in TRUSTED_PROXIES, a NAT), \
                 raise MAX_CONNECTIONS_PER_IP or set it to 0"
            ),
        }
    }
}

/// What [`Table::decide`] makes of a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// There is room.
    Admit,
    /// Admit it, and ask the idle connection in this slot to close to make room.
    Replace { slot: usize, cap: Cap },
    /// No room, and nothing idle to close.
    Refuse(Cap),
}

/// The open connections.
struct Registry {
    table: Mutex<Table>,
    /// The zero of every connection's clock.
    epoch: Instant,
    /// Told when the last connection ends (graceful shutdown waits for it).
    empty: Notify,
}

/// An open connection's place in the registry; ending the connection drops it, which frees
/// the place.
struct Registration {
    registry: Arc<Registry>,
    slot: usize,
    activity: Arc<Activity>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut table = self.registry.lock();
        table.remove(self.slot);
        if table.open == 0 {
            self.registry.empty.notify_one();
        }
    }
}

impl Registry {
    fn new(limits: &ConnectionLimits) -> Self {
        Self {
            table: Mutex::new(Table::new(
                limits.max_connections,
                limits.max_connections_per_ip,
            )),
            epoch: Instant::now(),
            empty: Notify::new(),
        }
    }

    /// Never held across an `.await`; nothing panics while it is held, but a poisoned lock
    /// would still hold a consistent table.
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection from `ip`, first asking an idle one to close if a cap
    /// needs the room.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Registration, Cap> {
        let activity = Arc::new(Activity::new(self.epoch, millis_since(self.epoch)));
        let mut table = self.lock();
        match table.decide(ip) {
            Admission::Admit => {}
            Admission::Replace { slot, cap } => {
                table.close(slot);
                tracing::debug!(
                    ?cap,
                    "closed an idle keep-alive connection to make room for a new one"
                );
            }
            Admission::Refuse(cap) => return Err(cap),
        }
        let slot = table.insert(ip, Arc::clone(&activity));
        drop(table);
        Ok(Registration {
            registry: Arc::clone(self),
            slot,
            activity,
        })
    }

    /// Asks every connection to close (the shutdown).
    fn close_all(&self) {
        let mut table = self.lock();
        for slot in 0..table.slots.len() {
            table.close(slot);
        }
    }

    /// Completes once no connection is open.
    async fn emptied(&self) {
        loop {
            // Created before the check, so a notification in between is not lost.
            let notified = self.empty.notified();
            if self.lock().open == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Every [`SWEEP_INTERVAL`], asks the connections idle for `idle_timeout` to close; ends with
/// the registry. One task scanning the table once a second costs less than a timer per
/// connection reset by every request, and keeps requests off any shared state but their own
/// connection's counter.
async fn sweep(registry: Weak<Registry>, idle_timeout: Duration) {
    let idle_timeout = u64::try_from(idle_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(registry) = registry.upgrade() else {
            return;
        };
        let now = millis_since(registry.epoch);
        let closed = registry.lock().close_idle(now, idle_timeout);
        if closed > 0 {
            tracing::debug!(closed, "closed connections idle for HEADER_READ_TIMEOUT");
        }
    }
}

/// One open connection, as the registry sees it.
struct Slot {
    ip: IpAddr,
    /// Asked to close: no longer counted against the caps, never chosen again.
    closing: bool,
    activity: Arc<Activity>,
}

/// The registry's table. Connections asked to close stay in it until they end (they still
/// hold a file descriptor), but no longer count against the caps.
struct Table {
    /// Indexed by slot number; `None` is a free slot (listed in `free`).
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Connections not asked to close, by peer address.
    per_ip: HashMap<IpAddr, usize>,
    /// Connections not asked to close.
    live: usize,
    /// All connections, including those closing.
    open: usize,
    max_connections: usize,
    /// 0: no per-address cap.
    max_per_ip: usize,
}

impl Table {
    fn new(max_connections: usize, max_per_ip: usize) -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            per_ip: HashMap::new(),
            live: 0,
            open: 0,
            max_connections,
            max_per_ip,
        }
    }

    /// Whether a new connection from `ip` may come in, and what must close for it.
    ///
    /// - The address is at `MAX_CONNECTIONS_PER_IP`: its own longest-idle connection makes
    ///   room, or it is refused. That also keeps the total where it was.
    /// - Under `MAX_CONNECTIONS`: admitted.
    /// - At `MAX_CONNECTIONS`: the longest-idle connection makes room; that of the new
    ///   connection's own address if it holds more than an average address's share (so an
    ///   address that keeps reconnecting replaces its own connections, not other people's).
    ///   With nothing idle, refused.
    fn decide(&self, ip: IpAddr) -> Admission {
        if self.open >= self.max_connections + MAX_CLOSING {
            return Admission::Refuse(Cap::Total);
        }
        let own = self.per_ip.get(&ip).copied().unwrap_or(0);
        if self.max_per_ip > 0 && own >= self.max_per_ip {
            return match self.longest_idle(Some(ip)) {
                Some(slot) => Admission::Replace {
                    slot,
                    cap: Cap::PerIp,
                },
                None => Admission::Refuse(Cap::PerIp),
            };
        }
        if self.live < self.max_connections {
            return Admission::Admit;
        }
        let over_share = own * self.per_ip.len() > self.live;
        let victim = over_share
            .then(|| self.longest_idle(Some(ip)))
            .flatten()
            .or_else(|| self.longest_idle(None));
        match victim {
            Some(slot) => Admission::Replace {
                slot,
                cap: Cap::Total,
            },
            None => Admission::Refuse(Cap::Total),
        }
    }

    /// The idle kept-alive connection (of `ip`, if given) that has been idle longest.
    fn longest_idle(&self, ip: Option<IpAddr>) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| {
                let slot = slot.as_ref()?;
                if slot.closing || ip.is_some_and(|ip| ip != slot.ip) {
                    return None;
                }
                Some((slot.activity.idle_keep_alive_since()?, index))
            })
            .min()
            .map(|(_, index)| index)
    }

    fn insert(&mut self, ip: IpAddr, activity: Arc<Activity>) -> usize {
        let slot = Slot {
            ip,
            closing: false,
            activity,
        };
        let index = match self.free.pop() {
            Some(index) => {
                self.slots[index] = Some(slot);
                index
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        *self.per_ip.entry(ip).or_insert(0) += 1;
        self.live += 1;
        self.open += 1;
        index
    }

    fn remove(&mut self, index: usize) {
        let Some(slot) = self.slots.get_mut(index).and_then(Option::take) else {
            return;
        };
        self.free.push(index);
        self.open -= 1;
        if !slot.closing {
            self.forget(slot.ip);
        }
    }

    /// Asks the connection in `index` to close; from now on it counts against no cap.
    fn close(&mut self, index: usize) {
        let Some(slot) = self.slots.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if slot.closing {
            return;
        }
        slot.closing = true;
        // A stored permit: the connection sees it even if it is not waiting yet.
        slot.activity.close.notify_one();
        let ip = slot.ip;
        self.forget(ip);
    }

    /// Takes a connection of `ip` off the live counts.
    fn forget(&mut self, ip: IpAddr) {
        self.live -= 1;
        if let Some(count) = self.per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    /// Asks every connection with no request in flight since `now - idle_timeout` (ms) or
    /// earlier to close, new ones included; returns how many.
    fn close_idle(&mut self, now: u64, idle_timeout: u64) -> usize {
        let mut closed = 0;
        for index in 0..self.slots.len() {
            let expired = self.slots[index].as_ref().is_some_and(|slot| {
                let activity = &slot.activity;
                let idle_since = activity.idle_since.load(Ordering::Relaxed);
                !slot.closing
                    && activity.in_flight() == 0
                    && now.saturating_sub(idle_since) >= idle_timeout
            });
            if expired {
                self.close(index);
                closed += 1;
            }
        }
        closed
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

    // --- The registry's choices ---

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    /// How a connection in a test table stands.
    #[derive(Clone, Copy)]
    enum Was {
        /// Answered a request, idle since this millisecond.
        IdleSince(u64),
        /// A request in flight.
        Busy,
        /// Accepted at 0, no request answered yet.
        New,
    }

    fn add(table: &mut Table, ip: IpAddr, was: Was) -> usize {
        let activity = Arc::new(Activity::new(Instant::now(), 0));
        match was {
            Was::IdleSince(at) => {
                activity.answered.store(true, Ordering::Relaxed);
                activity.idle_since.store(at, Ordering::Relaxed);
            }
            Was::Busy => {
                activity.in_flight.store(1, Ordering::Relaxed);
            }
            Was::New => {}
        }
        table.insert(ip, activity)
    }

    #[test]
    fn under_the_cap_a_connection_is_admitted() {
        let mut table = Table::new(3, 0);
        add(&mut table, A, Was::IdleSince(5));
        add(&mut table, A, Was::Busy);
        assert_eq!(table.decide(A), Admission::Admit);
        assert_eq!(table.decide(B), Admission::Admit);
    }

    #[test]
    fn at_the_cap_the_longest_idle_keep_alive_connection_makes_room() {
        let mut table = Table::new(4, 0);
        add(&mut table, A, Was::IdleSince(50));
        let oldest = add(&mut table, B, Was::IdleSince(10));
        add(&mut table, A, Was::Busy);
        add(&mut table, B, Was::New);
        let expected = Admission::Replace {
            slot: oldest,
            cap: Cap::Total,
        };
        assert_eq!(table.decide(A), expected);
        assert_eq!(table.decide(B), expected);
    }

    #[test]
    fn at_the_cap_with_nothing_idle_a_connection_is_refused() {
        // A new connection that has not answered anything yet is never closed for another:
        // its first request may be on its way.
        let mut table = Table::new(2, 0);
        add(&mut table, A, Was::Busy);
        add(&mut table, B, Was::New);
        assert_eq!(table.decide(A), Admission::Refuse(Cap::Total));
    }

    #[test]
    fn an_address_over_its_share_replaces_its_own_idle_connection_first() {
        let mut table = Table::new(4, 0);
        let own = add(&mut table, A, Was::IdleSince(20));
        add(&mut table, A, Was::IdleSince(30));
        add(&mut table, A, Was::Busy);
        let other = add(&mut table, B, Was::IdleSince(5));
        // A holds 3 of 4 (over the average of 2): its own connection goes, though B's has
        // been idle longer.
        assert_eq!(
            table.decide(A),
            Admission::Replace {
                slot: own,
                cap: Cap::Total
            }
        );
        // B holds 1 of 4: the longest-idle of all goes, here its own.
        assert_eq!(
            table.decide(B),
            Admission::Replace {
                slot: other,
                cap: Cap::Total
            }
        );
        // A third address holds nothing: the same.
        let c = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 3));
        assert_eq!(
            table.decide(c),
            Admission::Replace {
                slot: other,
                cap: Cap::Total
            }
        );
    }

    #[test]
    fn an_address_at_its_cap_replaces_its_own_idle_connection_or_is_refused() {
        let mut table = Table::new(100, 2);
        add(&mut table, A, Was::Busy);
        add(&mut table, A, Was::New);
        let older = add(&mut table, B, Was::IdleSince(1));
        // A is at its cap with nothing idle of its own; B's idle connection is not A's to
        // close, and B is under the cap.
        assert_eq!(table.decide(A), Admission::Refuse(Cap::PerIp));
        assert_eq!(table.decide(B), Admission::Admit);
        let newer = add(&mut table, B, Was::IdleSince(7));
        assert_eq!(
            table.decide(B),
            Admission::Replace {
                slot: older,
                cap: Cap::PerIp
            }
        );
        // Asked to close, it no longer counts: B is under its cap again.
        table.close(older);
        assert_eq!(table.decide(B), Admission::Admit);
        add(&mut table, B, Was::Busy);
        assert_eq!(
            table.decide(B),
            Admission::Replace {
                slot: newer,
                cap: Cap::PerIp
            }
        );
    }

    #[test]
    fn connections_asked_to_close_free_their_place_but_bound_the_overshoot() {
        let mut table = Table::new(1, 0);
        let mut first = add(&mut table, A, Was::IdleSince(0));
        for _ in 0..MAX_CLOSING {
            let Admission::Replace { slot, .. } = table.decide(B) else {
                panic!("an idle connection should make room");
            };
            assert_eq!(slot, first);
            table.close(slot);
            first = add(&mut table, B, Was::IdleSince(1));
        }
        assert_eq!(table.open, 1 + MAX_CLOSING);
        assert_eq!(table.live, 1);
        // As many as MAX_CLOSING still closing: no more room is made until some have gone.
        assert_eq!(table.decide(B), Admission::Refuse(Cap::Total));
        table.remove(0);
        assert!(matches!(table.decide(B), Admission::Replace { .. }));
    }

    #[test]
    fn removing_a_connection_frees_its_slot_and_its_address_count() {
        let mut table = Table::new(2, 1);
        let slot = add(&mut table, A, Was::Busy);
        assert_eq!(table.decide(A), Admission::Refuse(Cap::PerIp));
        table.remove(slot);
        assert_eq!((table.open, table.live), (0, 0));
        assert!(table.per_ip.is_empty());
        assert_eq!(add(&mut table, A, Was::Busy), slot, "the slot is reused");
        // A connection asked to close is counted once: by `close`, not again when it ends.
        table.close(slot);
        table.remove(slot);
        assert_eq!((table.open, table.live), (0, 0));
        assert!(table.per_ip.is_empty());
    }

    #[test]
    fn the_sweep_closes_every_connection_idle_for_the_timeout_and_spares_busy_ones() {
        let mut table = Table::new(10, 0);
        let kept_alive = add(&mut table, A, Was::IdleSince(1_000));
        let recent = add(&mut table, A, Was::IdleSince(9_500));
        let busy = add(&mut table, A, Was::Busy);
        // An HTTP/2 connection that never opened a stream (accepted at 0).
        let silent = add(&mut table, B, Was::New);
        assert_eq!(table.close_idle(10_000, 5_000), 2);
        let closing = |table: &Table, slot: usize| table.slots[slot].as_ref().unwrap().closing;
        assert!(closing(&table, kept_alive) && closing(&table, silent));
        assert!(!closing(&table, recent) && !closing(&table, busy));
        // Once asked, a connection is not counted again.
        assert_eq!(table.close_idle(10_000, 5_000), 0);
    }

    #[tokio::test]
    async fn a_closed_connection_is_told_even_before_it_waits() {
        let mut table = Table::new(1, 0);
        let slot = add(&mut table, A, Was::IdleSince(0));
        let activity = Arc::clone(&table.slots[slot].as_ref().unwrap().activity);
        table.close(slot);
        tokio::time::timeout(SHORT, activity.close.notified())
            .await
            .expect("the request to close was kept");
    }

    #[test]
    fn a_request_is_in_flight_until_its_response_body_is_dropped() {
        let epoch = Instant::now();
        let activity = Arc::new(Activity::new(epoch, 0));
        assert_eq!(
            activity.idle_keep_alive_since(),
            None,
            "new, not kept alive"
        );
        let first = InFlight::start(&activity);
        let second = InFlight::start(&activity);
        let body = CountedBody {
            body: Body::from("four"),
            _in_flight: Some(first),
        };
        // The body's length still reaches hyper (`content-length`).
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(4));
        drop(body);
        assert_eq!(activity.in_flight(), 1);
        assert_eq!(activity.idle_keep_alive_since(), None);
        drop(second);
        assert_eq!(activity.in_flight(), 0);
        assert!(activity.idle_keep_alive_since().is_some());
    }

    #[tokio::test]
    async fn the_registry_is_empty_once_every_registration_is_dropped() {
        let registry = Arc::new(Registry::new(&ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            max_connections: 1,
            max_connections_per_ip: 0,
        }));
        let registration = registry.admit(A).unwrap();
        assert_eq!(registry.admit(B).err(), Some(Cap::Total));
        registry.close_all();
        let emptied = tokio::spawn({
            let registry = Arc::clone(&registry);
            async move { registry.emptied().await }
        });
        drop(registration);
        tokio::time::timeout(SHORT * 4, emptied)
            .await
            .expect("emptied")
            .unwrap();
        assert!(registry.admit(B).is_ok());
    }
}
