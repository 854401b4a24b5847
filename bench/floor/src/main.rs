//! The benchmark floor: a bare axum app with nothing of ours in it (no layers, no state, no
//! database), so bench/run can measure how fast the same crates (axum, hyper, tokio, at the
//! app's locked versions) answer on this machine, and compare `GET /healthz` against it.
//!
//! `GET /` answers a short plain-text hello, `GET /json` the same JSON object as the app's
//! `/healthz` (`{"status":"ok"}`); anything else is axum's 404.
//!
//! Usage: `bench-floor 127.0.0.1:PORT`.

use std::process::ExitCode;

use axum::{Json, Router, routing::get, serve::ListenerExt};
use serde_json::{Value, json};

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let Some(addr) = std::env::args().nth(1) else {
        eprintln!("usage: bench-floor ADDRESS (for example 127.0.0.1:3000)");
        return ExitCode::from(2);
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("bench-floor: cannot listen on {addr}: {err}");
            return ExitCode::FAILURE;
        }
    };
    // As the app does (TOOLCHAIN.md trap 13): without TCP_NODELAY a keep-alive response can
    // wait for the client's delayed ACK, and the floor would measure Nagle, not axum.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            eprintln!("bench-floor: could not set TCP_NODELAY: {err}");
        }
    });
    let app = Router::new()
        .route("/", get(hello))
        .route("/json", get(json_body));
    if let Err(err) = axum::serve(listener, app).await {
        eprintln!("bench-floor: {err}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn hello() -> &'static str {
    "hello"
}

async fn json_body() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
