//! The audit trail: security events, written to `audit_events` where they happen and read back
//! as a person's "Recent activity" and as the administrators' record.
//!
//! An event holds when, what, who did it (actor), whose account it concerns (subject), and the
//! client: IP, user agent and the request id its log lines carry. Never a password, a token or
//! a cookie value: nothing here is given one, and `detail` is always one of a few fixed
//! phrases built here.

use std::time::Duration;

use super::{
    auth::ClientInfo,
    db::{self, audit::EventRow, duration_millis, now_millis},
    sessions::{describe_user_agent, time_ago},
    state::AppState,
};
use crate::{
    error::AppError,
    model::{ActivityItem, AuditItem, Party},
};

/// What happened. The stored names are part of the API (`event` in the audit endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    SignUp,
    LoginSucceeded,
    LoginFailed,
    /// Sign-in attempts refused for a while after too many failures.
    LoginThrottled,
    RefreshTokenReuse,
    Logout,
    SessionRevoked,
    PasswordChanged,
    RoleChanged,
    AccountDisabled,
    AccountEnabled,
    AccountDeleted,
    DataExported,
    /// A password-reset link was mailed (only for an existing, enabled account).
    PasswordResetRequested,
    /// The password was set through a mailed reset link; every session ended.
    PasswordReset,
    EmailVerified,
    /// An email change was asked for; the link went to the new address.
    EmailChangeRequested,
    /// The account moved to a new address (its link was opened).
    EmailChanged,
    /// Two-step sign-in turned on (an authenticator app confirmed with a code).
    TwoStepEnabled,
    /// Two-step sign-in turned off, by the person or (detail) by an administrator.
    TwoStepDisabled,
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesReplaced,
    /// A passkey was added (detail: its name); every other session ended.
    PasskeyAdded,
    /// A passkey was removed (detail: its name); every other session ended.
    PasskeyRemoved,
    /// A passkey's signature counter did not go up at a sign-in: a copy of it may exist. The
    /// passkey was suspended (detail: its name).
    PasskeySuspectedClone,
    /// The owner lifted a passkey's suspension (detail: its name).
    PasskeyReenabled,
    /// "This wasn't me": every session ended, passkeys suspended, device allowances withdrawn.
    AccountSecured,
    /// A sign-in from a browser the account had not used before was mailed to the owner.
    NewDeviceAlert,
}

impl Event {
    /// Every event, for documentation and tests.
    pub const ALL: [Self; 27] = [
        Self::SignUp,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginThrottled,
        Self::RefreshTokenReuse,
        Self::Logout,
        Self::SessionRevoked,
        Self::PasswordChanged,
        Self::RoleChanged,
        Self::AccountDisabled,
        Self::AccountEnabled,
        Self::AccountDeleted,
        Self::DataExported,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::EmailVerified,
        Self::EmailChangeRequested,
        Self::EmailChanged,
        Self::TwoStepEnabled,
        Self::TwoStepDisabled,
        Self::RecoveryCodesReplaced,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::PasskeySuspectedClone,
        Self::PasskeyReenabled,
        Self::AccountSecured,
        Self::NewDeviceAlert,
    ];

    /// The name stored in `audit_events.event`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::Logout => "logout",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::RoleChanged => "role_changed",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
            Self::AccountDeleted => "account_deleted",
            Self::DataExported => "data_exported",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::EmailVerified => "email_verified",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::TwoStepEnabled => "two_step_enabled",
            Self::TwoStepDisabled => "two_step_disabled",
            Self::RecoveryCodesReplaced => "recovery_codes_replaced",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::PasskeySuspectedClone => "passkey_suspected_clone",
            Self::PasskeyReenabled => "passkey_reenabled",
            Self::AccountSecured => "account_secured",
            Self::NewDeviceAlert => "new_device_alert",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// Fixed phrases for `detail`.
pub mod detail {
    pub const BY_ADMIN: &str = "by an administrator";
    pub const BY_COMMAND_LINE: &str = "from the command line";
    pub const ALL_SESSIONS_BY_ADMIN: &str = "all sessions, by an administrator";
    pub const OTHER_SESSIONS: &str = "all other sessions";
    pub const UNKNOWN_ACCOUNT: &str = "unknown account";
    pub const DISABLED_ACCOUNT: &str = "account disabled";
    pub const WITH_AUTHENTICATOR: &str = "with an authenticator code";
    pub const WITH_RECOVERY_CODE: &str = "with a recovery code";
    pub const WRONG_CODE: &str = "wrong two-step code";
    pub const WITH_PASSKEY: &str = "with a passkey";
    pub const PASSKEY_REFUSED: &str = "passkey refused";
    pub const PASSKEY_SUSPENDED: &str = "passkey suspended";
    pub const PASSKEY_CLONED: &str = "passkey refused: its signature counter went backwards";
    pub const PASSWORD_ADDED: &str = "added to an account made with a passkey";

    /// A role change, as "user → admin".
    pub fn role_change(from: crate::model::Role, to: crate::model::Role) -> String {
        format!("{} → {}", from.as_str(), to.as_str())
    }
}

/// One event about to be recorded.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub event: Event,
    /// The signed-in person who did it; `None` for an anonymous client or the command line.
    pub actor: Option<i64>,
    /// The account it concerns.
    pub subject: Option<i64>,
    pub client: &'a ClientInfo,
    pub detail: &'a str,
}

impl<'a> Record<'a> {
    /// An event a person caused on their own account.
    pub fn own(event: Event, user_id: i64, client: &'a ClientInfo) -> Self {
        Self {
            event,
            actor: Some(user_id),
            subject: Some(user_id),
            client,
            detail: "",
        }
    }

    pub fn detail(self, detail: &'a str) -> Self {
        Self { detail, ..self }
    }
}

/// Writes an event. Best effort: the action it records has already happened, so a failure to
/// write it is logged as an error (with the event, never secrets) rather than turned into a
/// failed request.
pub async fn record(state: &AppState, record: Record<'_>) {
    let ip = record.client.ip_text();
    let written = db::audit::insert(
        &state.db,
        &db::audit::NewEvent {
            at: now_millis(),
            event: record.event.name(),
            actor_id: record.actor,
            subject_id: record.subject,
            ip: &ip,
            user_agent: &record.client.user_agent,
            request_id: &record.client.request_id,
            detail: record.detail,
        },
    )
    .await;
    if let Err(err) = written {
        tracing::error!(
            target: "security",
            event = record.event.name(),
            actor_id = record.actor,
            subject_id = record.subject,
            error = %err,
            "could not write an audit event; it is only in this log line"
        );
    }
}

/// Records a failed sign-in aimed at account `subject` (if any), and the lockout it started
/// when `throttled` (the failure that made a login counter reach its limit).
pub async fn failed_login(
    state: &AppState,
    subject: Option<i64>,
    client: &ClientInfo,
    detail: &str,
    throttled: bool,
) {
    for (event, wanted) in [
        (Event::LoginFailed, true),
        (Event::LoginThrottled, throttled),
    ] {
        if wanted {
            let failed = Record {
                event,
                actor: None,
                subject,
                client,
                detail,
            };
            record(state, failed).await;
        }
    }
}

/// A stored event as a sentence for the person it concerns: "Signed in from Chrome on Linux".
pub fn summary(row: &EventRow) -> String {
    let device = describe_user_agent(&row.user_agent);
    let with_detail = |text: &str| {
        if row.detail.is_empty() {
            text.to_owned()
        } else {
            format!("{text} ({})", row.detail)
        }
    };
    match Event::from_name(&row.event) {
        Some(Event::SignUp) => with_detail(&format!("Account created from {device}")),
        Some(Event::LoginSucceeded) => with_detail(&format!("Signed in from {device}")),
        Some(Event::LoginFailed) => with_detail(&format!("Failed sign-in attempt from {device}")),
        Some(Event::LoginThrottled) => {
            format!("Sign-in attempts from {device} paused after too many failures")
        }
        Some(Event::RefreshTokenReuse) => {
            "A copied session token was used; that session was ended".to_owned()
        }
        Some(Event::Logout) => format!("Signed out on {device}"),
        Some(Event::SessionRevoked) => with_detail("Session ended"),
        Some(Event::PasswordChanged) => with_detail("Password changed"),
        Some(Event::RoleChanged) => with_detail("Role changed"),
        Some(Event::AccountDisabled) => with_detail("Account disabled"),
        Some(Event::AccountEnabled) => with_detail("Account enabled"),
        Some(Event::AccountDeleted) => with_detail("Account deleted"),
        Some(Event::DataExported) => "Data downloaded".to_owned(),
        Some(Event::PasswordResetRequested) => "Password reset link sent by email".to_owned(),
        Some(Event::PasswordReset) => {
            "Password changed with a link sent by email; every device signed out".to_owned()
        }
        Some(Event::EmailVerified) => "Email address verified".to_owned(),
        Some(Event::EmailChangeRequested) => {
            "Email change asked for; confirmation link sent to the new address".to_owned()
        }
        Some(Event::EmailChanged) => "Email address changed".to_owned(),
        Some(Event::TwoStepEnabled) => {
            "Two-step sign-in turned on; every other device signed out".to_owned()
        }
        Some(Event::TwoStepDisabled) => with_detail("Two-step sign-in turned off"),
        Some(Event::RecoveryCodesReplaced) => "New recovery codes made".to_owned(),
        Some(Event::PasskeyAdded) => with_detail("Passkey added; every other device signed out"),
        Some(Event::PasskeyRemoved) => {
            with_detail("Passkey removed; every other device signed out")
        }
        Some(Event::PasskeySuspectedClone) => with_detail(
            "Passkey suspended: a copy of it may exist (its signature counter went backwards)",
        ),
        Some(Event::PasskeyReenabled) => with_detail("Suspended passkey enabled again"),
        Some(Event::AccountSecured) => with_detail(
            "Account secured with “This wasn't me”: every device signed out, passkeys suspended",
        ),
        Some(Event::NewDeviceAlert) => {
            format!("Sign-in from a new device ({device}) mailed to you")
        }
        None => row.event.clone(),
    }
}

/// How many events an activity page shows at most.
pub const PAGE_MAX: i64 = 100;

/// The events concerning `user_id`, newest first, as the account page shows them.
///
/// # Errors
/// Database failures.
pub async fn activity(
    state: &AppState,
    user_id: i64,
    limit: i64,
) -> Result<Vec<ActivityItem>, AppError> {
    let rows = db::audit::page(&state.db, Some(user_id), None, limit.clamp(1, PAGE_MAX)).await?;
    let now = now_millis();
    Ok(rows.iter().map(|row| activity_item(row, now)).collect())
}

/// A stored event as a list entry, its time relative to `now`.
fn activity_item(row: &EventRow, now: i64) -> ActivityItem {
    ActivityItem {
        id: row.id,
        event: row.event.clone(),
        summary: summary(row),
        ip: row.ip.clone(),
        at_iso: super::sessions::iso_text(row.at),
        at_text: super::sessions::utc_text(row.at),
        at_ago: time_ago(now, row.at),
    }
}

/// Up to `limit` events (at most [`PAGE_MAX`]), newest first, older than event `before` when
/// given, as administrators see them on `/admin`: those concerning `subject` when given, else
/// everyone's, each with the email of the account it concerns and of who did it. Returns the
/// page and the `before` cursor of the next one.
///
/// # Errors
/// Database failures.
pub async fn admin_page(
    state: &AppState,
    subject: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditItem>, Option<i64>), AppError> {
    let limit = limit.clamp(1, PAGE_MAX);
    // One more than asked for tells whether there is a next page.
    let mut rows = db::audit::page_named(&state.db, subject, before, limit + 1).await?;
    let next = if rows.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.pop();
        rows.last().map(|row| row.event.id)
    } else {
        None
    };
    let now = now_millis();
    let items = rows
        .into_iter()
        .map(|row| AuditItem {
            activity: activity_item(&row.event, now),
            subject: row.event.subject_id.map(|id| Party {
                id,
                email: row.subject_email,
            }),
            actor: row.event.actor_id.map(|id| Party {
                id,
                email: row.actor_email,
            }),
        })
        .collect();
    Ok((items, next))
}

/// How often the retention sweep runs, and how many rows one statement erases at most.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
const SWEEP_BATCH: i64 = 5_000;

/// Erases the events older than `retention` (at `now`). Returns how many it erased.
///
/// # Errors
/// Database failures.
pub async fn purge(state: &AppState, now: i64, retention: Duration) -> Result<u64, AppError> {
    let cutoff = now.saturating_sub(duration_millis(retention));
    let mut erased = 0;
    loop {
        let batch = db::audit::purge_before(&state.db, cutoff, SWEEP_BATCH).await?;
        erased += batch;
        if batch < SWEEP_BATCH.unsigned_abs() {
            return Ok(erased);
        }
    }
}

/// Runs the retention sweep every hour for as long as the server runs (on every replica: the
/// statements are idempotent, and a replica that finds nothing to erase writes nothing).
pub fn spawn_retention(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            let retention = state.config.audit_retention;
            match purge(&state, now_millis(), retention).await {
                Ok(0) => {}
                Ok(erased) => tracing::info!(erased, "audit events past AUDIT_RETENTION erased"),
                Err(err) => tracing::warn!(
                    error = %err,
                    "could not erase old audit events; the next sweep tries again in an hour"
                ),
            }
        }
    });
}

/// Events on one page of the audit endpoints, by default and at most.
pub const PAGE_DEFAULT: i64 = 50;

/// One page of events, newest first: those concerning `subject` when given, else everyone's.
///
/// # Errors
/// [`AppError::Validation`] on `query.limit` outside 1..=100; database failures.
pub async fn events(
    state: &AppState,
    subject: Option<i64>,
    cursor: Option<i64>,
    limit: Option<i64>,
) -> Result<(Vec<EventRow>, Option<i64>), AppError> {
    let limit = super::validate::page_limit(limit, PAGE_DEFAULT, PAGE_MAX)?;
    let mut rows = db::audit::page(&state.db, subject, cursor, limit + 1).await?;
    let next = if rows.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.pop();
        rows.last().map(|row| row.id)
    } else {
        None
    };
    Ok((rows, next))
}
