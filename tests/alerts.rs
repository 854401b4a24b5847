//! New-device alerts and "This wasn't me" (issue 29) against a real SMTP server
//! (`tests/smtp_sink.py`): a sign-in from a browser the account has not used is mailed and a
//! known one is not; the choice to turn that mail off; security changes always mail; the
//! "This wasn't me" link ends every session and refresh token, suspends the passkeys,
//! withdraws the device allowances, leads to a new password, and works once, also when two
//! replicas are asked at the same moment. Runs on SQLite, and on PostgreSQL with
//! `TEST_DATABASE=postgres`.

mod common;

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{
    PASSWORD, Reply, TestApp, TestDatabase, api_register, api_tokens, execute, json_request,
    smtp::{SmtpSink, token_in},
    spawn_in, spawn_with,
};
use serde_json::{Value, json};

const PUBLIC_URL: &str = "https://tasks.example.test";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const NEW_SIGN_IN: &str = "New sign-in to your Tasks account";
const PASSWORD_CHANGED: &str = "Your Tasks password was changed";
const NEW_PASSWORD: &str = "violet kettle on the stove";

fn mail_settings(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SMTP_URL", url.to_owned()),
        ("PUBLIC_URL", PUBLIC_URL.to_owned()),
        (
            "MAIL_FROM",
            "Tasks <no-reply@tasks.example.test>".to_owned(),
        ),
        ("MAIL_RETRY_AFTER", "1s".to_owned()),
    ]
}

fn start_sender(app: &TestApp) {
    tasks::server::mail::spawn_sender(app.state.mail.clone(), app.state.db.clone())
        .expect("a sender runs when SMTP_URL is set");
}

async fn app_with(sink: &SmtpSink) -> TestApp {
    let settings = mail_settings(&sink.url());
    let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_with(&pairs).await;
    start_sender(&app);
    app
}

fn subject(m: &Value) -> &str {
    m["headers"]["subject"].as_str().unwrap_or_default()
}

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

/// Asserts that `to` has exactly `n` messages with `subject` once the queue is empty (every
/// mail queued so far was sent).
async fn exactly(app: &TestApp, sink: &SmtpSink, to: &str, wanted: &str, n: usize) {
    for _ in 0..400 {
        let waiting = on_db!(&app.state.db, |c| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM mail_queue WHERE sent_at IS NULL AND failed_at IS NULL"
        )
        .fetch_one(c)
        .await)
        .unwrap();
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The sink has what was sent; give the last one a moment to land.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        mails(sink, to, wanted).len(),
        n,
        "\"{wanted}\" to {to}: {:#?}",
        sink.messages()
    );
}

/// A browser's password sign-in (the login server function, as the page's form posts it),
/// with a browser's User-Agent and the cookies in `cookie` (a device cookie, say).
async fn browser_login(app: &TestApp, email: &str, cookie: Option<&str>) -> Reply {
    let body = serde_urlencoded::to_string([("email", email), ("password", PASSWORD)]).unwrap();
    let mut request = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, FIREFOX);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let reply = app.send(request.body(Body::from(body)).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
}

fn secure_token(mail: &Value) -> String {
    token_in(
        mail["text"].as_str().expect("a text part"),
        "/secure-account",
    )
}

/// The button, as the page's script would post it (a plain form post gets the same answer as
/// a redirect): `200` with where to go next in `Location`, or the refusal.
async fn secure(app: &TestApp, token: &str) -> Reply {
    let body = serde_urlencoded::to_string([("token", token)]).unwrap();
    let request = Request::post("/api/alerts/secure")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::USER_AGENT, FIREFOX)
        .body(Body::from(body))
        .unwrap();
    app.send(request).await
}

async fn session_works(app: &TestApp, cookie: &str) -> bool {
    let reply = app.call("me", &[], Some(cookie)).await;
    reply.status == StatusCode::OK && reply.json()["email"].is_string()
}

#[tokio::test]
async fn a_new_browser_is_mailed_a_known_one_is_not() {
    let sink = SmtpSink::start();
    let app = app_with(&sink).await;
    let email = "new-device@example.com";
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);

    // A browser that never signed in here: mailed, with when, what, where and the link.
    let first = browser_login(&app, email, None).await;
    let device = first
        .device_cookie()
        .expect("a sign-in sets the device cookie");
    let mail = nth_mail(&sink, email, NEW_SIGN_IN, 1).await;
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("Firefox on Linux"), "{text}");
    assert!(text.contains("with your password"), "{text}");
    assert!(text.contains("UTC"), "{text}");
    assert!(
        text.contains(&format!("{PUBLIC_URL}/secure-account?token=")),
        "{text}"
    );
    let html = mail["html"].as_str().unwrap();
    assert!(html.contains("This wasn&#39;t me") || html.contains("This wasn't me"));

    // The same browser again (its device cookie): no mail.
    browser_login(&app, email, Some(&device)).await;
    // Another browser: mailed again.
    browser_login(&app, email, None).await;
    exactly(&app, &sink, email, NEW_SIGN_IN, 2).await;

    // A script without cookies is known after its first sign-in from the same address and
    // User-Agent; a device cookie of another account counts for nothing here.
    api_tokens(&app, email).await;
    api_tokens(&app, email).await;
    exactly(&app, &sink, email, NEW_SIGN_IN, 3).await;
    let other = "someone-else@example.com";
    assert_eq!(api_register(&app, other).await.status, StatusCode::CREATED);
    let others_device = browser_login(&app, other, None)
        .await
        .device_cookie()
        .unwrap();
    browser_login(&app, email, Some(&others_device)).await;
    exactly(&app, &sink, email, NEW_SIGN_IN, 4).await;

    let activity = json_request(
        &app,
        "GET",
        "/api/v1/users/me/activity?limit=100",
        Some(&api_tokens(&app, email).await.0),
        None,
    )
    .await
    .json();
    let alerts = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "new_device_alert")
        .count();
    assert_eq!(alerts, 4);
}

#[tokio::test]
async fn the_new_device_mail_can_be_turned_off_but_security_changes_always_mail() {
    let sink = SmtpSink::start();
    let app = app_with(&sink).await;
    let email = "quiet@example.com";
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);
    let cookie = browser_login(&app, email, None).await.auth_cookies();
    nth_mail(&sink, email, NEW_SIGN_IN, 1).await;

    // The checkbox unticked: the form posts no `on`.
    let off = app.call("alerts/new-device-mail", &[], Some(&cookie)).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.json(), json!(false));
    let setting = app.call("alerts/settings", &[], Some(&cookie)).await;
    assert_eq!(setting.json(), json!(false));
    browser_login(&app, email, None).await;
    exactly(&app, &sink, email, NEW_SIGN_IN, 1).await;

    // A password change is mailed anyway, with the link.
    let changed = app
        .call(
            "password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
            Some(&cookie),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let mail = nth_mail(&sink, email, PASSWORD_CHANGED, 1).await;
    secure_token(&mail);

    // On again.
    let on = app
        .call("alerts/new-device-mail", &[("on", "on")], Some(&cookie))
        .await;
    assert_eq!(on.json(), json!(true));
}

/// Stores a passkey row for `email` (what a passkey sign-up leaves), to see it suspended.
async fn stored_passkey(app: &TestApp, email: &str) {
    let sql = format!(
        "INSERT INTO passkeys (user_id, credential_id, user_handle, name, credential, sign_count, \
         backup_eligible, backed_up, created_at) SELECT id, 'cred-{email}', 'handle', 'Laptop', \
         '{{}}', 3, FALSE, FALSE, 0 FROM users WHERE email = '{email}'"
    );
    assert_eq!(execute(&app.state.db, &sql).await, 1);
}

async fn suspended_passkeys(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = json_request(app, "GET", "/api/v1/users/me/passkeys", Some(token), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["suspended"] == true)
        .cloned()
        .collect()
}

#[tokio::test]
async fn this_wasnt_me_ends_every_session_suspends_passkeys_and_leads_to_a_new_password_once() {
    let sink = SmtpSink::start();
    let app = app_with(&sink).await;
    let email = "thief-in@example.com";
    assert_eq!(api_register(&app, email).await.status, StatusCode::CREATED);
    stored_passkey(&app, email).await;
    let (access, refresh) = api_tokens(&app, email).await;
    let thief = browser_login(&app, email, None).await;
    let thief_cookie = thief.auth_cookies();
    let thief_device = thief.device_cookie().unwrap();
    let token = secure_token(&nth_mail(&sink, email, NEW_SIGN_IN, 1).await);
    let older = {
        browser_login(&app, email, None).await;
        secure_token(&nth_mail(&sink, email, NEW_SIGN_IN, 2).await)
    };
    assert!(suspended_passkeys(&app, &access).await.is_empty());

    // Opening the link only asks (mail scanners open links too): nothing has changed.
    let page = app
        .send(
            Request::get(format!("/secure-account?token={token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Sign out everywhere and secure my account"),
        "{}",
        page.body
    );
    assert!(page.body.contains(email));
    assert!(session_works(&app, &thief_cookie).await);

    // The button: no sign-in needed. On to a fresh reset link.
    let secured = secure(&app, &token).await;
    assert_eq!(secured.status, StatusCode::OK, "{}", secured.body);
    let next = secured.location().expect("where to go next").to_owned();
    let reset = next
        .strip_prefix("/reset-password?token=")
        .unwrap_or_else(|| panic!("to the reset page: {next}"))
        .to_owned();

    // Every session and refresh token is over, the passkey suspended.
    assert!(!session_works(&app, &thief_cookie).await);
    let me = json_request(&app, "GET", "/api/v1/users/me", Some(&access), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let refreshed = json_request(
        &app,
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(json!({ "refresh_token": refresh })),
    )
    .await;
    assert_eq!(
        refreshed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refreshed.body
    );
    assert_eq!(refreshed.json()["error"], "invalid_grant");

    // Once only: this link and every older one are spent.
    for spent in [&token, &older] {
        let again = secure(&app, spent).await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    }
    let page = app
        .send(
            Request::get(format!("/secure-account?token={older}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        page.body.contains("This link cannot be used"),
        "{}",
        page.body
    );

    // The reset link works: the new password signs in, the old one does not.
    let confirmed = json_request(
        &app,
        "POST",
        "/api/v1/auth/password-reset/confirm",
        None,
        Some(json!({ "token": reset, "new_password": NEW_PASSWORD })),
    )
    .await;
    assert!(confirmed.status.is_success(), "{}", confirmed.body);
    assert_eq!(
        app.login(email, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let owner = app.login(email, NEW_PASSWORD).await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.body);

    let (access, _) = {
        let reply = common::api_token(&app, email, NEW_PASSWORD).await;
        let body = reply.json();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    };
    let suspended = suspended_passkeys(&app, &access).await;
    assert_eq!(suspended.len(), 1);
    assert_eq!(suspended[0]["suspended_reason"], "secured");

    // The thief's browser lost its standing as a known device: its next sign-in (with the
    // new password) is mailed as a new device.
    let before = mails(&sink, email, NEW_SIGN_IN).len();
    let body = serde_urlencoded::to_string([("email", email), ("password", NEW_PASSWORD)]).unwrap();
    let request = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, FIREFOX)
        .header(header::COOKIE, &thief_device)
        .body(Body::from(body))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::OK);
    nth_mail(&sink, email, NEW_SIGN_IN, before + 1).await;

    let activity = json_request(
        &app,
        "GET",
        "/api/v1/users/me/activity?limit=100",
        Some(&access),
        None,
    )
    .await
    .json();
    let secured = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "account_secured")
        .count();
    assert_eq!(secured, 1);
}

#[tokio::test]
async fn this_wasnt_me_on_two_replicas_at_once_secures_once_and_ends_sessions_on_both() {
    let Some(database) = TestDatabase::postgres().await else {
        eprintln!("skipped: PostgreSQL is not reachable");
        return;
    };
    let sink = SmtpSink::start();
    let settings = mail_settings(&sink.url());
    let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let second = database.shared();
    let a = spawn_in(tempfile::tempdir().unwrap(), database, &pairs).await;
    let b = spawn_in(tempfile::tempdir().unwrap(), second, &pairs).await;
    start_sender(&a);
    let email = "replicas@example.com";
    assert_eq!(api_register(&a, email).await.status, StatusCode::CREATED);
    let on_b = browser_login(&b, email, None).await.auth_cookies();
    let token = secure_token(&nth_mail(&sink, email, NEW_SIGN_IN, 1).await);
    assert!(session_works(&b, &on_b).await);

    let (first, second) = tokio::join!(secure(&a, &token), secure(&b, &token));
    let won = [&first, &second]
        .iter()
        .filter(|r| r.status == StatusCode::OK && r.location().is_some())
        .count();
    let lost = [&first, &second]
        .iter()
        .filter(|r| r.status == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((won, lost), (1, 1), "{first:?} {second:?}");
    assert!(!session_works(&a, &on_b).await);
    assert!(!session_works(&b, &on_b).await);
    let secured = on_db!(&a.state.db, |c| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_events WHERE event = 'account_secured'"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(secured, 1);
}
