//! Roles, administration, the audit trail and self-service (issue 13), through the REST API
//! on the real router and database (both engines: `TEST_DATABASE=postgres`).

mod common;

use axum::http::StatusCode;
use common::{
    PASSWORD, TestApp, api_register, api_token, api_tokens, bearer, execute, json_request, spawn,
};
use serde_json::{Value, json};
use tasks::server::cli::{self, AdminCommand};

/// Makes `email` an administrator the way an operator does: `tasks admin grant`.
async fn grant(app: &TestApp, email: &str) {
    let grant = AdminCommand::Grant {
        email: email.to_owned(),
    };
    cli::admin(&app.state, &grant).await.expect("grant");
}

/// A new administrator's Bearer token.
async fn admin_token(app: &TestApp, email: &str) -> String {
    assert_eq!(api_register(app, email).await.status, StatusCode::CREATED);
    grant(app, email).await;
    api_tokens(app, email).await.0
}

async fn user_id(app: &TestApp, token: &str) -> i64 {
    let me = json_request(app, "GET", "/api/v1/users/me", Some(token), None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    me.json()["id"].as_i64().unwrap()
}

async fn patch_user(app: &TestApp, token: &str, id: i64, body: Value) -> common::Reply {
    let path = format!("/api/v1/admin/users/{id}");
    json_request(app, "PATCH", &path, Some(token), Some(body)).await
}

/// The audit events concerning `subject`, oldest first, as (event, actor, detail).
async fn events_of(app: &TestApp, admin: &str, subject: i64) -> Vec<(String, Option<i64>, String)> {
    let path = format!("/api/v1/admin/audit?user_id={subject}&limit=100");
    let reply = json_request(app, "GET", &path, Some(admin), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut events: Vec<_> = reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["actor_id"].as_i64(),
                e["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    events.reverse();
    events
}

fn names(events: &[(String, Option<i64>, String)]) -> Vec<&str> {
    events.iter().map(|(name, _, _)| name.as_str()).collect()
}

#[tokio::test]
async fn every_admin_route_refuses_anonymous_callers_and_ordinary_users() {
    let app = spawn().await;
    let admin = admin_token(&app, "root@example.com").await;
    let user = bearer(&app, "user@example.com").await;
    let user_id = user_id(&app, &user).await;
    let routes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/api/v1/admin/users".into(), None),
        ("GET", format!("/api/v1/admin/users/{user_id}"), None),
        (
            "PATCH",
            format!("/api/v1/admin/users/{user_id}"),
            Some(json!({"role": "admin"})),
        ),
        (
            "DELETE",
            format!("/api/v1/admin/users/{user_id}/sessions"),
            None,
        ),
        ("GET", "/api/v1/admin/audit".into(), None),
        ("DELETE", format!("/api/v1/admin/users/{user_id}"), None),
    ];
    for (method, path, body) in &routes {
        let anonymous = json_request(&app, method, path, None, body.clone()).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        assert!(anonymous.headers.contains_key("www-authenticate"));
        let refused = json_request(&app, method, path, Some(&user), body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            refused.body
        );
        assert!(
            refused.json()["detail"]
                .as_str()
                .unwrap()
                .contains("administrator"),
            "{}",
            refused.body
        );
    }
    // Nothing the ordinary user tried happened.
    let me = json_request(&app, "GET", "/api/v1/users/me", Some(&user), None).await;
    assert_eq!(me.json()["role"], "user");
    // The administrator gets through every one of them (the delete last).
    for (method, path, body) in routes {
        let reply = json_request(&app, method, &path, Some(&admin), body).await;
        assert!(
            reply.status.is_success(),
            "{method} {path}: {} {}",
            reply.status,
            reply.body
        );
    }
}

#[tokio::test]
async fn a_demotion_takes_effect_on_the_next_request() {
    let app = spawn().await;
    let first = admin_token(&app, "first@example.com").await;
    let second = admin_token(&app, "second@example.com").await;
    let second_id = user_id(&app, &second).await;
    let list = |token: String| {
        let app = &app;
        async move {
            json_request(app, "GET", "/api/v1/admin/users", Some(&token), None)
                .await
                .status
        }
    };
    assert_eq!(list(second.clone()).await, StatusCode::OK);
    let demoted = patch_user(&app, &first, second_id, json!({"role": "user"})).await;
    assert_eq!(demoted.status, StatusCode::OK, "{}", demoted.body);
    assert_eq!(demoted.json()["role"], "user");
    // The same, still valid access token: the role is read with the session, not the token.
    assert_eq!(list(second.clone()).await, StatusCode::FORBIDDEN);
    // And from the command line, the other way round.
    cli::admin(
        &app.state,
        &AdminCommand::Grant {
            email: "second@example.com".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(list(second).await, StatusCode::OK);
}

#[tokio::test]
async fn disabling_an_account_signs_it_out_at_once_and_enabling_does_not_revive_its_sessions() {
    let app = spawn().await;
    let admin = admin_token(&app, "admin@example.com").await;
    let (user, refresh) = api_tokens_after_register(&app, "ann@example.com").await;
    let id = user_id(&app, &user).await;
    let disabled = patch_user(&app, &admin, id, json!({"disabled": true})).await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_eq!(disabled.json()["disabled"], true);
    assert_eq!(disabled.json()["live_sessions"], 0);
    let me = json_request(&app, "GET", "/api/v1/users/me", Some(&user), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let login = api_token(&app, "ann@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "{}", login.body);

    let enabled = patch_user(&app, &admin, id, json!({"disabled": false})).await;
    assert_eq!(enabled.json()["disabled"], false);
    let me = json_request(&app, "GET", "/api/v1/users/me", Some(&user), None).await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "the old session stays ended"
    );
    assert_eq!(
        common::api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api_token(&app, "ann@example.com", PASSWORD).await.status,
        StatusCode::OK
    );

    let events = events_of(&app, &admin, id).await;
    let admin_id = user_id(&app, &admin).await;
    assert!(
        events.contains(&(
            "account_disabled".into(),
            Some(admin_id),
            "by an administrator".into()
        )),
        "{events:?}"
    );
    assert!(
        events.contains(&(
            "account_enabled".into(),
            Some(admin_id),
            "by an administrator".into()
        )),
        "{events:?}"
    );
}

async fn api_tokens_after_register(app: &TestApp, email: &str) -> (String, String) {
    assert_eq!(api_register(app, email).await.status, StatusCode::CREATED);
    api_tokens(app, email).await
}

#[tokio::test]
async fn signing_out_an_account_everywhere_ends_all_its_sessions() {
    let app = spawn().await;
    let admin = admin_token(&app, "admin@example.com").await;
    let (one, _) = api_tokens_after_register(&app, "bo@example.com").await;
    let (two, _) = api_tokens(&app, "bo@example.com").await;
    let id = user_id(&app, &one).await;
    let account = json_request(
        &app,
        "GET",
        &format!("/api/v1/admin/users/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(account.json()["live_sessions"], 2);
    assert!(
        account.json()["last_seen_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let path = format!("/api/v1/admin/users/{id}/sessions");
    let ended = json_request(&app, "DELETE", &path, Some(&admin), None).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    for token in [one, two] {
        let me = json_request(&app, "GET", "/api/v1/users/me", Some(&token), None).await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    }
    let missing = json_request(
        &app,
        "DELETE",
        "/api/v1/admin/users/999999/sessions",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn administrators_cannot_demote_disable_or_delete_themselves() {
    let app = spawn().await;
    let admin = admin_token(&app, "solo@example.com").await;
    let id = user_id(&app, &admin).await;
    for body in [json!({"role": "user"}), json!({"disabled": true})] {
        let refused = patch_user(&app, &admin, id, body).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(
            refused.json()["detail"]
                .as_str()
                .unwrap()
                .contains("your own")
        );
    }
    let path = format!("/api/v1/admin/users/{id}");
    let refused = json_request(&app, "DELETE", &path, Some(&admin), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Promoting oneself (a no-op) is fine.
    assert_eq!(
        patch_user(&app, &admin, id, json!({"role": "admin"}))
            .await
            .status,
        StatusCode::OK
    );
    let me = json_request(&app, "GET", "/api/v1/users/me", Some(&admin), None).await;
    assert_eq!(me.json()["role"], "admin");
}

#[tokio::test]
async fn the_last_administrator_cannot_be_removed() {
    let app = spawn().await;
    let admin = admin_token(&app, "last@example.com").await;
    // Not from the command line...
    let revoke = AdminCommand::Revoke {
        email: "last@example.com".into(),
    };
    let err = cli::admin(&app.state, &revoke).await.unwrap_err();
    assert!(err.0.contains("last administrator"), "{err}");
    // ...nor by deleting the account.
    let deleted = json_request(
        &app,
        "DELETE",
        "/api/v1/users/me",
        Some(&admin),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::CONFLICT, "{}", deleted.body);
    let me = json_request(&app, "GET", "/api/v1/users/me", Some(&admin), None).await;
    assert_eq!(me.json()["role"], "admin");
    // With a second administrator, the first may go.
    grant_after_register(&app, "next@example.com").await;
    assert!(cli::admin(&app.state, &revoke).await.is_ok());
}

async fn grant_after_register(app: &TestApp, email: &str) {
    assert_eq!(api_register(app, email).await.status, StatusCode::CREATED);
    grant(app, email).await;
}

#[tokio::test]
async fn two_administrators_removing_each_other_at_once_leave_one() {
    for round in 0..5 {
        let app = spawn().await;
        let a = admin_token(&app, &format!("a{round}@example.com")).await;
        let b = admin_token(&app, &format!("b{round}@example.com")).await;
        let (a_id, b_id) = (user_id(&app, &a).await, user_id(&app, &b).await);
        let (one, two) = tokio::join!(
            patch_user(&app, &a, b_id, json!({"role": "user"})),
            patch_user(&app, &b, a_id, json!({"role": "user"})),
        );
        let statuses = [one.status, two.status];
        assert!(
            statuses.contains(&StatusCode::OK),
            "round {round}: {statuses:?} {} {}",
            one.body,
            two.body
        );
        let admins: i64 = on_db!(&app.state.db, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'admin'"
        )
        .fetch_one(c)
        .await)
        .unwrap();
        assert_eq!(admins, 1, "round {round}: {statuses:?}");
    }
}

#[tokio::test]
async fn deleting_an_account_removes_its_tasks_sessions_and_refresh_tokens() {
    let app = spawn().await;
    let admin = admin_token(&app, "admin@example.com").await;
    let (user, _) = api_tokens_after_register(&app, "gone@example.com").await;
    let keep = bearer(&app, "keep@example.com").await;
    let id = user_id(&app, &user).await;
    for token in [&user, &keep] {
        let made = json_request(
            &app,
            "POST",
            "/api/v1/tasks",
            Some(token),
            Some(json!({"title": "x"})),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED);
    }
    let deleted = json_request(
        &app,
        "DELETE",
        &format!("/api/v1/admin/users/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_gone(&app, id).await;
    let me = json_request(&app, "GET", "/api/v1/users/me", Some(&user), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    // Others are untouched.
    let theirs = json_request(&app, "GET", "/api/v1/tasks", Some(&keep), None).await;
    assert_eq!(theirs.json()["items"].as_array().unwrap().len(), 1);
    let again = json_request(
        &app,
        "DELETE",
        &format!("/api/v1/admin/users/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // The record of the deletion outlives the account.
    let events = events_of(&app, &admin, id).await;
    assert_eq!(events.last().unwrap().0, "account_deleted", "{events:?}");
}

/// No row anywhere refers to account `id` any more (the audit trail aside).
async fn assert_gone(app: &TestApp, id: i64) {
    for (table, sql) in [
        ("users", "SELECT COUNT(*) FROM users WHERE id = $1"),
        ("tasks", "SELECT COUNT(*) FROM tasks WHERE user_id = $1"),
        (
            "deleted_tasks",
            "SELECT COUNT(*) FROM deleted_tasks WHERE user_id = $1",
        ),
        (
            "sessions",
            "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
        ),
        (
            "refresh_tokens",
            "SELECT COUNT(*) FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
             WHERE s.user_id = $1",
        ),
    ] {
        let left: i64 = on_db!(&app.state.db, |c| sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(c)
            .await)
        .unwrap();
        assert_eq!(left, 0, "{table} still holds rows of account {id}");
    }
    let orphans: i64 = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM refresh_tokens WHERE session_id NOT IN (SELECT id FROM sessions)"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(orphans, 0);
}

#[tokio::test]
async fn people_delete_their_own_account_with_their_password() {
    let app = spawn().await;
    let (user, refresh) = api_tokens_after_register(&app, "me@example.com").await;
    let id = user_id(&app, &user).await;
    json_request(
        &app,
        "POST",
        "/api/v1/tasks",
        Some(&user),
        Some(json!({"title": "mine"})),
    )
    .await;
    let wrong = json_request(
        &app,
        "DELETE",
        "/api/v1/users/me",
        Some(&user),
        Some(json!({"password": "not it at all"})),
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert_eq!(
        wrong.json()["detail"][0]["loc"][1],
        "password",
        "{}",
        wrong.body
    );
    let missing = json_request(&app, "DELETE", "/api/v1/users/me", Some(&user), None).await;
    assert!(missing.status.is_client_error(), "{}", missing.status);
    let deleted = json_request(
        &app,
        "DELETE",
        "/api/v1/users/me",
        Some(&user),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_gone(&app, id).await;
    assert_eq!(
        common::api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api_token(&app, "me@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The address is free again.
    assert_eq!(
        api_register(&app, "me@example.com").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_export_holds_the_profile_tasks_sessions_and_activity() {
    let app = spawn().await;
    let user = bearer(&app, "exp@example.com").await;
    let other = bearer(&app, "other@example.com").await;
    for title in ["one", "two"] {
        json_request(
            &app,
            "POST",
            "/api/v1/tasks",
            Some(&user),
            Some(json!({"title": title})),
        )
        .await;
    }
    json_request(
        &app,
        "POST",
        "/api/v1/tasks",
        Some(&other),
        Some(json!({"title": "not yours"})),
    )
    .await;
    let reply = json_request(&app, "GET", "/api/v1/users/me/export", Some(&user), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"),
        "a download"
    );
    let export = reply.json();
    assert_eq!(export["profile"]["email"], "exp@example.com");
    let titles: Vec<&str> = export["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["two", "one"]);
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
    let events: Vec<&str> = export["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    // The first sign-in of a client never seen before is mailed as a new device (issue 29).
    assert_eq!(
        events,
        ["login_succeeded", "new_device_alert", "sign_up"],
        "newest first"
    );
    assert!(!reply.body.contains("not yours") && !reply.body.contains("other@example.com"));
    assert!(!reply.body.contains("argon2") && !reply.body.contains(&user));
    // The download itself is recorded.
    let activity = json_request(&app, "GET", "/api/v1/users/me/activity", Some(&user), None).await;
    assert_eq!(activity.json()["items"][0]["event"], "data_exported");
}

#[tokio::test]
async fn security_events_are_recorded_with_their_client_and_never_a_secret() {
    let app = spawn_with_limits().await;
    let admin = admin_token(&app, "admin@example.com").await;
    let admin_id = user_id(&app, &admin).await;
    let (user, refresh) = api_tokens_after_register(&app, "eve@example.com").await;
    let id = user_id(&app, &user).await;
    // A refresh token replayed after its grace: theft detected.
    assert_eq!(
        common::api_refresh(&app, &refresh).await.status,
        StatusCode::OK
    );
    common::after_the_reuse_grace(&app.state.db).await;
    assert_eq!(
        common::api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );
    let (user, second_refresh) = api_tokens(&app, "eve@example.com").await;
    let new_password = "a brand new passphrase 42";
    let changed = json_request(
        &app,
        "POST",
        "/api/v1/users/me/password",
        Some(&user),
        Some(json!({"current_password": PASSWORD, "new_password": new_password})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    let other = api_token(&app, "eve@example.com", new_password).await;
    assert_eq!(other.status, StatusCode::OK);
    let sessions = json_request(&app, "GET", "/api/v1/auth/sessions", Some(&user), None).await;
    let other_session = sessions
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/auth/sessions/{other_session}");
    let revoked = json_request(&app, "DELETE", &path, Some(&user), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let logout = json_request(&app, "POST", "/api/v1/auth/logout", Some(&user), None).await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    patch_user(&app, &admin, id, json!({"role": "admin"})).await;
    patch_user(&app, &admin, id, json!({"role": "user"})).await;
    // Failed logins, the second of which starts a wait (LOGIN_FAILURES_PER_ACCOUNT=2); the
    // third is refused before any password check and records nothing more.
    for _ in 0..3 {
        api_token(&app, "eve@example.com", "wrong password 1").await;
    }

    let events = events_of(&app, &admin, id).await;
    // Only the first sign-in is from a new device: the later ones come from the same address
    // and User-Agent (a client that keeps no cookies, as scripts are).
    let expected = [
        "sign_up",
        "new_device_alert",
        "login_succeeded",
        "refresh_token_reuse",
        "login_succeeded",
        "password_changed",
        "login_succeeded",
        "session_revoked",
        "logout",
        "role_changed",
        "role_changed",
        "login_failed",
        "login_failed",
        "login_throttled",
    ];
    assert_eq!(names(&events), expected, "{events:?}");
    assert!(events.contains(&("role_changed".into(), Some(admin_id), "user → admin".into())));
    assert!(events.contains(&("role_changed".into(), Some(admin_id), "admin → user".into())));
    // Failed attempts have no actor (nobody signed in did them) but name their target.
    assert!(
        events
            .iter()
            .filter(|e| e.0 == "login_failed")
            .all(|e| e.1.is_none())
    );

    // Every column of every row, searched for the secrets this test used.
    let rows: Vec<(String, String, String, String, String)> =
        on_db!(&app.state.db, |c| sqlx::query_as(
            "SELECT event, ip, user_agent, request_id, detail FROM audit_events"
        )
        .fetch_all(c)
        .await)
        .unwrap();
    let all = format!("{rows:?}");
    for secret in [
        PASSWORD,
        new_password,
        "wrong password 1",
        &refresh,
        &second_refresh,
        &user,
        &admin,
    ] {
        assert!(!all.contains(secret), "the audit trail holds a secret");
    }
    assert!(
        rows.iter().all(|r| !r.3.is_empty()),
        "every event has its request id"
    );
}

async fn spawn_with_limits() -> TestApp {
    common::spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "2")]).await
}

#[tokio::test]
async fn a_person_sees_only_their_own_activity() {
    let app = spawn().await;
    let ann = bearer(&app, "ann@example.com").await;
    let bob = bearer(&app, "bob@example.com").await;
    api_token(&app, "ann@example.com", "wrong password 2").await;
    let mine = json_request(&app, "GET", "/api/v1/users/me/activity", Some(&bob), None).await;
    assert_eq!(mine.status, StatusCode::OK);
    let items = mine.json()["items"].as_array().unwrap().clone();
    let bob_id = user_id(&app, &bob).await;
    assert!(items.iter().all(|e| e["subject_id"] == bob_id), "{items:?}");
    let ann_items = json_request(
        &app,
        "GET",
        "/api/v1/users/me/activity?limit=1",
        Some(&ann),
        None,
    )
    .await
    .json();
    assert_eq!(ann_items["items"][0]["event"], "login_failed");
    assert!(
        ann_items["items"][0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Failed sign-in attempt")
    );
    assert!(ann_items["next"].as_str().unwrap().contains("cursor="));
    let bad = json_request(
        &app,
        "GET",
        "/api/v1/users/me/activity?limit=0",
        Some(&ann),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn administrators_search_and_page_through_accounts() {
    let app = spawn().await;
    let admin = admin_token(&app, "admin@example.com").await;
    for i in 0..5 {
        api_register(&app, &format!("person{i}@example.org")).await;
    }
    api_register(&app, "100%_odd@example.net").await;
    let get = |path: String| {
        let (app, admin) = (&app, &admin);
        async move { json_request(app, "GET", &path, Some(admin), None).await }
    };
    let found = get("/api/v1/admin/users?q=EXAMPLE.ORG&limit=2".into()).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let page = found.json();
    let emails: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["person4@example.org", "person3@example.org"]);
    let next = page["next"].as_str().unwrap().to_owned();
    assert!(
        found.headers["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"next\"")
    );
    let rest = get(next.clone()).await.json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    // Wildcards are literal.
    let odd = get("/api/v1/admin/users?q=0%25_".into()).await.json();
    assert_eq!(odd["items"].as_array().unwrap().len(), 1, "{odd}");
    let none = get("/api/v1/admin/users?q=%25".into()).await.json();
    assert_eq!(
        none["items"].as_array().unwrap().len(),
        1,
        "only the address with a literal %: {none}"
    );
    assert_eq!(
        get("/api/v1/admin/users?limit=101".into()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        get("/api/v1/admin/users/0".into()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get("/api/v1/admin/users/abc".into()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn old_audit_events_are_erased_after_the_retention() {
    let app = spawn().await;
    bearer(&app, "old@example.com").await;
    let day = 86_400_000_i64;
    let now = tasks::server::db::now_millis();
    execute(
        &app.state.db,
        &format!("UPDATE audit_events SET at = {}", now - 91 * day),
    )
    .await;
    bearer(&app, "new@example.com").await;
    let retention = app.state.config.audit_retention;
    let erased = tasks::server::audit::purge(&app.state, now, retention)
        .await
        .unwrap();
    assert_eq!(
        erased, 3,
        "the first account's sign-up, new-device alert and login"
    );
    let left: i64 = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(left, 3);
}
