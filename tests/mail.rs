//! Email flows (issue 14) against a real SMTP server (`tests/smtp_sink.py`, aiosmtpd): the mail
//! each flow sends (headers, both parts, the link), password reset, address verification, email
//! change, the queue's retries and restarts, the rate limits and the development mailbox. Runs
//! on SQLite, and on PostgreSQL with `TEST_DATABASE=postgres`.

mod common;

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{
    PASSWORD, ServerProcess, TestApp, api_register, api_token, api_tokens, execute, json_request,
    smtp::{SmtpSink, token_in},
    spawn_with,
};
use serde_json::{Value, json};

const PUBLIC_URL: &str = "https://tasks.example.test";
const NEW_PASSWORD: &str = "violet kettle on the stove";

/// An app that sends its mail to `sink`, with its sender running.
async fn app_with(sink: &SmtpSink, extra: &[(&str, &str)]) -> TestApp {
    let url = sink.url();
    let mut pairs = vec![
        ("SMTP_URL", url.as_str()),
        ("PUBLIC_URL", PUBLIC_URL),
        ("MAIL_FROM", "Tasks <no-reply@tasks.example.test>"),
        ("MAIL_RETRY_AFTER", "1s"),
    ];
    pairs.extend_from_slice(extra);
    let app = spawn_with(&pairs).await;
    tasks::server::mail::spawn_sender(app.state.mail.clone(), app.state.db.clone())
        .expect("a sender runs when SMTP_URL is set");
    app
}

fn subject(m: &Value) -> &str {
    m["headers"]["subject"].as_str().unwrap_or_default()
}

/// The messages to `to` with `subject`.
fn mails(sink: &SmtpSink, to: &str, wanted: &str) -> Vec<Value> {
    sink.messages()
        .into_iter()
        .filter(|m| m["rcpt_tos"][0].as_str() == Some(to) && subject(m) == wanted)
        .collect()
}

/// Waits for the `n`th message to `to` with `subject` and returns it.
async fn nth_mail(sink: &SmtpSink, to: &str, wanted: &str, n: usize) -> Value {
    for _ in 0..400 {
        let found = mails(sink, to, wanted);
        if found.len() >= n {
            return found[n - 1].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no message #{n} \"{wanted}\" to {to}; the sink has: {:#?}",
        sink.messages()
    );
}

const RESET: &str = "Reset your Tasks password";
const VERIFY: &str = "Verify your email address for Tasks";
const CHANGED: &str = "Your Tasks password was changed";
const CONFIRM_NEW: &str = "Confirm your new email address for Tasks";
const CHANGE_NOTICE: &str = "Your Tasks email address is being changed";

async fn ask_reset(app: &TestApp, email: &str) -> common::Reply {
    json_request(
        app,
        "POST",
        "/api/v1/auth/password-reset",
        None,
        Some(json!({ "email": email })),
    )
    .await
}

async fn confirm_reset(app: &TestApp, token: &str, password: &str) -> common::Reply {
    json_request(
        app,
        "POST",
        "/api/v1/auth/password-reset/confirm",
        None,
        Some(json!({ "token": token, "new_password": password })),
    )
    .await
}

async fn me(app: &TestApp, token: &str) -> common::Reply {
    json_request(app, "GET", "/api/v1/users/me", Some(token), None).await
}

async fn query_i64(app: &TestApp, sql: &str) -> i64 {
    on_db!(&app.state.db, |c| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(c)
        .await)
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn a_reset_mail_has_both_parts_a_public_link_and_works_once() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[]).await;
    let email = "reset-once@example.com";
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);
    let (access, refresh) = api_tokens(&app, email).await;
    let browser = app.login(email, PASSWORD).await.auth_cookies();

    // Asked with a forged Host header: the link still uses PUBLIC_URL.
    let request = Request::post("/api/v1/auth/password-reset")
        .header(header::HOST, "evil.example")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "email": email }).to_string()))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);

    let mail = nth_mail(&sink, email, RESET, 1).await;
    let headers = &mail["headers"];
    assert_eq!(mail["mail_from"], "no-reply@tasks.example.test");
    assert_eq!(headers["from"], "Tasks <no-reply@tasks.example.test>");
    assert_eq!(headers["to"], email);
    assert!(
        headers["message-id"]
            .as_str()
            .is_some_and(|id| id.ends_with("@tasks.example.test>")),
        "{headers}"
    );
    assert!(headers["date"].is_string(), "{headers}");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let text = mail["text"].as_str().expect("a plain-text part");
    let html = mail["html"].as_str().expect("an HTML part");
    let prefix = format!("{PUBLIC_URL}/reset-password?token=");
    assert!(text.contains(&prefix), "{text}");
    assert!(html.contains(&format!("href=\"{prefix}")), "{html}");
    assert!(!text.contains("evil.example") && !html.contains("evil.example"));
    assert!(text.contains("30 minutes"));
    let token = token_in(text, "/reset-password");
    assert_eq!(
        token_in(html, "/reset-password").trim_end_matches('"'),
        token
    );
    assert!(token.len() >= 43, "256 random bits: {token}");

    // A too common password is refused and spends nothing.
    let weak = confirm_reset(&app, &token, "password123").await;
    assert_eq!(
        weak.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        weak.body
    );

    let done = confirm_reset(&app, &token, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    // Every session ended: the API's tokens and the browser's cookies.
    assert_eq!(me(&app, &access).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        common::api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );
    let tasks = app.call("tasks/list", &[], Some(&browser)).await;
    assert_eq!(tasks.status, StatusCode::UNAUTHORIZED, "{}", tasks.body);
    // The old password is refused, the new one works, and the address counts as verified.
    assert_eq!(
        api_token(&app, email, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let login = api_token(&app, email, NEW_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let fresh = login.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &fresh).await.json()["email_verified"], true);

    // The link works once.
    let again = confirm_reset(&app, &token, "another fine passphrase").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.json()["detail"].as_str().unwrap().contains("link"));
    // A notice went to the address.
    let notice = nth_mail(&sink, email, CHANGED, 1).await;
    assert!(notice["text"].as_str().unwrap().contains(PUBLIC_URL));
}

#[tokio::test]
async fn known_unknown_and_disabled_addresses_get_the_same_answer() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[]).await;
    assert_eq!(
        api_register(&app, "known@example.com").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        api_register(&app, "disabled@example.com").await.status,
        StatusCode::CREATED
    );
    execute(
        &app.state.db,
        "UPDATE users SET disabled = TRUE WHERE email = 'disabled@example.com'",
    )
    .await;
    let mut answers = Vec::new();
    for email in [
        "known@example.com",
        "nobody@example.com",
        "disabled@example.com",
    ] {
        let reply = ask_reset(&app, email).await;
        let mut headers: Vec<(String, String)> = reply
            .headers
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "x-request-id" | "date"))
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        answers.push((reply.status, headers, reply.body));
        // The browser's server function answers alike too.
        let fn_reply = app.call("email/forgot", &[("email", email)], None).await;
        assert_eq!(fn_reply.status, StatusCode::OK, "{}", fn_reply.body);
    }
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    assert_eq!(answers[0], answers[1], "known and unknown differ");
    assert_eq!(answers[0], answers[2], "known and disabled differ");
    assert!(answers[0].2.contains("If an account exists"));

    // Only the enabled account got links (one per request).
    nth_mail(&sink, "known@example.com", RESET, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(mails(&sink, "disabled@example.com", RESET).is_empty());
    assert!(mails(&sink, "nobody@example.com", RESET).is_empty());
}

#[tokio::test]
async fn a_newer_link_replaces_the_older_and_links_expire() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[]).await;
    let email = "superseded@example.com";
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);
    ask_reset(&app, email).await;
    let first = token_in(
        nth_mail(&sink, email, RESET, 1).await["text"]
            .as_str()
            .unwrap(),
        "/reset-password",
    );
    ask_reset(&app, email).await;
    let second = token_in(
        nth_mail(&sink, email, RESET, 2).await["text"]
            .as_str()
            .unwrap(),
        "/reset-password",
    );
    assert_ne!(first, second);
    assert_eq!(
        confirm_reset(&app, &first, NEW_PASSWORD).await.status,
        StatusCode::BAD_REQUEST,
        "the older link still worked"
    );
    // The reset page's check says the same before showing its form.
    let check = app
        .call("email/reset-link", &[("token", &first)], None)
        .await;
    assert_eq!(check.error_kind(), "invalid_link", "{}", check.body);
    let check = app
        .call("email/reset-link", &[("token", &second)], None)
        .await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.body);
    assert_eq!(check.json(), json!(email));

    // Expired: 30 minutes pass.
    execute(
        &app.state.db,
        "UPDATE email_tokens SET expires_at = expires_at - 1800001",
    )
    .await;
    assert_eq!(
        confirm_reset(&app, &second, NEW_PASSWORD).await.status,
        StatusCode::BAD_REQUEST,
        "an expired link worked"
    );
    assert_eq!(
        api_token(&app, email, PASSWORD).await.status,
        StatusCode::OK
    );
    // Only hashes are stored.
    let stored = query_i64(
        &app,
        &format!(
            "SELECT COUNT(*) FROM email_tokens WHERE token_hash = '{second}' OR email = '{second}'"
        ),
    )
    .await;
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn the_browser_reset_signs_in_afresh_and_ends_other_sessions() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[]).await;
    let email = "browser-reset@example.com";
    let other_device = app.signed_up(email).await;
    app.call("email/forgot", &[("email", email)], None).await;
    let token = token_in(
        nth_mail(&sink, email, RESET, 1).await["text"]
            .as_str()
            .unwrap(),
        "/reset-password",
    );
    let mismatch = app
        .call(
            "email/reset",
            &[
                ("token", &token),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", "something else entirely"),
            ],
            None,
        )
        .await;
    assert!(
        mismatch.body.contains("new_password_confirm"),
        "{}",
        mismatch.body
    );
    let reply = app
        .call(
            "email/reset",
            &[
                ("token", &token),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
            None,
        )
        .await;
    assert!(
        reply.status.is_success() || reply.status.is_redirection(),
        "{reply:?}"
    );
    let fresh = reply.session_cookie().expect("signed in afresh");
    assert_eq!(
        app.call("tasks/list", &[], Some(&fresh)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("tasks/list", &[], Some(&other_device))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Without JavaScript: the form post is answered with a redirect to the tasks.
    app.call("email/forgot", &[("email", email)], None).await;
    let token = token_in(
        nth_mail(&sink, email, RESET, 2).await["text"]
            .as_str()
            .unwrap(),
        "/reset-password",
    );
    let referer = format!("http://localhost:3000/reset-password?token={token}");
    let no_js = app
        .post_form_no_js(
            "email/reset",
            &[
                ("token", &token),
                ("new_password", "a third good passphrase"),
                ("new_password_confirm", "a third good passphrase"),
            ],
            &referer,
        )
        .await;
    assert_eq!(no_js.status, StatusCode::SEE_OTHER, "{}", no_js.body);
    assert_eq!(no_js.location(), Some("/tasks"));
    assert!(no_js.session_cookie().is_some());
}

#[tokio::test]
async fn sign_up_sends_a_verification_link_and_send_again_replaces_it() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[]).await;
    let email = "verify@example.com";
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);
    let (access, _) = api_tokens(&app, email).await;
    assert_eq!(me(&app, &access).await.json()["email_verified"], false);
    let mail = nth_mail(&sink, email, VERIFY, 1).await;
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("{PUBLIC_URL}/verify-email?token=")),
        "{text}"
    );
    assert!(
        mail["html"]
            .as_str()
            .unwrap()
            .contains("/verify-email?token=")
    );
    let first = token_in(text, "/verify-email");

    // Send again: a new link; the first stops working.
    let again = json_request(
        &app,
        "POST",
        "/api/v1/users/me/verification",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    let second = token_in(
        nth_mail(&sink, email, VERIFY, 2).await["text"]
            .as_str()
            .unwrap(),
        "/verify-email",
    );
    let verify = |token: String| {
        let app = &app;
        async move {
            json_request(
                app,
                "POST",
                "/api/v1/auth/verify-email",
                None,
                Some(json!({ "token": token })),
            )
            .await
        }
    };
    assert_eq!(verify(first).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(verify(second.clone()).await.status, StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &access).await.json()["email_verified"], true);
    // Opened again (a second click, a mail scanner first): still fine.
    assert_eq!(verify(second.clone()).await.status, StatusCode::NO_CONTENT);
    // The page's server function answers with the address.
    let page = app.call("email/verify", &[("token", &second)], None).await;
    assert_eq!(page.json(), json!(email));
    // Verified: "send again" sends nothing.
    let none = json_request(
        &app,
        "POST",
        "/api/v1/users/me/verification",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(none.status, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mails(&sink, email, VERIFY).len(), 2);
    assert_eq!(
        verify("not-a-token".into()).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn require_verified_email_makes_unverified_accounts_read_only() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[("REQUIRE_VERIFIED_EMAIL", "true")]).await;
    let email = "readonly@example.com";
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);
    let (access, _) = api_tokens(&app, email).await;
    let add = |title: &'static str| {
        let app = &app;
        let access = access.clone();
        async move {
            json_request(
                app,
                "POST",
                "/api/v1/tasks",
                Some(&access),
                Some(json!({ "title": title })),
            )
            .await
        }
    };
    let refused = add("Buy milk").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Verify")
    );
    let list = json_request(&app, "GET", "/api/v1/tasks", Some(&access), None).await;
    assert_eq!(list.status, StatusCode::OK);
    let token = token_in(
        nth_mail(&sink, email, VERIFY, 1).await["text"]
            .as_str()
            .unwrap(),
        "/verify-email",
    );
    let verified = app.call("email/verify", &[("token", &token)], None).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(add("Buy milk").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn changing_the_email_needs_the_password_and_the_new_address_link() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[]).await;
    let old = "old-address@example.com";
    let new = "new-address@example.com";
    assert_eq!(api_register(&app, old).await.status, StatusCode::CREATED);
    let (access, _) = api_tokens(&app, old).await;
    let change = |password: &'static str, to: &'static str| {
        let app = &app;
        let access = access.clone();
        async move {
            json_request(
                app,
                "POST",
                "/api/v1/users/me/email",
                Some(&access),
                Some(json!({ "new_email": to, "password": password })),
            )
            .await
        }
    };
    let wrong = change("not my password at all", new).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("password"), "{}", wrong.body);
    let same = change(PASSWORD, old).await;
    assert_eq!(same.status, StatusCode::UNPROCESSABLE_ENTITY);
    let invalid = change(PASSWORD, "not-an-email").await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);

    let asked = change(PASSWORD, new).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    let confirm = nth_mail(&sink, new, CONFIRM_NEW, 1).await;
    let notice = nth_mail(&sink, old, CHANGE_NOTICE, 1).await;
    assert!(notice["text"].as_str().unwrap().contains(new));
    assert!(
        !notice["text"]
            .as_str()
            .unwrap()
            .contains("/confirm-email?token="),
        "the old address must not get the link"
    );
    // It gets "This wasn't me" instead, which cancels the change.
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("/secure-account?token=")
    );
    // Nothing changed yet.
    assert_eq!(me(&app, &access).await.json()["email"], old);
    let token = token_in(confirm["text"].as_str().unwrap(), "/confirm-email");
    let done = app.call("email/confirm", &[("token", &token)], None).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json(), json!(new));
    let user = me(&app, &access).await.json();
    assert_eq!(user["email"], new);
    assert_eq!(user["email_verified"], true);
    assert_eq!(
        api_token(&app, old, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(api_token(&app, new, PASSWORD).await.status, StatusCode::OK);
    // Opened again: still the new address; a reset link sent to the old address before the
    // change would no longer work (the account's address moved on).
    let again = app.call("email/confirm", &[("token", &token)], None).await;
    assert_eq!(again.json(), json!(new));
}

#[tokio::test]
async fn an_address_taken_before_the_link_is_opened_changes_nothing() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[]).await;
    let (me_email, wanted) = ("taker-a@example.com", "wanted@example.com");
    assert_eq!(
        api_register(&app, me_email).await.status,
        StatusCode::CREATED
    );
    let (access, _) = api_tokens(&app, me_email).await;
    let asked = json_request(
        &app,
        "POST",
        "/api/v1/users/me/email",
        Some(&access),
        Some(json!({ "new_email": wanted, "password": PASSWORD })),
    )
    .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let token = token_in(
        nth_mail(&sink, wanted, CONFIRM_NEW, 1).await["text"]
            .as_str()
            .unwrap(),
        "/confirm-email",
    );
    assert_eq!(api_register(&app, wanted).await.status, StatusCode::CREATED);
    let taken = app.call("email/confirm", &[("token", &token)], None).await;
    assert_eq!(taken.error_kind(), "email_taken", "{}", taken.body);
    assert_eq!(me(&app, &access).await.json()["email"], me_email);
}

#[tokio::test]
async fn mail_requests_are_rate_limited_per_address_alike_for_unknown_ones() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[("MAIL_REQUESTS_PER_ADDRESS", "2")]).await;
    assert_eq!(
        api_register(&app, "limited@example.com").await.status,
        StatusCode::CREATED
    );
    for email in ["limited@example.com", "unknown-limited@example.com"] {
        for _ in 0..2 {
            assert_eq!(ask_reset(&app, email).await.status, StatusCode::ACCEPTED);
        }
        let refused = ask_reset(&app, email).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert!(refused.headers.contains_key(header::RETRY_AFTER));
    }
}

#[tokio::test]
async fn the_queue_tries_again_after_the_smtp_server_refuses() {
    let sink = SmtpSink::start_refusing(1);
    let app = app_with(&sink, &[]).await;
    let email = "refused-once@example.com";
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);
    let mail = nth_mail(&sink, email, VERIFY, 1).await;
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("/verify-email?token=")
    );
    // Delivered on the second try; the stored bodies (holding the link) are emptied.
    let row = "SELECT attempts FROM mail_queue WHERE sent_at IS NOT NULL";
    for _ in 0..100 {
        if query_i64(
            &app,
            "SELECT COUNT(*) FROM mail_queue WHERE sent_at IS NOT NULL",
        )
        .await
            == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        on_db!(&app.state.db, |c| sqlx::query_scalar::<_, i64>(row)
            .fetch_one(c)
            .await)
        .unwrap(),
        2
    );
    assert_eq!(
        query_i64(
            &app,
            "SELECT COUNT(*) FROM mail_queue WHERE text_body <> '' OR html_body <> ''"
        )
        .await,
        0
    );
}

/// The binary, killed (SIGKILL) while its mail cannot be delivered, and started again: the
/// mail queued before the kill is sent by the new process.
#[tokio::test]
async fn queued_mail_survives_a_killed_server() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = common::TestDatabase::new(common::Engine::from_env(), dir.path()).await
    else {
        return;
    };
    // A port where no SMTP server listens yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let settings = [
        ("SMTP_URL", smtp_url.as_str()),
        ("PUBLIC_URL", PUBLIC_URL),
        ("MAIL_RETRY_AFTER", "1s"),
        ("RUST_LOG", "info"),
    ];
    let mut first = ServerProcess::start(dir.path(), &database.url, &settings).await;
    let client = reqwest::Client::new();
    let email = "survivor@example.com";
    let reply = client
        .post(format!("{}/api/v1/auth/register", first.base))
        .json(&json!({"email": email, "name": "Survivor", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    // Wait until the first send failed (connection refused), then kill the server.
    for _ in 0..200 {
        if first.log().contains("mail not sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(first.log().contains("mail not sent"), "{}", first.log());
    first.kill9();
    let sink = SmtpSink::start_on(port, 0);
    let _second = ServerProcess::start(dir.path(), &database.url, &settings).await;
    let mail = nth_mail(&sink, email, VERIFY, 1).await;
    assert!(mail["text"].as_str().unwrap().contains(PUBLIC_URL));
}

#[tokio::test]
async fn development_keeps_mail_at_dev_mailbox_and_production_has_no_mailbox() {
    let app = spawn_with(&[]).await;
    assert!(app.state.mail.is_mailbox());
    let email = "mailbox@example.com";
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);
    let list = app.get("/dev/mailbox", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains(email) && list.body.contains(VERIFY),
        "{}",
        list.body
    );
    let id = query_i64(&app, "SELECT MAX(id) FROM mail_queue").await;
    let message = app.get(&format!("/dev/mailbox/{id}"), None).await;
    assert_eq!(message.status, StatusCode::OK);
    assert!(
        message
            .body
            .contains("<a href=\"http://127.0.0.1:3000/verify-email?token="),
        "the link is clickable: {}",
        message.body
    );
    let html = app.get(&format!("/dev/mailbox/{id}/html"), None).await;
    assert!(html.body.contains("Verify my email address"));
    let csp = html.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.starts_with("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(
        app.get("/dev/mailbox/999999", None).await.status,
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        app.call("email/enabled", &[], None).await.json(),
        json!(true)
    );
    let production = spawn_with(&[("APP_ENV", "production")]).await;
    assert!(!production.state.mail.enabled());
    // The pages ask, and then show no "verify your address" banner.
    assert_eq!(
        production.call("email/enabled", &[], None).await.json(),
        json!(false)
    );
    assert_eq!(
        production.get("/dev/mailbox", None).await.status,
        StatusCode::NOT_FOUND
    );
    // Without SMTP_URL nothing can be mailed, and the flows say so.
    let reply = ask_reset(&production, email).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert!(reply.json()["detail"].as_str().unwrap().contains("email"));
}

#[tokio::test]
async fn every_mail_flow_is_in_the_audit_trail_without_its_tokens() {
    let sink = SmtpSink::start();
    let app = app_with(&sink, &[]).await;
    let (email, new_email) = ("audited@example.com", "audited-new@example.com");
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);
    let verify = token_in(
        nth_mail(&sink, email, VERIFY, 1).await["text"]
            .as_str()
            .unwrap(),
        "/verify-email",
    );
    app.call("email/verify", &[("token", &verify)], None).await;
    ask_reset(&app, email).await;
    let reset = token_in(
        nth_mail(&sink, email, RESET, 1).await["text"]
            .as_str()
            .unwrap(),
        "/reset-password",
    );
    assert_eq!(
        confirm_reset(&app, &reset, NEW_PASSWORD).await.status,
        StatusCode::NO_CONTENT
    );
    let login = api_token(&app, email, NEW_PASSWORD).await;
    let access = login.json()["access_token"].as_str().unwrap().to_owned();
    json_request(
        &app,
        "POST",
        "/api/v1/users/me/email",
        Some(&access),
        Some(json!({ "new_email": new_email, "password": NEW_PASSWORD })),
    )
    .await;
    let change = token_in(
        nth_mail(&sink, new_email, CONFIRM_NEW, 1).await["text"]
            .as_str()
            .unwrap(),
        "/confirm-email",
    );
    app.call("email/confirm", &[("token", &change)], None).await;

    let events: Vec<String> = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT event FROM audit_events WHERE event NOT LIKE 'login%' ORDER BY id"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(
        events,
        [
            "sign_up",
            "email_verified",
            "password_reset_requested",
            "password_reset",
            // The first sign-in of this client (issue 29).
            "new_device_alert",
            "email_change_requested",
            "email_changed"
        ]
    );
    let activity = json_request(
        &app,
        "GET",
        "/api/v1/users/me/activity",
        Some(&access),
        None,
    )
    .await
    .body;
    assert!(activity.contains("Email address changed"), "{activity}");
    let rows: Vec<(String, String, String)> = on_db!(&app.state.db, |c| sqlx::query_as(
        "SELECT detail, request_id, user_agent FROM audit_events"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    let all = format!("{rows:?}");
    for token in [&verify, &reset, &change] {
        assert!(
            !all.contains(token.as_str()),
            "a link's token is in the audit trail"
        );
    }
}
