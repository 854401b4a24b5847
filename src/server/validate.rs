//! Input rules for every front door (server functions now, the REST API later), in one place.
//!
//! Inputs are normalized first (names and titles trimmed, emails trimmed and lower-cased;
//! passwords are never altered), then checked with `validator`. Every failure becomes a
//! [`FieldError`] that names its field and says what to do.

use validator::{Validate, ValidationErrors};

use crate::{
    error::{AppError, FieldError},
    model::limits::{EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, TITLE_MAX},
};

/// A registration that passed validation, normalized and ready to store.
#[derive(Debug)]
pub struct ValidRegistration {
    pub name: String,
    pub email: String,
}

// validator's length bounds are u64.
const NAME_MAX_LEN: u64 = NAME_MAX as u64;
const EMAIL_MAX_LEN: u64 = EMAIL_MAX as u64;
const PASSWORD_MIN_LEN: u64 = PASSWORD_MIN as u64;
const PASSWORD_MAX_LEN: u64 = PASSWORD_MAX as u64;
const TITLE_MAX_LEN: u64 = TITLE_MAX as u64;

#[derive(Validate)]
struct RegistrationRules<'a> {
    #[validate(length(min = 1, max = NAME_MAX_LEN))]
    name: &'a str,
    #[validate(email, length(max = EMAIL_MAX_LEN))]
    email: &'a str,
    #[validate(length(min = PASSWORD_MIN_LEN, max = PASSWORD_MAX_LEN))]
    password: &'a str,
}

#[derive(Validate)]
struct TitleRules<'a> {
    #[validate(length(min = 1, max = TITLE_MAX_LEN))]
    title: &'a str,
}

/// Trims and lower-cases an email so that one address is one account however it is typed.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks a sign-up form. `password_confirm` is checked only when given (the JSON API has none).
///
/// # Errors
/// [`AppError::Validation`] naming every bad field.
pub fn registration(
    name: &str,
    email: &str,
    password: &str,
    password_confirm: Option<&str>,
) -> Result<ValidRegistration, AppError> {
    let name = name.trim();
    let email = normalize_email(email);
    let mut errors = match (RegistrationRules {
        name,
        email: &email,
        password,
    })
    .validate()
    {
        Ok(()) => Vec::new(),
        Err(e) => field_errors(&e, |field| match field {
            "name" if name.is_empty() => "Enter your name.".into(),
            "name" => format!("Name must be at most {NAME_MAX} characters."),
            "email" => "Enter a valid email address, like name@example.com.".into(),
            "password" if password.chars().count() < PASSWORD_MIN => {
                format!("Password must be at least {PASSWORD_MIN} characters.")
            }
            _ => format!("Password must be at most {PASSWORD_MAX} characters."),
        }),
    };
    if let Some(confirm) = password_confirm
        && confirm != password
    {
        errors.push(FieldError::new(
            "password_confirm",
            "The passwords do not match.",
        ));
    }
    if errors.is_empty() {
        Ok(ValidRegistration {
            name: name.to_owned(),
            email,
        })
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Checks and trims a task title.
///
/// # Errors
/// [`AppError::Validation`] on the `title` field.
pub fn title(title: &str) -> Result<String, AppError> {
    let title = title.trim();
    match (TitleRules { title }).validate() {
        Ok(()) => Ok(title.to_owned()),
        Err(_) if title.is_empty() => Err(AppError::field("title", "Enter a title for the task.")),
        Err(_) => Err(AppError::field(
            "title",
            format!("A task title can be at most {TITLE_MAX} characters."),
        )),
    }
}

/// Turns validator's errors into our field errors, in the struct's field order, one per field.
fn field_errors(errors: &ValidationErrors, message: impl Fn(&str) -> String) -> Vec<FieldError> {
    let mut fields: Vec<String> = errors
        .field_errors()
        .keys()
        .map(|k| k.to_string())
        .collect();
    let order = ["name", "email", "password", "title"];
    fields.sort_by_key(|f| order.iter().position(|o| o == f).unwrap_or(order.len()));
    fields
        .into_iter()
        .map(|field| FieldError::new(&field, message(&field)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: AppError) -> Vec<String> {
        match err {
            AppError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn valid_registration_is_normalized() {
        let ok = registration(
            "  Ada Lovelace ",
            "  Ada@Example.COM ",
            "correct horse",
            Some("correct horse"),
        )
        .unwrap();
        assert_eq!(ok.name, "Ada Lovelace");
        assert_eq!(ok.email, "ada@example.com");
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = registration("  ", "not-an-email", "short", Some("different")).unwrap_err();
        assert_eq!(
            fields(err),
            ["name", "email", "password", "password_confirm"]
        );
    }

    #[test]
    fn name_limit_is_100_characters_not_bytes() {
        assert!(registration(&"é".repeat(100), "a@b.co", "12345678", None).is_ok());
        let err = registration(&"a".repeat(101), "a@b.co", "12345678", None).unwrap_err();
        assert!(err.message_for("name").unwrap().contains("100"));
    }

    #[test]
    fn password_bounds_are_8_to_128_characters() {
        assert!(registration("A", "a@b.co", &"p".repeat(8), None).is_ok());
        assert!(registration("A", "a@b.co", &"p".repeat(128), None).is_ok());
        assert!(registration("A", "a@b.co", &"ü".repeat(128), None).is_ok());
        let short = registration("A", "a@b.co", &"p".repeat(7), None).unwrap_err();
        assert!(
            short
                .message_for("password")
                .unwrap()
                .contains("at least 8")
        );
        let long = registration("A", "a@b.co", &"p".repeat(129), None).unwrap_err();
        assert!(
            long.message_for("password")
                .unwrap()
                .contains("at most 128")
        );
    }

    #[test]
    fn passwords_are_not_trimmed() {
        // Eight characters only because of the spaces: still accepted, never altered.
        assert!(registration("A", "a@b.co", "  abcd  ", None).is_ok());
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for email in ["", "plain", "a@", "@b.co", "a b@c.co", "a@b@c.co"] {
            let err = registration("A", email, "12345678", None).unwrap_err();
            assert_eq!(fields(err), ["email"], "accepted {email:?}");
        }
    }

    #[test]
    fn title_is_trimmed_and_bounded() {
        assert_eq!(title("  buy milk \n").unwrap(), "buy milk");
        assert!(
            title("   ")
                .unwrap_err()
                .message_for("title")
                .unwrap()
                .contains("Enter")
        );
        assert!(title(&"x".repeat(500)).is_ok());
        assert!(
            title(&"x".repeat(501))
                .unwrap_err()
                .message_for("title")
                .unwrap()
                .contains("500")
        );
    }
}
