//! The REST front door of the mail flows (`server::email`): password reset, address
//! verification, email change.

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};

use super::{
    doc::{AuthErrors, JsonBodyErrors},
    extract::ApiJson,
    types::{
        AcceptedOut, ChangeEmailBody, PasswordResetBody, PasswordResetConfirmBody, VerifyEmailBody,
    },
};
use crate::{
    error::AppError,
    server::{
        context::{Principal, RequestContext},
        email,
        error::{ErrorOut, ValidationErrorOut},
        state::AppState,
    },
};

/// The one answer to a password-reset request, whoever the address belongs to.
pub const RESET_REQUESTED: &str =
    "If an account exists for that address, we sent a link to it. It works for 30 minutes.";

fn accepted(detail: &str) -> impl IntoResponse + use<> {
    (
        StatusCode::ACCEPTED,
        Json(AcceptedOut {
            detail: detail.to_owned(),
        }),
    )
}

/// Ask for a password-reset link by email. The answer is the same whether or not an account
/// has the address (and for a disabled one): a link goes out only to an existing, enabled
/// account, and works once, for 30 minutes; a newer one makes it useless.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetBody,
    responses(
        (status = 202, description = "Accepted; a link was sent if an account has the address", body = AcceptedOut),
        JsonBodyErrors,
        (status = 422, description = "The email is missing, empty or longer than 254 characters", body = ValidationErrorOut),
        (status = 429, description = "Too many mail requests for this address or from this client", body = ErrorOut,
            headers(("Retry-After" = u64, description = "Seconds until requests are accepted again"))),
        (status = 503, description = "This server sends no email (no SMTP_URL in production)", body = ErrorOut),
    ))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    context: RequestContext,
    ApiJson(body): ApiJson<PasswordResetBody>,
) -> Result<impl IntoResponse, AppError> {
    email::request_password_reset(&state, &body.email, &context.client).await?;
    Ok(accepted(RESET_REQUESTED))
}

/// Set a new password with the token from a reset link. Every session of the account ends
/// (sign in again with the new password); the link stops working.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = PasswordResetConfirmBody,
    responses(
        (status = 204, description = "Password changed; every session of the account ended"),
        (status = 400, description = "The token is unknown, expired, used, or replaced by a newer link", body = ErrorOut),
        (status = 403, description = "The account has been disabled", body = ErrorOut),
        JsonBodyErrors,
        (status = 422, description = "The new password is refused (same rules as at sign-up)", body = ValidationErrorOut),
    ))]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    context: RequestContext,
    ApiJson(body): ApiJson<PasswordResetConfirmBody>,
) -> Result<StatusCode, AppError> {
    email::reset_password(
        &state,
        &body.token,
        &body.new_password,
        None,
        &context.client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Verify an email address with the token from a verification link. Presenting a spent token
/// again succeeds while the account still has that address.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth",
    request_body = VerifyEmailBody,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 400, description = "The token is unknown, expired, replaced by a newer link, or for an address the account no longer has", body = ErrorOut),
        JsonBodyErrors,
        (status = 422, description = "A required field is missing or not a string", body = ValidationErrorOut),
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    context: RequestContext,
    ApiJson(body): ApiJson<VerifyEmailBody>,
) -> Result<StatusCode, AppError> {
    email::verify_email(&state, &body.token, &context.client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send the verification mail again (its older link stops working). Nothing is sent when the
/// address is verified already.
#[utoipa::path(post, path = "/api/v1/users/me/verification", tag = "users",
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 202, description = "A new verification link was sent (unless the address is verified)", body = AcceptedOut),
        AuthErrors,
        (status = 429, description = "Too many mail requests for this address or from this client", body = ErrorOut,
            headers(("Retry-After" = u64, description = "Seconds until requests are accepted again"))),
        (status = 503, description = "This server sends no email (no SMTP_URL in production)", body = ErrorOut),
    ))]
pub async fn resend_verification(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
) -> Result<impl IntoResponse, AppError> {
    email::resend_verification(&state, &principal, &context.client).await?;
    Ok(accepted(&format!(
        "We sent a new verification link to {}.",
        principal.user.email
    )))
}

/// Move the account to a new email address (the current password is required). A link goes
/// to the new address and a notice to the current one; the change happens when the link is
/// opened (a page of the app), within 24 hours.
#[utoipa::path(post, path = "/api/v1/users/me/email", tag = "users",
    request_body = ChangeEmailBody,
    security(("bearer" = []), ("oauth2" = [])),
    responses(
        (status = 202, description = "A confirmation link was sent to the new address", body = AcceptedOut),
        AuthErrors,
        JsonBodyErrors,
        (status = 422, description = "Wrong password, or the new address is invalid, the current one or another account's", body = ValidationErrorOut),
        (status = 429, description = "Too many mail requests for this address or from this client", body = ErrorOut,
            headers(("Retry-After" = u64, description = "Seconds until requests are accepted again"))),
        (status = 503, description = "This server sends no email (no SMTP_URL in production)", body = ErrorOut),
    ))]
pub async fn change_email(
    State(state): State<AppState>,
    principal: Principal,
    context: RequestContext,
    ApiJson(body): ApiJson<ChangeEmailBody>,
) -> Result<impl IntoResponse, AppError> {
    email::request_email_change(
        &state,
        &principal,
        &body.new_email,
        body.password,
        &context.client,
    )
    .await?;
    Ok(accepted(
        "We sent a confirmation link to the new address; your address changes when it is \
         opened.",
    ))
}
