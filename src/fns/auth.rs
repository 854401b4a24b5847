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
    use crate::{
        paths,
        server::{accounts, server_fn},
    };
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    let cookies = server_fn::cookies().await?;
    let user = accounts::register(
        &state,
        &name,
        &email,
        password,
        Some(&password_confirm),
        &context.client,
    )
    .await?;
    accounts::sign_in_browser(&state, &cookies, &user, &context.client).await?;
    crate::server::attempt_limits::signed_up(&state, &user.email, &cookies)?;
    leptos_axum::redirect(paths::TASKS);
    Ok(())
}

/// Checks email and password, sets the auth cookie and returns to `next` (one of our own pages)
/// or the task list. With two-step sign-in on, goes to the code page instead (no session yet).
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server::{accounts, server_fn};
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    let cookies = server_fn::cookies().await?;
    let next = state.safe_next(next.as_deref());
    match accounts::verify_login(&state, &email, password, &context.client, &cookies).await? {
        accounts::Login::Complete(user) => {
            accounts::sign_in_browser(&state, &cookies, &user, &context.client).await?;
            leptos_axum::redirect(next);
        }
        accounts::Login::NeedsCode(user) => {
            // No session yet: only a challenge bound to this browser by its cookie.
            accounts::ask_for_code(&state, &cookies, &user).await?;
            leptos_axum::redirect(&crate::paths::login_code_then(next));
        }
    }
    Ok(())
}

/// Ends this session (server-side too), clears the auth cookies and returns to the login page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::{
        paths,
        server::{accounts, server_fn},
    };
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    let cookies = server_fn::cookies().await?;
    // Refused or expired credentials are already over: just clear the cookies.
    let principal = context.principal().ok().flatten();
    accounts::sign_out_browser(&state, &cookies, principal, &context.client).await?;
    leptos_axum::redirect(paths::LOGIN);
    Ok(())
}

/// The signed-in user, or `None`. Refused credentials count as signed out here (the request
/// context layer has already cleared their cookies).
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    use crate::server::server_fn;
    match server_fn::context()?.principal() {
        Ok(principal) => Ok(principal.map(|p| p.user.clone())),
        Err(AppError::InvalidToken) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The signed-in person's live sessions (device, IP, last used), this one marked.
#[server(endpoint = "sessions/list")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    use crate::server::{server_fn, sessions};
    let (state, principal) = server_fn::signed_in()?;
    sessions::list(&state, principal.user.id, &principal.session_id).await
}

/// Signs one of the person's sessions out. Revoking the current one is a logout.
#[server(endpoint = "sessions/revoke")]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    use crate::{
        error::Resource,
        paths,
        server::{accounts, server_fn},
    };
    let (state, principal) = server_fn::signed_in()?;
    let client = &server_fn::context()?.client;
    if id == principal.session_id {
        let cookies = server_fn::cookies().await?;
        accounts::sign_out_browser(&state, &cookies, Some(&principal), client).await?;
        leptos_axum::redirect(paths::LOGIN);
        return Ok(());
    }
    if !accounts::end_own_session(&state, &principal, &id, client).await? {
        return Err(AppError::NotFound(Resource::Session));
    }
    server_fn::return_to_after_form_post(paths::ACCOUNT);
    Ok(())
}

/// Signs out every session of this person except the current one.
#[server(endpoint = "sessions/revoke-others")]
pub async fn revoke_other_sessions() -> Result<u64, AppError> {
    use crate::{
        paths,
        server::{accounts, server_fn},
    };
    let (state, principal) = server_fn::signed_in()?;
    let client = &server_fn::context()?.client;
    let ended = accounts::end_other_sessions(&state, &principal, client).await?;
    server_fn::return_to_after_form_post(paths::ACCOUNT);
    Ok(ended)
}

/// Changes the password (the current one is required) and signs out every other session.
#[server(endpoint = "password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<u64, AppError> {
    use crate::{
        paths,
        server::{accounts, server_fn},
    };
    let (state, principal) = server_fn::signed_in()?;
    let ended = accounts::change_password(
        &state,
        &principal,
        current_password,
        &new_password,
        Some(&new_password_confirm),
        &server_fn::context()?.client,
    )
    .await?;
    server_fn::return_to_after_form_post(paths::ACCOUNT);
    Ok(ended)
}
