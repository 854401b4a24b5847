//! Two-step sign-in (issue 15): setting up an authenticator app, signing in with a code by
//! browser (with and without JavaScript) and by API, clock skew, replays, recovery codes, the
//! five-wrong-codes limit, turning it off, an administrator's reset, and what is stored. Codes
//! come from pyotp (`python3`), an implementation independent of the one in `src/`. Runs on
//! SQLite, and on PostgreSQL with `TEST_DATABASE=postgres`.

mod common;

use std::{process::Command, time::Duration};

use axum::http::StatusCode;
use common::{
    PASSWORD, TestApp, api_register, api_token, api_tokens, json_request, spawn, spawn_with,
    token_request,
};
use serde_json::{Value, json};
use tasks::server::cli::{self, AdminCommand};

/// The code pyotp computes for `secret` (base32) at `offset` 30-second steps from now.
fn pyotp(secret: &str, offset: i64) -> String {
    let script = "import pyotp, sys, time\n\
                  secret, offset = sys.argv[1], int(sys.argv[2])\n\
                  print(pyotp.TOTP(secret).at(int(time.time()) + offset * 30))";
    let out = Command::new("python3")
        .args(["-c", script, secret, &offset.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyotp failed (`bash .ci/setup --test` installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Waits until the current 30-second step has at least 4 s left (and began 1 s ago), so a code
/// computed now is checked in the same step.
async fn mid_step() {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let into = now % 30.0;
        if (1.0..26.0).contains(&into) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits for the next 30-second step (codes of the last one are spent).
async fn next_step() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let left = 30.0 - now % 30.0;
    tokio::time::sleep(Duration::from_secs_f64(left + 1.5)).await;
}

/// Registers `email` through the API and returns a Bearer token.
async fn account(app: &TestApp, email: &str) -> String {
    assert_eq!(api_register(app, email).await.status, StatusCode::CREATED);
    api_tokens(app, email).await.0
}

/// Turns two-step sign-in on for the holder of `token`; returns the secret and the recovery
/// codes.
async fn enrol(app: &TestApp, token: &str) -> (String, Vec<String>) {
    let start = json_request(
        app,
        "POST",
        "/api/v1/users/me/totp",
        Some(token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(start.status, StatusCode::CREATED, "{}", start.body);
    let secret = start.json()["secret"].as_str().unwrap().to_owned();
    mid_step().await;
    let confirm = json_request(
        app,
        "POST",
        "/api/v1/users/me/totp/confirm",
        Some(token),
        Some(json!({"code": pyotp(&secret, 0)})),
    )
    .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let codes = confirm.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

/// The password grant's `403 mfa_required` answer: its `mfa_token`.
async fn mfa_token(app: &TestApp, email: &str) -> String {
    let reply = api_token(app, email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"], "mfa_required", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("mfa_otp")
    );
    assert!(body.get("access_token").is_none());
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn mfa_grant(app: &TestApp, mfa_token: &str, field: &str, value: &str) -> common::Reply {
    app.send(token_request(&[
        ("grant_type", "mfa_otp"),
        ("mfa_token", mfa_token),
        (field, value),
    ]))
    .await
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    json_request(app, "GET", "/api/v1/users/me", Some(token), None)
        .await
        .status
}

#[tokio::test]
async fn setting_up_needs_the_password_and_a_code_made_with_the_new_secret() {
    let app = spawn().await;
    let token = account(&app, "ada@example.com").await;
    let (other_session, _) = api_tokens(&app, "ada@example.com").await;

    let wrong = json_request(
        &app,
        "POST",
        "/api/v1/users/me/totp",
        Some(&token),
        Some(json!({"password": "not my password"})),
    )
    .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("password"), "{}", wrong.body);

    let start = json_request(
        &app,
        "POST",
        "/api/v1/users/me/totp",
        Some(&token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(start.status, StatusCode::CREATED, "{}", start.body);
    let body = start.json();
    let secret = body["secret"].as_str().unwrap();
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(secret.len() >= 32, "160-bit secret in base32: {secret}");
    assert!(
        uri.starts_with("otpauth://totp/Tasks:ada%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Tasks"));

    // Until confirmed, the password alone still signs in.
    assert_eq!(
        api_token(&app, "ada@example.com", PASSWORD).await.status,
        StatusCode::OK
    );

    let bad_code = json_request(
        &app,
        "POST",
        "/api/v1/users/me/totp/confirm",
        Some(&token),
        Some(json!({"code": "000000"})),
    )
    .await;
    assert_eq!(
        bad_code.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_code.body
    );

    mid_step().await;
    let confirm = json_request(
        &app,
        "POST",
        "/api/v1/users/me/totp/confirm",
        Some(&token),
        Some(json!({"code": pyotp(secret, 0)})),
    )
    .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let codes = confirm.json()["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(codes.len(), 10);

    // The session that turned it on stays; every other one ended.
    assert_eq!(me(&app, &token).await, StatusCode::OK);
    assert_eq!(me(&app, &other_session).await, StatusCode::UNAUTHORIZED);
    // A second setup is refused while it is on.
    let again = json_request(
        &app,
        "POST",
        "/api/v1/users/me/totp",
        Some(&token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    let activity = json_request(&app, "GET", "/api/v1/users/me/activity", Some(&token), None).await;
    assert!(
        activity.body.contains("two_step_enabled"),
        "{}",
        activity.body
    );
    let subject = "Two-step sign-in is on for your Tasks account";
    assert_eq!(mails_to(&app, "ada@example.com", subject).await, 1);
}

#[tokio::test]
async fn the_api_asks_for_a_code_after_the_password_and_a_code_works_once() {
    let app = spawn().await;
    let token = account(&app, "bo@example.com").await;
    let (secret, _) = enrol(&app, &token).await;

    let first = mfa_token(&app, "bo@example.com").await;
    let wrong = mfa_grant(&app, &first, "otp", "123456").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert_eq!(wrong.json()["error"], "invalid_grant");
    assert!(
        wrong.json()["detail"]
            .as_str()
            .unwrap()
            .contains("4 tries left"),
        "{}",
        wrong.body
    );

    // The code that confirmed the setup is spent; the next step's code works.
    next_step().await;
    let code = pyotp(&secret, 0);
    let ok = mfa_grant(&app, &first, "otp", &code).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let access = ok.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &access).await, StatusCode::OK);
    assert!(ok.json()["refresh_token"].is_string());

    // The mfa_token was single-use, and the same code is refused on a new one (replay).
    let reused = mfa_grant(&app, &first, "otp", &code).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST, "{}", reused.body);
    assert_eq!(reused.json()["error"], "invalid_grant");
    let second = mfa_token(&app, "bo@example.com").await;
    let replay = mfa_grant(&app, &second, "otp", &code).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);

    // Missing or doubled answers are invalid requests, not guesses.
    let neither = app
        .send(token_request(&[
            ("grant_type", "mfa_otp"),
            ("mfa_token", &second),
        ]))
        .await;
    assert_eq!(neither.status, StatusCode::BAD_REQUEST);
    assert_eq!(neither.json()["error"], "invalid_request");
    let garbage = mfa_grant(&app, "not-a-token", "otp", "123456").await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(garbage.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn one_step_of_clock_skew_is_accepted_and_two_are_refused() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "100")]).await;
    let token = account(&app, "cy@example.com").await;
    let (secret, _) = enrol(&app, &token).await;
    // Two steps after the one the setup spent, so the step before the current one is free.
    next_step().await;
    next_step().await;
    mid_step().await;
    // In increasing order of step: an accepted code spends its step and every earlier one.
    for (offset, accepted) in [(-2, false), (-1, true), (2, false), (1, true)] {
        let challenge = mfa_token(&app, "cy@example.com").await;
        let reply = mfa_grant(&app, &challenge, "otp", &pyotp(&secret, offset)).await;
        let expected = if accepted {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(reply.status, expected, "offset {offset}: {}", reply.body);
    }
    // The current step's code is now older than the last accepted one: refused.
    let challenge = mfa_token(&app, "cy@example.com").await;
    let reply = mfa_grant(&app, &challenge, "otp", &pyotp(&secret, 0)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_new_codes_replace_the_old() {
    let app = spawn().await;
    let token = account(&app, "di@example.com").await;
    let (secret, codes) = enrol(&app, &token).await;

    let challenge = mfa_token(&app, "di@example.com").await;
    // Typed loosely: upper case, spaces instead of hyphens.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let ok = mfa_grant(&app, &challenge, "recovery_code", &typed).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let challenge = mfa_token(&app, "di@example.com").await;
    let again = mfa_grant(&app, &challenge, "recovery_code", &codes[0]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);

    // New codes: password and a code required; the old codes stop working.
    let refused = json_request(
        &app,
        "POST",
        "/api/v1/users/me/recovery-codes",
        Some(&token),
        Some(json!({"password": PASSWORD, "code": "000000"})),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    next_step().await;
    let fresh = json_request(
        &app,
        "POST",
        "/api/v1/users/me/recovery-codes",
        Some(&token),
        Some(json!({"password": PASSWORD, "code": pyotp(&secret, 0)})),
    )
    .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.body);
    let new_codes = fresh.json()["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(new_codes.len(), 10);
    let challenge = mfa_token(&app, "di@example.com").await;
    let old = mfa_grant(&app, &challenge, "recovery_code", &codes[1]).await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST, "{}", old.body);
    let new = mfa_grant(
        &app,
        &challenge,
        "recovery_code",
        new_codes[0].as_str().unwrap(),
    )
    .await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
}

#[tokio::test]
async fn five_wrong_codes_end_the_pending_step() {
    let app = spawn_with(&[("LOGIN_FAILURES_PER_ACCOUNT", "100")]).await;
    let token = account(&app, "ed@example.com").await;
    let (secret, _) = enrol(&app, &token).await;

    // API: four wrong codes count down, the fifth ends the mfa_token.
    let challenge = mfa_token(&app, "ed@example.com").await;
    for left in [4, 3, 2, 1] {
        let reply = mfa_grant(&app, &challenge, "otp", "000000").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let detail = reply.json()["detail"].as_str().unwrap().to_owned();
        let expected = if left == 1 {
            "1 try left".to_owned()
        } else {
            format!("{left} tries left")
        };
        assert!(detail.contains(&expected), "{detail}");
    }
    let fifth = mfa_grant(&app, &challenge, "otp", "000000").await;
    assert_eq!(fifth.status, StatusCode::BAD_REQUEST);
    assert!(
        fifth.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Sign in again"),
        "{}",
        fifth.body
    );
    next_step().await;
    let late = mfa_grant(&app, &challenge, "otp", &pyotp(&secret, 0)).await;
    assert_eq!(
        late.status,
        StatusCode::BAD_REQUEST,
        "the right code after five wrong ones"
    );

    // Browser: the same with the challenge cookie.
    let login = app.login("ed@example.com", PASSWORD).await;
    let cookie = second_step_cookie(&login);
    for _ in 0..5 {
        let reply = app
            .call("login/code", &[("code", "000000")], Some(&cookie))
            .await;
        assert!(reply.session_cookie().is_none());
        assert_ne!(reply.status, StatusCode::OK);
    }
    let late = app
        .call("login/code", &[("code", &pyotp(&secret, 0))], Some(&cookie))
        .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{}", late.body);
    assert_eq!(late.error_kind(), "sign_in_expired");
    assert!(late.session_cookie().is_none());
}

#[tokio::test]
async fn wrong_codes_count_against_the_account_like_wrong_passwords() {
    let app = spawn().await;
    let token = account(&app, "fa@example.com").await;
    let (secret, _) = enrol(&app, &token).await;
    // LOGIN_FAILURES_PER_ACCOUNT (5) wrong codes over fresh challenges from one address.
    for _ in 0..5 {
        let challenge = mfa_token(&app, "fa@example.com").await;
        let reply = mfa_grant(&app, &challenge, "otp", "000000").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    }
    next_step().await;
    let password = api_token(&app, "fa@example.com", PASSWORD).await;
    assert_eq!(
        password.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        password.body
    );
    assert!(password.headers.contains_key("retry-after"));
    let _ = secret;
}

/// `name=value` of the second-step cookie a login reply sets.
fn second_step_cookie(reply: &common::Reply) -> String {
    reply
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-tasks_second_step="))
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .unwrap_or_else(|| panic!("no second-step cookie in {:?}", reply.set_cookies()))
}

#[tokio::test]
async fn the_browser_gets_no_session_until_the_code_and_the_step_is_bound_to_its_cookie() {
    let app = spawn().await;
    let token = account(&app, "gu@example.com").await;
    let (secret, codes) = enrol(&app, &token).await;

    let login = app
        .call(
            "login",
            &[
                ("email", "gu@example.com"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert!(login.session_cookie().is_none() && login.refresh_cookie().is_none());
    assert!(
        login.device_cookie().is_none(),
        "no known device before the second step"
    );
    let cookie = second_step_cookie(&login);
    let set = login
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-tasks_second_step="))
        .unwrap();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=300",
    ] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    assert_eq!(login.location(), Some("/login/code?next=%2Faccount"));
    let page = app.get("/login/code?next=/account", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("6-digit code"), "{}", page.body);

    // Without the cookie there is nothing to complete.
    next_step().await;
    let code = pyotp(&secret, 0);
    let stranger = app.call("login/code", &[("code", &code)], None).await;
    assert_eq!(stranger.error_kind(), "sign_in_expired");

    let done = app
        .call(
            "login/code",
            &[("code", &code), ("next", "/account")],
            Some(&cookie),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let session = done.auth_cookies();
    assert!(done.device_cookie().is_some());
    assert!(
        done.set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-tasks_second_step=;")
                || c.starts_with("__Host-tasks_second_step=") && c.contains("Max-Age=0")),
        "the step's cookie is cleared: {:?}",
        done.set_cookies()
    );
    assert_eq!(
        app.call("me", &[], Some(&session)).await.json()["email"],
        "gu@example.com"
    );
    // The cookie worked once.
    let again = app
        .call("login/code", &[("code", &code)], Some(&cookie))
        .await;
    assert_eq!(again.error_kind(), "sign_in_expired");

    // A recovery code through the browser form.
    let login = app.login("gu@example.com", PASSWORD).await;
    let cookie = second_step_cookie(&login);
    let done = app
        .call("login/code", &[("recovery_code", &codes[3])], Some(&cookie))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.session_cookie().is_some());

    let activity = json_request(&app, "GET", "/api/v1/users/me/activity", Some(&token), None).await;
    assert!(
        activity.body.contains("with a recovery code"),
        "{}",
        activity.body
    );
    assert!(
        activity.body.contains("with an authenticator code"),
        "{}",
        activity.body
    );
}

#[tokio::test]
async fn without_javascript_the_second_step_is_plain_form_posts() {
    let app = spawn().await;
    let token = account(&app, "hu@example.com").await;
    let (secret, _) = enrol(&app, &token).await;
    let login = app
        .post_form_no_js(
            "login",
            &[
                ("email", "hu@example.com"),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
            "http://localhost:3000/login?next=/account",
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    assert_eq!(login.location(), Some("/login/code?next=%2Faccount"));
    assert!(login.session_cookie().is_none());
    let cookie = second_step_cookie(&login);

    let wrong = app
        .post_form_no_js_with_cookie(
            "login/code",
            &[("code", "000000"), ("next", "/account")],
            "http://localhost:3000/login/code?next=%2Faccount",
            &cookie,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::SEE_OTHER);
    assert_eq!(wrong.location(), Some("/login/code?next=%2Faccount"));
    assert!(
        wrong.form_error_cookie().is_some(),
        "the error travels back to the form"
    );

    next_step().await;
    let done = app
        .post_form_no_js_with_cookie(
            "login/code",
            &[("code", &pyotp(&secret, 0)), ("next", "/account")],
            "http://localhost:3000/login/code?next=%2Faccount",
            &cookie,
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/account"));
    assert!(done.session_cookie().is_some());
}

#[tokio::test]
async fn turning_it_off_needs_the_password_and_a_code() {
    let app = spawn().await;
    let token = account(&app, "io@example.com").await;
    let (secret, codes) = enrol(&app, &token).await;
    for body in [
        json!({"password": PASSWORD, "code": "000000"}),
        json!({"password": "wrong password", "code": pyotp(&secret, 0)}),
    ] {
        let reply = json_request(
            &app,
            "DELETE",
            "/api/v1/users/me/totp",
            Some(&token),
            Some(body),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
    }
    let missing = json_request(
        &app,
        "DELETE",
        "/api/v1/users/me/totp",
        Some(&token),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    // A recovery code is accepted instead of a code (a lost phone).
    let off = json_request(
        &app,
        "DELETE",
        "/api/v1/users/me/totp",
        Some(&token),
        Some(json!({"password": PASSWORD, "code": codes[0]})),
    )
    .await;
    assert_eq!(off.status, StatusCode::NO_CONTENT, "{}", off.body);
    assert_eq!(
        api_token(&app, "io@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    let stored: i64 = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM totp_secrets) + (SELECT COUNT(*) FROM recovery_codes)"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(stored, 0, "the secret and the codes are erased");
    let again = json_request(
        &app,
        "DELETE",
        "/api/v1/users/me/totp",
        Some(&token),
        Some(json!({"password": PASSWORD, "code": codes[1]})),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
}

#[tokio::test]
async fn guessing_codes_on_the_account_page_is_limited() {
    let app = spawn().await;
    let token = account(&app, "ju@example.com").await;
    enrol(&app, &token).await;
    let guess = || {
        json_request(
            &app,
            "DELETE",
            "/api/v1/users/me/totp",
            Some(&token),
            Some(json!({"password": PASSWORD, "code": "000000"})),
        )
    };
    for _ in 0..5 {
        assert_eq!(guess().await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let refused = guess().await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn the_secret_and_the_recovery_codes_are_not_stored_in_clear() {
    let app = spawn().await;
    let token = account(&app, "ka@example.com").await;
    let (secret, codes) = enrol(&app, &token).await;
    let stored: String = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT secret FROM totp_secrets"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert!(stored.starts_with("v1."), "{stored}");
    let raw = base32_decode(&secret);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    use base64::Engine;
    for encoding in [
        secret.clone(),
        secret.to_lowercase(),
        hex,
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw),
    ] {
        assert!(
            !stored.contains(&encoding),
            "the secret is in the row: {stored}"
        );
    }
    let hashes: Vec<String> = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT code_hash FROM recovery_codes"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(hashes.len(), 10);
    for code in &codes {
        let canonical = code.replace('-', "");
        assert!(
            hashes
                .iter()
                .all(|h| !h.contains(&canonical) && h.len() == 64)
        );
    }
    // Another TOTP_ENCRYPTION_KEY cannot read it: codes stop matching (the person uses a
    // recovery code).
    let other = tasks::server::auth::totp::SecretKey::from_config(
        &tasks::server::config::Config::from_pairs(&[
            ("JWT_SECRET", common::SECRET),
            (
                "TOTP_ENCRYPTION_KEY",
                "another-totp-key-0123456789abcdef0123456789",
            ),
        ])
        .unwrap(),
    );
    let id = json_request(&app, "GET", "/api/v1/users/me", Some(&token), None)
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    assert!(other.open(id, &stored).is_none());
    assert!(app.state.totp_key.open(id, &stored).is_some());
}

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0_u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).expect("base32") as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

#[tokio::test]
async fn an_administrator_can_turn_off_a_locked_out_persons_second_step() {
    let app = spawn().await;
    let token = account(&app, "lu@example.com").await;
    enrol(&app, &token).await;
    let id = json_request(&app, "GET", "/api/v1/users/me", Some(&token), None)
        .await
        .json()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        api_register(&app, "admin@example.com").await.status,
        StatusCode::CREATED
    );
    let grant = AdminCommand::Grant {
        email: "admin@example.com".into(),
    };
    cli::admin(&app.state, &grant).await.expect("grant");
    let admin = api_tokens(&app, "admin@example.com").await.0;

    let listed = json_request(
        &app,
        "GET",
        &format!("/api/v1/admin/users/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(listed.json()["two_step"], true, "{}", listed.body);
    let forbidden = json_request(
        &app,
        "DELETE",
        &format!("/api/v1/admin/users/{id}/totp"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let reset = json_request(
        &app,
        "DELETE",
        &format!("/api/v1/admin/users/{id}/totp"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.body);
    // Every session of the account ended; the password alone signs in again.
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api_token(&app, "lu@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    let again = json_request(
        &app,
        "DELETE",
        &format!("/api/v1/admin/users/{id}/totp"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let audit = json_request(&app, "GET", "/api/v1/admin/audit", Some(&admin), None).await;
    let events: Vec<Value> = audit.json()["items"].as_array().unwrap().clone();
    let reset_event = events
        .iter()
        .find(|e| e["event"] == "two_step_disabled")
        .unwrap_or_else(|| panic!("no two_step_disabled in {}", audit.body));
    assert_eq!(
        reset_event["detail"], "by an administrator",
        "{reset_event}"
    );
    let subject = "Two-step sign-in was turned off for your Tasks account";
    assert_eq!(mails_to(&app, "lu@example.com", subject).await, 1);
}

/// How many mails with `subject` to `to` are queued (development keeps them for the mailbox).
async fn mails_to(app: &TestApp, to: &str, subject: &str) -> i64 {
    on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_queue WHERE recipient = $1 AND subject = $2"
    )
    .bind(to)
    .bind(subject)
    .fetch_one(c)
    .await)
    .unwrap()
}

#[tokio::test]
async fn a_password_reset_link_does_not_skip_the_second_step() {
    // Development mail (the mailbox) keeps the reset link in the queue, where this test reads it.
    let app = spawn_with(&[("PUBLIC_URL", "http://localhost:3000")]).await;
    let token = account(&app, "mo@example.com").await;
    enrol(&app, &token).await;
    let asked = json_request(
        &app,
        "POST",
        "/api/v1/auth/password-reset",
        None,
        Some(json!({"email": "mo@example.com"})),
    )
    .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let mut text = String::new();
    for _ in 0..100 {
        let found: Option<String> = on_db!(&app.state.db, |c| sqlx::query_scalar(
            "SELECT text_body FROM mail_queue WHERE subject = 'Reset your Tasks password'"
        )
        .fetch_optional(c)
        .await)
        .unwrap();
        if let Some(found) = found {
            text = found;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let link = common::smtp::token_in(&text, "/reset-password");
    let reset = app
        .call(
            "email/reset",
            &[
                ("token", link.as_str()),
                ("new_password", "violet kettle on the stove"),
                ("new_password_confirm", "violet kettle on the stove"),
            ],
            None,
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert!(
        reset.session_cookie().is_none(),
        "a reset link is not the second factor"
    );
    assert!(second_step_cookie(&reset).len() > 30);
    assert_eq!(reset.location(), Some("/login/code?next=%2Ftasks"));
}

#[tokio::test]
async fn the_command_line_can_turn_it_off_too() {
    let app = spawn().await;
    let token = account(&app, "nu@example.com").await;
    let reset = |email: &str| AdminCommand::ResetTwoStep {
        email: email.to_owned(),
    };
    let off = cli::admin(&app.state, &reset("nu@example.com"))
        .await
        .unwrap();
    assert_eq!(off, "nu@example.com does not have two-step sign-in on");
    enrol(&app, &token).await;
    // Typed in another case: the same account.
    let done = cli::admin(&app.state, &reset("NU@example.com"))
        .await
        .unwrap();
    assert!(
        done.starts_with("two-step sign-in is off for nu@example.com"),
        "{done}"
    );
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api_token(&app, "nu@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    let unknown = cli::admin(&app.state, &reset("nobody@example.com"))
        .await
        .unwrap_err();
    assert!(unknown.0.contains("no account has the email"), "{unknown}");
    let events = json_request(
        &app,
        "GET",
        "/api/v1/users/me/activity",
        Some(&api_tokens(&app, "nu@example.com").await.0),
        None,
    )
    .await;
    assert!(
        events.body.contains("from the command line"),
        "{}",
        events.body
    );
}
