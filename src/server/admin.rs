//! Administration: finding accounts, changing their role, disabling, signing out and deleting
//! them. The one logic path behind `/admin`, `/api/v1/admin` and `tasks admin`.
//!
//! Every change is recorded in the audit trail with the administrator as its actor. The rules
//! that keep the service manageable live here and in the statements of `db::users`: nobody
//! demotes, disables or deletes themselves here, and the last enabled administrator cannot
//! be removed (checked inside the statement that would remove them, so two administrators
//! removing each other at once cannot both succeed).

use super::{
    audit::{self, Event, Record},
    auth::ClientInfo,
    context::Principal,
    db::{self, now_millis, users::AccountRow, users::Guarded},
    sessions::{self, time_ago},
    state::AppState,
    validate,
};
use crate::{
    error::{AdminRule, AppError, Resource},
    model::{Account, AccountDetail, AccountPage, Role, limits::EMAIL_MAX},
};

/// Accounts on one page of the list, by default and at most.
pub const PAGE_DEFAULT: i64 = 50;
pub const PAGE_MAX: i64 = 100;

/// Why administrators end sessions, as stored in `sessions.revoked_reason`.
pub mod reason {
    pub const DISABLED: &str = "account_disabled";
    pub const BY_ADMIN: &str = "revoked_by_admin";
}

pub(crate) fn account(row: AccountRow, now: i64) -> Account {
    Account {
        created_text: sessions::utc_text(row.user.created_at),
        last_seen_iso: row.last_seen_at.map(sessions::iso_text),
        last_seen_ago: row.last_seen_at.map(|at| time_ago(now, at)),
        last_seen_text: row.last_seen_at.map(sessions::utc_text),
        user: row.user,
        disabled: row.disabled,
        live_sessions: row.live_sessions,
        two_step: row.two_step,
    }
}

/// A page of accounts whose email or name contains `q`, newest first.
///
/// # Errors
/// Database failures.
pub async fn accounts(
    state: &AppState,
    q: &str,
    before: Option<i64>,
    limit: Option<i64>,
) -> Result<(Vec<AccountRow>, Option<i64>), AppError> {
    let limit = validate::page_limit(limit, PAGE_DEFAULT, PAGE_MAX)?;
    if q.chars().count() > EMAIL_MAX {
        return Err(AppError::field(
            "query.q",
            format!("the search text must be at most {EMAIL_MAX} characters"),
        ));
    }
    let now = now_millis();
    // One more than asked for tells whether there is a next page.
    let mut rows = db::users::accounts_page(&state.db, q, before, limit + 1, now).await?;
    let next = if rows.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.pop();
        rows.last().map(|row| row.user.id)
    } else {
        None
    };
    Ok((rows, next))
}

/// [`accounts`] as the `/admin` page shows them.
///
/// # Errors
/// Database failures.
pub async fn account_page(
    state: &AppState,
    q: &str,
    before: Option<i64>,
) -> Result<AccountPage, AppError> {
    let (rows, next) = accounts(state, q, before, None).await?;
    let now = now_millis();
    Ok(AccountPage {
        accounts: rows.into_iter().map(|row| account(row, now)).collect(),
        next,
    })
}

/// Account `id`.
///
/// # Errors
/// [`AppError::NotFound`] when there is no such account; database failures.
pub async fn find(state: &AppState, id: i64) -> Result<AccountRow, AppError> {
    db::users::account(&state.db, id, now_millis())
        .await?
        .ok_or(AppError::NotFound(Resource::User))
}

/// Account `id` as `/admin/users/:id` shows it, with its latest `events` audit events, seen
/// by `viewer`.
///
/// # Errors
/// [`AppError::NotFound`] when there is no such account; database failures.
pub async fn detail(
    state: &AppState,
    viewer: &Principal,
    id: i64,
    events: i64,
) -> Result<AccountDetail, AppError> {
    let row = find(state, id).await?;
    let (activity, _) = audit::admin_page(state, Some(id), None, events).await?;
    Ok(AccountDetail {
        account: account(row, now_millis()),
        activity,
        is_you: viewer.user.id == id,
    })
}

/// What an administrator may change about an account at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Change {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Who asks for a change: a signed-in administrator, or the command line (`tasks admin`),
/// which has no account of its own.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Admin(&'a Principal),
    CommandLine,
}

impl Actor<'_> {
    fn id(self) -> Option<i64> {
        match self {
            Self::Admin(principal) => Some(principal.user.id),
            Self::CommandLine => None,
        }
    }

    fn is(self, id: i64) -> bool {
        self.id() == Some(id)
    }

    fn detail(self) -> &'static str {
        match self {
            Self::Admin(_) => audit::detail::BY_ADMIN,
            Self::CommandLine => audit::detail::BY_COMMAND_LINE,
        }
    }
}

fn guarded(outcome: Guarded) -> Result<(), AppError> {
    match outcome {
        Guarded::Done => Ok(()),
        Guarded::NotFound => Err(AppError::NotFound(Resource::User)),
        Guarded::LastAdmin => Err(AdminRule::LastAdmin.into()),
    }
}

/// Changes account `id`'s role and/or disabled flag. Disabling ends every session of the
/// account at once. Returns the account as it is afterwards.
///
/// # Errors
/// [`AppError::NotFound`] for no such account; [`AppError::AdminRule`] when an administrator
/// demotes or disables themselves, or the change would leave no enabled administrator;
/// database failures.
pub async fn change(
    state: &AppState,
    actor: Actor<'_>,
    client: &ClientInfo,
    id: i64,
    change: Change,
) -> Result<AccountRow, AppError> {
    if actor.is(id) {
        if change.role == Some(Role::User) {
            return Err(AdminRule::SelfDemote.into());
        }
        if change.disabled == Some(true) {
            return Err(AdminRule::SelfDisable.into());
        }
    }
    let before = find(state, id).await?;
    let record = |event| Record {
        event,
        actor: actor.id(),
        subject: Some(id),
        client,
        detail: "",
    };
    if let Some(role) = change.role
        && role != before.user.role
    {
        guarded(db::users::set_role(&state.db, id, role).await?)?;
        let mut detail = audit::detail::role_change(before.user.role, role);
        if matches!(actor, Actor::CommandLine) {
            detail = format!("{detail}, {}", audit::detail::BY_COMMAND_LINE);
        }
        tracing::info!(target: "security", event = "role_changed", user_id = id, actor_id = actor.id(), change = %detail, "role changed");
        audit::record(state, record(Event::RoleChanged).detail(&detail)).await;
    }
    if let Some(disabled) = change.disabled
        && disabled != before.disabled
    {
        guarded(db::users::set_disabled(&state.db, id, disabled).await?)?;
        if disabled {
            // The session lookup already refuses a disabled account's sessions; ending them
            // too means enabling the account later does not bring them back.
            sessions::end_all_except(state, id, None, reason::DISABLED).await?;
        }
        let event = if disabled {
            Event::AccountDisabled
        } else {
            Event::AccountEnabled
        };
        tracing::info!(target: "security", event = event.name(), user_id = id, actor_id = actor.id(), "account disabled or enabled");
        audit::record(state, record(event).detail(actor.detail())).await;
    }
    find(state, id).await
}

/// Ends every session of account `id`. Returns how many it ended.
///
/// # Errors
/// [`AppError::NotFound`] for no such account; database failures.
pub async fn sign_out_everywhere(
    state: &AppState,
    actor: Actor<'_>,
    client: &ClientInfo,
    id: i64,
) -> Result<u64, AppError> {
    find(state, id).await?;
    let ended = sessions::end_all_except(state, id, None, reason::BY_ADMIN).await?;
    let record = Record {
        event: Event::SessionRevoked,
        actor: actor.id(),
        subject: Some(id),
        client,
        detail: audit::detail::ALL_SESSIONS_BY_ADMIN,
    };
    audit::record(state, record).await;
    Ok(ended)
}

/// Turns off two-step sign-in of account `id` (a person who lost their authenticator app and
/// their recovery codes), ends every session of the account, and mails them that it happened.
/// Returns whether it was on.
///
/// # Errors
/// [`AppError::NotFound`] for no such account; database failures.
pub async fn reset_two_step(
    state: &AppState,
    actor: Actor<'_>,
    client: &ClientInfo,
    id: i64,
) -> Result<bool, AppError> {
    let row = find(state, id).await?;
    let was_on = super::two_step::reset_by_admin(state, &row.user, actor.id(), client).await?;
    Ok(was_on)
}

/// Deletes account `id` with its tasks, sessions and refresh tokens.
///
/// # Errors
/// [`AppError::NotFound`] for no such account; [`AppError::AdminRule`] for one's own account
/// or the last enabled administrator; database failures.
pub async fn delete(
    state: &AppState,
    actor: Actor<'_>,
    client: &ClientInfo,
    id: i64,
) -> Result<(), AppError> {
    if actor.is(id) {
        return Err(AdminRule::SelfDelete.into());
    }
    guarded(db::users::delete(&state.db, id).await?)?;
    tracing::info!(target: "security", event = "account_deleted", user_id = id, actor_id = actor.id(), "account deleted by an administrator");
    let record = Record {
        event: Event::AccountDeleted,
        actor: actor.id(),
        subject: Some(id),
        client,
        detail: actor.detail(),
    };
    audit::record(state, record).await;
    Ok(())
}

/// [`delete`] from the admin page, which asks the administrator to type the account's email
/// first: checked here as well, so a stale page or a hand-made form post cannot delete the
/// wrong account.
///
/// # Errors
/// As [`delete`], and [`AppError::Validation`] on `confirm_email` when the typed email is not
/// the account's.
pub async fn delete_confirmed(
    state: &AppState,
    actor: Actor<'_>,
    client: &ClientInfo,
    id: i64,
    confirm_email: &str,
) -> Result<(), AppError> {
    if actor.is(id) {
        return Err(AdminRule::SelfDelete.into());
    }
    let row = find(state, id).await?;
    if validate::normalize_email(confirm_email) != row.user.email {
        return Err(AppError::field(
            "confirm_email",
            "That is not this account's email. Type it exactly to confirm the deletion.",
        ));
    }
    delete(state, actor, client, id).await
}
