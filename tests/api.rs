//! The JSON REST API under /api/v1: FastAPI-style flows, errors and pagination.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{PASSWORD, api_register, api_token, bearer, json_request, spawn, token_request};
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
    assert_eq!(keys.len(), 4, "only id, email, name, created_at: {keys:?}");
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
}

#[tokio::test]
async fn token_endpoint_refuses_other_grants_and_json() {
    let app = spawn().await;
    let request = token_request(&[
        ("grant_type", "client_credentials"),
        ("username", "a@b.co"),
        ("password", "x"),
    ]);
    assert_eq!(
        app.send(request).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let as_json = json_request(
        &app,
        "POST",
        "/api/v1/auth/token",
        None,
        Some(json!({"username": "a", "password": "b"})),
    )
    .await;
    assert_eq!(as_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let missing = api_token(&app, "", "").await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
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
