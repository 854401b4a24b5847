//! Two-step sign-in for the browser: the second step of a sign-in, and setting it up, turning
//! it off and new recovery codes on the account page. Thin front doors onto
//! `server::two_step`, like the REST endpoints.

use leptos::prelude::*;

use crate::{
    error::AppError,
    model::{TwoStepSetup, TwoStepStatus},
};

/// The second step of a sign-in: a code from the authenticator app (`code`) or a recovery code
/// (`recovery_code`), for the sign-in whose challenge this browser's cookie holds. Signs in and
/// returns to `next` (one of our own pages) or the task list.
#[server(endpoint = "login/code")]
pub async fn submit_code(
    code: Option<String>,
    recovery_code: Option<String>,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{accounts, server_fn, two_step};
    let state = server_fn::state()?;
    let context = server_fn::context()?;
    let cookies = server_fn::cookies().await?;
    let answer = match (code, recovery_code) {
        (_, Some(recovery)) if !recovery.trim().is_empty() => {
            two_step::Answer::RecoveryCode(recovery)
        }
        (Some(code), _) => two_step::Answer::Code(code),
        (None, _) => two_step::Answer::Code(String::new()),
    };
    let token = two_step::cookie_token(&state.config, &cookies).unwrap_or_default();
    let result = two_step::complete(
        &state,
        crate::server::db::two_step::Channel::Browser,
        &token,
        &answer,
        &context.client,
        &cookies,
    )
    .await;
    let user = match result {
        Ok(user) => user,
        Err(err) => {
            if !matches!(err, AppError::Validation(_) | AppError::RateLimited { .. }) {
                // Over (expired, ended, disabled): the cookie has nothing left to do.
                two_step::clear_cookie(&state.config, &cookies);
            }
            return Err(err);
        }
    };
    two_step::clear_cookie(&state.config, &cookies);
    accounts::sign_in_browser(&state, &cookies, &user, &context.client).await?;
    leptos_axum::redirect(state.safe_next(next.as_deref()));
    Ok(())
}

/// Whether this browser has a sign-in waiting for its second step (the code page shows the
/// form, or explains that it has to start again).
#[server(endpoint = "login/code/pending")]
pub async fn code_pending() -> Result<bool, AppError> {
    use crate::server::{server_fn, two_step};
    let state = server_fn::state()?;
    let cookies = server_fn::cookies().await?;
    Ok(two_step::cookie_token(&state.config, &cookies).is_some())
}

/// The signed-in person's two-step sign-in: on or off, recovery codes left.
#[server(endpoint = "two-step/status")]
pub async fn status() -> Result<TwoStepStatus, AppError> {
    use crate::server::{server_fn, two_step};
    let (state, principal) = server_fn::signed_in()?;
    two_step::status(&state, principal.user.id).await
}

/// Starts the setup (the password is required): a new secret, as a QR code and as text.
#[server(endpoint = "two-step/start")]
pub async fn start(password: String) -> Result<TwoStepSetup, AppError> {
    use crate::{
        paths,
        server::{server_fn, two_step},
    };
    let (state, principal) = server_fn::signed_in()?;
    let setup = two_step::start(&state, &principal, password).await?;
    server_fn::return_to_after_form_post(paths::TWO_STEP_SETUP);
    Ok(setup)
}

/// The setup waiting for its first code, if there is one (the setup page after a reload, or
/// after the start form was posted without JavaScript).
#[server(endpoint = "two-step/pending")]
pub async fn pending() -> Result<Option<TwoStepSetup>, AppError> {
    use crate::server::{server_fn, two_step};
    let (state, principal) = server_fn::signed_in()?;
    two_step::pending(&state, &principal.user).await
}

/// Finishes the setup with a code from the app; returns the recovery codes, shown only now.
/// Every other session is signed out.
#[server(endpoint = "two-step/confirm")]
pub async fn confirm(code: String) -> Result<Vec<String>, AppError> {
    use crate::server::{server_fn, two_step};
    let (state, principal) = server_fn::signed_in()?;
    let context = server_fn::context()?;
    let codes = two_step::confirm(&state, &principal, &code, &context.client).await?;
    fresh_codes_for_plain_form_post(&state, &codes).await?;
    Ok(codes)
}

/// Turns two-step sign-in off (password and a code, or a recovery code). Every other session
/// is signed out.
#[server(endpoint = "two-step/disable")]
pub async fn disable(password: String, code: String) -> Result<u64, AppError> {
    use crate::{
        paths,
        server::{server_fn, two_step},
    };
    let (state, principal) = server_fn::signed_in()?;
    let context = server_fn::context()?;
    let ended = two_step::disable(&state, &principal, password, &code, &context.client).await?;
    server_fn::return_to_after_form_post(paths::ACCOUNT);
    Ok(ended)
}

/// New recovery codes (password and a code): the old ones stop working. Every other session is
/// signed out.
#[server(endpoint = "two-step/recovery-codes")]
pub async fn replace_recovery_codes(
    password: String,
    code: String,
) -> Result<Vec<String>, AppError> {
    use crate::server::{server_fn, two_step};
    let (state, principal) = server_fn::signed_in()?;
    let context = server_fn::context()?;
    let codes =
        two_step::replace_recovery_codes(&state, &principal, password, &code, &context.client)
            .await?;
    fresh_codes_for_plain_form_post(&state, &codes).await?;
    Ok(codes)
}

/// Recovery codes just made by a plain form post (JavaScript off), which cannot show a
/// function's answer: read once by the setup page, then gone.
#[server(endpoint = "two-step/fresh-codes")]
pub async fn fresh_codes() -> Result<Vec<String>, AppError> {
    use crate::server::{server_fn, two_step};
    let (state, _) = server_fn::signed_in()?;
    let cookies = server_fn::cookies().await?;
    Ok(two_step::take_fresh_codes(&state.config, &cookies))
}

#[cfg(feature = "ssr")]
async fn fresh_codes_for_plain_form_post(
    state: &crate::server::state::AppState,
    codes: &[String],
) -> Result<(), AppError> {
    use crate::{
        paths,
        server::{server_fn, two_step},
    };
    if server_fn::is_plain_form_post() {
        let cookies = server_fn::cookies().await?;
        two_step::keep_fresh_codes(&state.config, &cookies, codes);
        leptos_axum::redirect(paths::TWO_STEP_SETUP);
    }
    Ok(())
}
