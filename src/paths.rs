//! The app's page paths, shared by the route tree, links, redirects and server functions.
//!
//! This module imports only the shared model, so anything may depend on it without a cycle.

use crate::model::TaskFilter;

pub const HOME: &str = "/";
pub const LOGIN: &str = "/login";
pub const REGISTER: &str = "/register";
/// Signing up with a passkey instead of a password (the page loads the passkey module).
pub const REGISTER_PASSKEY: &str = "/register/passkey";
pub const TASKS: &str = "/tasks";
/// The person's own account: sessions, password, activity, their data, deleting it.
pub const ACCOUNT: &str = "/account";
/// Where the account page used to be; answered with a permanent redirect to [`ACCOUNT`].
pub const OLD_SESSIONS: &str = "/sessions";
/// Administrators only: accounts and security events.
pub const ADMIN: &str = "/admin";
/// "Forgot your password?": asks for the address a reset link goes to.
pub const FORGOT_PASSWORD: &str = "/forgot-password";
/// Where a mailed password-reset link leads (`?token=…`): the form for the new password.
pub const RESET_PASSWORD: &str = "/reset-password";
/// Where a mailed verification link leads (`?token=…`): opening it verifies the address.
pub const VERIFY_EMAIL: &str = "/verify-email";
/// Where a mailed email-change link leads (`?token=…`): opening it makes the change.
pub const CONFIRM_EMAIL: &str = "/confirm-email";
/// Where a mailed "This wasn't me" link leads (`?token=…`): secures the account, then on to
/// choosing a new password.
pub const SECURE_ACCOUNT: &str = "/secure-account";
/// Sign-in's second step: the authenticator code (or a recovery code) after a correct password,
/// for accounts with two-step sign-in.
pub const LOGIN_CODE: &str = "/login/code";
/// Setting up two-step sign-in: the QR code, the first code, the recovery codes.
pub const TWO_STEP_SETUP: &str = "/account/two-step";
/// "Download my data": the REST export, which accepts the browser's cookie.
pub const MY_DATA_EXPORT: &str = "/api/v1/users/me/export";

/// The login page that returns to `page` once the person has signed in.
pub fn login_then(page: &str) -> String {
    format!("{LOGIN}?next={page}")
}

/// The second step of a sign-in that returns to `next` (a page path, or nothing) afterwards.
pub fn login_code_then(next: &str) -> String {
    if next.is_empty() {
        LOGIN_CODE.to_owned()
    } else {
        format!("{LOGIN_CODE}?next={}", percent_encode(next))
    }
}

/// The second step of a sign-in with a recovery code instead of the app's code.
pub fn login_recovery_then(next: &str) -> String {
    with_query(LOGIN_CODE, &[("method", "recovery"), ("next", next)])
}

/// The login page again (a second step that expired), returning to `next` afterwards.
pub fn login_again(next: &str) -> String {
    with_query(LOGIN, &[("next", next)])
}

/// One account's page under `/admin`.
pub fn admin_account(id: i64) -> String {
    format!("{ADMIN}/users/{id}")
}

/// `/admin`'s account list: accounts matching `q` (all when empty), starting below `before`.
pub fn admin_list(q: &str, before: Option<i64>) -> String {
    let before = before.map(|before| before.to_string()).unwrap_or_default();
    with_query(ADMIN, &[("q", q), ("before", &before)])
}

/// `/admin` showing security events older than event `before`.
pub fn admin_events(before: i64) -> String {
    format!("{ADMIN}?events_before={before}#events")
}

/// `path` with a `name=value` pair for each pair with a non-empty value, the value
/// percent-encoded.
fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986), so a search text cannot
/// break out of its query parameter (or a text, of the `data:` URI it is put in).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The task list with a filter (`/tasks?show=open`), optionally with task `edit`'s rename form
/// open (what the Rename button opens without JavaScript).
pub fn task_list(filter: TaskFilter, edit: Option<i64>) -> String {
    let mut query = Vec::new();
    if let Some(show) = filter.query_value() {
        query.push(format!("show={show}"));
    }
    if let Some(id) = edit {
        query.push(format!("edit={id}"));
    }
    if query.is_empty() {
        TASKS.to_owned()
    } else {
        format!("{TASKS}?{}", query.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_list_keeps_its_search_in_one_encoded_parameter() {
        assert_eq!(admin_list("", None), "/admin");
        assert_eq!(admin_list("", Some(7)), "/admin?before=7");
        assert_eq!(
            admin_list("ada & co=1#x", Some(7)),
            "/admin?q=ada%20%26%20co%3D1%23x&before=7"
        );
        assert_eq!(admin_list("bücher", None), "/admin?q=b%C3%BCcher");
    }

    #[test]
    fn the_second_step_links_keep_the_page_to_return_to() {
        assert_eq!(login_code_then("/tasks"), "/login/code?next=%2Ftasks");
        assert_eq!(
            login_recovery_then("/tasks"),
            "/login/code?method=recovery&next=%2Ftasks"
        );
        assert_eq!(login_recovery_then(""), "/login/code?method=recovery");
        assert_eq!(login_again(""), "/login");
        assert_eq!(login_again("/a&b"), "/login?next=%2Fa%26b");
    }
}
