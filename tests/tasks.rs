//! Task operations through the server functions: ownership, validation and errors.

mod common;

use axum::http::StatusCode;
use common::spawn;

#[tokio::test]
async fn every_task_operation_requires_a_session() {
    let app = spawn().await;
    for (name, fields) in [
        ("tasks/list", vec![]),
        ("tasks/add", vec![("title", "x")]),
        ("tasks/set_done", vec![("id", "1"), ("done", "true")]),
        ("tasks/rename", vec![("id", "1"), ("title", "y")]),
        ("tasks/delete", vec![("id", "1")]),
    ] {
        let reply = app.call(name, &fields, None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            reply.body
        );
        assert_eq!(reply.error_kind(), "unauthorized");
    }
}

#[tokio::test]
async fn add_complete_rename_delete_round_trip_newest_first() {
    let app = spawn().await;
    let cookie = app.signed_up("crud@example.com").await;
    for title in ["first", "  second  ", "third"] {
        let reply = app.add_task(&cookie, title).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.json()["done"], false);
    }
    let list = app.list_tasks(&cookie).await;
    let titles: Vec<&str> = list.iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        ["third", "second", "first"],
        "newest first, trimmed"
    );

    let first_id = list[2]["id"].to_string();
    let done = app
        .call(
            "tasks/set_done",
            &[("id", &first_id), ("done", "true")],
            Some(&cookie),
        )
        .await;
    assert_eq!(done.json()["done"], true);
    let renamed = app
        .call(
            "tasks/rename",
            &[("id", &first_id), ("title", " first, renamed ")],
            Some(&cookie),
        )
        .await;
    assert_eq!(renamed.json()["title"], "first, renamed");
    let second_id = list[1]["id"].to_string();
    let deleted = app
        .call("tasks/delete", &[("id", &second_id)], Some(&cookie))
        .await;
    assert_eq!(deleted.status, StatusCode::OK);

    let list = app.list_tasks(&cookie).await;
    let summary: Vec<(String, bool)> = list
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_owned(),
                t["done"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("third".into(), false), ("first, renamed".into(), true)]
    );
}

#[tokio::test]
async fn titles_must_be_1_to_500_characters_after_trimming() {
    let app = spawn().await;
    let cookie = app.signed_up("titles@example.com").await;
    for bad in ["", "    ", &"x".repeat(501)] {
        let reply = app.add_task(&cookie, bad).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        assert_eq!(reply.json()["detail"][0]["field"], "title");
    }
    assert_eq!(
        app.add_task(&cookie, &"é".repeat(500)).await.status,
        StatusCode::OK
    );
    let id = app.list_tasks(&cookie).await[0]["id"].to_string();
    let rename = app
        .call(
            "tasks/rename",
            &[("id", &id), ("title", " ")],
            Some(&cookie),
        )
        .await;
    assert_eq!(rename.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.list_tasks(&cookie).await.len(), 1, "nothing lost");
}

#[tokio::test]
async fn another_users_task_behaves_exactly_like_a_missing_one() {
    let app = spawn().await;
    let alice = app.signed_up("alice@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let task = app.add_task(&alice, "Alice's secret").await.json();
    let id = task["id"].to_string();
    let missing = "999999".to_string();

    assert!(
        app.list_tasks(&bob).await.is_empty(),
        "Bob sees none of Alice's tasks"
    );
    for target in [&id, &missing] {
        for (name, fields) in [
            (
                "tasks/set_done",
                vec![("id", target.as_str()), ("done", "true")],
            ),
            (
                "tasks/rename",
                vec![("id", target.as_str()), ("title", "pwned")],
            ),
            ("tasks/delete", vec![("id", target.as_str())]),
        ] {
            let reply = app.call(name, &fields, Some(&bob)).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{name} on {target}");
            assert_eq!(reply.error_kind(), "not_found");
        }
    }
    let alice_list = app.list_tasks(&alice).await;
    assert_eq!(alice_list.len(), 1);
    assert_eq!(alice_list[0]["title"], "Alice's secret");
    assert_eq!(alice_list[0]["done"], false);
}

#[tokio::test]
async fn malformed_arguments_are_a_400_not_a_500() {
    let app = spawn().await;
    let cookie = app.signed_up("malformed@example.com").await;
    let reply = app
        .call("tasks/delete", &[("id", "not-a-number")], Some(&cookie))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let missing = app.call("tasks/add", &[], Some(&cookie)).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = spawn().await;
    let cookie = app.signed_up("big@example.com").await;
    let huge = format!("title={}", "x".repeat(200 * 1024));
    for with_length in [true, false] {
        let mut request = axum::http::Request::post("/api/tasks/add")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &cookie);
        if with_length {
            request = request.header("content-length", huge.len());
        }
        let reply = app
            .send(request.body(axum::body::Body::from(huge.clone())).unwrap())
            .await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "content-length: {with_length}"
        );
    }
    assert!(app.list_tasks(&cookie).await.is_empty());
}

#[tokio::test]
async fn without_javascript_adding_a_task_returns_to_the_list() {
    let app = spawn().await;
    let cookie = app.signed_up("nojs-task@example.com").await;
    let request = axum::http::Request::post("/api/tasks/add")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .header("host", "localhost:3000")
        .header("referer", "http://localhost:3000/tasks")
        .header("cookie", &cookie)
        .body(axum::body::Body::from("title=Plain+HTML"))
        .unwrap();
    let reply = app.send(request).await;
    // 303: the browser follows with a GET.
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/tasks"));
    assert_eq!(app.list_tasks(&cookie).await[0]["title"], "Plain HTML");
}
