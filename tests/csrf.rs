//! Cross-site forged requests are refused before they reach server functions or the API;
//! same-origin browsers and non-browser clients are unaffected.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{PASSWORD, spawn};

fn login_request(extra: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/api/login")
        .header(header::HOST, "tasks.test")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let body = serde_urlencoded::to_string([("email", "csrf@example.com"), ("password", PASSWORD)])
        .unwrap();
    request.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn a_cross_site_form_post_to_a_server_function_is_refused_before_it_runs() {
    let app = spawn().await;
    app.signed_up("csrf@example.com").await;
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
    ] {
        let reply = app.send(login_request(&headers)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            reply.json()["detail"]
                .as_str()
                .unwrap()
                .contains("Cross-origin request refused")
        );
        assert!(
            reply.session_cookie().is_none(),
            "login CSRF must not sign anyone in: {headers:?}"
        );
    }
}

#[tokio::test]
async fn same_origin_browsers_and_non_browser_clients_pass() {
    let app = spawn().await;
    app.signed_up("csrf@example.com").await;
    for headers in [
        vec![("sec-fetch-site", "same-origin")],
        vec![("origin", "http://tasks.test")],
        vec![],
    ] {
        let reply = app.send(login_request(&headers)).await;
        assert_eq!(reply.status, StatusCode::OK, "{headers:?}: {}", reply.body);
        assert!(reply.session_cookie().is_some());
    }
}

#[tokio::test]
async fn a_cross_site_api_write_with_the_victims_cookie_is_refused() {
    let app = spawn().await;
    let cookie = app.signed_up("victim@example.com").await;
    let request = Request::delete("/api/v1/tasks/1")
        .header(header::COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::FORBIDDEN);
    let add = Request::post("/api/tasks/add")
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "null")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("title=planted"))
        .unwrap();
    assert_eq!(app.send(add).await.status, StatusCode::FORBIDDEN);
    assert!(
        app.list_tasks(&cookie).await.is_empty(),
        "nothing was planted"
    );
    // Reading is still possible cross-site (navigation), writing is not.
    let page = Request::get("/tasks")
        .header(header::COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(page).await.status, StatusCode::OK);
}
