//! Passkeys (issue 16): signing up with a passkey and no password, signing in with one (which
//! also satisfies two-step sign-in), adding, renaming and removing them, and the checks that
//! make a passkey worth having: user verification, the origin and RP ID, single-use
//! challenges, the sign counter of a cloned authenticator, another person's passkey. The
//! passkeys come from `tests/soft_authenticator.py` (python-fido2, `python3`), an implementation
//! independent of webauthn-rs and of everything in `src/`. Runs on SQLite, and on PostgreSQL with
//! `TEST_DATABASE=postgres`.

mod common;

use std::{
    io::Write,
    process::{Command, Stdio},
    time::Duration,
};

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{PASSWORD, Reply, TestApp, api_token, json_request, spawn_in, spawn_with};
use serde_json::{Value, json};

/// The site the browser is on: `PUBLIC_URL` of every app here, so the RP ID is `tasks.test`.
const ORIGIN: &str = "https://tasks.test";
const RP_ID: &str = "tasks.test";

async fn app() -> TestApp {
    spawn_with(&[("PUBLIC_URL", ORIGIN)]).await
}

// --- the software authenticator ---

/// Runs the software authenticator on `request` (one JSON object in, one out).
fn soft_authenticator(request: &Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/soft_authenticator.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write the request");
    let out = child.wait_with_output().expect("the authenticator ends");
    assert!(
        out.status.success(),
        "the soft authenticator failed (`bash .ci/setup --test` installs fido2): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the authenticator answers JSON")
}

/// `base` with the members of `tweaks` set over it.
fn with(mut base: Value, tweaks: Value) -> Value {
    if let (Some(base), Value::Object(tweaks)) = (base.as_object_mut(), tweaks) {
        base.extend(tweaks);
    }
    base
}

/// One passkey in the software authenticator: its whole state (key, RP ID, user handle,
/// counter), which the authenticator hands back after every use.
#[derive(Clone)]
struct Passkey(Value);

impl Passkey {
    /// Answers creation `options` as a browser at [`ORIGIN`] with a platform authenticator that
    /// verifies the user and syncs its passkeys (UV, BE). `tweaks` change the request: `uv`,
    /// `be`, `bs`, `origin`, `rp_id`. Returns the credential (JSON text) and the passkey.
    fn create(options: &str, tweaks: Value) -> (String, Passkey) {
        let request = json!({
            "op": "create", "origin": ORIGIN, "options": options, "uv": true, "be": true, "bs": false,
        });
        let answer = soft_authenticator(&with(request, tweaks));
        (
            answer["credential"].to_string(),
            Passkey(answer["key"].clone()),
        )
    }

    /// Answers request `options` (an assertion) and counts the use. `tweaks` as in
    /// [`Passkey::create`], and `sign_count` (say so instead of counting) or `user_handle`.
    fn assert(&mut self, options: &str, tweaks: Value) -> String {
        let request = json!({
            "op": "get", "origin": ORIGIN, "options": options, "key": self.0, "uv": true,
        });
        let answer = soft_authenticator(&with(request, tweaks));
        self.0 = answer["key"].clone();
        answer["credential"].to_string()
    }

    fn credential_id(&self) -> &str {
        self.0["credential_id"].as_str().expect("a credential id")
    }

    fn user_handle(&self) -> &str {
        self.0["user_handle"].as_str().expect("a user handle")
    }
}

// --- the ceremonies, as the browser's wasm client runs them ---

/// What a `*/start` answered: the ticket to hand back and the options for the authenticator.
struct Ceremony {
    ticket: String,
    options: String,
}

impl Ceremony {
    /// The `publicKey` member of the options.
    fn public_key(&self) -> Value {
        let options: Value = serde_json::from_str(&self.options)
            .unwrap_or_else(|e| panic!("options are not JSON ({e}): {}", self.options));
        options["publicKey"].clone()
    }
}

async fn begin(
    app: &TestApp,
    endpoint: &str,
    fields: &[(&str, &str)],
    cookie: Option<&str>,
) -> Ceremony {
    let reply = app.call(endpoint, fields, cookie).await;
    assert_eq!(reply.status, StatusCode::OK, "{endpoint}: {}", reply.body);
    let body = reply.json();
    Ceremony {
        ticket: body["ticket"].as_str().expect("a ticket").to_owned(),
        options: body["options"]
            .as_str()
            .unwrap_or_else(|| panic!("options as JSON text: {body}"))
            .to_owned(),
    }
}

async fn begin_sign_up(app: &TestApp, email: &str) -> Ceremony {
    begin(
        app,
        "passkeys/sign-up/start",
        &[("name", "Passkey Person"), ("email", email)],
        None,
    )
    .await
}

async fn finish_sign_up(app: &TestApp, ceremony: &Ceremony, credential: &str) -> Reply {
    app.call(
        "passkeys/sign-up/finish",
        &[
            ("ticket", &ceremony.ticket),
            ("credential", credential),
            ("name", "Laptop"),
        ],
        None,
    )
    .await
}

/// Makes an account for `email` with a passkey named "Laptop" and no password; returns the
/// browser's cookies and the passkey.
async fn passkey_account(app: &TestApp, email: &str, tweaks: Value) -> (String, Passkey) {
    let ceremony = begin_sign_up(app, email).await;
    let (credential, passkey) = Passkey::create(&ceremony.options, tweaks);
    let reply = finish_sign_up(app, &ceremony, &credential).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json(), json!("/tasks"));
    (reply.auth_cookies(), passkey)
}

/// Signs in with `passkey` (a discoverable credential, as conditional mediation does) and
/// returns the finish's reply.
async fn sign_in(app: &TestApp, passkey: &mut Passkey, tweaks: Value) -> Reply {
    let ceremony = begin(app, "passkeys/sign-in/start", &[], None).await;
    let credential = passkey.assert(&ceremony.options, tweaks);
    finish_sign_in(app, &ceremony, &credential).await
}

async fn finish_sign_in(app: &TestApp, ceremony: &Ceremony, credential: &str) -> Reply {
    app.call(
        "passkeys/sign-in/finish",
        &[("ticket", &ceremony.ticket), ("credential", credential)],
        None,
    )
    .await
}

/// [`sign_in`] that must succeed: returns the new session's cookies.
async fn signed_in(app: &TestApp, passkey: &mut Passkey) -> String {
    let reply = sign_in(app, passkey, json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json(), json!("/tasks"));
    reply.auth_cookies()
}

async fn begin_add(app: &TestApp, cookie: &str, password: Option<&str>) -> Ceremony {
    let fields: Vec<(&str, &str)> = password.map(|p| ("password", p)).into_iter().collect();
    begin(app, "passkeys/add/start", &fields, Some(cookie)).await
}

async fn finish_add(app: &TestApp, cookie: &str, ceremony: &Ceremony, credential: &str) -> Reply {
    app.call(
        "passkeys/add/finish",
        &[
            ("ticket", &ceremony.ticket),
            ("credential", credential),
            ("name", "Phone"),
        ],
        Some(cookie),
    )
    .await
}

/// Adds a passkey named "Phone" to the account signed in with `cookie`.
async fn add_passkey(
    app: &TestApp,
    cookie: &str,
    password: Option<&str>,
    tweaks: Value,
) -> Passkey {
    let ceremony = begin_add(app, cookie, password).await;
    let (credential, passkey) = Passkey::create(&ceremony.options, tweaks);
    let reply = finish_add(app, cookie, &ceremony, &credential).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    passkey
}

// --- what the account looks like ---

/// `passkeys/overview` for the account signed in with `cookie`.
async fn overview(app: &TestApp, cookie: &str) -> Value {
    let reply = app.call("passkeys/overview", &[], Some(cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

/// The account's passkeys as `(id, name)`.
async fn passkeys(app: &TestApp, cookie: &str) -> Vec<(i64, String)> {
    overview(app, cookie).await["passkeys"]
        .as_array()
        .expect("a passkeys array")
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().expect("an id"),
                p["name"].as_str().expect("a name").to_owned(),
            )
        })
        .collect()
}

/// The email of whoever `cookie` signs in, or `None` when it signs no one in.
async fn who(app: &TestApp, cookie: &str) -> Option<String> {
    let me = app.call("me", &[], Some(cookie)).await;
    me.json()["email"].as_str().map(str::to_owned)
}

/// Whether the session behind `cookie` still works.
async fn session_works(app: &TestApp, cookie: &str) -> bool {
    let status = app.call("tasks/list", &[], Some(cookie)).await.status;
    assert!(
        status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
        "{status}"
    );
    status == StatusCode::OK
}

/// The account's activity (`GET /api/v1/users/me/activity`, with the browser's cookies).
async fn activity(app: &TestApp, cookie: &str) -> Vec<Value> {
    let request = Request::get("/api/v1/users/me/activity?limit=100")
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["items"].as_array().expect("items").clone()
}

fn events<'a>(items: &'a [Value], event: &str) -> Vec<&'a Value> {
    items.iter().filter(|e| e["event"] == event).collect()
}

/// A refusal: a client error, and no session.
fn assert_refused(reply: &Reply, what: &str) {
    assert!(
        reply.status.is_client_error(),
        "{what} was not refused: {} {}",
        reply.status,
        reply.body
    );
    assert!(
        reply.session_cookie().is_none() && reply.refresh_cookie().is_none(),
        "{what} set auth cookies: {:?}",
        reply.set_cookies()
    );
}

/// The sign counter stored for the passkey `credential_id`.
async fn stored_sign_count(app: &TestApp, credential_id: &str) -> i64 {
    on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT sign_count FROM passkeys WHERE credential_id = $1"
    )
    .bind(credential_id)
    .fetch_one(c)
    .await)
    .unwrap()
}

// --- two-step sign-in (as in tests/two_step.rs) ---

/// The code pyotp computes for `secret` (base32) now.
fn pyotp(secret: &str) -> String {
    let script = "import pyotp, sys\nprint(pyotp.TOTP(sys.argv[1]).now())";
    let out = Command::new("python3")
        .args(["-c", script, secret])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyotp failed (`bash .ci/setup --test` installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Turns two-step sign-in on for the holder of the access token `token`.
async fn enrol(app: &TestApp, token: &str) {
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
    // Well inside a 30-second step, so the code is checked in the step it was made in.
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        if (1.0..26.0).contains(&(now % 30.0)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let confirm = json_request(
        app,
        "POST",
        "/api/v1/users/me/totp/confirm",
        Some(token),
        Some(json!({"code": pyotp(&secret)})),
    )
    .await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
}

// --- the tests ---

#[tokio::test]
async fn an_account_made_with_a_passkey_signs_in_with_it() {
    let app = app().await;
    let ceremony = begin_sign_up(&app, "ada@example.com").await;
    let options = ceremony.public_key();
    assert_eq!(options["rp"]["id"], RP_ID, "{options}");
    assert_eq!(options["user"]["name"], "ada@example.com", "{options}");
    let selection = &options["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{options}");
    assert_eq!(selection["userVerification"], "required", "{options}");
    let (credential, mut passkey) = Passkey::create(&ceremony.options, json!({}));
    let reply = finish_sign_up(&app, &ceremony, &credential).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json(), json!("/tasks"));
    let cookies = reply.auth_cookies();
    assert_eq!(
        who(&app, &cookies).await.as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(app.count_users().await, 1);
    let listed = overview(&app, &cookies).await;
    assert_eq!(listed["has_password"], false, "{listed}");
    let mine = listed["passkeys"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "{listed}");
    assert_eq!(mine[0]["name"], "Laptop");
    assert!(mine[0]["created_at"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(mine[0]["last_used_at"], Value::Null, "{listed}");

    // Another browser: the sign-in asks for any discoverable passkey of this site.
    let ceremony = begin(&app, "passkeys/sign-in/start", &[], None).await;
    let options = ceremony.public_key();
    assert_eq!(options["rpId"], RP_ID, "{options}");
    assert_eq!(options["userVerification"], "required", "{options}");
    assert!(
        options["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "{options}"
    );
    let credential = passkey.assert(&ceremony.options, json!({}));
    let reply = finish_sign_in(&app, &ceremony, &credential).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json(), json!("/tasks"));
    let second = reply.auth_cookies();
    assert_eq!(who(&app, &second).await.as_deref(), Some("ada@example.com"));
    let page = app.get("/tasks", Some(&second)).await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.location());
    let me = json_request(
        &app,
        "GET",
        "/api/v1/users/me",
        Some(second.split(';').next().unwrap().split_once('=').unwrap().1),
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["email"], "ada@example.com");
    let used = &overview(&app, &second).await["passkeys"][0];
    assert!(used["last_used_at"].as_i64().is_some(), "{used}");
}

#[tokio::test]
async fn a_passkey_sign_in_goes_to_next_only_when_it_is_one_of_ours() {
    let app = app().await;
    let (_, mut passkey) = passkey_account(&app, "next@example.com", json!({})).await;
    for (next, expected) in [
        ("/account", "/account"),
        ("https://evil.example/tasks", "/tasks"),
        ("//evil.example/tasks", "/tasks"),
    ] {
        let ceremony = begin(&app, "passkeys/sign-in/start", &[], None).await;
        let credential = passkey.assert(&ceremony.options, json!({}));
        let reply = app
            .call(
                "passkeys/sign-in/finish",
                &[
                    ("ticket", &ceremony.ticket),
                    ("credential", &credential),
                    ("next", next),
                ],
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.json(), json!(expected), "next={next}");
    }
}

#[tokio::test]
async fn a_passkey_only_account_refuses_every_password_like_an_unknown_email() {
    let app = app().await;
    passkey_account(&app, "nopw@example.com", json!({})).await;
    let unknown_form = app.login("nobody@example.com", PASSWORD).await;
    let unknown_token = api_token(&app, "nobody@example.com", PASSWORD).await;
    for password in [PASSWORD, "another password entirely"] {
        let form = app.login("nopw@example.com", password).await;
        assert_eq!(form.status, StatusCode::UNAUTHORIZED, "{}", form.body);
        assert_eq!(form.error_kind(), "invalid_credentials");
        assert_eq!(form.body, unknown_form.body);
        assert!(form.session_cookie().is_none());
        let token = api_token(&app, "nopw@example.com", password).await;
        assert_eq!(token.status, StatusCode::UNAUTHORIZED, "{}", token.body);
        assert_eq!(token.json()["error"], "invalid_grant");
        assert_eq!(token.body, unknown_token.body);
    }
}

#[tokio::test]
async fn a_passkey_only_account_can_add_a_password_and_then_use_both() {
    let app = app().await;
    let (cookies, mut passkey) = passkey_account(&app, "nina@example.com", json!({})).await;
    let new_password = "a password added later on";
    let mismatch = app
        .call(
            "password/add",
            &[
                ("new_password", new_password),
                ("new_password_confirm", "something else"),
            ],
            Some(&cookies),
        )
        .await;
    assert_eq!(
        mismatch.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        mismatch.body
    );
    let added = app
        .call(
            "password/add",
            &[
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
            Some(&cookies),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(overview(&app, &cookies).await["has_password"], true);

    let form = app.login("nina@example.com", new_password).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.session_cookie().is_some());
    let token = api_token(&app, "nina@example.com", new_password).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    signed_in(&app, &mut passkey).await;

    // Now that it has one, replacing it needs the current password: not this door.
    let replaced = app
        .call(
            "password/add",
            &[
                ("new_password", PASSWORD),
                ("new_password_confirm", PASSWORD),
            ],
            Some(&cookies),
        )
        .await;
    assert_ne!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(
        app.login("nina@example.com", new_password).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.login("nina@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_passkey_sign_in_needs_no_two_step_code() {
    let app = app().await;
    let registered = app
        .register("Two Step", "twostep@example.com", PASSWORD)
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);
    let cookies = registered.auth_cookies();
    let access = registered.session_cookie().unwrap();
    enrol(&app, access.split_once('=').unwrap().1).await;
    let mut passkey = add_passkey(&app, &cookies, Some(PASSWORD), json!({})).await;

    // The password alone now only gets as far as the code.
    let password = app.login("twostep@example.com", PASSWORD).await;
    assert_eq!(password.status, StatusCode::OK, "{}", password.body);
    assert!(password.session_cookie().is_none());

    let reply = sign_in(&app, &mut passkey, json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json(), json!("/tasks"));
    assert!(
        !reply
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-tasks_second_step=") && !c.contains("Max-Age=0")),
        "no second step: {:?}",
        reply.set_cookies()
    );
    assert_eq!(
        who(&app, &reply.auth_cookies()).await.as_deref(),
        Some("twostep@example.com")
    );
}

#[tokio::test]
async fn adding_a_passkey_needs_the_password_of_an_account_that_has_one() {
    let app = app().await;
    let cookies = app
        .register("Pat", "pat@example.com", PASSWORD)
        .await
        .auth_cookies();
    for fields in [vec![], vec![("password", "not my password")]] {
        let refused = app
            .call("passkeys/add/start", &fields, Some(&cookies))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert_eq!(refused.error_kind(), "validation");
        let fields: Vec<String> = refused.json()["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(fields, ["password"], "{}", refused.body);
    }
    assert!(passkeys(&app, &cookies).await.is_empty());

    let mut passkey = add_passkey(&app, &cookies, Some(PASSWORD), json!({})).await;
    let listed = overview(&app, &cookies).await;
    assert_eq!(listed["has_password"], true);
    assert_eq!(listed["passkeys"][0]["name"], "Phone", "{listed}");
    let signed = signed_in(&app, &mut passkey).await;
    assert_eq!(who(&app, &signed).await.as_deref(), Some("pat@example.com"));
    // The password still works too.
    assert_eq!(
        app.login("pat@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn adding_a_passkey_ends_the_other_sessions() {
    let app = app().await;
    let cookies = app
        .register("Sam", "sam@example.com", PASSWORD)
        .await
        .auth_cookies();
    let other_browser = app.login("sam@example.com", PASSWORD).await.auth_cookies();
    let (script, _) = common::api_tokens(&app, "sam@example.com").await;
    assert!(session_works(&app, &other_browser).await);

    add_passkey(&app, &cookies, Some(PASSWORD), json!({})).await;
    assert!(session_works(&app, &cookies).await);
    assert!(!session_works(&app, &other_browser).await);
    let me = json_request(&app, "GET", "/api/v1/users/me", Some(&script), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.body);
}

#[tokio::test]
async fn a_passkey_only_account_adds_another_passkey_without_a_password() {
    let app = app().await;
    let (cookies, _) = passkey_account(&app, "two@example.com", json!({})).await;
    let mut phone = add_passkey(&app, &cookies, None, json!({})).await;
    let names: Vec<String> = passkeys(&app, &cookies)
        .await
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"Laptop".to_owned()) && names.contains(&"Phone".to_owned()));
    signed_in(&app, &mut phone).await;
}

#[tokio::test]
async fn adding_signing_in_and_removing_are_in_the_activity() {
    let app = app().await;
    let (cookies, _) = passkey_account(&app, "log@example.com", json!({})).await;
    let mut phone = add_passkey(&app, &cookies, None, json!({})).await;
    let session = signed_in(&app, &mut phone).await;
    let laptop = passkeys(&app, &session)
        .await
        .into_iter()
        .find(|(_, name)| name == "Laptop")
        .unwrap()
        .0;
    let removed = app
        .call(
            "passkeys/remove",
            &[("id", &laptop.to_string())],
            Some(&session),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);

    let items = activity(&app, &session).await;
    let all = serde_json::to_string_pretty(&items).unwrap();
    assert!(!events(&items, "passkey_added").is_empty(), "{all}");
    assert!(!events(&items, "passkey_removed").is_empty(), "{all}");
    assert!(
        events(&items, "login_succeeded")
            .iter()
            .any(|e| e["detail"].as_str().unwrap_or_default().contains("Phone")),
        "no login_succeeded naming the passkey: {all}"
    );
}

#[tokio::test]
async fn a_ceremony_ticket_finishes_once() {
    let app = app().await;
    // Sign-up: a second answer to the same ticket makes no second account.
    let ceremony = begin_sign_up(&app, "once@example.com").await;
    let (credential, mut passkey) = Passkey::create(&ceremony.options, json!({}));
    let first = finish_sign_up(&app, &ceremony, &credential).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let (again, _) = Passkey::create(&ceremony.options, json!({}));
    let replay = finish_sign_up(&app, &ceremony, &again).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert_refused(&replay, "a spent sign-up ticket");
    assert_eq!(app.count_users().await, 1);

    // Sign-in: the same ticket with a fresh, valid assertion (a higher counter) is refused.
    let ceremony = begin(&app, "passkeys/sign-in/start", &[], None).await;
    let credential = passkey.assert(&ceremony.options, json!({}));
    let first = finish_sign_in(&app, &ceremony, &credential).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let replayed = finish_sign_in(&app, &ceremony, &credential).await;
    assert_eq!(
        replayed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        replayed.body
    );
    assert_refused(&replayed, "a replayed sign-in");
    let fresh = passkey.assert(&ceremony.options, json!({}));
    let reused = finish_sign_in(&app, &ceremony, &fresh).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST, "{}", reused.body);
    assert_refused(&reused, "a spent sign-in ticket");

    // A ticket nobody issued.
    let forged = Ceremony {
        ticket: "not-a-ticket".into(),
        options: ceremony.options.clone(),
    };
    let unknown = finish_sign_in(&app, &forged, &fresh).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    assert_refused(&unknown, "an unknown ticket");
}

#[tokio::test]
async fn a_ceremony_lives_five_minutes_in_the_database() {
    let app = app().await;
    let (_, mut passkey) = passkey_account(&app, "slow@example.com", json!({})).await;
    let ceremony = begin(&app, "passkeys/sign-in/start", &[], None).await;
    let lifetimes: Vec<i64> = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT expires_at - created_at FROM passkey_challenges WHERE purpose = 'sign_in'"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(lifetimes, [5 * 60 * 1000]);
    common::execute(
        &app.state.db,
        "UPDATE passkey_challenges SET expires_at = 0",
    )
    .await;
    let credential = passkey.assert(&ceremony.options, json!({}));
    let late = finish_sign_in(&app, &ceremony, &credential).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{}", late.body);
    assert_refused(&late, "an expired ticket");
}

#[tokio::test]
async fn a_ceremony_started_on_one_replica_finishes_on_another() {
    let first = app().await;
    let second = spawn_in(
        tempfile::tempdir().unwrap(),
        first.database.shared(),
        &[("PUBLIC_URL", ORIGIN)],
    )
    .await;
    let ceremony = begin_sign_up(&first, "replica@example.com").await;
    let (credential, mut passkey) = Passkey::create(&ceremony.options, json!({}));
    let made = finish_sign_up(&second, &ceremony, &credential).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let ceremony = begin(&second, "passkeys/sign-in/start", &[], None).await;
    let credential = passkey.assert(&ceremony.options, json!({}));
    let reply = finish_sign_in(&first, &ceremony, &credential).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        who(&first, &reply.auth_cookies()).await.as_deref(),
        Some("replica@example.com")
    );
}

#[tokio::test]
async fn a_passkey_without_user_verification_is_refused() {
    let app = app().await;
    let ceremony = begin_sign_up(&app, "uv@example.com").await;
    let (credential, _) = Passkey::create(&ceremony.options, json!({"uv": false}));
    let reply = finish_sign_up(&app, &ceremony, &credential).await;
    assert_refused(&reply, "a sign-up without user verification");
    assert_eq!(app.count_users().await, 0);

    let (cookies, mut passkey) = passkey_account(&app, "uv@example.com", json!({})).await;
    let ceremony = begin_add(&app, &cookies, None).await;
    let (credential, _) = Passkey::create(&ceremony.options, json!({"uv": false}));
    let added = finish_add(&app, &cookies, &ceremony, &credential).await;
    assert!(added.status.is_client_error(), "{}", added.body);
    assert_eq!(passkeys(&app, &cookies).await.len(), 1);

    let reply = sign_in(&app, &mut passkey, json!({"uv": false})).await;
    assert_refused(&reply, "a sign-in without user verification");
    signed_in(&app, &mut passkey).await;
}

#[tokio::test]
async fn a_passkey_answer_for_another_origin_or_rp_is_refused() {
    let app = app().await;
    for tweaks in [
        json!({"origin": "https://evil.test"}),
        json!({"rp_id": "evil.test"}),
    ] {
        let ceremony = begin_sign_up(&app, "phished@example.com").await;
        let (credential, _) = Passkey::create(&ceremony.options, tweaks.clone());
        let reply = finish_sign_up(&app, &ceremony, &credential).await;
        assert_refused(&reply, &format!("a sign-up with {tweaks}"));
    }
    assert_eq!(app.count_users().await, 0);

    let (_, mut passkey) = passkey_account(&app, "phished@example.com", json!({})).await;
    for tweaks in [
        json!({"origin": "https://evil.test"}),
        json!({"origin": "http://tasks.test"}),
        json!({"origin": "https://tasks.test.evil.test"}),
        json!({"rp_id": "evil.test"}),
    ] {
        let reply = sign_in(&app, &mut passkey, tweaks.clone()).await;
        assert_refused(&reply, &format!("a sign-in with {tweaks}"));
    }
    signed_in(&app, &mut passkey).await;
}

#[tokio::test]
async fn a_cloned_passkey_is_suspended_and_stays_refused_until_its_owner_re_enables_it() {
    let app = app().await;
    let (cookie, mut passkey) = passkey_account(&app, "clone@example.com", json!({})).await;
    signed_in(&app, &mut passkey).await;
    // A copy taken now, while the original goes on being used.
    let mut clone = passkey.clone();
    signed_in(&app, &mut passkey).await;
    assert_eq!(stored_sign_count(&app, passkey.credential_id()).await, 2);

    // The copy's next counter (2) equals the stored one: refused, and the passkey suspended.
    let reply = sign_in(&app, &mut clone, json!({})).await;
    assert_refused(&reply, "a counter equal to the stored one");
    // Retrying raises the copy's counter past the stored one (3, 4, ... 22): still refused.
    for attempt in 0..20 {
        let reply = sign_in(&app, &mut clone, json!({})).await;
        assert_refused(&reply, &format!("retry {attempt} of the copy"));
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        assert!(reply.body.contains("suspended"), "{}", reply.body);
    }
    // The original is suspended too: nobody can tell which one is the copy.
    let reply = sign_in(&app, &mut passkey, json!({})).await;
    assert_refused(&reply, "the original while suspended");
    assert_eq!(stored_sign_count(&app, passkey.credential_id()).await, 2);

    // The owner sees why, once in the audit trail; the API says so too.
    let listed = overview(&app, &cookie).await;
    let suspended = listed["passkeys"][0]["suspended"]
        .as_str()
        .expect("a reason");
    assert!(suspended.contains("copy"), "{suspended}");
    let items = activity(&app, &cookie).await;
    assert_eq!(events(&items, "passkey_suspected_clone").len(), 1);
    let request = Request::get("/api/v1/users/me/passkeys")
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let api = app.send(request).await.json();
    assert_eq!(api[0]["suspended"], true, "{api}");
    assert_eq!(api[0]["suspended_reason"], "cloned", "{api}");

    // Re-enabled (a passkey-only account: its sign-in is recent), the original signs in again.
    let id = passkeys(&app, &cookie).await[0].0.to_string();
    let reply = app
        .call("passkeys/reenable", &[("id", &id)], Some(&cookie))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(overview(&app, &cookie).await["passkeys"][0]["suspended"].is_null());
    // (Its refused try while suspended counted 3 on the device; this one counts 4.)
    signed_in(&app, &mut passkey).await;
    assert_eq!(stored_sign_count(&app, passkey.credential_id()).await, 4);
    let items = activity(&app, &cookie).await;
    assert_eq!(events(&items, "passkey_reenabled").len(), 1);
}

#[tokio::test]
async fn re_enabling_a_passkey_needs_the_password_of_an_account_that_has_one() {
    let app = app().await;
    let cookie = app.signed_up("reenable@example.com").await;
    let mut passkey = add_passkey(&app, &cookie, Some(PASSWORD), json!({})).await;
    signed_in(&app, &mut passkey).await;
    let mut clone = passkey.clone();
    signed_in(&app, &mut passkey).await;
    assert_refused(&sign_in(&app, &mut clone, json!({})).await, "the copy");
    let id = passkeys(&app, &cookie).await[0].0.to_string();
    let cookie = app
        .login("reenable@example.com", PASSWORD)
        .await
        .auth_cookies();

    let wrong = app
        .call(
            "passkeys/reenable",
            &[("id", &id), ("password", "not the password at all")],
            Some(&cookie),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert_refused(
        &sign_in(&app, &mut passkey, json!({})).await,
        "still suspended",
    );
    let right = app
        .call(
            "passkeys/reenable",
            &[("id", &id), ("password", PASSWORD)],
            Some(&cookie),
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    signed_in(&app, &mut passkey).await;
}

#[tokio::test]
async fn a_passkey_without_a_counter_is_never_suspended() {
    let app = app().await;
    let (_, mut passkey) =
        passkey_account(&app, "no-counter@example.com", json!({"sign_count": 0})).await;
    for _ in 0..3 {
        let reply = sign_in(&app, &mut passkey, json!({"sign_count": 0})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    assert_eq!(stored_sign_count(&app, passkey.credential_id()).await, 0);
}

#[tokio::test]
async fn passkey_sign_in_starts_and_failures_are_limited_per_address() {
    let limited = spawn_with(&[("PUBLIC_URL", ORIGIN), ("LOGIN_FAILURES_PER_IP", "3")]).await;
    // A passkey of another server (same site name): this one does not know it.
    let (_, mut stranger) = passkey_account(&app().await, "stranger@example.com", json!({})).await;
    let app = limited;
    // 3 failures per address allow 12 starts in the window; the 13th is refused.
    for n in 0..12 {
        let reply = app.call("passkeys/sign-in/start", &[], None).await;
        assert_eq!(reply.status, StatusCode::OK, "start {n}: {}", reply.body);
    }
    let reply = app.call("passkeys/sign-in/start", &[], None).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
    // Another address is not affected; its refused finishes (a passkey unknown here) count
    // like wrong passwords.
    let other = "192.0.2.44";
    let start = |()| {
        Request::post("/api/passkeys/sign-in/start")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .unwrap()
    };
    let reply = app.send_from(other, start(())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for n in 0..3 {
        let ceremony: Value = app.send_from(other, start(())).await.json();
        let options = ceremony["options"].as_str().expect("options");
        let credential = stranger.assert(options, json!({}));
        let body = serde_urlencoded::to_string([
            ("ticket", ceremony["ticket"].as_str().unwrap()),
            ("credential", credential.as_str()),
        ])
        .unwrap();
        let finish = Request::post("/api/passkeys/sign-in/finish")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Body::from(body))
            .unwrap();
        let reply = app.send_from(other, finish).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "finish {n}: {}",
            reply.body
        );
    }
    let reply = app.send_from(other, start(())).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_passkey_presented_with_another_persons_user_handle_is_refused() {
    let app = app().await;
    let (_, mut ada) = passkey_account(&app, "ada@example.com", json!({})).await;
    let (_, bo) = passkey_account(&app, "bo@example.com", json!({})).await;
    let reply = sign_in(&app, &mut ada, json!({"user_handle": bo.user_handle()})).await;
    assert_refused(&reply, "Ada's passkey claiming to be Bo");
}

#[tokio::test]
async fn a_passkey_can_be_renamed() {
    let app = app().await;
    let (cookies, _) = passkey_account(&app, "rename@example.com", json!({})).await;
    let id = passkeys(&app, &cookies).await[0].0;
    let reply = app
        .call(
            "passkeys/rename",
            &[("id", &id.to_string()), ("name", "Work laptop")],
            Some(&cookies),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        passkeys(&app, &cookies).await,
        [(id, "Work laptop".to_owned())]
    );
}

#[tokio::test]
async fn a_removed_passkey_no_longer_signs_in_and_other_sessions_end() {
    let app = app().await;
    let (cookies, _) = passkey_account(&app, "remove@example.com", json!({})).await;
    let mut phone = add_passkey(&app, &cookies, None, json!({})).await;
    let phone_session = signed_in(&app, &mut phone).await;
    let phone_id = passkeys(&app, &cookies)
        .await
        .into_iter()
        .find(|(_, name)| name == "Phone")
        .unwrap()
        .0;
    let reply = app
        .call(
            "passkeys/remove",
            &[("id", &phone_id.to_string())],
            Some(&cookies),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let left: Vec<String> = passkeys(&app, &cookies)
        .await
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert_eq!(left, ["Laptop"]);
    assert!(session_works(&app, &cookies).await);
    assert!(!session_works(&app, &phone_session).await);
    let reply = sign_in(&app, &mut phone, json!({})).await;
    assert_refused(&reply, "a removed passkey");
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_removed() {
    let app = app().await;
    let (cookies, mut passkey) = passkey_account(&app, "last@example.com", json!({})).await;
    let id = passkeys(&app, &cookies).await[0].0.to_string();
    let refused = app
        .call("passkeys/remove", &[("id", &id)], Some(&cookies))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(passkeys(&app, &cookies).await.len(), 1);
    signed_in(&app, &mut passkey).await;

    // With a password, the passkey is no longer the only way.
    let password = "the password that stays";
    let added = app
        .call(
            "password/add",
            &[
                ("new_password", password),
                ("new_password_confirm", password),
            ],
            Some(&cookies),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let removed = app
        .call("passkeys/remove", &[("id", &id)], Some(&cookies))
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let listed = overview(&app, &cookies).await;
    assert_eq!(listed["passkeys"], json!([]), "{listed}");
    assert_eq!(
        app.login("last@example.com", password).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn another_persons_passkey_is_not_found() {
    let app = app().await;
    let (ada, _) = passkey_account(&app, "ada@example.com", json!({})).await;
    let (bo, _) = passkey_account(&app, "bo@example.com", json!({})).await;
    add_passkey(&app, &bo, None, json!({})).await;
    let adas = passkeys(&app, &ada).await[0].0;
    let (theirs, nobodys) = (adas.to_string(), (adas + 1000).to_string());
    for (endpoint, fields) in [
        ("passkeys/remove", vec![("id", theirs.as_str())]),
        (
            "passkeys/rename",
            vec![("id", theirs.as_str()), ("name", "Mine now")],
        ),
        ("passkeys/remove", vec![("id", nobodys.as_str())]),
        (
            "passkeys/rename",
            vec![("id", nobodys.as_str()), ("name", "Mine now")],
        ),
    ] {
        let reply = app.call(endpoint, &fields, Some(&bo)).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{endpoint}: {}",
            reply.body
        );
        assert_eq!(reply.error_kind(), "not_found");
    }
    assert_eq!(passkeys(&app, &ada).await, [(adas, "Laptop".to_owned())]);
}

#[tokio::test]
async fn the_overview_shows_which_passkeys_are_backed_up() {
    let app = app().await;
    let (cookies, mut synced) =
        passkey_account(&app, "sync@example.com", json!({"be": true, "bs": true})).await;
    add_passkey(&app, &cookies, None, json!({"be": false, "bs": false})).await;
    signed_in(&app, &mut synced).await;
    let listed = overview(&app, &cookies).await;
    let backed_up = |name: &str| {
        listed["passkeys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {listed}"))["backed_up"]
            .clone()
    };
    assert_eq!(backed_up("Laptop"), true, "{listed}");
    assert_eq!(backed_up("Phone"), false, "{listed}");
}

#[tokio::test]
async fn managing_passkeys_needs_a_session() {
    let app = app().await;
    for (endpoint, fields) in [
        ("passkeys/overview", vec![]),
        ("passkeys/add/start", vec![("password", PASSWORD)]),
        ("passkeys/rename", vec![("id", "1"), ("name", "x")]),
        ("passkeys/remove", vec![("id", "1")]),
        (
            "password/add",
            vec![
                ("new_password", "some new password"),
                ("new_password_confirm", "some new password"),
            ],
        ),
    ] {
        let reply = app.call(endpoint, &fields, None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{endpoint}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn adding_removing_and_adding_a_password_answer_how_many_other_sessions_ended() {
    let app = app().await;
    let (cookies, mut key) = passkey_account(&app, "ended@example.com", json!({})).await;
    // Another device signed in each time: each change signs exactly that one out.
    let _elsewhere = signed_in(&app, &mut key).await;
    let ceremony = begin_add(&app, &cookies, None).await;
    let (credential, _) = Passkey::create(&ceremony.options, json!({}));
    let added = finish_add(&app, &cookies, &ceremony, &credential).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.json(), json!(1), "passkeys/add/finish");
    let phone = passkeys(&app, &cookies)
        .await
        .into_iter()
        .find(|(_, name)| name == "Phone")
        .unwrap()
        .0
        .to_string();
    let renamed = app
        .call(
            "passkeys/rename",
            &[("id", &phone), ("name", "Old phone")],
            Some(&cookies),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(
        renamed.json(),
        Value::Null,
        "passkeys/rename ends no session"
    );
    let _elsewhere = signed_in(&app, &mut key).await;
    let removed = app
        .call("passkeys/remove", &[("id", &phone)], Some(&cookies))
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(removed.json(), json!(1), "passkeys/remove");
    let _elsewhere = signed_in(&app, &mut key).await;
    let password = "a password for the answers";
    let password_added = app
        .call(
            "password/add",
            &[
                ("new_password", password),
                ("new_password_confirm", password),
            ],
            Some(&cookies),
        )
        .await;
    assert_eq!(
        password_added.status,
        StatusCode::OK,
        "{}",
        password_added.body
    );
    assert_eq!(password_added.json(), json!(1), "password/add");
}
