//! Password hashing with argon2id on a small pool of dedicated, low-priority threads, each
//! owning one argon2 memory block that it reuses: bounded memory, bounded CPU, bounded queue.
//!
//! Why not tokio's blocking pool: each argon2id computation needs 19 MiB. Allocated per hash on
//! whichever blocking thread runs it, glibc keeps those blocks in per-thread arenas, and a login
//! burst left the process at ~800 MB for good. Here memory is at most `threads × 19 MiB`: a
//! thread allocates its block at its first job, reuses it while jobs keep coming, and frees it
//! after [`RELEASE_AFTER_IDLE`] without work, so an idle server holds none. The threads run
//! under Linux's `SCHED_IDLE` policy, so a login storm takes the CPU that page and API requests
//! leave over instead of starving them; and when more hashes wait than `HASH_QUEUE_MAX`, the
//! next one is refused at once with 503 + `Retry-After`, not left to time out. How many wait,
//! and how long each waited, are in the metrics (`server::metrics`).

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{self, Output, ParamsString, Salt},
};
use tokio::sync::oneshot;

use crate::{error::AppError, server::error::StartupError};

/// Salt bytes per hash: 16, as RFC 9106 recommends.
const SALT_LEN: usize = 16;
/// How long a hashing thread keeps its memory block without work before freeing it.
const RELEASE_AFTER_IDLE: Duration = Duration::from_secs(2);

/// An argon2id PHC string as stored in the database. Not `Serialize`, and `Debug` is redacted:
/// a hash must never reach a client or a log line.
#[derive(Clone)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// The PHC string, for storing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A hash read back from the database.
impl From<String> for PasswordHash {
    fn from(phc: String) -> Self {
        Self(phc)
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// What a hashing thread is asked to do.
enum Work {
    Hash(String),
    Verify(String, PasswordHash),
}

/// What it answers.
enum Done {
    Hashed(PasswordHash),
    Verified(bool),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Done, String>>,
    /// When it joined the queue: the hashing thread records how long it waited.
    queued: Instant,
}

/// Hashes and verifies passwords: argon2id with the OWASP minimum parameters (m = 19 MiB,
/// t = 2, p = 1) on the hashing threads.
#[derive(Clone)]
pub struct Hasher {
    queue: flume::Sender<Job>,
    /// Hash of a random password, verified against when an email is unknown so that an unknown
    /// email costs the same time as a wrong password (no account enumeration by timing).
    dummy: Arc<PasswordHash>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hasher")
    }
}

impl Hasher {
    /// Starts `threads` hashing threads with room for `queue_max` waiting jobs, and proves they
    /// work by hashing the dummy password. Each job's time in the queue is recorded in
    /// `queue_wait` (seconds). The threads end when the last `Hasher` is dropped.
    ///
    /// # Errors
    /// A thread could not be started, or argon2 failed (misconfiguration or no OS randomness).
    pub async fn new(
        threads: usize,
        queue_max: usize,
        queue_wait: metrics::Histogram,
    ) -> Result<Self, StartupError> {
        let (queue, jobs) = flume::bounded::<Job>(queue_max);
        for n in 0..threads {
            let jobs = jobs.clone();
            let queue_wait = queue_wait.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || hashing_thread(&jobs, &queue_wait))
                .map_err(|e| StartupError::Hasher(format!("starting a hashing thread: {e}")))?;
        }
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).map_err(|e| StartupError::Hasher(e.to_string()))?;
        let dummy_password: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let mut hasher = Self {
            queue,
            dummy: Arc::new(PasswordHash(String::new())),
        };
        let dummy = hasher
            .hash(dummy_password)
            .await
            .map_err(|e| StartupError::Hasher(e.to_string()))?;
        hasher.dummy = Arc::new(dummy);
        Ok(hasher)
    }

    /// Hashes a new password.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when too many hashes are waiting already;
    /// [`AppError::Internal`] if argon2 fails.
    pub async fn hash(&self, password: String) -> Result<PasswordHash, AppError> {
        match self.run(Work::Hash(password)).await? {
            Done::Hashed(hash) => Ok(hash),
            Done::Verified(_) => Err(AppError::internal("hashing", "a verification answered")),
        }
    }

    /// Checks `password` against `hash`, or against the dummy hash when there is no account, in
    /// which case the answer is always `false` but takes the same time.
    ///
    /// # Errors
    /// [`AppError::Unavailable`] when too many hashes are waiting already;
    /// [`AppError::Internal`] if the stored hash is unreadable.
    pub async fn verify(
        &self,
        password: String,
        hash: Option<PasswordHash>,
    ) -> Result<bool, AppError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| (*self.dummy).clone());
        match self.run(Work::Verify(password, hash)).await? {
            Done::Verified(matches) => Ok(known && matches),
            Done::Hashed(_) => Err(AppError::internal("verifying", "a hash answered")),
        }
    }

    /// How many hashes are waiting for a hashing thread right now.
    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    async fn run(&self, work: Work) -> Result<Done, AppError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work,
            reply,
            queued: Instant::now(),
        };
        match self.queue.try_send(job) {
            // Argon2 takes tens of milliseconds, more in a login storm: the request's database
            // connection goes back to the pool meanwhile rather than sit idle (issue 27).
            Ok(()) => crate::server::db::per_request::release(),
            Err(flume::TrySendError::Full(_)) => {
                tracing::warn!(
                    "refused a password hash: HASH_QUEUE_MAX hashes are already waiting (a \
                     login or sign-up storm); the client is asked to retry"
                );
                return Err(AppError::Unavailable);
            }
            Err(flume::TrySendError::Disconnected(_)) => {
                return Err(AppError::internal(
                    "the password hashing threads have stopped",
                    "queue disconnected",
                ));
            }
        }
        answer
            .await
            .map_err(|e| AppError::internal("a password hashing thread died", e))?
            .map_err(|cause| AppError::internal("password hashing failed", cause))
    }
}

/// One hashing thread: lowers its own priority, then takes jobs until every sender is gone.
fn hashing_thread(jobs: &flume::Receiver<Job>, queue_wait: &metrics::Histogram) {
    lower_priority();
    let mut memory = Memory::default();
    loop {
        let job = if memory.is_held() {
            match jobs.recv_timeout(RELEASE_AFTER_IDLE) {
                Ok(job) => job,
                Err(flume::RecvTimeoutError::Timeout) => {
                    memory.release();
                    continue;
                }
                Err(flume::RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match jobs.recv() {
                Ok(job) => job,
                Err(flume::RecvError::Disconnected) => return,
            }
        };
        let Job {
            work,
            reply,
            queued,
        } = job;
        queue_wait.record(queued.elapsed());
        let done = match work {
            Work::Hash(password) => memory.hash(&password).map(Done::Hashed),
            Work::Verify(password, hash) => memory.verify(&password, &hash).map(Done::Verified),
        };
        // The request may have gone away meanwhile; nobody to tell then.
        let _ = reply.send(done);
    }
}

/// Puts this thread under `SCHED_IDLE`: it runs when the request threads leave a core free, and
/// a waking request thread preempts it at once. (Linux schedules threads individually, and
/// lowering one's own policy needs no privilege.)
fn lower_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` is a valid, initialised sched_param.
    let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if result != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "could not lower the priority of a password hashing thread; logins may slow \
             other requests down under load"
        );
    }
}

/// A hashing thread's argon2 working memory: mapped at its first job, reused, and unmapped
/// after [`RELEASE_AFTER_IDLE`] without work. It is mapped from the OS directly rather than
/// taken from the allocator, so releasing it really returns it (an allocator may keep a freed
/// 19 MiB block for later, and glibc's did).
#[derive(Default)]
struct Memory(Option<Mapping>);

/// Anonymous, private, zero-filled pages holding `len` argon2 blocks.
struct Mapping {
    blocks: std::ptr::NonNull<Block>,
    len: usize,
}

// SAFETY: the mapping is owned by exactly one `Memory`, which one thread uses at a time.
unsafe impl Send for Mapping {}

impl Mapping {
    fn new(len: usize) -> Result<Self, String> {
        let bytes = len * std::mem::size_of::<Block>();
        // SAFETY: a fresh anonymous private mapping; no existing memory is touched.
        let pointer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if pointer == libc::MAP_FAILED {
            return Err(format!(
                "could not map {bytes} bytes for argon2: {}",
                std::io::Error::last_os_error()
            ));
        }
        // Argon2 reads its 19 MiB in a data-dependent order: huge pages save most TLB misses.
        // (Advice only; without transparent huge pages the mapping works the same.)
        // SAFETY: advises on the region just mapped.
        unsafe { libc::madvise(pointer, bytes, libc::MADV_HUGEPAGE) };
        // Page-aligned, so aligned for `Block`; zero-filled pages are valid `Block`s (all-zero
        // u64 arrays).
        std::ptr::NonNull::new(pointer.cast::<Block>())
            .map(|blocks| Self { blocks, len })
            .ok_or_else(|| "mmap returned a null pointer".to_owned())
    }

    fn as_mut_slice(&mut self) -> &mut [Block] {
        // SAFETY: `len` initialised blocks live at `blocks` for as long as `self`, and
        // `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region `new` mapped; no reference to it outlives `self`.
        unsafe {
            libc::munmap(
                self.blocks.as_ptr().cast(),
                self.len * std::mem::size_of::<Block>(),
            );
        }
    }
}

impl Memory {
    fn is_held(&self) -> bool {
        self.0.is_some()
    }

    /// Returns the block's pages to the OS.
    fn release(&mut self) {
        self.0 = None;
    }

    /// At least `count` blocks.
    fn blocks(&mut self, count: usize) -> Result<&mut [Block], String> {
        if self.0.as_ref().is_none_or(|mapping| mapping.len < count) {
            self.0 = None;
            self.0 = Some(Mapping::new(count)?);
        }
        let mapping = self.0.as_mut().ok_or("no argon2 memory")?;
        Ok(&mut mapping.as_mut_slice()[..count])
    }

    fn hash(&mut self, password: &str) -> Result<PasswordHash, String> {
        let params = Params::default();
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| format!("OS random generator: {e}"))?;
        let mut output = vec![0u8; Params::DEFAULT_OUTPUT_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(
                password.as_bytes(),
                &salt,
                &mut output,
                self.blocks(params.block_count())?,
            )
            .map_err(|e| e.to_string())?;
        let phc = phc::PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
            salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
            hash: Some(Output::new(&output).map_err(|e| e.to_string())?),
        };
        Ok(PasswordHash(phc.to_string()))
    }

    /// Parameters come from the stored PHC string, and the final comparison is constant-time
    /// (`Output`'s equality).
    fn verify(&mut self, password: &str, stored: &PasswordHash) -> Result<bool, String> {
        let unreadable =
            |e: &dyn fmt::Display| format!("a stored password hash is unreadable: {e}");
        let phc = phc::PasswordHash::new(stored.expose()).map_err(|e| unreadable(&e))?;
        let algorithm = Algorithm::try_from(phc.algorithm.as_str()).map_err(|e| unreadable(&e))?;
        let version = phc
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(|e| unreadable(&e))?
            .unwrap_or_default();
        let params = Params::try_from(&phc).map_err(|e| unreadable(&e))?;
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return Err(unreadable(&"no salt or no hash"));
        };
        let mut output = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut output,
                self.blocks(params.block_count())?,
            )
            .map_err(|e| e.to_string())?;
        let computed = Output::new(&output).map_err(|e| e.to_string())?;
        Ok(computed == *expected)
    }
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    async fn hasher() -> Hasher {
        Hasher::new(2, 8, metrics::Histogram::noop()).await.unwrap()
    }

    #[tokio::test]
    async fn hash_is_argon2id_phc_with_owasp_parameters() {
        let hash = hasher()
            .await
            .hash("correct horse battery".into())
            .await
            .unwrap();
        assert!(
            hash.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.expose()
        );
    }

    #[tokio::test]
    async fn verify_accepts_the_right_password_only() {
        let h = hasher().await;
        let hash = h.hash("correct horse battery".into()).await.unwrap();
        assert!(
            h.verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify("correct horse batterY".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!h.verify(String::new(), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn our_hashes_and_the_reference_implementation_agree_both_ways() {
        let h = hasher().await;
        // Ours, checked by the argon2 crate's own verifier.
        let ours = h.hash("correct horse battery".into()).await.unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", ours.expose())
                .is_ok()
        );
        // The argon2 crate's, checked by ours (also with other parameters than the default).
        for argon2 in [
            Argon2::default(),
            Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(32 * 1024, 3, 1, None).unwrap(),
            ),
        ] {
            let theirs = argon2
                .hash_password(b"violet kettle drum")
                .unwrap()
                .to_string();
            let theirs = PasswordHash::from(theirs);
            assert!(
                h.verify("violet kettle drum".into(), Some(theirs.clone()))
                    .await
                    .unwrap()
            );
            assert!(
                !h.verify("violet kettle".into(), Some(theirs))
                    .await
                    .unwrap()
            );
        }
    }

    #[tokio::test]
    async fn same_password_gets_a_fresh_salt_each_time() {
        let h = hasher().await;
        let a = h.hash("same password".into()).await.unwrap();
        let b = h.hash("same password".into()).await.unwrap();
        assert_ne!(a.expose(), b.expose());
    }

    #[tokio::test]
    async fn unknown_account_never_verifies() {
        let h = hasher().await;
        assert!(!h.verify("anything at all".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn corrupt_stored_hash_is_an_internal_error_not_a_match() {
        let h = hasher().await;
        let result = h
            .verify("x".into(), Some(PasswordHash::from("garbage".to_owned())))
            .await;
        assert_eq!(result, Err(AppError::Internal));
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once_as_unavailable() {
        // One thread and room for one waiting job: of many hashes sent at once, some must be
        // refused with 503 instead of waiting, and every accepted one completes.
        let h = Hasher::new(1, 1, metrics::Histogram::noop()).await.unwrap();
        let results =
            futures::future::join_all((0..8).map(|i| h.hash(format!("password number {i}")))).await;
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(AppError::Unavailable)))
            .count();
        let hashed = results.iter().filter(|r| r.is_ok()).count();
        assert!(refused >= 1, "nothing was refused");
        assert!(hashed >= 1, "nothing was hashed");
        assert_eq!(refused + hashed, 8);
        assert_eq!(AppError::Unavailable.status(), 503);
    }

    #[tokio::test]
    async fn hashing_threads_run_under_sched_idle() {
        let h = hasher().await;
        h.hash("wake every thread up".into()).await.unwrap();
        // Other tests in this process start hashers of their own: a thread of theirs can be
        // seen between its start (named) and its first instruction (SCHED_IDLE). Such a thread
        // turns idle within moments; one that never does fails the test.
        let mut policies = Vec::new();
        for _ in 0..100 {
            policies = hashing_thread_policies();
            if policies.iter().all(|p| *p == libc::SCHED_IDLE as u32) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!policies.is_empty(), "no hashing thread found");
        assert!(
            policies.iter().all(|p| *p == libc::SCHED_IDLE as u32),
            "{policies:?}"
        );
    }

    /// The scheduling policy of every `argon2-*` thread of this process.
    fn hashing_thread_policies() -> Vec<u32> {
        let mut policies = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let dir = task.unwrap().path();
            let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if name.starts_with("argon2-") {
                // A thread that ended since the listing has no stat any more.
                let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
                    continue;
                };
                // Field 41 is the scheduling policy; fields after the `)` of the name start at 3.
                let after_name = stat.rsplit_once(')').unwrap().1;
                let policy: u32 = after_name
                    .split_whitespace()
                    .nth(38)
                    .unwrap()
                    .parse()
                    .unwrap();
                policies.push(policy);
            }
        }
        policies
    }

    #[test]
    fn debug_is_redacted() {
        let hash = PasswordHash::from("$argon2id$secret".to_owned());
        assert!(!format!("{hash:?}").contains("argon2id"));
    }
}
