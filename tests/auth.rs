//! Sign-up, login, logout and token validation, through the real router and database.

mod common;

use axum::http::StatusCode;
use common::{COOKIE_NAME, PASSWORD, cookie_with, spawn, spawn_with};
use futures::future::join_all;
use tasks::server::auth::jwt::Claims;

#[tokio::test]
async fn register_signs_in_with_an_httponly_secure_lax_cookie_and_goes_to_tasks() {
    let app = spawn().await;
    let reply = app.register("Ada", "ada@example.com", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.location(), Some("/tasks"));
    let set_cookie = reply
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(COOKIE_NAME))
        .expect("session cookie");
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Secure",
        "Max-Age=900",
    ] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} missing: {set_cookie}"
        );
    }
    // The token lives in the cookie only, never in the body the page sees.
    let token = reply
        .session_cookie()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    assert!(!reply.body.contains(&token));

    let me = app
        .call("me", &[], Some(&reply.session_cookie().unwrap()))
        .await;
    assert_eq!(me.json()["email"], "ada@example.com");
    assert_eq!(me.json()["name"], "Ada");
    assert!(
        !me.body.contains("argon2"),
        "the hash must never be sent: {}",
        me.body
    );
}

#[tokio::test]
async fn passwords_are_stored_only_as_argon2id_hashes() {
    let app = spawn().await;
    app.signed_up("hash@example.com").await;
    let stored: String = crate::on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT password_hash FROM users"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    assert!(!stored.contains(PASSWORD));
}

#[tokio::test]
async fn register_rejects_bad_input_naming_each_field_and_creates_nothing() {
    let app = spawn().await;
    let reply = app
        .call(
            "register",
            &[
                ("name", "   "),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "different"),
            ],
            None,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.error_kind(), "validation");
    let fields: Vec<String> = reply.json()["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["name", "email", "password", "password_confirm"]);
    assert!(reply.session_cookie().is_none());
    assert_eq!(app.count_users().await, 0);
}

#[tokio::test]
async fn register_rejects_overlong_name_and_password() {
    let app = spawn().await;
    let long_name = "n".repeat(101);
    let long_password = "p".repeat(129);
    let reply = app
        .register(&long_name, "long@example.com", &long_password)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = reply.body;
    assert!(
        text.contains("at most 100") && text.contains("at most 128"),
        "{text}"
    );
}

#[tokio::test]
async fn duplicate_email_is_409_even_with_different_case_and_spaces() {
    let app = spawn().await;
    app.signed_up("dup@example.com").await;
    let reply = app.register("Other", "  DUP@Example.com ", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.error_kind(), "email_taken");
    assert!(reply.session_cookie().is_none());
    assert_eq!(app.count_users().await, 1);
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_exactly_one_account() {
    let app = spawn().await;
    let replies = join_all((0..8).map(|i| {
        let app = &app;
        async move {
            app.register(&format!("Racer {i}"), "race@example.com", PASSWORD)
                .await
        }
    }))
    .await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let taken = replies
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, taken), (1, 7), "{replies:#?}");
    assert!(
        replies
            .iter()
            .all(|r| r.status != StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(app.count_users().await, 1);
}

#[tokio::test]
async fn login_with_the_right_password_sets_the_cookie_and_honours_a_safe_next() {
    let app = spawn().await;
    app.signed_up("login@example.com").await;
    let reply = app
        .call(
            "login",
            &[
                ("email", " Login@Example.com"),
                ("password", PASSWORD),
                ("next", "/tasks"),
            ],
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.location(), Some("/tasks"));
    let cookie = reply.session_cookie().expect("cookie");
    assert_eq!(
        app.call("me", &[], Some(&cookie)).await.json()["email"],
        "login@example.com"
    );
}

#[tokio::test]
async fn login_never_redirects_off_site() {
    let app = spawn().await;
    app.signed_up("next@example.com").await;
    for next in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "/tasks@evil.example",
        "/tasks/../../evil",
        "",
    ] {
        let reply = app
            .call(
                "login",
                &[
                    ("email", "next@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
                None,
            )
            .await;
        assert_eq!(reply.location(), Some("/tasks"), "next={next}");
    }
    // Any page of the route tree is a place to return to.
    let reply = app
        .call(
            "login",
            &[
                ("email", "next@example.com"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
            None,
        )
        .await;
    assert_eq!(reply.location(), Some("/account"));
}

#[tokio::test]
async fn login_with_wrong_password_is_rejected_like_unknown_email() {
    let app = spawn().await;
    app.signed_up("known@example.com").await;
    let wrong_password = app.login("known@example.com", "not the password").await;
    let unknown_email = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.body, unknown_email.body);
    assert_eq!(wrong_password.error_kind(), "invalid_credentials");
    assert!(wrong_password.session_cookie().is_none() && unknown_email.session_cookie().is_none());
}

#[tokio::test]
async fn logout_expires_the_cookie_with_matching_attributes() {
    let app = spawn().await;
    let cookie = app.signed_up("bye@example.com").await;
    let reply = app.call("logout", &[], Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.location(), Some("/login"));
    let removal = reply
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{COOKIE_NAME}=;")))
        .expect("removal cookie");
    for attribute in ["Max-Age=0", "Path=/", "Secure", "HttpOnly"] {
        assert!(
            removal.contains(attribute),
            "{attribute} missing: {removal}"
        );
    }
}

#[tokio::test]
async fn invalid_tokens_are_rejected_never_treated_as_anonymous() {
    let app = spawn().await;
    let cookie = app.signed_up("tokens@example.com").await;
    let token = cookie.split_once('=').unwrap().1.to_owned();
    let now = jsonwebtoken::get_current_timestamp();
    let claims = |exp: u64| Claims {
        sub: "1".into(),
        iat: now - 7200,
        nbf: now - 7200,
        exp,
        iss: "tasks".into(),
        aud: "tasks".into(),
        jti: "t".into(),
        sid: "s".into(),
        typ: "access".into(),
    };
    let expired = app
        .state
        .jwt
        .sign(&claims(now - 3600))
        .unwrap()
        .expose()
        .to_owned();
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    for bad in [expired.as_str(), tampered.as_str(), "garbage", "a.b.c"] {
        let reply = app.call("tasks/list", &[], Some(&cookie_with(bad))).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "accepted {bad}: {}",
            reply.body
        );
        let me = app.call("me", &[], Some(&cookie_with(bad))).await;
        assert_eq!(me.body, "null", "an invalid cookie means signed out");
    }
}

#[tokio::test]
async fn a_token_for_a_deleted_user_is_rejected() {
    let app = spawn().await;
    let cookie = app.signed_up("gone@example.com").await;
    common::execute(&app.state.db, "DELETE FROM users").await;
    let reply = app.call("tasks/list", &[], Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // Ids are never reused, so the next account cannot inherit the old token.
    let new_cookie = app.signed_up("new@example.com").await;
    assert_ne!(new_cookie, cookie);
    assert_eq!(
        app.call("tasks/list", &[], Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_bearer_header_works_like_the_cookie() {
    let app = spawn().await;
    let cookie = app.signed_up("bearer@example.com").await;
    let token = cookie.split_once('=').unwrap().1;
    let request = axum::http::Request::post("/api/me")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(
        app.send(request).await.json()["email"],
        "bearer@example.com"
    );
}

#[tokio::test]
async fn tokens_from_another_deployment_are_rejected() {
    let app = spawn().await;
    let other = spawn_with(&[("JWT_AUDIENCE", "someone-else")]).await;
    let foreign = other.signed_up("foreign@example.com").await;
    app.signed_up("foreign@example.com").await;
    let reply = app.call("tasks/list", &[], Some(&foreign)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_javascript_login_failure_returns_to_the_form_with_the_error() {
    let app = spawn().await;
    app.signed_up("nojs@example.com").await;
    let reply = app
        .post_form_no_js(
            "login",
            &[
                ("email", "nojs@example.com"),
                ("password", "wrong password"),
                ("next", ""),
            ],
            "http://localhost:3000/login?next=/tasks",
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    // Back to the form's own address, with no error text in the URL.
    assert_eq!(reply.location(), Some("/login?next=/tasks"));
    assert!(reply.session_cookie().is_none());
    let flash = reply
        .form_error_cookie()
        .expect("the error travels in a cookie");
    let set = reply.set_cookies().join("\n");
    assert!(
        set.contains("HttpOnly") && set.contains("Max-Age=60"),
        "{set}"
    );

    // The login page rendered with that cookie shows the message once and removes the cookie.
    let page = app.get("/login?next=/tasks", Some(&flash)).await;
    assert!(
        page.body.contains("Incorrect email or password."),
        "{}",
        page.body
    );
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-tasks_form_error=;")),
        "{:?}",
        page.set_cookies()
    );
    let again = app.get("/login?next=/tasks", None).await;
    assert!(!again.body.contains("Incorrect email or password."));
    // Another form's page ignores it.
    let other = app.get("/register", Some(&flash)).await;
    assert!(!other.body.contains("Incorrect email or password."));
}

#[tokio::test]
async fn a_crafted_error_in_the_url_puts_no_text_on_any_page() {
    use base64::Engine;
    let app = spawn().await;
    let cookie = app.signed_up("crafted@example.com").await;
    let error = serde_json::json!({
        "error": "bad_request",
        "detail": "Account locked. Call +1-555-0100"
    });
    let encoded = base64::engine::general_purpose::URL_SAFE.encode(error.to_string());
    for (page, server_fn) in [
        ("/login", "/api/login"),
        ("/register", "/api/register"),
        ("/tasks", "/api/tasks/add"),
        ("/account", "/api/password"),
    ] {
        let url = format!("{page}?__path={server_fn}&__err={encoded}");
        let reply = app.get(&url, Some(&cookie)).await;
        assert!(!reply.body.contains("+1-555-0100"), "{url}: {}", reply.body);
        // Sent to the same page without the parameters (the browser's router would read them
        // too), keeping the rest of the query.
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{url}");
        assert_eq!(reply.location(), Some(page), "{url}");
        let with_next = app.get(&format!("{url}&next=/tasks"), Some(&cookie)).await;
        assert_eq!(
            with_next.location(),
            Some(format!("{page}?next=/tasks").as_str())
        );
        let page_reply = app.get(page, Some(&cookie)).await;
        assert!(!page_reply.body.contains("+1-555-0100"));
    }
}

#[tokio::test]
async fn without_javascript_a_foreign_referer_is_never_a_redirect_target() {
    let app = spawn().await;
    app.signed_up("referer@example.com").await;
    let reply = app
        .post_form_no_js(
            "login",
            &[
                ("email", "referer@example.com"),
                ("password", "wrong password"),
                ("next", ""),
            ],
            "https://evil.example/x?y=1",
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/login"));
    let cookie = app.signed_up("referer2@example.com").await;
    let request = axum::http::Request::post("/api/tasks/add")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .header("host", "localhost:3000")
        .header("referer", "http://localhost:3000.evil.example/tasks")
        .header("cookie", cookie)
        .body(axum::body::Body::from("title=%20"))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.location(), Some("/tasks"), "{}", reply.body);
    assert!(
        reply.form_error_cookie().is_some(),
        "the empty title's error"
    );
    // No Referer at all (a browser set not to send one): the form's page, with its error.
    let request = axum::http::Request::post("/api/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .header("host", "localhost:3000")
        .body(axum::body::Body::from(
            "email=referer%40example.com&password=nope&next=",
        ))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/login"));
    let flash = reply
        .form_error_cookie()
        .expect("the login error travels in the cookie");
    let page = app.get("/login", Some(&flash)).await;
    assert!(
        page.body.contains("Incorrect email or password."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn without_javascript_login_success_redirects_to_tasks_with_the_cookie() {
    let app = spawn().await;
    app.signed_up("nojs-ok@example.com").await;
    let reply = app
        .post_form_no_js(
            "login",
            &[
                ("email", "nojs-ok@example.com"),
                ("password", PASSWORD),
                ("next", "/tasks"),
            ],
            "http://localhost:3000/login?next=/tasks",
        )
        .await;
    // 303 See Other: the browser follows a form post's redirect with a GET.
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/tasks"));
    let cookie = reply.session_cookie().expect("cookie");
    assert_eq!(
        app.get("/tasks", Some(&cookie)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn signed_out_visit_to_tasks_redirects_to_login_with_next() {
    let app = spawn().await;
    let reply = app.get("/tasks", None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/login?next=/tasks"));
}

#[tokio::test]
async fn an_expired_cookie_on_a_page_is_cleared_and_sent_to_login() {
    let app = spawn().await;
    let reply = app
        .get("/tasks", Some(&cookie_with("expired.or.garbage")))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/login?next=/tasks"));
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{COOKIE_NAME}=;")))
    );
}

#[tokio::test]
async fn home_sends_signed_in_people_to_tasks_and_shows_others_the_landing_page() {
    let app = spawn().await;
    let cookie = app.signed_up("home@example.com").await;
    let signed_in = app.get("/", Some(&cookie)).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location(), Some("/tasks"));
    let anonymous = app.get("/", None).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert!(anonymous.body.contains("Sign up") && anonymous.body.contains("Log in"));
}

#[tokio::test]
async fn the_tasks_page_shows_the_users_tasks_and_is_not_cached() {
    let app = spawn().await;
    let cookie = app.signed_up("page@example.com").await;
    app.add_task(&cookie, "Water the plants").await;
    let page = app.get("/tasks", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Water the plants"));
    assert!(page.body.contains("Signed in as"));
    assert_eq!(page.headers["cache-control"], "no-store");
    let token = cookie.split_once('=').unwrap().1;
    assert!(
        !page.body.contains(token),
        "the token must never be in the page"
    );
}

#[tokio::test]
async fn unknown_pages_are_404() {
    let app = spawn().await;
    assert_eq!(
        app.get("/no-such-page", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_route_tree_guards_each_group_of_pages_on_the_server() {
    let app = spawn().await;
    for page in ["/tasks", "/account"] {
        let reply = app.get(page, None).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(
            reply.location(),
            Some(format!("/login?next={page}").as_str())
        );
        // Nothing of the protected page is rendered for a signed-out visitor.
        assert!(!reply.body.contains("Your tasks") && !reply.body.contains("Change password"));
    }
    let cookie = app.signed_up("guarded@example.com").await;
    for page in ["/", "/login", "/register"] {
        let reply = app.get(page, Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(reply.location(), Some("/tasks"), "{page}");
    }
    for page in ["/tasks", "/account"] {
        assert_eq!(
            app.get(page, Some(&cookie)).await.status,
            StatusCode::OK,
            "{page}"
        );
    }
}

/// The request context layer is the only place that authenticates: a page that renders the
/// header and the task list, a server function and a REST call each look their session up once.
#[tokio::test]
async fn every_request_looks_its_session_up_once() {
    let app = spawn().await;
    let cookie = app.signed_up("once@example.com").await;
    app.add_task(&cookie, "Counted once").await;
    let token = cookie.split_once('=').unwrap().1.to_owned();
    let lookups = |reply: &common::Reply| {
        let id = reply.headers["x-request-id"].to_str().unwrap().to_owned();
        common::logged_during(&id)
            .iter()
            .filter(|message| *message == "session looked up")
            .count()
    };
    for page in ["/tasks", "/account"] {
        let reply = app.get(page, Some(&cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}");
        assert_eq!(lookups(&reply), 1, "{page}");
    }
    let server_fn = app.call("tasks/list", &[], Some(&cookie)).await;
    assert_eq!(server_fn.status, StatusCode::OK);
    assert_eq!(lookups(&server_fn), 1);
    let rest = common::json_request(&app, "GET", "/api/v1/tasks", Some(&token), None).await;
    assert_eq!(rest.status, StatusCode::OK);
    assert_eq!(lookups(&rest), 1);
    // Anonymous pages and static files cost no lookup at all.
    let login = app.get("/login", None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(lookups(&login), 0);
}

#[tokio::test]
async fn one_mailbox_is_one_account_whatever_form_its_domain_is_written_in() {
    let app = spawn().await;
    app.signed_up("ada@bücher.example").await;
    // The same mailbox in IDNA's ASCII form, upper case, or decomposed: already registered.
    for other in [
        "ada@xn--bcher-kva.example",
        "ADA@BÜCHER.EXAMPLE",
        "ada@bu\u{308}cher.example",
    ] {
        let reply = app.register("Ada", other, PASSWORD).await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{other}: {}",
            reply.body
        );
        assert_eq!(
            app.login(other, PASSWORD).await.status,
            StatusCode::OK,
            "{other}"
        );
    }
    // The API's user object shows the stored (ASCII) form.
    let reply = app.login("ada@bücher.example", PASSWORD).await;
    let cookie = reply.session_cookie().unwrap();
    let me = app.call("me", &[], Some(&cookie)).await;
    assert_eq!(
        me.json()["email"],
        "ada@xn--bcher-kva.example",
        "{}",
        me.body
    );
}

#[tokio::test]
async fn emails_stored_before_idna_normalization_are_rewritten_and_conflicts_left_alone() {
    use tasks::server::db::users::{EmailMigration, normalize_stored_emails};
    let app = spawn().await;
    app.signed_up("old@müller.example").await;
    app.signed_up("twice@xn--mller-kva.example").await;
    // Rows as an earlier version stored them: the domain lower-cased but not IDNA-encoded.
    common::execute(
        &app.state.db,
        "UPDATE users SET email = 'old@müller.example' WHERE email = 'old@xn--mller-kva.example'",
    )
    .await;
    common::execute(
        &app.state.db,
        "INSERT INTO users (email, name, password_hash, created_at) \
         SELECT 'twice@müller.example', name, password_hash, created_at FROM users \
         WHERE email = 'twice@xn--mller-kva.example'",
    )
    .await;
    let conflict_id: i64 = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT id FROM users WHERE email = 'twice@müller.example'"
    )
    .fetch_one(c)
    .await)
    .unwrap();

    let report = normalize_stored_emails(&app.state.db).await.unwrap();
    assert_eq!(
        report,
        EmailMigration {
            rewritten: 1,
            conflicts: vec![conflict_id]
        }
    );
    assert_eq!(
        app.login("old@müller.example", PASSWORD).await.status,
        StatusCode::OK
    );
    // Run again (the next startup, or a second replica): nothing more to do but the conflict.
    let again = normalize_stored_emails(&app.state.db).await.unwrap();
    assert_eq!(again.rewritten, 0);
    assert_eq!(again.conflicts, vec![conflict_id]);
}
