//! Runs the README's curl walkthrough, exactly as written, against a live server and checks
//! every response, so the documentation cannot drift from the API.

mod common;

use std::process::Command;

use common::spawn;
use serde_json::Value;

fn walkthrough_block() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("walkthrough start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("walkthrough end marker");
    let section = &readme[start..end];
    let code_start = section.find("```sh\n").expect("sh code block") + "```sh\n".len();
    let code_end = section[code_start..]
        .find("```")
        .expect("end of code block")
        + code_start;
    section[code_start..code_end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_curl_walkthrough_works_as_written() {
    let app = spawn().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let script = walkthrough_block();
    assert!(
        script.contains("API=http://127.0.0.1:3000/api/v1"),
        "the walkthrough should target the default address"
    );
    let script = script.replace("http://127.0.0.1:3000", &format!("http://{addr}"));
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("-euo")
            .arg("pipefail")
            .arg("-c")
            .arg(script)
            .output()
    })
    .await
    .unwrap()
    .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "walkthrough failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), 3, "register, create, list: {stdout}");
    assert_eq!(lines[0]["email"], "ada@example.com");
    assert_eq!(lines[0]["name"], "Ada");
    assert_eq!(lines[1]["title"], "Try the Tasks API");
    assert_eq!(lines[1]["done"], false);
    assert_eq!(lines[2]["items"][0]["title"], "Try the Tasks API");
    assert_eq!(lines[2]["items"][0]["id"], lines[1]["id"]);
    assert!(lines[2]["next"].is_null());
    server.abort();
}
