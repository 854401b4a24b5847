//! Server-side sessions: starting one at login, rotating its refresh token, listing and
//! revoking. Both front doors (browser cookies and the REST API) go through here.

use std::time::Duration;

use super::{
    audit::{self, Event, Record},
    auth::{ClientInfo, jwt::AccessToken, refresh, refresh::RefreshToken},
    db::{self, duration_millis, now_millis, sessions::Exchange},
    state::AppState,
};
use crate::{
    error::AppError,
    model::{SessionInfo, User},
};

/// Why sessions end, as stored in `sessions.revoked_reason` (and logged).
pub mod reason {
    pub const LOGOUT: &str = "logout";
    pub const REVOKED_BY_USER: &str = "revoked_by_user";
    pub const SIGN_OUT_OTHERS: &str = "signed_out_everywhere_else";
    pub const PASSWORD_CHANGED: &str = "password_changed";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const TWO_STEP_CHANGED: &str = "two_step_changed";
    pub const PASSKEYS_CHANGED: &str = "passkeys_changed";
    pub const REFRESH_TOKEN_REUSE: &str = "refresh_token_reuse";
}

/// A fresh token pair for a session.
#[derive(Debug)]
pub struct Issued {
    pub user_id: i64,
    pub session_id: String,
    pub access: AccessToken,
    pub access_ttl: Duration,
    pub refresh: RefreshToken,
    /// How long the refresh token may be used (idle expiry, capped by the session's lifetime).
    pub refresh_ttl: Duration,
}

/// Starts a session for `user` (after a successful login or registration).
///
/// # Errors
/// Database failures; [`AppError::Internal`] if signing or randomness fails.
pub async fn start(state: &AppState, user: &User, client: &ClientInfo) -> Result<Issued, AppError> {
    let now = now_millis();
    let session_id = uuid::Uuid::new_v4().to_string();
    let expires_at = now.saturating_add(duration_millis(state.config.session_max_lifetime));
    db::sessions::insert(
        &state.db,
        &db::sessions::NewSession {
            id: &session_id,
            user_id: user.id,
            now,
            expires_at,
            user_agent: &client.user_agent,
            ip: &client.ip_text(),
        },
    )
    .await?;
    let issued = issue_pair(state, user.id, session_id, now, expires_at).await?;
    tracing::info!(
        target: "security",
        event = "session_started",
        user_id = user.id,
        ip = %client.ip_text(),
        "session started"
    );
    Ok(issued)
}

/// Exchanges a refresh token for a new pair (rotation). The presented token is spent whatever
/// happens next; presenting an already spent one revokes its whole session, because one of
/// the two parties holding it is not the person who signed in (RFC 9700 §4.14.2) — unless it
/// was spent less than `REFRESH_REUSE_GRACE` ago and its session is live: then it is the same
/// session renewing twice at once (two tabs whose access cookie expired load together, or a
/// client retrying a refresh whose answer it lost), and it gets a pair of its own. The
/// window is short so that a stolen token replayed later is still caught.
///
/// # Errors
/// [`AppError::InvalidGrant`] for unknown, expired, spent or revoked tokens; database failures.
pub async fn refresh(
    state: &AppState,
    presented: &str,
    client: &ClientInfo,
) -> Result<Issued, AppError> {
    let Some(hash) = refresh::hash_presented(presented) else {
        return Err(AppError::InvalidGrant);
    };
    let now = now_millis();
    let grace = duration_millis(state.config.refresh_reuse_grace);
    let exchange = db::sessions::exchange_refresh(&state.db, &hash, now, grace).await?;
    let raced = matches!(exchange, Exchange::Raced { .. });
    match exchange {
        Exchange::Consumed {
            session_id,
            user_id,
            expires_at,
            session_expires_at,
        }
        | Exchange::Raced {
            session_id,
            user_id,
            expires_at,
            session_expires_at,
        } => {
            if expires_at <= now {
                tracing::info!(user_id, "refused an expired refresh token");
                return Err(AppError::InvalidGrant);
            }
            if raced {
                tracing::info!(
                    target: "security",
                    event = "refresh_token_raced",
                    user_id,
                    "a refresh token spent moments ago was presented again by its session (two \
                     tabs or a retry); issued another pair"
                );
            } else {
                db::sessions::touch(&state.db, &session_id, now).await?;
            }
            issue_pair(state, user_id, session_id, now, session_expires_at).await
        }
        Exchange::Ended { user_id } => {
            tracing::info!(user_id, "refused a refresh token of an ended session");
            Err(AppError::InvalidGrant)
        }
        Exchange::Reused {
            session_id,
            user_id,
        } => {
            db::sessions::revoke(
                &state.db,
                user_id,
                &session_id,
                reason::REFRESH_TOKEN_REUSE,
                now,
            )
            .await?;
            tracing::warn!(
                target: "security",
                event = "refresh_token_reuse",
                user_id,
                "a spent refresh token was presented again; the session is revoked (the token \
                 may have been stolen)"
            );
            let reuse = Record {
                event: Event::RefreshTokenReuse,
                actor: None,
                subject: Some(user_id),
                client,
                detail: "",
            };
            audit::record(state, reuse).await;
            Err(AppError::InvalidGrant)
        }
        Exchange::Unknown => {
            tracing::info!(target: "security", event = "refresh_token_unknown", "refused an unknown refresh token");
            Err(AppError::InvalidGrant)
        }
    }
}

async fn issue_pair(
    state: &AppState,
    user_id: i64,
    session_id: String,
    now: i64,
    session_expires_at: i64,
) -> Result<Issued, AppError> {
    let refresh = RefreshToken::generate()?;
    let refresh_expires_at = now
        .saturating_add(duration_millis(state.config.refresh_idle_ttl))
        .min(session_expires_at);
    db::sessions::insert_refresh(
        &state.db,
        &refresh.hash(),
        &session_id,
        now,
        refresh_expires_at,
    )
    .await?;
    let access = state.jwt.issue(user_id, &session_id)?;
    let refresh_ttl = Duration::from_millis(u64::try_from(refresh_expires_at - now).unwrap_or(0));
    Ok(Issued {
        user_id,
        session_id,
        access,
        access_ttl: state.jwt.ttl().min(refresh_ttl),
        refresh,
        refresh_ttl,
    })
}

/// Ends one of `user_id`'s sessions. Returns whether there was a live one to end.
///
/// # Errors
/// Database failures.
pub async fn end(
    state: &AppState,
    user_id: i64,
    session_id: &str,
    why: &str,
) -> Result<bool, AppError> {
    let ended = db::sessions::revoke(&state.db, user_id, session_id, why, now_millis()).await?;
    if ended {
        tracing::info!(target: "security", event = "session_ended", user_id, reason = why, "session ended");
    }
    Ok(ended)
}

/// Ends every session of `user_id` except `keep`. Returns how many it ended.
///
/// # Errors
/// Database failures.
pub async fn end_all_except(
    state: &AppState,
    user_id: i64,
    keep: Option<&str>,
    why: &str,
) -> Result<u64, AppError> {
    let ended =
        db::sessions::revoke_all_except(&state.db, user_id, keep, why, now_millis()).await?;
    tracing::info!(target: "security", event = "sessions_ended", user_id, count = ended, reason = why, "sessions ended");
    Ok(ended)
}

/// The live sessions of `user_id`, marking `current`.
///
/// # Errors
/// Database failures.
pub async fn list(
    state: &AppState,
    user_id: i64,
    current: &str,
) -> Result<Vec<SessionInfo>, AppError> {
    let now = now_millis();
    Ok(db::sessions::list_live(&state.db, user_id, now)
        .await?
        .into_iter()
        .map(|row| SessionInfo {
            current: row.id == current,
            id: row.id,
            device: describe_user_agent(&row.user_agent),
            user_agent: row.user_agent,
            ip: row.ip,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            last_used: utc_text(row.last_used_at),
            last_used_ago: time_ago(now, row.last_used_at),
            last_used_iso: iso_text(row.last_used_at),
        })
        .collect())
}

/// "2026-11-25 16:40 UTC".
pub(crate) fn utc_text(millis: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(millis / 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// "2026-11-25T16:40:00Z", for `<time datetime>`.
pub(crate) fn iso_text(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(millis / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// How long before `now` the moment `then` was, as people say it: "just now", "5 minutes ago",
/// "yesterday", "3 days ago". Computed on the server, so the page hydrates to the same text.
pub fn time_ago(now: i64, then: i64) -> String {
    let seconds = (now - then).max(0) / 1000;
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match seconds {
        0..60 => "just now".to_owned(),
        60..3_600 => plural(seconds / 60, "minute"),
        3_600..86_400 => plural(seconds / 3_600, "hour"),
        86_400..172_800 => "yesterday".to_owned(),
        172_800..2_592_000 => plural(seconds / 86_400, "day"),
        _ => plural(seconds / 2_592_000, "month"),
    }
}

/// A person-readable name for a User-Agent: "Firefox on Linux", "Python script", "Unknown device".
/// Good enough to tell one's own devices apart; the full string is shown on hover.
pub fn describe_user_agent(ua: &str) -> String {
    // Programs first: their User-Agents often name a platform too ("Python/3.11 on Linux").
    let program = [
        ("tasks-cli", "the tasks command line"),
        ("python-requests/", "Python script"),
        ("Python-urllib/", "Python script"),
        ("python-httpx/", "Python script"),
        ("aiohttp/", "Python script"),
        ("curl/", "curl (command line)"),
        ("Wget/", "Wget (command line)"),
        ("Go-http-client/", "Go program"),
        ("node-fetch", "Node.js script"),
        ("undici", "Node.js script"),
        ("axios/", "Node.js script"),
        ("okhttp/", "Android app or Java program"),
        ("Java/", "Java program"),
        ("reqwest/", "Rust program"),
        ("PostmanRuntime/", "Postman"),
        ("Insomnia/", "Insomnia"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle));
    if let Some((_, name)) = program {
        return (*name).to_owned();
    }
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => format!("A browser on {o}"),
        (None, None) if ua.is_empty() => "Unknown device".to_owned(),
        (None, None) => {
            // The product name of an unknown program ("MyTool/1.2 (...)" -> "MyTool").
            let name: String = ua
                .split(['/', ' '])
                .next()
                .unwrap_or(ua)
                .chars()
                .take(40)
                .collect();
            format!("{name} (program)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_get_readable_names() {
        assert_eq!(
            describe_user_agent(
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
            ),
            "Firefox on Linux"
        );
        assert_eq!(
            describe_user_agent(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
            ),
            "Edge on Windows"
        );
        assert_eq!(describe_user_agent("curl/8.5.0"), "curl (command line)");
        assert_eq!(describe_user_agent("Python-urllib/3.11"), "Python script");
        assert_eq!(
            describe_user_agent("python-requests/2.32.3"),
            "Python script"
        );
        assert_eq!(
            describe_user_agent(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
            ),
            "Safari on iPhone"
        );
        assert_eq!(
            describe_user_agent(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
            ),
            "Chrome on Linux"
        );
        assert_eq!(
            describe_user_agent("Tasks-Sync/1.2 (build 7)"),
            "Tasks-Sync (program)"
        );
        assert_eq!(describe_user_agent(""), "Unknown device");
    }

    #[test]
    fn times_read_as_people_say_them() {
        let minute = 60_000;
        assert_eq!(time_ago(1_000_000, 1_000_000), "just now");
        assert_eq!(
            time_ago(1_000_000, 2_000_000),
            "just now",
            "a clock step back"
        );
        assert_eq!(time_ago(minute, 0), "1 minute ago");
        assert_eq!(time_ago(59 * minute, 0), "59 minutes ago");
        assert_eq!(time_ago(120 * minute, 0), "2 hours ago");
        assert_eq!(time_ago(30 * 60 * minute, 0), "yesterday");
        assert_eq!(time_ago(3 * 24 * 60 * minute, 0), "3 days ago");
        assert_eq!(time_ago(65 * 24 * 60 * minute, 0), "2 months ago");
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
    }
}
