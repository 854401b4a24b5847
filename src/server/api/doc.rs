//! The OpenAPI 3.1 document of the REST API, generated from the handlers and types by utoipa,
//! and the Swagger UI that renders it (bundled in the binary: no CDN).

use axum::{
    Router,
    http::{HeaderValue, header},
    middleware,
    response::Response,
};
use utoipa::{
    IntoResponses, Modify, OpenApi,
    openapi::security::{
        Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityScheme,
    },
};
use utoipa_swagger_ui::SwaggerUi;

use super::types::{
    AcceptedOut, AccountDeletion, AccountOut, AccountPageOut, AccountPatch, AuditEventOut,
    AuditPageOut, ChangeEmailBody, ExportOut, NewTask, PasskeyOut, PasswordChangeBody,
    PasswordResetBody, PasswordResetConfirmBody, RecoveryCodesOut, RefreshBody, RegisterBody,
    SessionOut, TaskOut, TaskPage, TaskPatch, TokenForm, TokenOut, TotpCheckBody, TotpConfirmBody,
    TotpSetupOut, TotpStartBody, UserOut, VerifyEmailBody,
};
use crate::model::Role;
use crate::server::{
    error::{
        ErrorOut, OAuthErrorCode, OAuthErrorOut, TokenBadRequestOut, TokenErrorOut,
        ValidationErrorOut, ValidationItem,
    },
    headers::docs_content_security_policy,
    state::AppState,
};

/// The answers every endpoint with a JSON body may give to a body it cannot read.
#[derive(IntoResponses)]
pub enum JsonBodyErrors {
    #[response(status = 400, description = "The body is not valid JSON")]
    Malformed(ErrorOut),
    #[response(status = 413, description = "The body is larger than 64 KiB")]
    TooLarge(ErrorOut),
    #[response(status = 415, description = "The body is not `application/json`")]
    NotJson(ErrorOut),
}

/// The answers every Bearer-protected endpoint may give.
#[derive(IntoResponses)]
pub enum AuthErrors {
    #[response(
        status = 401,
        description = "No token (`WWW-Authenticate: Bearer`), or an invalid or expired one \
                       (`Bearer error=\"invalid_token\"`)"
    )]
    Unauthorized(ErrorOut),
}

/// The refusals of endpoints that change tasks: past the account's `WRITES_PER_MINUTE`, and
/// with `REQUIRE_VERIFIED_EMAIL` on, before the account's address is verified.
#[derive(IntoResponses)]
pub enum WriteRefusals {
    #[response(
        status = 403,
        description = "The server requires a verified email address (`REQUIRE_VERIFIED_EMAIL`) \
                       and this account's is not verified yet: open the mailed link, or ask for \
                       another with `POST /api/v1/users/me/verification`"
    )]
    Unverified(ErrorOut),
    #[response(
        status = 429,
        description = "Too many task changes by this account in the current minute",
        headers(("Retry-After" = u64, description = "Seconds until changes are accepted again"))
    )]
    TooMany(ErrorOut),
}

/// The answers every administrators-only endpoint may give.
#[derive(IntoResponses)]
pub enum AdminErrors {
    #[response(
        status = 401,
        description = "No token (`WWW-Authenticate: Bearer`), or an invalid or expired one \
                       (`Bearer error=\"invalid_token\"`)"
    )]
    Unauthorized(ErrorOut),
    #[response(status = 403, description = "The caller is not an administrator")]
    Forbidden(ErrorOut),
}

/// The answers of endpoints that address one task by id.
#[derive(IntoResponses)]
pub enum TaskIdErrors {
    #[response(
        status = 404,
        description = "No such task (another user's task looks the same)"
    )]
    NotFound(ErrorOut),
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tasks API",
        description = "Your task list over JSON. Get tokens from `POST /api/v1/auth/token` \
                       (OAuth2 password grant) and send the access token as \
                       `Authorization: Bearer <token>`. It lives 15 minutes; exchange the \
                       refresh token at `POST /api/v1/auth/refresh` for a new pair (each \
                       refresh token works once).",
        // No license file, no `license` in Cargo.toml: the product is not open source.
        license(name = "Proprietary")
    ),
    paths(
        super::register,
        super::token,
        super::refresh,
        super::logout,
        super::list_sessions,
        super::revoke_other_sessions,
        super::revoke_session,
        super::me,
        super::delete_me,
        super::my_activity,
        super::my_passkeys,
        super::export_me,
        super::change_password,
        super::email::request_password_reset,
        super::email::confirm_password_reset,
        super::email::verify_email,
        super::email::resend_verification,
        super::email::change_email,
        super::totp::start,
        super::totp::confirm,
        super::totp::disable,
        super::totp::replace_recovery_codes,
        super::list_tasks,
        super::create_task,
        super::get_task,
        super::update_task,
        super::delete_task,
        super::admin::list_users,
        super::admin::get_user,
        super::admin::update_user,
        super::admin::sign_out_user,
        super::admin::reset_two_step,
        super::admin::delete_user,
        super::admin::list_audit
    ),
    components(schemas(
        RegisterBody, UserOut, TokenForm, TokenOut, TokenErrorOut, OAuthErrorCode, RefreshBody,
        OAuthErrorOut, TokenBadRequestOut, SessionOut,
        PasswordChangeBody, TaskOut, TaskPage, NewTask, TaskPatch, ErrorOut, ValidationErrorOut,
        ValidationItem, Role, AccountOut, AccountPageOut, AccountPatch, AuditEventOut,
        AuditPageOut, AccountDeletion, ExportOut, PasswordResetBody, PasswordResetConfirmBody,
        VerifyEmailBody, ChangeEmailBody, AcceptedOut, TotpStartBody, TotpSetupOut,
        TotpConfirmBody, TotpCheckBody, RecoveryCodesOut, PasskeyOut
    )),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Sign up, get and refresh tokens, manage sessions"),
        (name = "users", description = "The signed-in user"),
        (name = "tasks", description = "The signed-in user's tasks"),
        (name = "admin", description = "Administrators only: accounts and the audit trail")
    )
)]
pub struct ApiDoc;

/// Declares how clients authenticate: a Bearer JWT, obtainable with the OAuth2 password flow
/// (which also lets Swagger UI's "Authorize" button log in).
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::with_refresh_url(
                "/api/v1/auth/token",
                Scopes::new(),
                "/api/v1/auth/token",
            ))])),
        );
    }
}

/// Swagger UI at `/api/v1/docs`, and the document itself at `/api/v1/openapi.json`.
///
/// Its online validator is off: by default Swagger UI sends the document's URL to
/// validator.swagger.io for a badge, which would tell a third party about every deployment
/// (and fail anyway under our CSP). Its responses carry [`docs_content_security_policy`],
/// which `server::edge` keeps.
pub fn swagger_ui() -> Router<AppState> {
    let ui = SwaggerUi::new("/api/v1/docs")
        .url("/api/v1/openapi.json", ApiDoc::openapi())
        .config(utoipa_swagger_ui::Config::default().validator_url("none"));
    let csp = HeaderValue::from_str(&docs_content_security_policy()).ok();
    Router::from(ui).layer(middleware::map_response(move |mut response: Response| {
        if let Some(csp) = &csp {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, csp.clone());
        }
        async move { response }
    }))
}
