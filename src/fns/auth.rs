//! Sign-up, login, logout and "who am I" for the browser.

use leptos::prelude::*;

use crate::{error::AppError, model::User};

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
            let user = accounts::register(&state, &name, &email, password, Some(&password_confirm))
                .await?;
            accounts::sign_in_browser(&state, &cookies, &user)?;
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
            let user = accounts::authenticate(&state, &email, password).await?;
            accounts::sign_in_browser(&state, &cookies, &user)?;
            leptos_axum::redirect(accounts::safe_next(next.as_deref()));
            Ok(())
        }
        .await,
    )
}

/// Clears the auth cookie and returns to the login page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{accounts, fns};
    fns::respond(
        async move {
            let state = fns::state()?;
            let cookies = fns::cookies().await?;
            accounts::sign_out_browser(&state, &cookies);
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
                other => other,
            }
        }
        .await,
    )
}
