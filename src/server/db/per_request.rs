//! One database connection per request: the statements a request runs (its session lookup, then
//! its data) share one connection instead of going back to the pool after each.
//!
//! A pool round trip is not free. sqlx pings every connection it takes back (a network round
//! trip on PostgreSQL, a hop to the connection's worker thread on SQLite), and every checkout
//! takes the pool's locks. [`scope`] gives a request a slot in a task-local; `db_read!`,
//! `db_write!` and `in_transaction!` borrow the connection in it (or check one out and leave
//! it there), and it goes back to the pool once, when the request's handler returns.
//!
//! A held connection is one nobody else can use, so it is held only while the request works on
//! the database:
//! - [`release`] hands it back before a wait on something else: the password hasher calls it,
//!   so a login storm does not hold connections idle while argon2 runs.
//! - On SQLite the slot holds a *reader*, and it is handed back before a statement waits for
//!   the single writer: a request queued for the writer never keeps a reader from the requests
//!   that only read (and a writer that needs a reader can always get one).
//! - Inside a request, code reaches a connection only through the macros (or [`reader`] and
//!   [`postgres`]), never `pool.begin()` or a pool as an executor: a second connection taken
//!   from the pool while the request holds one deadlocks once every pooled connection is held
//!   by a request waiting for another (`tests/concurrency.rs` runs into that at once).
//! - Outside a scope (background tasks, and the tasks Leptos spawns to load a page's
//!   resources) every statement checks a connection out and back as before.

use std::cell::RefCell;

use sqlx::{PgPool, Postgres, pool::PoolConnection};

use super::{ReaderManager, SqliteReaders};

/// A SQLite reader connection, as [`SqliteReaders`] lends it.
type Reader = deadpool::managed::Object<ReaderManager>;

/// What a request's slot holds.
#[derive(Default)]
pub(crate) enum Held {
    #[default]
    Nothing,
    Reader(Reader),
    Postgres(PoolConnection<Postgres>),
}

tokio::task_local! {
    static SLOT: RefCell<Held>;
}

/// Runs `request` with a connection slot of its own; the connection in it (if any) goes back
/// to its pool when `request` finishes or is dropped.
pub async fn scope<F: Future>(request: F) -> F::Output {
    SLOT.scope(RefCell::new(Held::Nothing), request).await
}

/// Hands the request's connection back to its pool now, before the request waits on something
/// that is not the database. The next statement checks one out again.
pub fn release() {
    // Outside a scope there is nothing to release.
    let _ = SLOT.try_with(|slot| drop(slot.take()));
}

/// A connection lent to one statement (or transaction): back into the request's slot when
/// dropped, or to the pool when there is no slot or the slot was refilled meanwhile (two
/// statements of one request run concurrently).
pub(crate) struct Lent<C: Slotted>(Option<C>);

impl<C: Slotted> std::ops::Deref for Lent<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.0
            .as_ref()
            .expect("a lent connection is present until dropped")
    }
}

impl<C: Slotted> std::ops::DerefMut for Lent<C> {
    fn deref_mut(&mut self) -> &mut C {
        self.0
            .as_mut()
            .expect("a lent connection is present until dropped")
    }
}

impl<C: Slotted> Drop for Lent<C> {
    fn drop(&mut self) {
        if let Some(connection) = self.0.take() {
            let _ = SLOT.try_with(|slot| {
                let mut slot = slot.borrow_mut();
                if matches!(*slot, Held::Nothing) {
                    *slot = connection.into_held();
                }
            });
        }
    }
}

/// A connection type the slot can hold.
pub(crate) trait Slotted: Sized {
    fn into_held(self) -> Held;
    fn from_held(held: Held) -> Result<Self, Held>;
}

impl Slotted for Reader {
    fn into_held(self) -> Held {
        Held::Reader(self)
    }

    fn from_held(held: Held) -> Result<Self, Held> {
        match held {
            Held::Reader(reader) => Ok(reader),
            other => Err(other),
        }
    }
}

impl Slotted for PoolConnection<Postgres> {
    fn into_held(self) -> Held {
        Held::Postgres(self)
    }

    fn from_held(held: Held) -> Result<Self, Held> {
        match held {
            Held::Postgres(connection) => Ok(connection),
            other => Err(other),
        }
    }
}

/// The connection in the request's slot, if it holds one of type `C`.
fn take<C: Slotted>() -> Option<C> {
    SLOT.try_with(|slot| {
        let mut slot = slot.borrow_mut();
        match C::from_held(std::mem::take(&mut *slot)) {
            Ok(connection) => Some(connection),
            Err(other) => {
                *slot = other;
                None
            }
        }
    })
    .ok()
    .flatten()
}

/// A SQLite reader: the request's own, or one from the pool.
///
/// # Errors
/// As [`SqliteReaders::get`].
pub(crate) async fn reader(readers: &SqliteReaders) -> Result<Lent<Reader>, sqlx::Error> {
    match take::<Reader>() {
        Some(reader) => Ok(Lent(Some(reader))),
        None => Ok(Lent(Some(readers.get().await?))),
    }
}

/// A PostgreSQL connection: the request's own, or one from the pool.
///
/// # Errors
/// The pool's: it timed out, is closed, or could not connect.
pub(crate) async fn postgres(pool: &PgPool) -> Result<Lent<PoolConnection<Postgres>>, sqlx::Error> {
    match take::<PoolConnection<Postgres>>() {
        Some(connection) => Ok(Lent(Some(connection))),
        None => Ok(Lent(Some(pool.acquire().await?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{
        config::DbSettings,
        db::{Db, db_read},
    };

    async fn sqlite() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url, &DbSettings::default())
            .await
            .expect("database");
        (dir, db)
    }

    fn readers_in_use(db: &Db) -> usize {
        db.pool_usage()
            .iter()
            .find(|usage| usage.pool == "sqlite_reader")
            .map_or(0, |usage| usage.in_use)
    }

    async fn one(db: &Db) -> i64 {
        db_read!(db, |conn| sqlx::query_scalar("SELECT 1")
            .fetch_one(conn)
            .await)
        .expect("select")
    }

    #[tokio::test]
    async fn a_requests_statements_share_one_connection_until_it_ends() {
        let (_dir, db) = sqlite().await;
        scope(async {
            assert_eq!(one(&db).await, 1);
            assert_eq!(
                readers_in_use(&db),
                1,
                "kept for the request's next statement"
            );
            // The same connection answers: a per-connection setting made by one statement is
            // seen by the next.
            db_read!(&db, |conn| sqlx::query("PRAGMA cache_size = 1234")
                .execute(conn)
                .await
                .map(drop))
            .expect("pragma");
            let seen: i64 = db_read!(&db, |conn| sqlx::query_scalar("PRAGMA cache_size")
                .fetch_one(conn)
                .await)
            .expect("pragma");
            assert_eq!(seen, 1234);
            assert_eq!(readers_in_use(&db), 1, "still the one connection");
            release();
            assert_eq!(readers_in_use(&db), 0, "released before a wait elsewhere");
            assert_eq!(one(&db).await, 1);
            assert_eq!(readers_in_use(&db), 1);
        })
        .await;
        assert_eq!(
            readers_in_use(&db),
            0,
            "back to the pool when the request ends"
        );
    }

    #[tokio::test]
    async fn outside_a_request_every_statement_gives_its_connection_back() {
        let (_dir, db) = sqlite().await;
        assert_eq!(one(&db).await, 1);
        assert_eq!(readers_in_use(&db), 0);
        release();
        assert!(take::<Reader>().is_none());
    }

    #[tokio::test]
    async fn concurrent_statements_of_one_request_each_get_a_connection() {
        let (_dir, db) = sqlite().await;
        scope(async {
            let (a, b) = tokio::join!(one(&db), one(&db));
            assert_eq!((a, b), (1, 1));
            // One went back into the slot, the other to the pool.
            assert_eq!(readers_in_use(&db), 1);
        })
        .await;
        assert_eq!(readers_in_use(&db), 0);
    }
}
