//! The real binary under a write load: killed with SIGKILL, or stopped with SIGTERM, it loses no
//! write it had acknowledged. Runs on the engine `TEST_DATABASE` names.

mod common;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::{Engine, ServerProcess, TestDatabase, http};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// Acknowledged writes: task id -> title.
type Acked = Arc<Mutex<BTreeMap<i64, String>>>;

/// Starts `workers` clients that create tasks as fast as the server acknowledges them, until
/// `stop` is set or the server goes away. Only a 201 with the created task counts as
/// acknowledged.
fn write_load(
    client: &Client,
    base: &str,
    token: &str,
    workers: usize,
    stop: &Arc<AtomicBool>,
) -> (Acked, Vec<tokio::task::JoinHandle<()>>) {
    let acked: Acked = Arc::default();
    let handles = (0..workers)
        .map(|w| {
            let (client, base, token) = (client.clone(), base.to_owned(), token.to_owned());
            let (acked, stop) = (acked.clone(), stop.clone());
            tokio::spawn(async move {
                for seq in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let title = format!("worker {w} write {seq}");
                    let sent = client
                        .post(format!("{base}/api/v1/tasks"))
                        .bearer_auth(&token)
                        .json(&json!({ "title": title }))
                        .send()
                        .await;
                    let Ok(reply) = sent else { return };
                    if reply.status() != StatusCode::CREATED {
                        return;
                    }
                    let Ok(task) = reply.json::<Value>().await else {
                        return;
                    };
                    acked
                        .lock()
                        .unwrap()
                        .insert(task["id"].as_i64().unwrap(), title);
                }
            })
        })
        .collect();
    (acked, handles)
}

async fn wait_for_acks(acked: &Acked, at_least: usize) {
    for _ in 0..600 {
        if acked.lock().unwrap().len() >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the write load never reached {at_least} acknowledged writes");
}

fn assert_all_present(acked: &Acked, present: &BTreeMap<i64, String>) {
    let acked = acked.lock().unwrap();
    let lost: Vec<_> = acked
        .iter()
        .filter(|(id, title)| present.get(id) != Some(title))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes are missing after the restart, e.g. {:?}",
        lost.len(),
        acked.len(),
        lost.first()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_write_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = TestDatabase::new(Engine::from_env(), dir.path()).await else {
        return;
    };
    let client = Client::new();
    let mut server = ServerProcess::start(dir.path(), &database.url, &[]).await;
    let token = http::bearer(&client, &server.base, "durable@example.com").await;

    let stop = Arc::new(AtomicBool::new(false));
    let (acked, workers) = write_load(&client, &server.base, &token, 16, &stop);
    wait_for_acks(&acked, 300).await;
    // Mid-load: requests are in flight on every worker when the process dies.
    server.kill9();
    for worker in workers {
        worker.await.unwrap();
    }
    assert!(acked.lock().unwrap().len() >= 300);

    let restarted = ServerProcess::start(dir.path(), &database.url, &[]).await;
    // The session survived too: the same token works on the new process.
    let present = http::all_tasks(&client, &restarted.base, &token)
        .await
        .into_iter()
        .collect();
    assert_all_present(&acked, &present);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_writes_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = TestDatabase::new(Engine::from_env(), dir.path()).await else {
        return;
    };
    let client = Client::new();
    let mut server = ServerProcess::start(dir.path(), &database.url, &[]).await;
    let token = http::bearer(&client, &server.base, "graceful@example.com").await;

    let stop = Arc::new(AtomicBool::new(false));
    let (acked, workers) = write_load(&client, &server.base, &token, 16, &stop);
    wait_for_acks(&acked, 200).await;
    let status = server.terminate_and_wait(Duration::from_secs(30));
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        server.log()
    );
    assert!(
        server.log().contains("shut down cleanly"),
        "{}",
        server.log()
    );
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }

    let restarted = ServerProcess::start(dir.path(), &database.url, &[]).await;
    let present = http::all_tasks(&client, &restarted.base, &token)
        .await
        .into_iter()
        .collect();
    assert_all_present(&acked, &present);
}
