//! The browser side of issue 13 on the real router and database (both engines:
//! `TEST_DATABASE=postgres`): the account page (`/account`, which replaced `/sessions`) and the
//! administrators' pages (`/admin`, `/admin/users/{id}`). Who may see them, what their
//! server-rendered HTML holds, and every action as a plain HTML form post (JavaScript off):
//! `303` back to the page, the effect visible there, a refusal shown on the page.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{PASSWORD, Reply, TestApp, execute, spawn};
use tasks::server::cli::{self, AdminCommand};

/// Makes `email` an administrator the way an operator does: `tasks admin grant`.
async fn grant(app: &TestApp, email: &str) {
    let grant = AdminCommand::Grant {
        email: email.to_owned(),
    };
    cli::admin(&app.state, &grant).await.expect("grant");
}

/// Signs `email` up in the browser's way; returns the `Cookie` header value (both auth
/// cookies).
async fn browser(app: &TestApp, email: &str) -> String {
    let reply = app.register("Page Person", email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.auth_cookies()
}

async fn admin_browser(app: &TestApp, email: &str) -> String {
    let cookie = browser(app, email).await;
    grant(app, email).await;
    cookie
}

/// The id of the account signed in with `cookie`.
async fn id_of(app: &TestApp, cookie: &str) -> i64 {
    let me = app.call("me", &[], Some(cookie)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    me.json()["id"].as_i64().expect("an id")
}

/// Submits a form on `page` like a browser with JavaScript off, signed in with `cookie`.
async fn post_no_js(
    app: &TestApp,
    server_fn: &str,
    fields: &[(&str, &str)],
    page: &str,
    cookie: &str,
) -> Reply {
    let request = Request::post(format!("/api/{server_fn}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .header(header::HOST, "localhost:3000")
        .header(header::REFERER, format!("http://localhost:3000{page}"))
        .header(header::COOKIE, cookie)
        .body(Body::from(serde_urlencoded::to_string(fields).unwrap()))
        .unwrap();
    app.send(request).await
}

/// The page a refused plain form post came back to, rendered with the one-time error cookie
/// that reply set.
async fn page_after(app: &TestApp, reply: &Reply, cookie: &str) -> Reply {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let flash = reply
        .form_error_cookie()
        .expect("the refusal travels in the one-time cookie");
    let page = reply.location().expect("a Location");
    app.get(page, Some(&format!("{cookie}; {flash}"))).await
}

/// The account table of an `/admin` page (the events below it name accounts too).
fn table(reply: &Reply) -> &str {
    let start = reply.body.find("<table").expect("a table");
    let end = reply.body[start..].find("</table>").expect("its end") + start;
    &reply.body[start..end]
}

fn assert_contains(reply: &Reply, text: &str) {
    assert!(
        reply.body.contains(text),
        "`{text}` not in the page:\n{}",
        reply.body
    );
}

#[tokio::test]
async fn admin_pages_send_visitors_to_login_refuse_ordinary_users_and_open_for_admins() {
    let app = spawn().await;
    let admin = admin_browser(&app, "root@example.com").await;
    let user = browser(&app, "plain@example.com").await;
    let user_id = id_of(&app, &user).await;
    let account_page = format!("/admin/users/{user_id}");
    for page in ["/admin", account_page.as_str()] {
        let anonymous = app.get(page, None).await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(
            anonymous.location(),
            Some(format!("/login?next={page}").as_str())
        );
        assert!(!anonymous.body.contains("plain@example.com"), "{page}");

        let refused = app.get(page, Some(&user)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{page}");
        assert_contains(&refused, "Administrators only");
        assert_contains(&refused, "This needs an administrator.");
        // Nothing of the page itself: no account, no event, no action.
        assert!(!refused.body.contains("root@example.com"), "{page}");
        assert!(!refused.body.contains("Security events"), "{page}");
        assert!(!refused.body.contains("Disable account"), "{page}");

        let admitted = app.get(page, Some(&admin)).await;
        assert_eq!(admitted.status, StatusCode::OK, "{page}");
        assert_contains(&admitted, "plain@example.com");
    }
    // The header links to the admin pages for administrators only.
    assert_contains(&app.get("/tasks", Some(&admin)).await, "href=\"/admin\"");
    assert!(
        !app.get("/tasks", Some(&user))
            .await
            .body
            .contains("href=\"/admin\"")
    );
    // An account that does not exist is a 404 page, not an error.
    let missing = app.get("/admin/users/999999", Some(&admin)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_contains(&missing, "That account does not exist.");
    // After logging in, the visitor comes back to the account page they asked for.
    let login = app
        .call(
            "login",
            &[
                ("email", "root@example.com"),
                ("password", PASSWORD),
                ("next", &account_page),
            ],
            None,
        )
        .await;
    assert_eq!(login.location(), Some(account_page.as_str()));
    for not_a_page in ["/admin/users/1/../../x", "/admin/users/%2F%2Fevil.example"] {
        let login = app
            .call(
                "login",
                &[
                    ("email", "root@example.com"),
                    ("password", PASSWORD),
                    ("next", not_a_page),
                ],
                None,
            )
            .await;
        assert_eq!(login.location(), Some("/tasks"), "{not_a_page}");
    }
}

#[tokio::test]
async fn the_admin_page_lists_searches_and_pages_accounts_with_their_details() {
    let app = spawn().await;
    let admin = admin_browser(&app, "root@example.com").await;
    // 55 more accounts, straight into the table (hashing 55 passwords would only cost time).
    let values: Vec<String> = (0..55)
        .map(|i| format!("('bulk{i:02}@example.org', 'Bulk {i:02}', 'not-a-hash', {i})"))
        .collect();
    execute(
        &app.state.db,
        &format!(
            "INSERT INTO users (email, name, password_hash, created_at) VALUES {}",
            values.join(", ")
        ),
    )
    .await;
    let other = browser(&app, "odd%name@example.net").await;
    app.add_task(&other, "Keeps a session alive").await;

    let first = app.get("/admin", Some(&admin)).await;
    assert_eq!(first.status, StatusCode::OK);
    for column in [
        "Name",
        "Email",
        "Role",
        "Created",
        "Last seen",
        "Live sessions",
        "Status",
    ] {
        assert_contains(&first, &format!("<th scope=\"col\">{column}</th>"));
    }
    // Newest first, 50 to a page, with a link to the next one.
    let accounts = table(&first);
    assert!(accounts.contains("odd%name@example.net"));
    assert!(accounts.contains("bulk54@example.org"));
    assert!(!accounts.contains("bulk04@example.org"));
    assert!(!accounts.contains("root@example.com"));
    let next = first
        .body
        .split("href=\"/admin?before=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a Next page link");
    let second = app
        .get(&format!("/admin?before={next}"), Some(&admin))
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_contains(&second, "bulk04@example.org");
    assert_contains(&second, "root@example.com");
    assert_contains(&second, "Back to the newest accounts");
    assert!(!table(&second).contains("bulk54@example.org"));
    // The administrator's row says so.
    assert!(table(&second).contains("Administrator"));

    // A search by part of an email or a name, case-insensitively; `%` is a literal.
    let found = app.get("/admin?q=BULK%2007", Some(&admin)).await;
    assert!(table(&found).contains("bulk07@example.org"));
    assert!(!table(&found).contains("bulk08@example.org"));
    assert_contains(&found, "value=\"BULK 07\"");
    let literal = app.get("/admin?q=%25", Some(&admin)).await;
    assert!(table(&literal).contains("odd%name@example.net"));
    assert!(!table(&literal).contains("bulk"));
    let none = app.get("/admin?q=nobody-like-this", Some(&admin)).await;
    assert_contains(
        &none,
        "No account’s email or name contains ‘nobody-like-this’.",
    );
}

#[tokio::test]
async fn the_admin_pages_show_security_events_with_whom_they_concern_and_who_did_them() {
    let app = spawn().await;
    let admin = admin_browser(&app, "root@example.com").await;
    let user = browser(&app, "watched@example.com").await;
    let user_id = id_of(&app, &user).await;
    let failed = app.login("watched@example.com", "not the password").await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    let page = format!("/admin/users/{user_id}");
    let reply = post_no_js(
        &app,
        "admin/set_disabled",
        &[("id", &user_id.to_string()), ("disabled", "true")],
        &page,
        &admin,
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);

    let all = app.get("/admin", Some(&admin)).await;
    assert_contains(&all, "Security events");
    assert_contains(&all, "Failed sign-in attempt from");
    assert_contains(&all, "Account created from");
    // Whom an event concerns links to that account's page, and who did it is named.
    assert_contains(
        &all,
        &format!("<a href=\"/admin/users/{user_id}\">watched@example.com</a>"),
    );
    assert_contains(&all, "Account disabled (by an administrator)");
    assert_contains(&all, " · by <a href=\"/admin/users/");
    assert_contains(&all, "<time datetime=\"");

    let one = app.get(&page, Some(&admin)).await;
    assert_contains(&one, "Failed sign-in attempt from");
    assert_contains(&one, "Account disabled (by an administrator)");
    assert_contains(&one, ">root@example.com</a>");
}

#[tokio::test]
async fn every_admin_action_works_as_a_plain_form_post() {
    let app = spawn().await;
    let admin = admin_browser(&app, "root@example.com").await;
    let user = browser(&app, "target@example.com").await;
    app.add_task(&user, "Will go with the account").await;
    let id = id_of(&app, &user).await;
    let id_text = id.to_string();
    let page = format!("/admin/users/{id}");
    let post = |server_fn: &'static str, fields: Vec<(&'static str, String)>| {
        let (app, admin, page) = (&app, &admin, &page);
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let reply = post_no_js(app, server_fn, &fields, page, admin).await;
            assert_eq!(
                reply.status,
                StatusCode::SEE_OTHER,
                "{server_fn}: {}",
                reply.body
            );
            reply
        }
    };

    // Make admin, then remove admin: back on the account's page, which shows the role.
    let reply = post(
        "admin/set_role",
        vec![("id", id_text.clone()), ("role", "admin".into())],
    )
    .await;
    assert_eq!(reply.location(), Some(page.as_str()));
    assert!(reply.form_error_cookie().is_none());
    let shown = app.get(&page, Some(&admin)).await;
    assert_contains(&shown, "Remove admin");
    assert_contains(&shown, "<dd>Administrator</dd>");
    post(
        "admin/set_role",
        vec![("id", id_text.clone()), ("role", "user".into())],
    )
    .await;
    let shown = app.get(&page, Some(&admin)).await;
    assert_contains(&shown, "Make admin");
    assert_contains(&shown, "<dd>User</dd>");

    // Sign out all their sessions: the person's page needs a login again.
    post("admin/sign_out", vec![("id", id_text.clone())]).await;
    let after = app.get("/tasks", Some(&user)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), Some("/login?next=/tasks"));

    // Disable: signed out at once and refused at login; enable: they can sign in again.
    let user = app
        .login("target@example.com", PASSWORD)
        .await
        .auth_cookies();
    post(
        "admin/set_disabled",
        vec![("id", id_text.clone()), ("disabled", "true".into())],
    )
    .await;
    assert_eq!(
        app.get("/tasks", Some(&user)).await.location(),
        Some("/login?next=/tasks")
    );
    let shown = app.get(&page, Some(&admin)).await;
    assert_contains(&shown, "Disabled: cannot sign in");
    assert_contains(&shown, "Enable account");
    assert_eq!(
        app.login("target@example.com", PASSWORD).await.status,
        StatusCode::FORBIDDEN
    );
    post(
        "admin/set_disabled",
        vec![("id", id_text.clone()), ("disabled", "false".into())],
    )
    .await;
    assert_contains(&app.get(&page, Some(&admin)).await, "Disable account");
    assert_eq!(
        app.login("target@example.com", PASSWORD).await.status,
        StatusCode::OK
    );

    // Delete: refused without the account's email typed, then done with it.
    let refused = post(
        "admin/delete",
        vec![
            ("id", id_text.clone()),
            ("confirm_email", "someone@else.example".into()),
        ],
    )
    .await;
    assert_eq!(refused.location(), Some(page.as_str()));
    let shown = page_after(&app, &refused, &admin).await;
    assert_contains(&shown, "Type it exactly to confirm the deletion.");
    assert_contains(&shown, "aria-invalid=\"true\"");
    assert_eq!(app.count_users().await, 2, "nothing deleted");
    let done = post(
        "admin/delete",
        vec![
            ("id", id_text.clone()),
            ("confirm_email", " Target@Example.com ".into()),
        ],
    )
    .await;
    assert_eq!(done.location(), Some("/admin"));
    assert_eq!(app.count_users().await, 1);
    assert_eq!(
        app.get(&page, Some(&admin)).await.status,
        StatusCode::NOT_FOUND
    );
    let tasks: i64 = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM tasks"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(tasks, 0, "its tasks went with it");
}

#[tokio::test]
async fn admin_refusals_come_back_to_the_page_next_to_the_action() {
    let app = spawn().await;
    let admin = admin_browser(&app, "root@example.com").await;
    let own = id_of(&app, &admin).await;
    let own_page = format!("/admin/users/{own}");

    // The own account's page offers none of the actions on it...
    let shown = app.get(&own_page, Some(&admin)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_contains(&shown, "This is your own account.");
    for action in [
        "Remove admin",
        "Disable account",
        "Delete this account",
        "Sign out all their sessions",
    ] {
        assert!(
            !shown.body.contains(action),
            "{action} offered on one's own page"
        );
    }
    // ...and a hand-made post is refused by the server, which says why on that page.
    for (server_fn, fields, message) in [
        (
            "admin/set_role",
            vec![("id", own.to_string()), ("role", "user".to_owned())],
            "You cannot remove your own administrator role.",
        ),
        (
            "admin/set_disabled",
            vec![("id", own.to_string()), ("disabled", "true".to_owned())],
            "You cannot disable your own account.",
        ),
        (
            "admin/delete",
            vec![
                ("id", own.to_string()),
                ("confirm_email", "root@example.com".to_owned()),
            ],
            "You cannot delete your own account from here.",
        ),
    ] {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = post_no_js(&app, server_fn, &fields, &own_page, &admin).await;
        assert_eq!(reply.location(), Some(own_page.as_str()), "{server_fn}");
        let page = page_after(&app, &reply, &admin).await;
        assert_contains(&page, message);
    }
    let still: i64 = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(still, 1);

    // A refusal on another account's page shows under the action that was refused.
    let user = browser(&app, "someone@example.com").await;
    let id = id_of(&app, &user).await;
    let page = format!("/admin/users/{id}");
    let reply = post_no_js(
        &app,
        "admin/set_role",
        &[("id", &id.to_string()), ("role", "root")],
        &page,
        &admin,
    )
    .await;
    let shown = page_after(&app, &reply, &admin).await;
    assert_contains(&shown, "`role` must be `user` or `admin`");

    // Ordinary users cannot post to the admin functions either.
    let reply = post_no_js(
        &app,
        "admin/set_role",
        &[("id", &own.to_string()), ("role", "user")],
        "/tasks",
        &user,
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let shown = page_after(&app, &reply, &user).await;
    assert_eq!(shown.status, StatusCode::OK, "back on their own page");
    let role: String = on_db!(&app.state.db, |c| sqlx::query_scalar(
        "SELECT role FROM users WHERE email = 'root@example.com'"
    )
    .fetch_one(c)
    .await)
    .unwrap();
    assert_eq!(role, "admin");
    let json = app
        .call(
            "admin/set_role",
            &[("id", &own.to_string()), ("role", "user")],
            Some(&user),
        )
        .await;
    assert_eq!(json.status, StatusCode::FORBIDDEN);
    assert_eq!(json.error_kind(), "admin_only");
}

#[tokio::test]
async fn the_old_sessions_address_redirects_permanently_to_the_account_page() {
    let app = spawn().await;
    let cookie = browser(&app, "moved@example.com").await;
    for who in [None, Some(cookie.as_str())] {
        let reply = app.get("/sessions", who).await;
        assert_eq!(reply.status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(reply.location(), Some("/account"));
    }
    assert_eq!(
        app.get("/account", Some(&cookie)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_account_page_shows_sessions_activity_the_download_and_deletion() {
    let app = spawn().await;
    let cookie = browser(&app, "me@example.com").await;
    let failed = app.login("me@example.com", "not the password").await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    let page = app.get("/account", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "<title>Account · Tasks</title>",
        "Sessions",
        "Change password",
        "Recent activity",
        "Account created from",
        "Failed sign-in attempt from",
        "<time datetime=\"",
        " UTC\"",
        "href=\"/api/v1/users/me/export\"",
        "Download my data",
        "Delete account",
        "Delete my account",
        "Your password",
    ] {
        assert_contains(&page, text);
    }
    // The link's target takes the browser's cookie and sends the file.
    let export = app.get("/api/v1/users/me/export", Some(&cookie)).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    assert_eq!(
        export.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"tasks-export.json\""
    );
    assert_eq!(export.json()["profile"]["email"], "me@example.com");
    // ...which the activity then shows.
    assert_contains(&app.get("/account", Some(&cookie)).await, "Data downloaded");
}

#[tokio::test]
async fn a_person_deletes_their_own_account_without_javascript() {
    let app = spawn().await;
    let cookie = browser(&app, "leaving@example.com").await;
    app.add_task(&cookie, "Not for long").await;
    let other = app
        .login("leaving@example.com", PASSWORD)
        .await
        .auth_cookies();

    let refused = post_no_js(
        &app,
        "account/delete",
        &[("password", "not the password")],
        "/account",
        &cookie,
    )
    .await;
    assert_eq!(refused.location(), Some("/account"));
    let shown = page_after(&app, &refused, &cookie).await;
    assert_contains(&shown, "Your password is not correct.");
    assert_contains(&shown, "autofocus");
    assert_eq!(app.count_users().await, 1);

    let done = post_no_js(
        &app,
        "account/delete",
        &[("password", PASSWORD)],
        "/account",
        &cookie,
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some("/"));
    // Both auth cookies are cleared with this answer.
    let cleared = done.set_cookies();
    for name in ["__Host-tasks_session=;", "__Host-tasks_refresh=;"] {
        assert!(
            cleared.iter().any(|c| c.starts_with(name)),
            "{name} in {cleared:?}"
        );
    }
    assert_eq!(app.count_users().await, 0);
    // Every session ended with it: this browser's and the other device's.
    for old in [&cookie, &other] {
        let reply = app.get("/tasks", Some(old)).await;
        assert_eq!(reply.location(), Some("/login?next=/tasks"));
    }
    assert_eq!(
        app.login("leaving@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_last_administrator_cannot_delete_their_account_from_the_account_page() {
    let app = spawn().await;
    let admin = admin_browser(&app, "only@example.com").await;
    let reply = post_no_js(
        &app,
        "account/delete",
        &[("password", PASSWORD)],
        "/account",
        &admin,
    )
    .await;
    assert_eq!(reply.location(), Some("/account"));
    let shown = page_after(&app, &reply, &admin).await;
    assert_contains(&shown, "This is the last administrator.");
    assert_eq!(app.count_users().await, 1);
}

/// The same page request a browser makes ahead of a click (speculation rules, issue 28).
async fn prefetch(app: &TestApp, path: &str, cookie: &str) -> Reply {
    let request = Request::get(path)
        .header(header::ACCEPT, "text/html")
        .header("sec-purpose", "prefetch")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn a_prefetch_uses_up_no_one_time_message_and_renews_no_session() {
    let app = spawn().await;
    let cookie = browser(&app, "ahead@example.com").await;
    // Every page names the rule set, which is served as browsers require it.
    let page = app.get("/tasks", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.headers["speculation-rules"],
        "\"/speculation-rules.json\""
    );
    let rules = app.get("/speculation-rules.json", None).await;
    assert_eq!(rules.status, StatusCode::OK);
    assert_eq!(
        rules.headers[header::CONTENT_TYPE],
        "application/speculationrules+json"
    );
    assert!(rules.json()["prefetch"].is_array());

    // A refused plain "New task" post: its message waits in the one-time cookie. A prefetch of
    // the page neither shows nor removes it; the visit that follows shows it, once.
    let message = "Enter a title for the task.";
    let refused = post_no_js(&app, "tasks/add", &[("title", "")], "/tasks", &cookie).await;
    let flash = refused
        .form_error_cookie()
        .expect("the refusal travels in the one-time cookie");
    let with_flash = format!("{cookie}; {flash}");
    let ahead = prefetch(&app, "/tasks", &with_flash).await;
    assert_eq!(ahead.status, StatusCode::OK, "{}", ahead.body);
    assert!(!ahead.body.contains(message));
    assert!(
        ahead
            .set_cookies()
            .iter()
            .all(|c| !c.starts_with("__Host-tasks_form_error")),
        "{:?}",
        ahead.set_cookies()
    );
    let visit = app.get("/tasks", Some(&with_flash)).await;
    assert_contains(&visit, message);
    assert!(
        visit
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-tasks_form_error=;")),
        "the visit removes the cookie: {:?}",
        visit.set_cookies()
    );

    // The access cookie expired (only the refresh cookie is left): opening a page renews the
    // session. A prefetch must not spend the refresh token (a dropped prefetch would take the
    // new one with it), so it is refused as too early and changes nothing; the visit renews.
    let refresh_only = cookie
        .split("; ")
        .find(|pair| !pair.starts_with(&format!("{}=", common::COOKIE_NAME)))
        .expect("the refresh cookie")
        .to_owned();
    let ahead = prefetch(&app, "/tasks", &refresh_only).await;
    assert_eq!(ahead.status, StatusCode::TOO_EARLY, "{}", ahead.body);
    assert!(ahead.set_cookies().is_empty(), "{:?}", ahead.set_cookies());
    let visit = app.get("/tasks", Some(&refresh_only)).await;
    assert_eq!(visit.status, StatusCode::OK, "{}", visit.body);
    assert!(
        visit.refresh_cookie().is_some(),
        "the visit renewed the session"
    );
}
