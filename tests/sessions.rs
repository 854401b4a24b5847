//! Server-side sessions: refresh rotation and reuse detection, revocation that takes effect on
//! the next request (logout, sign out everywhere, password change, disabled account), and the
//! browser's silent refresh.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{
    COOKIE_NAME, PASSWORD, REFRESH_COOKIE_NAME, TestApp, api_refresh, api_register, api_tokens,
    json_request, spawn, spawn_with, token_request,
};
use futures::future::join_all;
use serde_json::json;

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    json_request(app, "GET", "/api/v1/users/me", Some(token), None)
        .await
        .status
}

async fn signed_up_api(app: &TestApp, email: &str) -> (String, String) {
    assert_eq!(api_register(app, email).await.status, StatusCode::CREATED);
    api_tokens(app, email).await
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_the_old_refresh_token_is_spent() {
    let app = spawn().await;
    let (access, refresh) = signed_up_api(&app, "rotate@example.com").await;

    let reply = api_refresh(&app, &refresh).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let body = reply.json();
    let new_access = body["access_token"].as_str().unwrap();
    let new_refresh = body["refresh_token"].as_str().unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_ne!(new_refresh, refresh);
    assert_ne!(new_access, access);
    assert_eq!(me_status(&app, new_access).await, StatusCode::OK);

    // The OAuth2 form works too, with the new token.
    let form = app
        .send(token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", new_refresh),
        ]))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.json()["refresh_token"].as_str().unwrap() != new_refresh);
}

#[tokio::test]
async fn replaying_a_spent_refresh_token_revokes_the_whole_session() {
    let app = spawn().await;
    let (_, stolen) = signed_up_api(&app, "reuse@example.com").await;
    // The legitimate client refreshes...
    let legit = api_refresh(&app, &stolen).await.json();
    let legit_access = legit["access_token"].as_str().unwrap().to_owned();
    let legit_refresh = legit["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&app, &legit_access).await, StatusCode::OK);

    // ...then, after the grace window, the thief replays the old token.
    common::after_the_reuse_grace(&app.state.db).await;
    let replay = api_refresh(&app, &stolen).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert!(replay.json()["error_description"].is_string());
    assert_eq!(replay.headers[header::CACHE_CONTROL], "no-store");

    // Everything of that session is dead now, the legitimate pair included.
    assert_eq!(
        me_status(&app, &legit_access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_refresh(&app, &legit_refresh).await.status,
        StatusCode::BAD_REQUEST
    );
    let reason: String = crate::on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT revoked_reason FROM sessions"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(reason, "refresh_token_reuse");
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_spend_it_exactly_once() {
    // Without the grace window, exactly one of the racing exchanges may spend the token.
    let app = spawn_with(&[("REFRESH_REUSE_GRACE", "0")]).await;
    let (_, refresh) = signed_up_api(&app, "race@example.com").await;
    let replies = join_all((0..12).map(|_| api_refresh(&app, &refresh))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{replies:?}");
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(reply.json()["error"], "invalid_grant");
    }
}

/// The deterministic form of the race above, which failed now and then on PostgreSQL: two
/// exchanges read the clock, and the one that read it later spends the token first. With the
/// grace off, the other must see reuse, not a race (its `now - used_at` is negative).
#[tokio::test]
async fn without_the_grace_a_token_spent_at_a_later_clock_reading_is_reuse() {
    use tasks::server::{
        auth::refresh::hash_presented,
        db::sessions::{Exchange, exchange_refresh},
    };
    let app = spawn_with(&[("REFRESH_REUSE_GRACE", "0")]).await;
    let (_, refresh) = signed_up_api(&app, "clock@example.com").await;
    let hash = hash_presented(&refresh).expect("a well-formed refresh token");
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let later = exchange_refresh(&app.state.db, &hash, now + 5, 0)
        .await
        .unwrap();
    assert!(matches!(later, Exchange::Consumed { .. }), "{later:?}");
    let earlier = exchange_refresh(&app.state.db, &hash, now, 0)
        .await
        .unwrap();
    assert!(matches!(earlier, Exchange::Reused { .. }), "{earlier:?}");
    // With a grace, the same order is a race the session survives.
    let (_, refresh) = signed_up_api(&app, "clock2@example.com").await;
    let hash = hash_presented(&refresh).expect("a well-formed refresh token");
    exchange_refresh(&app.state.db, &hash, now + 5, 30_000)
        .await
        .unwrap();
    let raced = exchange_refresh(&app.state.db, &hash, now, 30_000)
        .await
        .unwrap();
    assert!(matches!(raced, Exchange::Raced { .. }), "{raced:?}");
}

#[tokio::test]
async fn concurrent_refreshes_by_one_session_within_the_grace_all_keep_it_signed_in() {
    // Two tabs (or a retry) presenting the same refresh token at once: every one gets a working
    // pair and the session lives on; only the database decides which one spent the token.
    let app = spawn().await;
    let (_, refresh) = signed_up_api(&app, "tabs@example.com").await;
    let replies = join_all((0..12).map(|_| api_refresh(&app, &refresh))).await;
    let mut pairs = Vec::new();
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let body = reply.json();
        pairs.push((
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        ));
    }
    let distinct: std::collections::HashSet<_> = pairs.iter().map(|(_, r)| r).collect();
    assert_eq!(
        distinct.len(),
        pairs.len(),
        "every answer has a refresh token of its own"
    );
    for (access, _) in &pairs {
        assert_eq!(me_status(&app, access).await, StatusCode::OK);
    }
    // Each successor works once, like any refresh token.
    let (_, successor) = &pairs[5];
    assert_eq!(api_refresh(&app, successor).await.status, StatusCode::OK);
    let revoked: i64 = crate::on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(revoked, 0);
}

#[tokio::test]
async fn the_grace_never_revives_an_ended_session_or_an_expired_token() {
    let app = spawn().await;
    let (access, refresh) = signed_up_api(&app, "ended@example.com").await;
    assert_eq!(api_refresh(&app, &refresh).await.status, StatusCode::OK);
    // Logged out moments after the refresh: the spent token must not open it again.
    let reply = json_request(&app, "POST", "/api/v1/auth/logout", Some(&access), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(
        api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );

    let (_, refresh) = api_tokens(&app, "ended@example.com").await;
    assert_eq!(api_refresh(&app, &refresh).await.status, StatusCode::OK);
    common::execute(&app.state.db, "UPDATE refresh_tokens SET expires_at = 0").await;
    assert_eq!(
        api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn unknown_garbage_and_access_tokens_are_not_refresh_tokens() {
    let app = spawn().await;
    let (access, refresh) = signed_up_api(&app, "kinds@example.com").await;
    let long = "x".repeat(10_000);
    for bad in ["", "nope", access.as_str(), long.as_str()] {
        let reply = api_refresh(&app, bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad:.20}");
        assert_eq!(reply.json()["error"], "invalid_grant");
    }
    // And a refresh token is no access token.
    assert_eq!(me_status(&app, &refresh).await, StatusCode::UNAUTHORIZED);
    // Missing field: a validation error naming it.
    let missing = json_request(&app, "POST", "/api/v1/auth/refresh", None, Some(json!({}))).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_hashes() {
    let app = spawn().await;
    let (_, refresh) = signed_up_api(&app, "hashes@example.com").await;
    let stored: Vec<String> = crate::on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT token_hash FROM refresh_tokens"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], refresh);
    assert_eq!(stored[0].len(), 64, "a SHA-256 hex digest");
}

#[tokio::test]
async fn expired_refresh_tokens_and_sessions_past_their_lifetime_are_refused() {
    let app = spawn().await;
    let (_, refresh) = signed_up_api(&app, "idle@example.com").await;
    common::execute(&app.state.db, "UPDATE refresh_tokens SET expires_at = 0").await;
    assert_eq!(
        api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );

    let (access, refresh) = api_tokens(&app, "idle@example.com").await;
    common::execute(&app.state.db, "UPDATE sessions SET expires_at = 0").await;
    assert_eq!(me_status(&app, &access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn api_logout_ends_that_session_only_on_the_next_request() {
    let app = spawn().await;
    let (access, refresh) = signed_up_api(&app, "bye@example.com").await;
    let (other_access, _) = api_tokens(&app, "bye@example.com").await;

    let reply = json_request(&app, "POST", "/api/v1/auth/logout", Some(&access), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let after = json_request(&app, "GET", "/api/v1/users/me", Some(&access), None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        after.headers[header::WWW_AUTHENTICATE],
        r#"Bearer error="invalid_token""#
    );
    assert_eq!(
        api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );
    // The person's other session is untouched.
    assert_eq!(me_status(&app, &other_access).await, StatusCode::OK);
}

#[tokio::test]
async fn browser_logout_revokes_the_session_so_a_copied_cookie_stops_working() {
    let app = spawn().await;
    let cookies = app
        .register("Copy", "copy@example.com", PASSWORD)
        .await
        .auth_cookies();
    let logout = app.call("logout", &[], Some(&cookies)).await;
    assert_eq!(logout.status, StatusCode::OK, "{}", logout.body);
    for name in [COOKIE_NAME, REFRESH_COOKIE_NAME] {
        let removal = logout
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=;")))
            .unwrap_or_else(|| panic!("{name} is not cleared: {:?}", logout.set_cookies()));
        for attribute in ["Max-Age=0", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(removal.contains(attribute), "{attribute}: {removal}");
        }
    }
    // Someone who copied both cookies before the logout gets nothing.
    let replay = app.call("tasks/list", &[], Some(&cookies)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.body);
    let page = app.get("/tasks", Some(&cookies)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/login?next=/tasks"));
}

#[tokio::test]
async fn sessions_are_listed_and_any_one_can_be_signed_out() {
    let app = spawn().await;
    let (access, _) = signed_up_api(&app, "list@example.com").await;
    let (second, _) = api_tokens(&app, "list@example.com").await;
    let list = json_request(&app, "GET", "/api/v1/auth/sessions", Some(&access), None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let sessions = list.json();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    for s in sessions {
        for field in ["id", "user_agent", "ip", "created_at", "last_used_at"] {
            assert!(s.get(field).is_some(), "{field} missing in {s}");
        }
    }
    let other_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another person cannot sign my session out: it does not exist for them.
    let (stranger, _) = signed_up_api(&app, "stranger@example.com").await;
    let foreign = json_request(
        &app,
        "DELETE",
        &format!("/api/v1/auth/sessions/{other_id}"),
        Some(&stranger),
        None,
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(me_status(&app, &second).await, StatusCode::OK);

    let revoke = json_request(
        &app,
        "DELETE",
        &format!("/api/v1/auth/sessions/{other_id}"),
        Some(&access),
        None,
    )
    .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    assert_eq!(me_status(&app, &second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &access).await, StatusCode::OK);
}

#[tokio::test]
async fn signing_out_everywhere_else_keeps_only_this_session() {
    let app = spawn().await;
    let browser = app
        .register("Many", "many@example.com", PASSWORD)
        .await
        .auth_cookies();
    let (laptop, laptop_refresh) = api_tokens(&app, "many@example.com").await;
    let (phone, _) = api_tokens(&app, "many@example.com").await;

    let reply = app
        .call("sessions/revoke-others", &[], Some(&browser))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json(), json!(2));
    assert_eq!(me_status(&app, &laptop).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&app, &phone).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api_refresh(&app, &laptop_refresh).await.status,
        StatusCode::BAD_REQUEST
    );
    let still = app.call("tasks/list", &[], Some(&browser)).await;
    assert_eq!(still.status, StatusCode::OK);
    let list = app.call("sessions/list", &[], Some(&browser)).await;
    assert_eq!(list.json().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_other_sessions() {
    let app = spawn().await;
    let browser = app
        .register("Pw", "pw@example.com", PASSWORD)
        .await
        .auth_cookies();
    let (other, _) = api_tokens(&app, "pw@example.com").await;
    let new_password = "a brand new passphrase";

    let wrong = app
        .call(
            "password",
            &[
                ("current_password", "not my password"),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
            Some(&browser),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("current_password"), "{}", wrong.body);
    assert_eq!(me_status(&app, &other).await, StatusCode::OK);

    let common = app
        .call(
            "password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "password1"),
                ("new_password_confirm", "password1"),
            ],
            Some(&browser),
        )
        .await;
    assert_eq!(common.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(common.body.contains("commonly used"), "{}", common.body);

    let changed = app
        .call(
            "password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
            Some(&browser),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.json(), json!(1));
    assert_eq!(me_status(&app, &other).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.call("tasks/list", &[], Some(&browser)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.login("pw@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("pw@example.com", new_password).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn changing_the_password_over_the_api_works_the_same() {
    let app = spawn().await;
    let (access, _) = signed_up_api(&app, "apipw@example.com").await;
    let (other, _) = api_tokens(&app, "apipw@example.com").await;
    let reply = json_request(
        &app,
        "POST",
        "/api/v1/users/me/password",
        Some(&access),
        Some(json!({"current_password": PASSWORD, "new_password": "another fine passphrase"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert_eq!(me_status(&app, &access).await, StatusCode::OK);
    assert_eq!(me_status(&app, &other).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_at_once_and_blocks_login() {
    let app = spawn().await;
    let (access, refresh) = signed_up_api(&app, "disabled@example.com").await;
    // What an operator does today (there is no admin screen yet).
    assert_eq!(
        common::execute(&app.state.db, "UPDATE users SET disabled = TRUE").await,
        1
    );
    assert_eq!(me_status(&app, &access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api_refresh(&app, &refresh).await.status,
        StatusCode::BAD_REQUEST
    );
    let login = app.login("disabled@example.com", PASSWORD).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "{}", login.body);
    assert_eq!(login.error_kind(), "account_disabled");
    // A wrong password still says only "incorrect": being disabled is no oracle.
    assert_eq!(
        app.login("disabled@example.com", "wrong password")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_expired_access_cookie_is_renewed_silently_on_a_page_and_a_server_function() {
    let app = spawn().await;
    let reply = app.register("Silent", "silent@example.com", PASSWORD).await;
    let refresh_only = reply.refresh_cookie().unwrap();

    // The browser dropped the access cookie at expiry and still has the refresh cookie.
    let page = app.get("/tasks", Some(&refresh_only)).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{}",
        page.location().unwrap_or("")
    );
    let renewed_access = page.session_cookie().expect("a new access cookie");
    let renewed_refresh = page.refresh_cookie().expect("a rotated refresh cookie");
    assert_ne!(renewed_refresh, refresh_only);
    assert!(page.body.contains("Your tasks"));

    // A server function called with only the (new) refresh cookie works too.
    let call = app
        .call(
            "tasks/add",
            &[("title", "still here")],
            Some(&renewed_refresh),
        )
        .await;
    assert_eq!(call.status, StatusCode::OK, "{}", call.body);
    assert!(call.session_cookie().is_some() && call.refresh_cookie().is_some());

    // An expired (but genuine) access token next to the refresh cookie is renewed as well.
    let now = jsonwebtoken::get_current_timestamp();
    let (user_id, mut claims) = app
        .state
        .jwt
        .verify(renewed_access.split_once('=').unwrap().1)
        .unwrap();
    assert!(user_id > 0);
    claims.exp = now - 60;
    let expired = app.state.jwt.sign(&claims).unwrap();
    let both = format!(
        "{COOKIE_NAME}={}; {}",
        expired.expose(),
        call.refresh_cookie().unwrap()
    );
    let list = app.call("tasks/list", &[], Some(&both)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.json()["tasks"][0]["title"], "still here");
}

#[tokio::test]
async fn two_tabs_renewing_at_once_both_stay_signed_in() {
    let app = spawn().await;
    let reply = app.register("Tabs", "two-tabs@example.com", PASSWORD).await;
    // Both tabs load after the access cookie expired, with the same refresh cookie.
    let refresh_only = reply.refresh_cookie().unwrap();
    let (first, second) = tokio::join!(
        app.get("/tasks", Some(&refresh_only)),
        app.get("/tasks", Some(&refresh_only))
    );
    for tab in [&first, &second] {
        assert_eq!(tab.status, StatusCode::OK, "{:?}", tab.location());
        assert!(tab.body.contains("Your tasks"));
        assert!(
            !tab.set_cookies().iter().any(|c| c.contains("=;")),
            "no tab may have its cookies cleared: {:?}",
            tab.set_cookies()
        );
        // Whichever tab's cookies the browser keeps, they keep working.
        let later = app.call("tasks/list", &[], Some(&tab.auth_cookies())).await;
        assert_eq!(later.status, StatusCode::OK, "{}", later.body);
    }
}

#[tokio::test]
async fn a_replayed_refresh_cookie_ends_the_browser_session() {
    let app = spawn().await;
    let reply = app.register("Replay", "replay@example.com", PASSWORD).await;
    let stolen = reply.refresh_cookie().unwrap();
    // The owner's browser renews first.
    let owner = app.get("/tasks", Some(&stolen)).await;
    let owner_cookies = owner.auth_cookies();
    // The thief's replay, after the grace window, is refused and clears the cookies it sent.
    common::after_the_reuse_grace(&app.state.db).await;
    let thief = app.get("/tasks", Some(&stolen)).await;
    assert_eq!(thief.status, StatusCode::SEE_OTHER);
    assert!(
        thief
            .set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{REFRESH_COOKIE_NAME}=;")))
    );
    // And the owner's session is over too: whoever holds it, it is compromised.
    let after = app.call("tasks/list", &[], Some(&owner_cookies)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_replaces_cookies_planted_before_it() {
    let app = spawn().await;
    app.register("Fix", "fixation@example.com", PASSWORD).await;
    let planted = format!("{COOKIE_NAME}=attacker-chosen; {REFRESH_COOKIE_NAME}=attacker-chosen");
    let request = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, planted)
        .body(Body::from(
            serde_urlencoded::to_string([
                ("email", "fixation@example.com"),
                ("password", PASSWORD),
            ])
            .unwrap(),
        ))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let access = reply.session_cookie().unwrap();
    let refresh = reply.refresh_cookie().unwrap();
    assert!(!access.contains("attacker-chosen") && !refresh.contains("attacker-chosen"));
}

#[tokio::test]
async fn a_session_records_its_device_and_address() {
    let app = spawn().await;
    api_register(&app, "device@example.com").await;
    let mut request = token_request(&[("username", "device@example.com"), ("password", PASSWORD)]);
    request
        .headers_mut()
        .insert(header::USER_AGENT, "curl/8.5.0".parse().unwrap());
    let reply = app.send_from("198.51.100.23", request).await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let list = json_request(&app, "GET", "/api/v1/auth/sessions", Some(&token), None).await;
    let session = &list.json()[0];
    assert_eq!(session["ip"], "198.51.100.23");
    assert_eq!(session["user_agent"], "curl/8.5.0");
}
