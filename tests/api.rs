//! The JSON REST API under /api/v1: FastAPI-style flows, errors and pagination.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{
    PASSWORD, Reply, api_register, api_token, bearer, json_request, spawn, spawn_with,
    token_request,
};
use serde_json::{Value, json};

#[tokio::test]
async fn register_returns_201_with_the_user_and_never_a_hash() {
    let app = spawn().await;
    let reply = api_register(&app, " New@Example.com ").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let user = reply.json();
    assert_eq!(user["email"], "new@example.com");
    assert_eq!(user["name"], "Api User");
    assert!(user["id"].is_i64());
    assert!(
        user["created_at"].as_str().unwrap().ends_with('Z'),
        "RFC 3339: {}",
        user["created_at"]
    );
    let keys: Vec<&String> = user.as_object().unwrap().keys().collect();
    assert_eq!(user["role"], "user", "a new account is an ordinary user");
    assert_eq!(user["email_verified"], false, "nobody opened a link yet");
    assert_eq!(
        keys.len(),
        6,
        "only id, email, name, created_at, role, email_verified: {keys:?}"
    );
    assert!(!reply.body.contains("argon2"));
}

#[tokio::test]
async fn register_errors_are_fastapi_shaped() {
    let app = spawn().await;
    api_register(&app, "taken@example.com").await;
    let taken = api_register(&app, "TAKEN@example.com").await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(
        taken.json()["detail"]
            .as_str()
            .unwrap()
            .contains("already registered")
    );

    let invalid = json_request(
        &app,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(json!({"email": "nope", "name": "", "password": "short"})),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    let locs: Vec<Value> = invalid.json()["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [
            json!(["body", "name"]),
            json!(["body", "email"]),
            json!(["body", "password"])
        ]
    );
    for item in invalid.json()["detail"].as_array().unwrap() {
        assert!(!item["msg"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn token_endpoint_is_an_oauth2_password_grant() {
    let app = spawn().await;
    api_register(&app, "oauth@example.com").await;
    let reply = api_token(&app, "oauth@example.com", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_expires_in"], 7 * 24 * 3600);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");

    let wrong = api_token(&app, "oauth@example.com", "wrong password").await;
    let unknown = api_token(&app, "nobody@example.com", PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(wrong.body, unknown.body, "no account enumeration");
    assert_eq!(wrong.json()["detail"], "Incorrect email or password.");
    // RFC 6749 §5.2, so that OAuth clients raise an error instead of reading it as a token.
    assert_token_error(
        &wrong,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
        "Incorrect email or password.",
    );
}

#[tokio::test]
async fn token_endpoint_refuses_other_grants_and_json() {
    let app = spawn().await;
    for grant in ["client_credentials", "authorization_code", "PASSWORD", ""] {
        let request = token_request(&[
            ("grant_type", grant),
            ("username", "a@b.co"),
            ("password", "x"),
        ]);
        assert_token_error(
            &app.send(request).await,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be `password`, `refresh_token` or `mfa_otp`.",
        );
    }
    let as_json = json_request(
        &app,
        "POST",
        "/api/v1/auth/token",
        None,
        Some(json!({"username": "a", "password": "b"})),
    )
    .await;
    assert_token_error(
        &as_json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request",
        "application/x-www-form-urlencoded",
    );
    let missing = api_token(&app, "", "").await;
    assert_token_error(
        &missing,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
        "Incorrect email or password.",
    );
}

/// An error of the token endpoint: RFC 6749 §5.2's `error` and `error_description` (printable
/// ASCII without `"` and `\`), the same sentence in FastAPI's `detail`, nothing else, never
/// cached.
#[track_caller]
fn assert_token_error(reply: &Reply, status: StatusCode, error: &str, says: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"]
        .as_str()
        .expect("error_description");
    assert!(description.contains(says), "{says:?} not in {body}");
    assert!(
        description
            .chars()
            .all(|c| matches!(c, ' '..='!' | '#'..='[' | ']'..='~')),
        "not RFC 6749 error_description characters: {description:?}"
    );
    assert_eq!(body["detail"], description, "{body}");
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["detail", "error", "error_description"], "{body}");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(reply.headers[header::PRAGMA], "no-cache");
}

/// Checks `reply` against what the OpenAPI document says `POST /api/v1/auth/token` answers
/// with its status: the status is listed, with the `TokenErrorOut` schema, whose `error` enum
/// holds the code, and with the headers it promises.
#[track_caller]
fn assert_documented_token_error(doc: &Value, reply: &Reply) {
    let status = reply.status.as_str();
    let documented = &doc["paths"]["/api/v1/auth/token"]["post"]["responses"][status];
    assert!(documented.is_object(), "{status} is not documented");
    assert_eq!(
        documented["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/TokenErrorOut",
        "{status}"
    );
    let schemas = &doc["components"]["schemas"];
    let codes = &schemas["OAuthErrorCode"]["enum"];
    assert!(
        codes.as_array().unwrap().contains(&reply.json()["error"]),
        "{} is not in {codes}",
        reply.json()["error"]
    );
    if let Some(headers) = documented["headers"].as_object() {
        for name in headers.keys() {
            assert!(
                reply.headers.contains_key(name.as_str()),
                "{status}: {name}"
            );
        }
    }
}

#[tokio::test]
async fn token_endpoint_errors_are_rfc_6749_bodies_with_the_fastapi_detail_beside() {
    let app = spawn().await;
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    let mut replies = Vec::new();

    // Missing parameters: `invalid_request`, 400 (RFC 6749 §5.2), naming what is missing.
    for (fields, says) in [
        (
            &[("username", "a@b.co")][..],
            "`password` is required for grant_type=password.",
        ),
        (
            &[("password", "x")],
            "`username` is required for grant_type=password.",
        ),
        (
            &[("grant_type", "password")],
            "`username` and `password` are required for grant_type=password.",
        ),
        (
            &[("grant_type", "refresh_token")],
            "`refresh_token` is required for grant_type=refresh_token.",
        ),
        // A repeated parameter is malformed too (RFC 6749 §5.2).
        (
            &[
                ("username", "a@b.co"),
                ("username", "c@d.co"),
                ("password", "x"),
            ],
            "duplicate field `username`",
        ),
    ] {
        let reply = app.send(token_request(fields)).await;
        assert_token_error(&reply, StatusCode::BAD_REQUEST, "invalid_request", says);
        replies.push(reply);
    }

    // An unsupported grant type.
    let reply = app
        .send(token_request(&[("grant_type", "client_credentials")]))
        .await;
    assert_token_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        "grant_type must be `password`, `refresh_token` or `mfa_otp`.",
    );
    replies.push(reply);

    // Refresh tokens that are unknown, spent (replayed after the grace window) or expired:
    // `invalid_grant`, 400.
    api_register(&app, "grants@example.com").await;
    let refresh_grant =
        |token: &str| token_request(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
    let invalid = "The refresh token is invalid, expired or revoked. Sign in again.";
    let unknown = app.send(refresh_grant("not-a-refresh-token")).await;
    assert_token_error(&unknown, StatusCode::BAD_REQUEST, "invalid_grant", invalid);
    let (_, spent) = common::api_tokens(&app, "grants@example.com").await;
    let exchanged = app.send(refresh_grant(&spent)).await;
    assert_eq!(exchanged.status, StatusCode::OK, "{}", exchanged.body);
    common::after_the_reuse_grace(&app.state.db).await;
    let replayed = app.send(refresh_grant(&spent)).await;
    assert_token_error(&replayed, StatusCode::BAD_REQUEST, "invalid_grant", invalid);
    let (_, expiring) = common::api_tokens(&app, "grants@example.com").await;
    common::execute(&app.state.db, "UPDATE refresh_tokens SET expires_at = 0").await;
    let expired = app.send(refresh_grant(&expiring)).await;
    assert_token_error(&expired, StatusCode::BAD_REQUEST, "invalid_grant", invalid);
    replies.extend([unknown, replayed, expired]);

    // Wrong password: still 401 with `WWW-Authenticate`, and `invalid_grant`.
    let wrong = api_token(&app, "grants@example.com", "not the password").await;
    assert_token_error(
        &wrong,
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
        "Incorrect email or password.",
    );
    assert_eq!(wrong.headers[header::WWW_AUTHENTICATE], "Bearer");
    replies.push(wrong);

    // A disabled account's right password: still 403, and `invalid_grant`.
    common::execute(&app.state.db, "UPDATE users SET disabled = TRUE").await;
    let disabled = api_token(&app, "grants@example.com", PASSWORD).await;
    assert_token_error(
        &disabled,
        StatusCode::FORBIDDEN,
        "invalid_grant",
        "This account has been disabled.",
    );
    replies.push(disabled);

    // Not a form, and too large: the status says which, `invalid_request` says it is the request.
    let not_a_form = Request::post("/api/v1/auth/token")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("username=a&password=b"))
        .unwrap();
    let not_a_form = app.send(not_a_form).await;
    assert_token_error(
        &not_a_form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request",
        "application/x-www-form-urlencoded",
    );
    let huge = Request::post("/api/v1/auth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("username={}", "x".repeat(100_000))))
        .unwrap();
    let huge = app.send(huge).await;
    assert_token_error(
        &huge,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "too large",
    );
    replies.extend([not_a_form, huge]);

    for reply in &replies {
        assert_documented_token_error(&doc, reply);
    }
}

#[tokio::test]
async fn a_login_that_must_wait_is_429_temporarily_unavailable_with_retry_after() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "3")]).await;
    api_register(&app, "waits@example.com").await;
    let mut reply = api_token(&app, "waits@example.com", "wrong guess").await;
    for _ in 0..10 {
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_token_error(
            &reply,
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Incorrect email or password.",
        );
        reply = api_token(&app, "waits@example.com", "wrong guess").await;
    }
    assert_token_error(
        &reply,
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
        "Too many attempts. Try again in",
    );
    let retry_after: u64 = reply.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    // The right password waits too: the credentials are not even checked.
    let right = api_token(&app, "waits@example.com", PASSWORD).await;
    assert_token_error(
        &right,
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
        "Too many attempts.",
    );
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    assert_documented_token_error(&doc, &right);
}

/// Only the token endpoint answers in the OAuth2 shape: the other endpoints keep theirs.
#[tokio::test]
async fn other_endpoints_keep_their_error_shapes() {
    let app = spawn().await;
    let refresh = common::api_refresh(&app, "not-a-refresh-token").await;
    assert_eq!(refresh.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refresh.json(),
        json!({
            "error": "invalid_grant",
            "error_description": "The refresh token is invalid, expired or revoked. Sign in again."
        })
    );
    let me = json_request(&app, "GET", "/api/v1/users/me", None, None).await;
    assert_eq!(
        me.json(),
        json!({"detail": "You are not signed in, or your session has expired. Please log in."})
    );
    let invalid = json_request(
        &app,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(json!({"email": "x@example.com", "name": "X"})),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.json()["detail"].is_array(), "{}", invalid.body);
}

#[tokio::test]
async fn me_requires_a_token_and_says_which_problem_per_rfc_6750() {
    let app = spawn().await;
    let token = bearer(&app, "me@example.com").await;
    let me = json_request(&app, "GET", "/api/v1/users/me", Some(&token), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["email"], "me@example.com");

    let none = json_request(&app, "GET", "/api/v1/users/me", None, None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.headers[header::WWW_AUTHENTICATE], "Bearer");
    assert!(none.json()["detail"].is_string());

    for bad in ["garbage", "a.b.c", &format!("{token}x")] {
        let reply = json_request(&app, "GET", "/api/v1/users/me", Some(bad), None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.headers[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
    }
    let basic = Request::get("/api/v1/users/me")
        .header(header::AUTHORIZATION, "Basic Zm9vOmJhcg==")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(basic).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn task_crud_with_a_bearer_token() {
    let app = spawn().await;
    let token = bearer(&app, "crud-api@example.com").await;
    let created = json_request(
        &app,
        "POST",
        "/api/v1/tasks",
        Some(&token),
        Some(json!({"title": "  Ship it  "})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let task = created.json();
    assert_eq!(task["title"], "Ship it");
    assert_eq!(task["done"], false);
    let id = task["id"].as_i64().unwrap();
    assert_eq!(
        created.location(),
        Some(format!("/api/v1/tasks/{id}").as_str())
    );

    let path = format!("/api/v1/tasks/{id}");
    assert_eq!(
        json_request(&app, "GET", &path, Some(&token), None)
            .await
            .json()["title"],
        "Ship it"
    );
    let patched = json_request(
        &app,
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"done": true})),
    )
    .await;
    assert_eq!(patched.json()["done"], true);
    assert_eq!(patched.json()["title"], "Ship it");
    let renamed = json_request(
        &app,
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"title": "Shipped"})),
    )
    .await;
    assert_eq!(
        (
            renamed.json()["title"].clone(),
            renamed.json()["done"].clone()
        ),
        (json!("Shipped"), json!(true))
    );
    let bad = json_request(
        &app,
        "PATCH",
        &path,
        Some(&token),
        Some(json!({"title": ""})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["detail"][0]["loc"], json!(["body", "title"]));

    let deleted = json_request(&app, "DELETE", &path, Some(&token), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    assert_eq!(
        json_request(&app, "GET", &path, Some(&token), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        json_request(&app, "DELETE", &path, Some(&token), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_users_task_id_is_a_404_exactly_like_a_missing_one() {
    let app = spawn().await;
    let alice = bearer(&app, "alice-api@example.com").await;
    let bob = bearer(&app, "bob-api@example.com").await;
    let id = json_request(
        &app,
        "POST",
        "/api/v1/tasks",
        Some(&alice),
        Some(json!({"title": "mine"})),
    )
    .await
    .json()["id"]
        .as_i64()
        .unwrap();
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"done": true}))),
        ("DELETE", None),
    ] {
        let foreign = json_request(
            &app,
            method,
            &format!("/api/v1/tasks/{id}"),
            Some(&bob),
            body.clone(),
        )
        .await;
        let missing = json_request(&app, method, "/api/v1/tasks/987654", Some(&bob), body).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(foreign.body, missing.body, "{method}");
    }
    let list = json_request(&app, "GET", "/api/v1/tasks", Some(&bob), None).await;
    assert_eq!(list.json()["items"], json!([]));
    let still = json_request(
        &app,
        "GET",
        &format!("/api/v1/tasks/{id}"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(
        (still.json()["title"].clone(), still.json()["done"].clone()),
        (json!("mine"), json!(false))
    );
}

#[tokio::test]
async fn listing_is_newest_first_paginated_by_cursor_and_filterable() {
    let app = spawn().await;
    let token = bearer(&app, "pages@example.com").await;
    for i in 1..=5 {
        let reply = json_request(
            &app,
            "POST",
            "/api/v1/tasks",
            Some(&token),
            Some(json!({"title": format!("task {i}")})),
        )
        .await;
        if i % 2 == 0 {
            let id = reply.json()["id"].as_i64().unwrap();
            json_request(
                &app,
                "PATCH",
                &format!("/api/v1/tasks/{id}"),
                Some(&token),
                Some(json!({"done": true})),
            )
            .await;
        }
    }
    let mut titles = Vec::new();
    let mut url = "/api/v1/tasks?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let reply = json_request(&app, "GET", &url, Some(&token), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let page = reply.json();
        assert!(page["items"].as_array().unwrap().len() <= 2);
        titles.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["title"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        match page["next"].as_str() {
            Some(next) => {
                assert!(
                    reply.headers[header::LINK]
                        .to_str()
                        .unwrap()
                        .contains("rel=\"next\"")
                );
                url = next.to_owned();
            }
            None => {
                assert!(page["next_cursor"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(titles, ["task 5", "task 4", "task 3", "task 2", "task 1"]);

    let done = json_request(&app, "GET", "/api/v1/tasks?done=true", Some(&token), None)
        .await
        .json();
    let done_titles: Vec<&str> = done["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(done_titles, ["task 4", "task 2"]);
    let open = json_request(
        &app,
        "GET",
        "/api/v1/tasks?done=false&limit=50",
        Some(&token),
        None,
    )
    .await
    .json();
    assert_eq!(open["items"].as_array().unwrap().len(), 3);
    assert!(open["next"].is_null());
}

#[tokio::test]
async fn bad_list_parameters_are_422_naming_the_query() {
    let app = spawn().await;
    let token = bearer(&app, "params@example.com").await;
    for query in [
        "limit=0",
        "limit=201",
        "limit=ten",
        "done=maybe",
        "cursor=x",
    ] {
        let reply = json_request(
            &app,
            "GET",
            &format!("/api/v1/tasks?{query}"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.body
        );
        assert_eq!(reply.json()["detail"][0]["loc"][0], "query", "{query}");
    }
    assert_eq!(
        json_request(&app, "GET", "/api/v1/tasks?limit=200", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_requests_get_clear_4xx_answers_never_500() {
    let app = spawn().await;
    let token = bearer(&app, "malformed-api@example.com").await;
    let send = |content_type: &'static str, body: String| {
        Request::post("/api/v1/tasks")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let syntax = app
        .send(send("application/json", "{\"title\": ".into()))
        .await;
    assert_eq!(syntax.status, StatusCode::BAD_REQUEST);
    assert!(
        syntax.json()["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let wrong_type = app
        .send(send("text/plain", "{\"title\": \"x\"}".into()))
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let missing_field = app.send(send("application/json", "{}".into())).await;
    assert_eq!(missing_field.status, StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_field_type = app
        .send(send("application/json", "{\"title\": 5}".into()))
        .await;
    assert_eq!(wrong_field_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    let array = app
        .send(send("application/json", "[\"by position\"]".into()))
        .await;
    assert_eq!(
        array.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        array.body
    );
    let huge = app
        .send(send(
            "application/json",
            format!("{{\"title\": \"{}\"}}", "x".repeat(100_000)),
        ))
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A declared length over the limit is refused before any handler, with the same JSON.
    let body = format!("{{\"title\": \"{}\"}}", "x".repeat(100_000));
    let declared = Request::post("/api/v1/tasks")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap();
    let declared = app.send(declared).await;
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        declared.json()["detail"],
        "The request is too large.",
        "{}",
        declared.body
    );
    let bad_id = json_request(&app, "GET", "/api/v1/tasks/abc", Some(&token), None).await;
    assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_id.json()["detail"][0]["loc"], json!(["path", "id"]));
    let nowhere = json_request(&app, "GET", "/api/v1/nowhere", Some(&token), None).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.json()["detail"].is_string());
    let list = json_request(&app, "GET", "/api/v1/tasks", Some(&token), None).await;
    assert_eq!(
        list.json()["items"],
        json!([]),
        "nothing was created by the bad requests"
    );
}

#[tokio::test]
async fn web_cookie_and_api_bearer_token_are_interchangeable() {
    let app = spawn().await;
    // Web sign-up (server function) -> cookie -> REST API.
    let cookie = app.signed_up("both@example.com").await;
    let request = Request::post("/api/v1/tasks")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"title": "from the cookie"}).to_string()))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::CREATED);
    // REST token -> Bearer header on a server function.
    let token = api_token(&app, "both@example.com", PASSWORD).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = Request::post("/api/tasks/list")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let reply = app.send(list).await;
    assert_eq!(reply.json()["tasks"][0]["title"], "from the cookie");
    // And the REST token reads the same list over REST.
    let rest = json_request(&app, "GET", "/api/v1/tasks", Some(&token), None).await;
    assert_eq!(rest.json()["items"][0]["title"], "from the cookie");
}

#[tokio::test]
async fn openapi_document_describes_every_endpoint_and_the_security_scheme() {
    let app = spawn().await;
    let reply = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/auth/register", &["post"][..]),
        ("/api/v1/auth/token", &["post"]),
        ("/api/v1/users/me", &["get"]),
        ("/api/v1/tasks", &["get", "post"]),
        ("/api/v1/tasks/{id}", &["get", "patch", "delete"]),
    ] {
        for method in methods {
            let op = &paths[path][*method];
            assert!(op.is_object(), "{method} {path} undocumented");
            assert!(
                op["responses"].as_object().unwrap().len() >= 2,
                "{method} {path}: errors undocumented"
            );
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"],
        "/api/v1/auth/token"
    );
    for schema in [
        "UserOut",
        "TaskOut",
        "TaskPage",
        "TokenOut",
        "ErrorOut",
        "ValidationErrorOut",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
}

/// What generated clients rely on (openapi-python-client found both): the paging fields are
/// always present, `null` on the last page, and timestamps are typed as date-times.
#[tokio::test]
async fn openapi_document_types_paging_fields_and_timestamps_for_generated_clients() {
    let app = spawn().await;
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    let schemas = &doc["components"]["schemas"];
    let page = &schemas["TaskPage"];
    for field in ["items", "next_cursor", "next"] {
        assert!(
            page["required"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == field),
            "TaskPage.{field} is not required: {page}"
        );
    }
    for field in ["next_cursor", "next"] {
        let types = page["properties"][field]["type"].to_string();
        assert!(
            types.contains("null"),
            "TaskPage.{field} is not nullable: {types}"
        );
    }
    for (schema, field) in [
        ("TaskOut", "created_at"),
        ("UserOut", "created_at"),
        ("SessionOut", "created_at"),
        ("SessionOut", "last_used_at"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["format"], "date-time",
            "{schema}.{field}"
        );
    }
}

/// `info.license` is real (the product is proprietary), and the token endpoint documents its
/// OAuth2 error body for every error status, validation's 422 no longer among them.
#[tokio::test]
async fn openapi_document_has_a_license_and_the_token_endpoints_oauth2_errors() {
    let app = spawn().await;
    let doc = app.get("/api/v1/openapi.json", None).await.json();
    assert_eq!(doc["info"]["license"], json!({"name": "Proprietary"}));

    let schemas = &doc["components"]["schemas"];
    let body = &schemas["TokenErrorOut"];
    let mut required: Vec<&str> = body["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["detail", "error", "error_description"], "{body}");
    assert_eq!(
        body["properties"]["error"]["$ref"],
        "#/components/schemas/OAuthErrorCode"
    );
    assert_eq!(
        schemas["OAuthErrorCode"]["enum"],
        json!([
            "invalid_request",
            "invalid_grant",
            "unsupported_grant_type",
            "mfa_required",
            "temporarily_unavailable",
            "server_error"
        ])
    );

    let responses = doc["paths"]["/api/v1/auth/token"]["post"]["responses"]
        .as_object()
        .unwrap();
    let mut statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [
            "200", "400", "401", "403", "413", "415", "429", "500", "503"
        ]
    );
    for (status, response) in responses.iter().filter(|(s, _)| *s != "200") {
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/TokenErrorOut",
            "{status}"
        );
    }
    assert!(responses["401"]["headers"]["WWW-Authenticate"].is_object());
    for status in ["429", "503"] {
        assert!(
            responses[status]["headers"]["Retry-After"].is_object(),
            "{status}"
        );
    }
}

/// The values of one directive of a Content-Security-Policy.
fn csp_directive<'a>(policy: &'a str, name: &str) -> Vec<&'a str> {
    policy
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
        .map(|rest| rest.split_whitespace().collect())
        .unwrap_or_default()
}

/// The CSP hash source of an inline `<style>` or `<script>` text.
fn csp_hash(text: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The text of every `<tag ...>text</tag>` in `html` that has no `src`.
fn inline_elements(html: &str, tag: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&format!("<{tag}")) {
        let after = &rest[start..];
        let open_end = after.find('>').expect("a closed tag");
        let close = after.find(&format!("</{tag}>")).expect("a closing tag");
        if !after[..open_end].contains("src=") {
            found.push(after[open_end + 1..close].to_owned());
        }
        rest = &after[close..];
    }
    found
}

/// What CSP checks on the Swagger UI page, as the browser would meet it: inline `<style>` and
/// `<script>` elements and `style` attributes in the HTML, and the `<style>` elements the page's
/// scripts insert at run time (React's `createElement("style", null, "...")`, as in Swagger
/// UI's logo). Every one must be allowed by the page's own policy, without `'unsafe-inline'`.
#[tokio::test]
async fn the_docs_page_policy_allows_every_inline_style_and_script_the_page_uses() {
    let app = spawn().await;
    let page = app.get("/api/v1/docs/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let policy = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let style_src = csp_directive(&policy, "style-src");
    let script_src = csp_directive(&policy, "script-src");
    assert!(style_src.contains(&"'self'"), "{policy}");
    assert!(!policy.contains("'unsafe-inline'"), "{policy}");
    assert!(
        !page.body.contains(" style="),
        "style attributes need 'unsafe-inline': {}",
        page.body
    );
    for script in inline_elements(&page.body, "script") {
        if !script.trim().is_empty() {
            assert!(script_src.contains(&csp_hash(&script).as_str()), "{script}");
        }
    }
    let mut styles = inline_elements(&page.body, "style");
    let scripts: Vec<&str> = page
        .body
        .split("src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert!(!scripts.is_empty(), "{}", page.body);
    for src in scripts {
        let path = format!("/api/v1/docs/{}", src.trim_start_matches("./"));
        let script = app.get(&path, None).await;
        assert_eq!(script.status, StatusCode::OK, "{path}");
        for inserted in script.body.split("createElement(\"style\",null,\"").skip(1) {
            let css = inserted.split('"').next().unwrap();
            assert!(
                !css.contains('\\'),
                "an escaped stylesheet in {path}: {css}"
            );
            styles.push(css.to_owned());
        }
    }
    // The one stylesheet Swagger UI 5.32 is known to insert (its top bar logo's colours) must be
    // found, or the scan proves nothing: a new spelling in the bundle would slip past it.
    assert!(
        styles.iter().any(|css| css.contains("logo_small_svg")),
        "the logo's stylesheet was not found: {styles:?}"
    );
    for css in &styles {
        let hash = csp_hash(css);
        assert!(
            style_src.contains(&hash.as_str()),
            "{policy} does not allow the inline style {css:?} ({hash})"
        );
    }
}

#[tokio::test]
async fn interactive_docs_are_served_by_the_app_itself() {
    let app = spawn().await;
    let page = app.get("/api/v1/docs/", None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("swagger-ui"));
    // Every script and stylesheet comes from this server: no CDN.
    for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(
            !page.body.contains(attr),
            "external asset ({attr}) in {}",
            page.body
        );
    }
    let init = app.get("/api/v1/docs/swagger-initializer.js", None).await;
    assert_eq!(init.status, StatusCode::OK);
    // Never validator.swagger.io: the document's URL stays on this server.
    assert!(
        init.body.contains(r#""validatorUrl": "none""#),
        "{}",
        init.body
    );
    assert!(init.body.contains("/api/v1/openapi.json"));
    let bundle = app.get("/api/v1/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status, StatusCode::OK);
    assert!(bundle.body.len() > 100_000);
}
