//! Sign-up, login, logout and "who am I" for the browser.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{SessionInfo, User},
};

/// Creates an account, signs the person in (auth cookie) and sends them to their tasks.
#[server(endpoint = "register")]
pub async fn register(
    name: String,
    email: String,
    password: String,
    password_confirm: String,
) -> Result<(), AppError> {
    use crate::server::{accounts, fns};
    fns::respond(
        async move {
            let state = fns::state()?;
            let cookies = fns::cookies().await?;
            let client = fns::client(&state);
            let user = accounts::register(
                &state,
                &name,
                &email,
                password,
                Some(&password_confirm),
                &client,
            )
            .await?;
            accounts::sign_in_browser(&state, &cookies, &user, &client).await?;
            leptos_axum::redirect(crate::app::TASKS_PATH);
            Ok(())
        }
        .await,
    )
}

/// Checks email and password, sets the auth cookie and returns to `next` (one of our own pages)
/// or the task list.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{accounts, fns};
    fns::respond(
        async move {
            let state = fns::state()?;
            let cookies = fns::cookies().await?;
            let client = fns::client(&state);
            let user = accounts::authenticate(&state, &email, password, &client).await?;
            accounts::sign_in_browser(&state, &cookies, &user, &client).await?;
            leptos_axum::redirect(accounts::safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

/// Ends this session (server-side too), clears the auth cookies and returns to the login page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{accounts, fns};
    fns::respond(
        async move {
            let state = fns::state()?;
            let cookies = fns::cookies().await?;
            // An invalid or expired session is already over: just clear the cookies.
            let principal = fns::authenticate(&state).await.ok().flatten();
            accounts::sign_out_browser(&state, &cookies, principal.as_ref()).await?;
            leptos_axum::redirect(crate::app::LOGIN_PATH);
            Ok(())
        }
        .await,
    )
}

/// The signed-in user, or `None`. An expired or invalid cookie counts as signed out here (the
/// page guard clears it on the next navigation).
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    use crate::server::fns;
    fns::respond(
        async move {
            let state = fns::state()?;
            match fns::authenticate(&state).await {
                Err(AppError::Unauthorized | AppError::InvalidToken) => Ok(None),
                other => other.map(|p| p.map(|p| p.user)),
            }
        }
        .await,
    )
}

/// The signed-in person's live sessions (device, IP, last used), this one marked.
#[server(endpoint = "sessions/list")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    use crate::server::{fns, sessions};
    fns::respond(
        async move {
            let (state, principal) = fns::require_session().await?;
            sessions::list(&state, principal.user.id, &principal.session_id).await
        }
        .await,
    )
}

/// Signs one of the person's sessions out. Revoking the current one is a logout.
#[server(endpoint = "sessions/revoke")]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    use crate::server::{accounts, fns, sessions};
    fns::respond(
        async move {
            let (state, principal) = fns::require_session().await?;
            if id == principal.session_id {
                let cookies = fns::cookies().await?;
                accounts::sign_out_browser(&state, &cookies, Some(&principal)).await?;
                leptos_axum::redirect(crate::app::LOGIN_PATH);
                return Ok(());
            }
            if !sessions::end(
                &state,
                principal.user.id,
                &id,
                sessions::reason::REVOKED_BY_USER,
            )
            .await?
            {
                return Err(AppError::NotFound);
            }
            fns::return_to_after_form_post(crate::app::SESSIONS_PATH, Ok(()))
        }
        .await,
    )
}

/// Signs out every session of this person except the current one.
#[server(endpoint = "sessions/revoke-others")]
pub async fn revoke_other_sessions() -> Result<u64, AppError> {
    use crate::server::{fns, sessions};
    fns::respond(
        async move {
            let (state, principal) = fns::require_session().await?;
            let ended = sessions::end_all_except(
                &state,
                principal.user.id,
                Some(&principal.session_id),
                sessions::reason::SIGN_OUT_OTHERS,
            )
            .await;
            fns::return_to_after_form_post(crate::app::SESSIONS_PATH, ended)
        }
        .await,
    )
}

/// Changes the password (the current one is required) and signs out every other session.
#[server(endpoint = "password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<u64, AppError> {
    use crate::server::{accounts, fns};
    fns::respond(
        async move {
            let (state, principal) = fns::require_session().await?;
            let ended = accounts::change_password(
                &state,
                &principal,
                current_password,
                &new_password,
                Some(&new_password_confirm),
            )
            .await;
            fns::return_to_after_form_post(crate::app::SESSIONS_PATH, ended)
        }
        .await,
    )
}
