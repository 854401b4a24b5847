//! Types that cross the wire between the server and the browser.
//!
//! Nothing here may ever hold a password, a hash or a token: these types are `Serialize` and end
//! up in HTML, JSON and the wasm client.

use serde::{Deserialize, Serialize};

/// A signed-up person, as others (and they themselves) may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// Unix time in milliseconds.
    pub created_at: i64,
    /// What the person may do; read from the database with every request's session.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub role: Role,
    /// Whether the person proved `email` receives their mail (a verification or email-change
    /// link opened, or a password reset through a mailed link).
    pub email_verified: bool,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What an account may do: everyone is a `user`; an `admin` also manages other accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[default]
    User,
    Admin,
}

impl Role {
    /// The name stored in `users.role` and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// The role a stored or submitted name means.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name).ok_or_else(|| format!("unknown role `{name}` in users.role"))
    }
}

/// One item of a person's task list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub done: bool,
    /// Unix time in milliseconds.
    pub created_at: i64,
}

/// Which of a person's tasks the list shows (`/tasks?show=open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TaskFilter {
    #[default]
    All,
    Open,
    Done,
}

impl TaskFilter {
    /// The filter a `show` query value names; anything else (or nothing) is `All`.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("open") => Self::Open,
            Some("done") => Self::Done,
            _ => Self::All,
        }
    }

    /// The `show` query value, `None` for `All` (the list's plain address).
    pub fn query_value(self) -> Option<&'static str> {
        match self {
            Self::All => None,
            Self::Open => Some("open"),
            Self::Done => Some("done"),
        }
    }

    /// The `done` value the tasks shown must have, `None` for all.
    pub fn done(self) -> Option<bool> {
        match self {
            Self::All => None,
            Self::Open => Some(false),
            Self::Done => Some(true),
        }
    }

    /// Whether a task with this `done` value belongs in the list.
    pub fn shows(self, done: bool) -> bool {
        self.done().is_none_or(|d| d == done)
    }
}

/// What a delete (or "Clear done") removed: how many tasks, and the batch that Undo names to
/// bring them back (for a few minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    pub batch: i64,
    pub count: u64,
}

/// One page of the task list as the web page shows it: the tasks, where the next page starts,
/// and the counts of the filter tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskListPage {
    pub tasks: Vec<Task>,
    /// The `before` cursor of the next page (the id of the last task here), if there is one.
    pub next: Option<i64>,
    /// How many open and done tasks the person has in all.
    pub open: i64,
    pub done: i64,
}

/// One of a person's signed-in sessions, for the account page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Opaque id, used to revoke it.
    pub id: String,
    /// The User-Agent the session was started with.
    pub user_agent: String,
    /// A short description of it, such as "Firefox on Linux".
    pub device: String,
    pub ip: String,
    /// Unix time in milliseconds.
    pub created_at: i64,
    /// Unix time in milliseconds.
    pub last_used_at: i64,
    /// `last_used_at` as text (UTC), formatted on the server so the page renders identically
    /// before and after hydration.
    pub last_used: String,
    /// `last_used_at` relative to the time of the listing ("5 minutes ago").
    pub last_used_ago: String,
    /// `last_used_at` as RFC 3339, for `<time datetime>`.
    pub last_used_iso: String,
    /// The session this list was requested from.
    pub current: bool,
}

/// One entry of a person's "Recent activity" (the audit trail, as its subject sees it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityItem {
    pub id: i64,
    /// The event's name, such as `login_succeeded`.
    pub event: String,
    /// The event as a sentence: "Signed in from Chrome on Linux".
    pub summary: String,
    pub ip: String,
    /// RFC 3339, for `<time datetime>`.
    pub at_iso: String,
    /// "2026-11-25 16:40 UTC".
    pub at_text: String,
    /// "2 hours ago", relative to the time of the listing.
    pub at_ago: String,
}

/// An account an audit event names (whom it concerns, or who did it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: i64,
    /// `None` once the account has been deleted (the record outlives it).
    pub email: Option<String>,
}

/// An event of the audit trail as administrators see it: what happened, and to and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditItem {
    pub activity: ActivityItem,
    /// The account it concerns; `None` for a failed sign-in aimed at no account.
    pub subject: Option<Party>,
    /// Who did it; `None` for an anonymous client or the command line.
    pub actor: Option<Party>,
}

/// One page of `/admin`'s security events, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditItem>,
    /// The `before` cursor of the next (older) page, if there is one.
    pub next: Option<i64>,
}

/// What `/admin/users/:id` shows: the account, its latest events, and whether it is the
/// viewer's own (whose role, status and existence the page does not offer to change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDetail {
    pub account: Account,
    pub activity: Vec<AuditItem>,
    pub is_you: bool,
}

/// An account as administrators see it on `/admin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub user: User,
    pub disabled: bool,
    /// Sessions that are neither ended nor expired.
    pub live_sessions: i64,
    /// When any of its sessions was last used, as RFC 3339 and relative ("2 hours ago").
    pub last_seen_iso: Option<String>,
    pub last_seen_ago: Option<String>,
    /// The same as "2026-11-25 16:40 UTC".
    pub last_seen_text: Option<String>,
    /// "2026-11-25 16:40 UTC".
    pub created_text: String,
    /// Whether signing in asks for an authenticator code (an administrator can turn it off
    /// for a person who lost their phone and their recovery codes).
    pub two_step: bool,
}

/// Two-step sign-in as the account page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TwoStepStatus {
    /// Signing in asks for a code from an authenticator app.
    pub enabled: bool,
    /// Unused recovery codes (0 when two-step sign-in is off).
    pub recovery_codes_left: i64,
}

/// A passkey ceremony the server started: the browser hands `options` (WebAuthn JSON) to
/// `navigator.credentials` and sends the answer back with `ticket`, which names the ceremony
/// on the server (single use, 5 minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub ticket: String,
    pub options: String,
}

/// One of the signed-in person's passkeys, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyInfo {
    pub id: i64,
    pub name: String,
    /// Unix time in milliseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// `created_at` as text ("2026-12-04 20:15 UTC").
    pub added: String,
    /// `last_used_at` as text.
    pub last_used: Option<String>,
    /// The passkey is synced by its provider (a password manager or platform account), so it
    /// survives losing one device.
    pub backed_up: bool,
    /// Why and since when it is suspended (it signs in nowhere until re-enabled), if it is.
    pub suspended: Option<String>,
}

/// The account page's passkeys section: the passkeys, and whether the account has a password
/// (one made with a passkey only does not until the person adds one).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PasskeyOverview {
    pub passkeys: Vec<PasskeyInfo>,
    pub has_password: bool,
}

/// What setting up two-step sign-in shows, once: the new secret for the authenticator app.
/// It crosses the wire only to the person who asked, with their password, and is never cached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepSetup {
    /// The secret in base32, for apps that cannot scan.
    pub secret: String,
    /// `otpauth://totp/Tasks:{email}?secret=…&issuer=Tasks`.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG image drawn on the server.
    pub qr_svg: String,
}

/// One page of `/admin`'s account list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPage {
    pub accounts: Vec<Account>,
    /// The `before` cursor of the next page, if there is one.
    pub next: Option<i64>,
}

/// Length limits shared by the forms (as `maxlength` hints) and the server (as the real check).
pub mod limits {
    pub const NAME_MAX: usize = 100;
    /// A passkey's name ("Phone", "Work laptop").
    pub const PASSKEY_NAME_MAX: usize = 60;
    pub const PASSWORD_MIN: usize = 8;
    pub const PASSWORD_MAX: usize = 128;
    pub const TITLE_MAX: usize = 500;
    pub const EMAIL_MAX: usize = 254;
}
