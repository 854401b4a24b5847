//! The JSON shapes of the REST API (documented in the OpenAPI document).

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use utoipa::{IntoParams, ToSchema};

use crate::model::{Role, Task, User};

/// Unix milliseconds as RFC 3339 (`2026-11-25T14:00:00.123Z`), what FastAPI clients expect.
pub fn rfc3339(millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// `POST /api/v1/auth/register` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "name": "Ada", "password": "correct horse battery staple"}))]
pub struct RegisterBody {
    /// Stored trimmed and lower-cased; must be unique.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 1 to 100 characters after trimming.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub name: String,
    /// 8 to 128 characters; never trimmed or truncated. Refused when it is one of the 30,000
    /// most common passwords, when zxcvbn estimates it at under 10^6 guesses (sequences,
    /// repeats, keyboard rows), or when it contains the email's local part.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// `POST /api/v1/auth/password-reset`: where to send a password-reset link.
#[derive(Deserialize, ToSchema)]
pub struct PasswordResetBody {
    /// The account's email. The answer is the same whether or not an account has it.
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
}

/// `POST /api/v1/auth/password-reset/confirm`: the token from the mailed link and the new
/// password.
#[derive(Deserialize, ToSchema)]
pub struct PasswordResetConfirmBody {
    /// The `token` parameter of the link in the mail.
    #[schema(max_length = 256)]
    pub token: String,
    /// Under the same rules as at sign-up.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// `POST /api/v1/auth/verify-email`: the token from a verification link.
#[derive(Deserialize, ToSchema)]
pub struct VerifyEmailBody {
    /// The `token` parameter of the link in the mail.
    #[schema(max_length = 256)]
    pub token: String,
}

/// `POST /api/v1/users/me/email`: the address to move the account to, and the current
/// password.
#[derive(Deserialize, ToSchema)]
pub struct ChangeEmailBody {
    /// Normalized like at sign-up; must not belong to another account.
    #[schema(format = Email, max_length = 254)]
    pub new_email: String,
    pub password: String,
}

/// A `202 Accepted`: what was done, in a sentence.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedOut {
    pub detail: String,
}

/// A user, without any credential material.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// RFC 3339 timestamp.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// `admin` may manage other accounts under `/api/v1/admin`; everyone else is `user`.
    pub role: Role,
    /// Whether the person proved `email` is theirs by opening a link mailed to it. New
    /// accounts get a verification mail; `POST /api/v1/users/me/verification` sends another.
    pub email_verified: bool,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            created_at: rfc3339(u.created_at),
            role: u.role,
            email_verified: u.email_verified,
        }
    }
}

/// OAuth2 token request (`application/x-www-form-urlencoded`): the password grant (`username`
/// and `password`) or the refresh-token grant (`grant_type=refresh_token` and `refresh_token`).
#[derive(Deserialize, ToSchema)]
pub struct TokenForm {
    /// The account's email (password grant).
    pub username: Option<String>,
    /// The password (password grant).
    pub password: Option<String>,
    /// `password` (the default), `refresh_token`, or `mfa_otp` (the second step of an account
    /// with two-step sign-in).
    pub grant_type: Option<String>,
    /// The refresh token to exchange (refresh-token grant).
    pub refresh_token: Option<String>,
    /// `mfa_otp` grant: the `mfa_token` of the `403 mfa_required` answer to the password.
    pub mfa_token: Option<String>,
    /// `mfa_otp` grant: the 6-digit code of the authenticator app.
    pub otp: Option<String>,
    /// `mfa_otp` grant: one of the recovery codes instead of `otp` (each works once).
    pub recovery_code: Option<String>,
    /// Accepted for OAuth2 compatibility and ignored: tokens carry no scopes.
    #[allow(dead_code)]
    pub scope: Option<String>,
}

/// `POST /api/v1/auth/refresh` body.
#[derive(Deserialize, ToSchema)]
pub struct RefreshBody {
    /// The refresh token from the last token response. Single use: the answer carries its
    /// replacement.
    pub refresh_token: String,
}

/// The token response of RFC 6749 §5.1.
#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    pub access_token: String,
    /// Always `bearer`.
    #[schema(value_type = String, example = "bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Exchange it at `/api/v1/auth/refresh` for a new pair before it expires (it is
    /// single-use; presenting it twice ends the session).
    pub refresh_token: String,
    /// Seconds until the refresh token expires if unused.
    pub refresh_expires_in: u64,
}

/// One of the caller's passkeys.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyOut {
    pub id: i64,
    pub name: String,
    /// RFC 3339 timestamp.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339 timestamp, or `null` if it never signed in.
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    /// Synced by its provider (a password manager or platform account).
    pub backed_up: bool,
    /// A suspended passkey signs in nowhere until its owner re-enables it on the account page.
    pub suspended: bool,
    /// RFC 3339 timestamp of the suspension, or `null`.
    #[schema(format = DateTime)]
    pub suspended_at: Option<String>,
    /// `cloned` (its signature counter went backwards at a sign-in: a copy of it may exist) or
    /// `secured` ("This wasn't me" was used); `null` when not suspended.
    pub suspended_reason: Option<String>,
}

impl From<crate::server::db::passkeys::Listed> for PasskeyOut {
    fn from(p: crate::server::db::passkeys::Listed) -> Self {
        Self {
            id: p.id,
            name: p.name,
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
            backed_up: p.backed_up,
            suspended: p.suspended_at.is_some(),
            suspended_at: p.suspended_at.map(rfc3339),
            suspended_reason: p.suspended_reason,
        }
    }
}

/// One of the caller's signed-in sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    pub id: String,
    /// The browser or client that signed in, from its User-Agent.
    pub user_agent: String,
    pub ip: String,
    /// RFC 3339 timestamp.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339 timestamp.
    #[schema(format = DateTime)]
    pub last_used_at: String,
    /// Whether this is the session of the token making the request.
    pub current: bool,
}

impl From<crate::model::SessionInfo> for SessionOut {
    fn from(s: crate::model::SessionInfo) -> Self {
        Self {
            id: s.id,
            user_agent: s.user_agent,
            ip: s.ip,
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            current: s.current,
        }
    }
}

/// `POST /api/v1/users/me/password` body.
#[derive(Deserialize, ToSchema)]
pub struct PasswordChangeBody {
    pub current_password: String,
    /// Same rules as at registration.
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// A task.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    pub id: i64,
    pub title: String,
    pub done: bool,
    /// RFC 3339 timestamp.
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<Task> for TaskOut {
    fn from(t: Task) -> Self {
        Self {
            id: t.id,
            title: t.title,
            done: t.done,
            created_at: rfc3339(t.created_at),
        }
    }
}

/// `GET /api/v1/tasks` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Return tasks older than this one: the `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// Only done (`true`) or open (`false`) tasks.
    pub done: Option<bool>,
}

/// One page of tasks, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<TaskOut>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<i64>,
    /// The URL of the next page; `null` on the last page.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// What the `pattern` of names and titles says: at least one character that is not Unicode
/// `White_Space`, i.e. not removed by `str::trim`. Spelled out rather than `\S`, whose meaning
/// differs between regex dialects (JavaScript's `\s` lacks U+0085, Python's has U+001C–U+001F),
/// so clients and schema-based testers agree with the server about every character.
pub const NOT_ONLY_WHITESPACE: &str =
    r"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// `POST /api/v1/tasks` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTask {
    /// 1 to 500 characters after trimming.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub title: String,
}

/// `PATCH /api/v1/tasks/{id}` body: any of the fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskPatch {
    /// 1 to 500 characters after trimming.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"[^\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    pub title: Option<String>,
    pub done: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The characters a `[^...]` class of escapes (`\t`, `\uXXXX`, ranges, literals) excludes.
    fn excluded(class: &str) -> std::collections::BTreeSet<char> {
        let body = class
            .strip_prefix("[^")
            .and_then(|c| c.strip_suffix(']'))
            .expect("a negated class");
        let mut chars = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let (c, tail) = if let Some(hex) = rest.strip_prefix("\\u") {
                (u32::from_str_radix(&hex[..4], 16).unwrap(), &hex[4..])
            } else if let Some(tail) = rest.strip_prefix('\\') {
                let c = match tail.as_bytes()[0] {
                    b't' => 9,
                    b'n' => 10,
                    b'v' => 11,
                    b'f' => 12,
                    b'r' => 13,
                    other => panic!("unexpected escape \\{}", other as char),
                };
                (c, &tail[1..])
            } else {
                let c = rest.chars().next().unwrap();
                (c as u32, &rest[c.len_utf8()..])
            };
            chars.push(char::from_u32(c).unwrap());
            rest = tail;
        }
        let mut set = std::collections::BTreeSet::new();
        let mut i = 0;
        while i < chars.len() {
            if chars.get(i + 1) == Some(&'-') && i + 2 < chars.len() {
                set.extend(chars[i]..=chars[i + 2]);
                i += 3;
            } else {
                set.insert(chars[i]);
                i += 1;
            }
        }
        set
    }

    #[test]
    fn the_title_and_name_pattern_excludes_exactly_what_trim_removes() {
        let whitespace: std::collections::BTreeSet<char> = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        assert_eq!(excluded(NOT_ONLY_WHITESPACE), whitespace);
    }

    #[test]
    fn the_openapi_document_uses_that_pattern_for_names_and_titles() {
        let doc = serde_json::to_value(<super::super::doc::ApiDoc as utoipa::OpenApi>::openapi())
            .unwrap();
        let schemas = &doc["components"]["schemas"];
        for (schema, field) in [
            ("RegisterBody", "name"),
            ("NewTask", "title"),
            ("TaskPatch", "title"),
        ] {
            let property = &schemas[schema]["properties"][field];
            let pattern = property["pattern"]
                .as_str()
                .or_else(|| property["oneOf"][0]["pattern"].as_str())
                .or_else(|| property["anyOf"][0]["pattern"].as_str());
            assert_eq!(
                pattern,
                Some(NOT_ONLY_WHITESPACE),
                "{schema}.{field}: {property}"
            );
        }
    }
}

/// An account, as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// RFC 3339 timestamp.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// A disabled account can neither sign in nor use a session; its data is kept.
    pub disabled: bool,
    /// When any of its sessions was last used (RFC 3339); `null` if it never signed in.
    #[schema(format = DateTime, required = true)]
    pub last_seen_at: Option<String>,
    /// Sessions that are neither ended nor expired.
    pub live_sessions: i64,
    /// Signing in asks for an authenticator code (`DELETE /admin/users/{id}/totp` turns it
    /// off).
    pub two_step: bool,
}

impl From<crate::server::db::users::AccountRow> for AccountOut {
    fn from(row: crate::server::db::users::AccountRow) -> Self {
        Self {
            id: row.user.id,
            email: row.user.email,
            name: row.user.name,
            role: row.user.role,
            created_at: rfc3339(row.user.created_at),
            disabled: row.disabled,
            last_seen_at: row.last_seen_at.map(rfc3339),
            live_sessions: row.live_sessions,
            two_step: row.two_step,
        }
    }
}

/// One page of accounts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountPageOut {
    pub items: Vec<AccountOut>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<i64>,
    /// The URL of the next page; `null` on the last page.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// `GET /api/v1/admin/users` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// Only accounts whose email or name contains this text (case-insensitive).
    #[param(max_length = 254)]
    pub q: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Return accounts older than this one: the `next_cursor` of the previous page.
    pub cursor: Option<i64>,
}

/// `PATCH /api/v1/admin/users/{id}` body: any of the fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AccountPatch {
    /// `admin` or `user`. Administrators cannot demote themselves, and the last enabled
    /// administrator cannot be demoted.
    pub role: Option<Role>,
    /// `true` disables the account and ends its sessions at once; `false` enables it again.
    pub disabled: Option<bool>,
}

/// A security event from the audit trail. Never holds a password, token or cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    pub id: i64,
    /// RFC 3339 timestamp.
    #[schema(format = DateTime)]
    pub at: String,
    /// `sign_up`, `login_succeeded`, `login_failed`, `login_throttled`, `refresh_token_reuse`,
    /// `logout`, `session_revoked`, `password_changed`, `role_changed`, `account_disabled`,
    /// `account_enabled`, `account_deleted`, `data_exported`, `password_reset_requested`,
    /// `password_reset`, `email_verified`, `email_change_requested`, `email_changed`,
    /// `two_step_enabled`, `two_step_disabled`, `recovery_codes_replaced`, `passkey_added`,
    /// `passkey_removed`, `passkey_suspected_clone`, `passkey_reenabled`, `account_secured` or
    /// `new_device_alert`.
    pub event: String,
    /// The event as a sentence, e.g. "Signed in from Firefox on Linux".
    pub summary: String,
    /// Who did it: a user id, or `null` for an anonymous client or the command line.
    #[schema(required = true)]
    pub actor_id: Option<i64>,
    /// Whose account it concerns.
    #[schema(required = true)]
    pub subject_id: Option<i64>,
    pub ip: String,
    pub user_agent: String,
    /// The `x-request-id` of the request, to find its log lines.
    pub request_id: String,
    /// A short detail such as `user → admin`; may be empty.
    pub detail: String,
}

impl From<crate::server::db::audit::EventRow> for AuditEventOut {
    fn from(row: crate::server::db::audit::EventRow) -> Self {
        Self {
            summary: crate::server::audit::summary(&row),
            id: row.id,
            at: rfc3339(row.at),
            event: row.event,
            actor_id: row.actor_id,
            subject_id: row.subject_id,
            ip: row.ip,
            user_agent: row.user_agent,
            request_id: row.request_id,
            detail: row.detail,
        }
    }
}

/// One page of audit events, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageOut {
    pub items: Vec<AuditEventOut>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<i64>,
    /// The URL of the next page; `null` on the last page.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// `GET /api/v1/admin/audit` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events concerning this account.
    pub user_id: Option<i64>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Return events older than this one: the `next_cursor` of the previous page.
    pub cursor: Option<i64>,
}

/// `GET /api/v1/users/me/activity` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Return events older than this one: the `next_cursor` of the previous page.
    pub cursor: Option<i64>,
}

/// `POST /api/v1/users/me/totp` body.
#[derive(Deserialize, ToSchema)]
pub struct TotpStartBody {
    /// The account's current password.
    pub password: String,
}

/// A new authenticator-app secret, waiting for its first code (`/users/me/totp/confirm`).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "otpauth_uri": "otpauth://totp/Tasks:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Tasks"}))]
pub struct TotpSetupOut {
    /// The secret in base32, for apps that cannot scan (RFC 6238: SHA-1, 6 digits, 30 s).
    pub secret: String,
    /// The `otpauth://` URI authenticator apps read (as a QR code on the account page).
    pub otpauth_uri: String,
}

/// `POST /api/v1/users/me/totp/confirm` body.
#[derive(Deserialize, ToSchema)]
pub struct TotpConfirmBody {
    /// The current 6-digit code of the new secret.
    pub code: String,
}

/// `DELETE /api/v1/users/me/totp` and `POST /api/v1/users/me/recovery-codes` body.
#[derive(Deserialize, ToSchema)]
pub struct TotpCheckBody {
    /// The account's current password.
    pub password: String,
    /// A current 6-digit code of the authenticator app, or an unused recovery code (which is
    /// then spent).
    pub code: String,
}

/// Recovery codes, shown only in this answer: each works once instead of a code.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"recovery_codes": ["7xkq-2m9d-h4tr-p0ab", "…"]}))]
pub struct RecoveryCodesOut {
    pub recovery_codes: Vec<String>,
}

/// `DELETE /api/v1/users/me` body.
#[derive(Deserialize, ToSchema)]
pub struct AccountDeletion {
    /// The account's current password.
    pub password: String,
}

/// Everything Tasks keeps about the caller (`GET /api/v1/users/me/export`).
#[derive(Serialize, ToSchema)]
pub struct ExportOut {
    pub profile: UserOut,
    /// Every task, newest first.
    pub tasks: Vec<TaskOut>,
    /// The live sessions.
    pub sessions: Vec<SessionOut>,
    /// The audit trail of the account, newest first (as far back as `AUDIT_RETENTION`).
    pub activity: Vec<AuditEventOut>,
    /// When the export was made (RFC 3339).
    #[schema(format = DateTime)]
    pub exported_at: String,
}
