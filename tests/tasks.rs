//! Task operations through the server functions: ownership, validation and errors.

mod common;

use axum::http::StatusCode;
use common::{spawn, spawn_with};

#[tokio::test]
async fn every_task_operation_requires_a_session() {
    let app = spawn().await;
    for (name, fields) in [
        ("tasks/list", vec![]),
        ("tasks/add", vec![("title", "x")]),
        ("tasks/set_done", vec![("id", "1"), ("done", "true")]),
        ("tasks/rename", vec![("id", "1"), ("title", "y")]),
        ("tasks/delete", vec![("id", "1")]),
        ("tasks/clear_done", vec![]),
        ("tasks/restore", vec![("batch", "1")]),
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
        // The error the page's client decodes, whether the body limit layer refused it (a
        // declared length) or the server function did (a streamed body).
        assert_eq!(
            reply.error_kind(),
            "payload_too_large",
            "content-length: {with_length}: {}",
            reply.body
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

/// A browser with JavaScript off posting one of the list's forms from `referer`.
async fn no_js_post(
    app: &common::TestApp,
    cookie: &str,
    name: &str,
    body: &str,
    referer: &str,
) -> common::Reply {
    let request = axum::http::Request::post(format!("/api/{name}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .header("host", "localhost:3000")
        .header("referer", referer)
        .header("cookie", cookie)
        .body(axum::body::Body::from(body.to_owned()))
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn the_list_pages_by_fifty_filters_and_counts_open_and_done() {
    let app = spawn().await;
    let cookie = app.signed_up("pages@example.com").await;
    let mut ids = Vec::new();
    for n in 1..=60 {
        let reply = app.add_task(&cookie, &format!("task {n}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        ids.push(reply.json()["id"].as_i64().unwrap());
    }
    for id in &ids[..5] {
        let id = id.to_string();
        let reply = app
            .call(
                "tasks/set_done",
                &[("id", &id), ("done", "true")],
                Some(&cookie),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }

    let first = app.call("tasks/list", &[], Some(&cookie)).await.json();
    assert_eq!(first["tasks"].as_array().unwrap().len(), 50);
    assert_eq!(first["tasks"][0]["title"], "task 60", "newest first");
    assert_eq!(
        (first["open"].as_i64(), first["done"].as_i64()),
        (Some(55), Some(5))
    );
    let next = first["next"].as_i64().expect("a second page");
    assert_eq!(next, first["tasks"][49]["id"].as_i64().unwrap());

    let second = app
        .call(
            "tasks/list",
            &[("before", &next.to_string())],
            Some(&cookie),
        )
        .await
        .json();
    let titles: Vec<&str> = second["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 10);
    assert_eq!(titles[0], "task 10");
    assert_eq!(titles[9], "task 1");
    assert!(second["next"].is_null(), "the last page");

    let done = app
        .call("tasks/list", &[("show", "done")], Some(&cookie))
        .await
        .json();
    let done_titles: Vec<&str> = done["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        done_titles,
        ["task 5", "task 4", "task 3", "task 2", "task 1"]
    );
    let open = app
        .call("tasks/list", &[("show", "open")], Some(&cookie))
        .await
        .json();
    assert!(
        open["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["done"] == false)
    );
    // An unknown filter is the whole list, not an error.
    let all = app
        .call("tasks/list", &[("show", "bogus")], Some(&cookie))
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.json()["tasks"].as_array().unwrap().len(), 50);
}

#[tokio::test]
async fn clear_done_removes_only_the_callers_done_tasks() {
    let app = spawn().await;
    let alice = app.signed_up("clear-alice@example.com").await;
    let bob = app.signed_up("clear-bob@example.com").await;
    for (cookie, title) in [(&alice, "a open"), (&alice, "a done"), (&bob, "b done")] {
        let task = app.add_task(cookie, title).await.json();
        if title.ends_with("done") {
            let id = task["id"].to_string();
            app.call(
                "tasks/set_done",
                &[("id", &id), ("done", "true")],
                Some(cookie),
            )
            .await;
        }
    }
    let cleared = app.call("tasks/clear_done", &[], Some(&alice)).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert_eq!(cleared.json()["count"], 1);
    let left: Vec<String> = app
        .list_tasks(&alice)
        .await
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left, ["a open"]);
    assert_eq!(
        app.list_tasks(&bob).await[0]["title"],
        "b done",
        "bob's are his"
    );
    let again = app.call("tasks/clear_done", &[], Some(&alice)).await;
    assert_eq!(
        again.json()["count"],
        0,
        "nothing left to clear is not an error"
    );
}

#[tokio::test]
async fn without_javascript_each_row_action_returns_to_the_same_filter() {
    let app = spawn().await;
    let cookie = app.signed_up("nojs-rows@example.com").await;
    let id = app.add_task(&cookie, "row").await.json()["id"].to_string();

    let tick = no_js_post(
        &app,
        &cookie,
        "tasks/set_done",
        &format!("id={id}&done=true"),
        "http://localhost:3000/tasks?show=open",
    )
    .await;
    assert_eq!(tick.status, StatusCode::SEE_OTHER);
    assert_eq!(tick.location(), Some("/tasks?show=open"));
    assert_eq!(app.list_tasks(&cookie).await[0]["done"], true);

    // Saving a rename leaves the rename form (`edit`) and any later page (`before`) behind.
    let rename = no_js_post(
        &app,
        &cookie,
        "tasks/rename",
        &format!("id={id}&title=renamed"),
        &format!("http://localhost:3000/tasks?show=done&edit={id}&before=99"),
    )
    .await;
    assert_eq!(rename.status, StatusCode::SEE_OTHER);
    assert_eq!(rename.location(), Some("/tasks?show=done"));

    // A refused rename goes back to the form it came from, with the error in a cookie.
    let refused = no_js_post(
        &app,
        &cookie,
        "tasks/rename",
        &format!("id={id}&title=+"),
        &format!("http://localhost:3000/tasks?edit={id}"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(
        refused.location(),
        Some(format!("/tasks?edit={id}").as_str())
    );
    let flash = refused
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.contains("tasks_form_error="))
        .expect("the error travels in a cookie");
    let page = app
        .get(
            &format!("/tasks?edit={id}"),
            Some(&format!("{cookie}; {}", flash.split(';').next().unwrap())),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Enter a title for the task."),
        "the error is on the page"
    );
    assert!(
        page.body.contains(&format!("id=\"rename-input-{id}\"")),
        "the rename form is open on the server"
    );

    // A foreign filter value is not carried into the address.
    let clear = no_js_post(
        &app,
        &cookie,
        "tasks/clear_done",
        "",
        "http://localhost:3000/tasks?show=%22%3E%3Cscript%3E",
    )
    .await;
    assert_eq!(clear.status, StatusCode::SEE_OTHER);
    assert_eq!(clear.location(), Some("/tasks"));
    assert!(app.list_tasks(&cookie).await.is_empty());

    let id = app.add_task(&cookie, "to delete").await.json()["id"].to_string();
    let delete = no_js_post(
        &app,
        &cookie,
        "tasks/delete",
        &format!("id={id}"),
        "http://localhost:3000/tasks?show=done",
    )
    .await;
    assert_eq!(delete.location(), Some("/tasks?show=done"));
    assert!(app.list_tasks(&cookie).await.is_empty());
}

#[tokio::test]
async fn the_rendered_list_names_every_control_after_its_task() {
    let app = spawn().await;
    let cookie = app.signed_up("names@example.com").await;
    app.add_task(&cookie, "Buy milk").await;
    let page = app.get("/tasks", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "role=\"checkbox\"",
        "aria-checked=\"false\"",
        "aria-label=\"Buy milk\"",
        "aria-label=\"Rename ‘Buy milk’\"",
        "aria-label=\"Delete ‘Buy milk’\"",
        "<title>Your tasks (1) · Tasks</title>",
    ] {
        assert!(page.body.contains(needle), "{needle} missing from the page");
    }
}

#[tokio::test]
async fn undo_brings_a_deleted_task_back_as_it_was_once_and_only_for_its_owner() {
    let app = spawn().await;
    let cookie = app.signed_up("undo@example.com").await;
    let other = app.signed_up("undo-other@example.com").await;
    let task = app.add_task(&cookie, "keep me").await.json();
    let id = task["id"].to_string();
    app.call(
        "tasks/set_done",
        &[("id", &id), ("done", "true")],
        Some(&cookie),
    )
    .await;
    let deleted = app
        .call("tasks/delete", &[("id", &id)], Some(&cookie))
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(deleted.json()["count"], 1);
    let batch = deleted.json()["batch"].to_string();
    assert!(app.list_tasks(&cookie).await.is_empty(), "deleted at once");

    // Someone else naming the batch brings nothing back, and learns nothing.
    let foreign = app
        .call("tasks/restore", &[("batch", &batch)], Some(&other))
        .await;
    assert_eq!(foreign.status, StatusCode::OK);
    assert_eq!(foreign.json(), serde_json::json!([]));
    assert!(app.list_tasks(&other).await.is_empty());

    let restored = app
        .call("tasks/restore", &[("batch", &batch)], Some(&cookie))
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let back = &restored.json()[0];
    assert_eq!(back["id"], task["id"], "the same task, not a copy");
    assert_eq!(back["title"], "keep me");
    assert_eq!(back["done"], true);
    assert_eq!(back["created_at"], task["created_at"]);
    assert_eq!(app.list_tasks(&cookie).await.len(), 1);

    let again = app
        .call("tasks/restore", &[("batch", &batch)], Some(&cookie))
        .await;
    assert_eq!(again.json(), serde_json::json!([]), "an Undo works once");
    assert_eq!(app.list_tasks(&cookie).await.len(), 1);

    // It can be deleted again, and undone again.
    let deleted = app
        .call("tasks/delete", &[("id", &id)], Some(&cookie))
        .await;
    let batch = deleted.json()["batch"].to_string();
    let restored = app
        .call("tasks/restore", &[("batch", &batch)], Some(&cookie))
        .await;
    assert_eq!(restored.json()[0]["id"], task["id"]);
}

#[tokio::test]
async fn undo_of_clear_done_brings_every_cleared_task_back_within_the_cap() {
    let app = spawn_with(&[("MAX_TASKS_PER_USER", "3")]).await;
    let cookie = app.signed_up("undo-clear@example.com").await;
    for title in ["a", "b"] {
        let id = app.add_task(&cookie, title).await.json()["id"].to_string();
        app.call(
            "tasks/set_done",
            &[("id", &id), ("done", "true")],
            Some(&cookie),
        )
        .await;
    }
    app.add_task(&cookie, "open").await;
    let cleared = app
        .call("tasks/clear_done", &[], Some(&cookie))
        .await
        .json();
    assert_eq!(cleared["count"], 2);
    let batch = cleared["batch"].to_string();
    // Two new tasks fill the account: bringing back two more would pass the cap of 3.
    app.add_task(&cookie, "new").await;
    let refused = app
        .call("tasks/restore", &[("batch", &batch)], Some(&cookie))
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("most one account can keep"),
        "{}",
        refused.body
    );
    assert_eq!(
        app.list_tasks(&cookie).await.len(),
        2,
        "nothing half-restored"
    );

    let id = app.list_tasks(&cookie).await[0]["id"].to_string();
    app.call("tasks/delete", &[("id", &id)], Some(&cookie))
        .await;
    let restored = app
        .call("tasks/restore", &[("batch", &batch)], Some(&cookie))
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let titles: Vec<String> = restored
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["b", "a"], "newest first");
}

#[tokio::test]
async fn deleted_tasks_are_erased_once_the_undo_window_is_long_past() {
    let app = spawn().await;
    let cookie = app.signed_up("trash@example.com").await;
    let old = app.add_task(&cookie, "old").await.json()["id"].to_string();
    let old_batch = app
        .call("tasks/delete", &[("id", &old)], Some(&cookie))
        .await
        .json()["batch"]
        .to_string();
    let trash = || async {
        crate::on_db!(&app.state.db, |c| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM deleted_tasks"
        )
        .fetch_one(c)
        .await)
        .unwrap()
    };
    assert_eq!(trash().await, 1);
    // Eleven minutes later (the retention is ten), the next delete anywhere erases it.
    crate::on_db!(&app.state.db, |c| sqlx::query(
        "UPDATE deleted_tasks SET deleted_at = deleted_at - 660000"
    )
    .execute(c)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    let other = app.signed_up("trash-other@example.com").await;
    let id = app.add_task(&other, "x").await.json()["id"].to_string();
    app.call("tasks/delete", &[("id", &id)], Some(&other)).await;
    assert_eq!(trash().await, 1, "only the new one is kept");
    let late = app
        .call("tasks/restore", &[("batch", &old_batch)], Some(&cookie))
        .await;
    assert_eq!(late.json(), serde_json::json!([]));
    assert!(app.list_tasks(&cookie).await.is_empty());
}
