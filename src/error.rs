//! The one error type of the application.
//!
//! Server functions return it, the pages match on it to show the right message next to the right
//! field, and (in the `ssr` build) it maps itself to an HTTP status. Its variants carry only what
//! is safe to show a client: internal causes are logged where they happen and become
//! [`AppError::Internal`], which says nothing about them.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A problem with one input field, shown next to that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form field / JSON property name, e.g. `email`.
    pub field: String,
    /// A sentence that tells the person what to change.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything that can go wrong in a way a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum AppError {
    /// One or more inputs are invalid; each entry names its field.
    #[error("Please correct the highlighted fields.")]
    Validation(Vec<FieldError>),
    /// Wrong email or wrong password: deliberately the same error for both.
    #[error("Incorrect email or password.")]
    InvalidCredentials,
    #[error("An account with this email is already registered. Log in instead.")]
    EmailTaken,
    /// No valid credentials were presented (missing, expired, tampered token, or deleted user).
    #[error("You are not signed in, or your session has expired. Please log in.")]
    Unauthorized,
    /// A token was presented but is invalid, expired, or belongs to a deleted account
    /// (RFC 6750 `invalid_token`). Pages treat it like [`AppError::Unauthorized`].
    #[error("Your session is invalid or has expired. Please log in again.")]
    InvalidToken,
    #[error("You are not allowed to do that.")]
    Forbidden,
    /// The caller is signed in but is not an administrator.
    #[error("This needs an administrator. Ask one to give your account the admin role.")]
    AdminOnly,
    /// An administrator's change was refused by a rule that keeps the service manageable.
    #[error("{0}")]
    AdminRule(AdminRule),
    /// The password was right but the account has been disabled.
    #[error("This account has been disabled. Contact support if you think this is a mistake.")]
    AccountDisabled,
    /// A refresh token that is unknown, expired, already used or whose session was revoked
    /// (OAuth2 `invalid_grant`, RFC 6749 §5.2).
    #[error("The refresh token is invalid, expired or revoked. Sign in again.")]
    InvalidGrant,
    /// The item does not exist *for this user*: other people's items look exactly like this.
    #[error("{0}")]
    NotFound(Resource),
    /// The request itself could not be understood (malformed form data, missing field).
    #[error("The request was malformed: {0}")]
    BadRequest(String),
    /// The request body is not in a format this endpoint accepts.
    #[error("Unsupported content type: {0}")]
    UnsupportedMediaType(String),
    /// The request body is larger than the server accepts.
    #[error("The request is too large.")]
    PayloadTooLarge,
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    #[error("The service is temporarily unavailable. Please try again in a moment.")]
    Unavailable,
    /// A link from a mail (password reset, verification, email change) that is unknown,
    /// expired, already used, or replaced by a newer one.
    #[error(
        "This link is invalid, has expired or was already used. Ask for a new one; only the \
         newest link works."
    )]
    InvalidLink,
    /// `REQUIRE_VERIFIED_EMAIL` is on and the account's address is not verified yet.
    #[error(
        "Verify your email address first: open the link we sent you, or ask for a new one on \
         your account page. Until then your tasks are read-only."
    )]
    EmailNotVerified,
    /// Production without `SMTP_URL`: nothing can be sent.
    #[error(
        "This server does not send email, so this cannot be done by mail. Ask an \
         administrator for help."
    )]
    MailUnavailable,
    /// Two-step sign-in is not in the state the request needs.
    #[error("{0}")]
    TwoStep(TwoStepRule),
    /// A sign-in waiting for its second step that is unknown, expired, already completed or
    /// ended after too many wrong codes.
    #[error(
        "This sign-in has expired or ended (it lasts 5 minutes and allows 5 wrong codes). Sign \
         in again with your password."
    )]
    SignInExpired,
    /// A passkey could not be added, used or removed (the sentence says why and what to do).
    #[error("{0}")]
    Passkey(PasskeyRule),
    /// A bug or an unexpected failure on the server; the cause is in the server log only.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The browser could not reach the server or understand its answer.
    #[error("Could not reach the server. Check your connection and try again.")]
    Network(String),
}

/// What a [`AppError::NotFound`] could not find, so its message names the right thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    #[error("That task does not exist. It may have been deleted.")]
    Task,
    #[error("That session does not exist or has already ended.")]
    Session,
    #[error("Not Found: no such API endpoint; see /api/v1/docs")]
    Endpoint,
    #[error("That account does not exist. It may have been deleted.")]
    User,
    #[error("That message is not in the development mailbox.")]
    Mail,
    #[error("That passkey is not on your account. It may have been removed.")]
    Passkey,
}

/// Why an administrator's change to an account was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum AdminRule {
    #[error("You cannot remove your own administrator role. Ask another administrator to do it.")]
    SelfDemote,
    #[error("You cannot disable your own account.")]
    SelfDisable,
    #[error("You cannot delete your own account from here. Use your account page.")]
    SelfDelete,
    #[error(
        "This is the last administrator. Make another account an administrator first, so \
         someone can still manage Tasks."
    )]
    LastAdmin,
}

/// Why a change to two-step sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum TwoStepRule {
    #[error("Two-step sign-in is already on. Turn it off first to move it to another app.")]
    AlreadyOn,
    #[error("Two-step sign-in is not on for this account.")]
    NotOn,
    #[error(
        "No setup is waiting for a code (it was finished or cancelled elsewhere). Start again \
         with \"Turn on two-step sign-in\"."
    )]
    NotStarted,
}

/// Why a passkey ceremony or change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyRule {
    #[error(
        "Passkeys are not available on this server: it needs PUBLIC_URL set to the address \
         people open it at (a domain name, not an IP address). Sign in with your password."
    )]
    Unavailable,
    #[error(
        "That took too long, or this passkey request was already used. Try again (a request \
         lasts 5 minutes)."
    )]
    Expired,
    #[error(
        "Your passkey's answer could not be accepted (it was not made for this site, the \
         device did not verify you, or it does not match). Try again, or use your password."
    )]
    NotAccepted,
    #[error(
        "This passkey is not known here (it may have been removed from your account). Sign in \
         with your password or another passkey, and remove it from your device."
    )]
    Unknown,
    #[error(
        "This passkey was refused: its signature counter went backwards, which happens when a \
         passkey has been copied. It is suspended now: sign in another way, then re-enable or \
         remove it on your account page."
    )]
    Cloned,
    #[error(
        "This passkey is suspended (a copy of it may exist, or “This wasn't me” was used). Sign \
         in another way, then re-enable or remove it on your account page."
    )]
    Suspended,
    #[error(
        "Too many passkey sign-ins are waiting for an answer right now. Try again in a minute, \
         or sign in with your password."
    )]
    Busy,
    #[error("This passkey is already registered with your account.")]
    AlreadyRegistered,
    #[error(
        "This passkey is your only way to sign in. Add a password or another passkey first, \
         then remove it."
    )]
    LastSignInMethod,
    #[error(
        "For your safety this needs a recent sign-in: sign out, sign in again with your \
         passkey, and try again within 10 minutes."
    )]
    NeedsRecentSignIn,
    #[error("Your account already has a password. Change it with the password form instead.")]
    HasPassword,
}

impl From<PasskeyRule> for AppError {
    fn from(rule: PasskeyRule) -> Self {
        Self::Passkey(rule)
    }
}

impl From<TwoStepRule> for AppError {
    fn from(rule: TwoStepRule) -> Self {
        Self::TwoStep(rule)
    }
}

impl From<AdminRule> for AppError {
    fn from(rule: AdminRule) -> Self {
        Self::AdminRule(rule)
    }
}

impl AppError {
    /// Shorthand for a validation error on a single field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The message for `field`, if this is a validation error that names it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            Self::Validation(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            Self::EmailTaken if field == "email" => Some(self.to_string()),
            _ => None,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation(_) => 422,
            Self::InvalidCredentials | Self::Unauthorized | Self::InvalidToken => 401,
            Self::Forbidden | Self::AccountDisabled | Self::AdminOnly => 403,
            Self::AdminRule(AdminRule::LastAdmin) => 409,
            Self::AdminRule(_) => 403,
            Self::InvalidGrant => 400,
            Self::NotFound(_) => 404,
            Self::EmailTaken => 409,
            Self::BadRequest(_) => 400,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::RateLimited { .. } => 429,
            Self::Unavailable | Self::MailUnavailable => 503,
            Self::InvalidLink => 400,
            Self::EmailNotVerified => 403,
            Self::TwoStep(_) => 409,
            Self::SignInExpired => 400,
            Self::Passkey(rule) => match rule {
                PasskeyRule::Expired
                | PasskeyRule::NotAccepted
                | PasskeyRule::Unknown
                | PasskeyRule::Cloned => 400,
                PasskeyRule::NeedsRecentSignIn | PasskeyRule::Suspended => 403,
                PasskeyRule::Busy => 503,
                PasskeyRule::Unavailable
                | PasskeyRule::AlreadyRegistered
                | PasskeyRule::LastSignInMethod
                | PasskeyRule::HasPassword => 409,
            },
            Self::Internal | Self::Network(_) => 500,
        }
    }
}

impl AppError {
    /// The request body could not be read. The body limit layer trips while the body is read
    /// when the client sent no Content-Length, and the read error only says so in its text.
    pub fn unreadable_body(message: String) -> Self {
        if message.contains("length limit exceeded") {
            Self::PayloadTooLarge
        } else {
            Self::BadRequest(message)
        }
    }
}

/// A pure conversion: the HTTP status of a server function's error is set by one layer on the
/// way out (`server::error::server_fn_status`), not here.
impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // On the server: the submitted arguments could not be decoded. That is the
            // caller's mistake (a 400), never a server error.
            ServerFnErrorErr::Args(msg) => Self::BadRequest(msg),
            ServerFnErrorErr::MissingArg(name) => {
                Self::BadRequest(format!("the field `{name}` is missing"))
            }
            // On the server: the request body could not be read (too large, or not decodable).
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(msg) => Self::unreadable_body(msg),
            // On the client: the request never reached the server or its answer was garbled.
            #[cfg(not(feature = "ssr"))]
            ServerFnErrorErr::Request(msg) | ServerFnErrorErr::Deserialization(msg) => {
                Self::Network(msg)
            }
            // The machinery failed; the cause is logged by the layer that answers the request
            // (the client sees only the opaque Internal).
            _ => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_for_finds_the_named_field_only() {
        let err = AppError::Validation(vec![
            FieldError::new("email", "bad email"),
            FieldError::new("name", "bad name"),
        ]);
        assert_eq!(err.message_for("email").as_deref(), Some("bad email"));
        assert_eq!(err.message_for("password"), None);
        assert!(AppError::EmailTaken.message_for("email").is_some());
        assert_eq!(AppError::InvalidCredentials.message_for("email"), None);
    }

    #[test]
    fn errors_round_trip_through_their_wire_encoding() {
        for err in [
            AppError::field("title", "too long"),
            AppError::InvalidCredentials,
            AppError::RateLimited {
                retry_after_secs: 7,
            },
            AppError::Internal,
            AppError::NotFound(Resource::Session),
        ] {
            let bytes = err.ser();
            assert_eq!(AppError::de(bytes), err);
        }
    }

    #[test]
    fn not_found_names_what_was_not_found() {
        assert!(
            AppError::NotFound(Resource::Task)
                .to_string()
                .contains("task")
        );
        let session = AppError::NotFound(Resource::Session).to_string();
        assert!(
            session.contains("session") && !session.contains("task"),
            "{session}"
        );
    }

    #[test]
    fn internal_error_text_reveals_nothing() {
        let text = AppError::Internal.to_string();
        assert!(!text.to_lowercase().contains("sql"));
    }
}
