//! The REST front door of two-step sign-in's setup (`server::two_step`): start with the
//! password, confirm with a code, turn off, new recovery codes. Signing in with a code is the
//! token endpoint's `mfa_otp` grant.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};

use super::{
    doc::{AuthErrors, JsonBodyErrors},
    extract::ApiJson,
    types::{RecoveryCodesOut, TotpCheckBody, TotpConfirmBody, TotpSetupOut, TotpStartBody},
};
use crate::{
    error::AppError,
    server::{
        context::{Principal, RequestContext},
        error::{ErrorOut, ValidationErrorOut},
        state::AppState,
        two_step,
    },
};

/// Start turning on two-step sign-in (the current password is required): a new secret for an
/// authenticator app (SHA-1, 6 digits, 30 s), as text and as an `otpauth://` URI. Nothing
/// changes for signing in until `POST /users/me/totp/confirm` gets a code made with it;
/// starting again replaces an unconfirmed secret.
#[utoipa::path(post, path = "/api/v1/users/me/totp", tag = "users",
    request_body = TotpStartBody,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 201, description = "A new secret, waiting for its first code", body = TotpSetupOut),
        AuthErrors,
        (status = 409, description = "Two-step sign-in is already on (turn it off first)", body = ErrorOut),
        JsonBodyErrors,
        (status = 422, description = "Wrong password", body = ValidationErrorOut),
        (status = 429, description = "Too many wrong passwords or codes for this account", body = ErrorOut,
            headers(("Retry-After" = u64, description = "Seconds until attempts are allowed again"))),
    ))]
pub async fn start(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<TotpStartBody>,
) -> Result<impl IntoResponse, AppError> {
    let setup = two_step::start(&state, &principal, body.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(TotpSetupOut {
            secret: setup.secret,
            otpauth_uri: setup.otpauth_uri,
        }),
    ))
}

/// Finish turning on two-step sign-in with the app's current code. Returns 10 recovery codes,
/// shown only here (each works once instead of a code); every other session is signed out.
#[utoipa::path(post, path = "/api/v1/users/me/totp/confirm", tag = "users",
    request_body = TotpConfirmBody,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "Two-step sign-in is on", body = RecoveryCodesOut),
        AuthErrors,
        (status = 409, description = "Already on, or no secret is waiting for a code (start again)", body = ErrorOut),
        JsonBodyErrors,
        (status = 422, description = "The code does not match the new secret", body = ValidationErrorOut),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    ApiJson(body): ApiJson<TotpConfirmBody>,
) -> Result<impl IntoResponse, AppError> {
    let codes = two_step::confirm(&state, &principal, &body.code, &context.client).await?;
    Ok(Json(RecoveryCodesOut {
        recovery_codes: codes,
    }))
}

/// Turn off two-step sign-in: the password and a current code (or an unused recovery code)
/// are required. Every other session is signed out.
#[utoipa::path(delete, path = "/api/v1/users/me/totp", tag = "users",
    request_body = TotpCheckBody,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 204, description = "Two-step sign-in is off"),
        AuthErrors,
        (status = 409, description = "Two-step sign-in is not on", body = ErrorOut),
        JsonBodyErrors,
        (status = 422, description = "Wrong password or code", body = ValidationErrorOut),
        (status = 429, description = "Too many wrong passwords or codes for this account", body = ErrorOut,
            headers(("Retry-After" = u64, description = "Seconds until attempts are allowed again"))),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    ApiJson(body): ApiJson<TotpCheckBody>,
) -> Result<StatusCode, AppError> {
    two_step::disable(
        &state,
        &principal,
        body.password,
        &body.code,
        &context.client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replace the recovery codes: the password and a current code (or an unused recovery code)
/// are required. The old codes stop working; every other session is signed out.
#[utoipa::path(post, path = "/api/v1/users/me/recovery-codes", tag = "users",
    request_body = TotpCheckBody,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 200, description = "The new recovery codes", body = RecoveryCodesOut),
        AuthErrors,
        (status = 409, description = "Two-step sign-in is not on", body = ErrorOut),
        JsonBodyErrors,
        (status = 422, description = "Wrong password or code", body = ValidationErrorOut),
        (status = 429, description = "Too many wrong passwords or codes for this account", body = ErrorOut,
            headers(("Retry-After" = u64, description = "Seconds until attempts are allowed again"))),
    ))]
pub async fn replace_recovery_codes(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    ApiJson(body): ApiJson<TotpCheckBody>,
) -> Result<impl IntoResponse, AppError> {
    let codes = two_step::replace_recovery_codes(
        &state,
        &principal,
        body.password,
        &body.code,
        &context.client,
    )
    .await?;
    Ok(Json(RecoveryCodesOut {
        recovery_codes: codes,
    }))
}
