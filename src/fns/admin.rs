//! The administrators' pages: finding accounts, reading the audit trail, and changing,
//! signing out and deleting accounts. Every function starts with `server_fn::admin()`, and is
//! a thin front door onto `server::admin` and `server::audit` (the same logic as
//! `/api/v1/admin`, with the same self and last-administrator rules).

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{Account, AccountDetail, AccountPage, AuditPage},
};

/// Events on one page of `/admin`'s security events.
pub const EVENTS_SHOWN: i64 = 30;

/// One page of accounts, newest first: those whose email or name contains `q` (all when
/// empty), with ids below `before` (the previous page's `next`).
#[server(endpoint = "admin/accounts")]
pub async fn list_accounts(
    q: Option<String>,
    before: Option<i64>,
) -> Result<AccountPage, AppError> {
    use crate::server::{admin, server_fn};
    let (state, _, _) = server_fn::admin()?;
    admin::account_page(&state, q.as_deref().unwrap_or_default(), before).await
}

/// Everyone's security events, newest first, older than event `before` when given.
#[server(endpoint = "admin/events")]
pub async fn list_audit_events(before: Option<i64>) -> Result<AuditPage, AppError> {
    use crate::server::{audit, server_fn};
    let (state, _, _) = server_fn::admin()?;
    let (items, next) = audit::admin_page(&state, None, before, EVENTS_SHOWN).await?;
    Ok(AuditPage { items, next })
}

/// Account `id` with its latest events.
#[server(endpoint = "admin/account")]
pub async fn get_account(id: i64) -> Result<AccountDetail, AppError> {
    use crate::server::{admin, server_fn};
    let (state, principal, _) = server_fn::admin()?;
    admin::detail(&state, &principal, id, EVENTS_SHOWN).await
}

/// Makes account `id` an administrator (`role=admin`) or an ordinary user (`role=user`).
#[server(endpoint = "admin/set_role")]
pub async fn change_role(id: i64, role: String) -> Result<Account, AppError> {
    use crate::{
        model::Role,
        paths,
        server::{
            admin::{self, Actor, Change},
            db::now_millis,
            server_fn,
        },
    };
    let (state, principal, context) = server_fn::admin()?;
    let role = Role::parse(&role)
        .ok_or_else(|| AppError::BadRequest("`role` must be `user` or `admin`".to_owned()))?;
    let change = Change {
        role: Some(role),
        disabled: None,
    };
    let actor = Actor::Admin(&principal);
    let row = admin::change(&state, actor, &context.client, id, change).await?;
    server_fn::return_to_after_form_post(&paths::admin_account(id));
    Ok(admin::account(row, now_millis()))
}

/// Disables account `id` (which ends every session of it at once) or enables it again.
#[server(endpoint = "admin/set_disabled")]
pub async fn change_disabled(id: i64, disabled: bool) -> Result<Account, AppError> {
    use crate::{
        paths,
        server::{
            admin::{self, Actor, Change},
            db::now_millis,
            server_fn,
        },
    };
    let (state, principal, context) = server_fn::admin()?;
    let change = Change {
        role: None,
        disabled: Some(disabled),
    };
    let actor = Actor::Admin(&principal);
    let row = admin::change(&state, actor, &context.client, id, change).await?;
    server_fn::return_to_after_form_post(&paths::admin_account(id));
    Ok(admin::account(row, now_millis()))
}

/// Ends every session of account `id`. Returns how many it ended.
#[server(endpoint = "admin/sign_out")]
pub async fn sign_out_account(id: i64) -> Result<u64, AppError> {
    use crate::{
        paths,
        server::{
            admin::{self, Actor},
            server_fn,
        },
    };
    let (state, principal, context) = server_fn::admin()?;
    let actor = Actor::Admin(&principal);
    let ended = admin::sign_out_everywhere(&state, actor, &context.client, id).await?;
    server_fn::return_to_after_form_post(&paths::admin_account(id));
    Ok(ended)
}

/// Deletes account `id` with its tasks and sessions, once the administrator has typed its
/// email (`confirm_email`), and goes back to the account list.
#[server(endpoint = "admin/delete")]
pub async fn remove_account(id: i64, confirm_email: String) -> Result<(), AppError> {
    use crate::{
        paths,
        server::{
            admin::{self, Actor},
            server_fn,
        },
    };
    let (state, principal, context) = server_fn::admin()?;
    let actor = Actor::Admin(&principal);
    admin::delete_confirmed(&state, actor, &context.client, id, &confirm_email).await?;
    // The account's page is gone: back to the list.
    server_fn::return_to_after_form_post(paths::ADMIN);
    Ok(())
}

/// Turns off account `id`'s two-step sign-in (a person locked out without their phone and
/// recovery codes); every session of the account ends and the person is mailed.
#[server(endpoint = "admin/two-step-reset")]
pub async fn reset_two_step(id: i64) -> Result<(), AppError> {
    use crate::{
        error::TwoStepRule,
        paths,
        server::{
            admin::{self, Actor},
            server_fn,
        },
    };
    let (state, principal, context) = server_fn::admin()?;
    let actor = Actor::Admin(&principal);
    if !admin::reset_two_step(&state, actor, &context.client, id).await? {
        return Err(TwoStepRule::NotOn.into());
    }
    server_fn::return_to_after_form_post(&paths::admin_account(id));
    Ok(())
}
