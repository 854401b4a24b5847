//! Input rules for every front door (server functions now, the REST API later), in one place.
//!
//! Inputs are normalized first (names and titles trimmed, emails trimmed and lower-cased,
//! passwords NFKC-normalized but never trimmed or truncated), then checked with `validator` and
//! the password policy. Every failure becomes a [`FieldError`] that names its field and says
//! what to do.

use unicode_normalization::UnicodeNormalization;
use validator::{Validate, ValidationErrors};

use crate::{
    error::{AppError, FieldError},
    model::limits::{EMAIL_MAX, NAME_MAX, PASSKEY_NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, TITLE_MAX},
};

/// A registration that passed validation, normalized and ready to store.
pub struct ValidRegistration {
    pub name: String,
    pub email: String,
    /// NFKC-normalized: what gets hashed.
    pub password: String,
}

impl std::fmt::Debug for ValidRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidRegistration")
            .field("name", &self.name)
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Email local parts shorter than this are not checked for inside passwords: "al" would rule
/// out every password with "al" in it, which protects nobody.
const LOCAL_PART_MIN_CHECKED: usize = 3;
/// The fewest guesses zxcvbn may estimate for a new password: 10^6, the line between its scores
/// 1 ("too guessable") and 2 ("protection from unthrottled online attacks"). Sign-in attempts
/// are throttled and hashes are argon2id, so a million guesses is out of an online attacker's
/// reach. `123456789012` (about 10^4), `qwertyuiop[]`, `pppppppp` and `iloveyou2024` fall below;
/// `violet kettle` (about 10^8) and any passphrase of a few words clear it.
pub const PASSWORD_MIN_GUESSES: u64 = 1_000_000;

// validator's length bounds are u64.
const NAME_MAX_LEN: u64 = NAME_MAX as u64;
const EMAIL_MAX_LEN: u64 = EMAIL_MAX as u64;
const TITLE_MAX_LEN: u64 = TITLE_MAX as u64;

#[derive(Validate)]
struct RegistrationRules<'a> {
    #[validate(length(min = 1, max = NAME_MAX_LEN))]
    name: &'a str,
    #[validate(email, length(max = EMAIL_MAX_LEN))]
    email: &'a str,
}

#[derive(Validate)]
struct EmailRules<'a> {
    #[validate(email, length(max = EMAIL_MAX_LEN))]
    email: &'a str,
}

/// Checks and normalizes an email address typed into `field` (an email change's new address).
///
/// # Errors
/// A [`FieldError`] on `field` that says what a valid address looks like.
pub fn email(email: &str, field: &str) -> Result<String, FieldError> {
    let email = normalize_email(email);
    match (EmailRules { email: &email }).validate() {
        Ok(()) => Ok(email),
        Err(_) => Err(FieldError::new(
            field,
            "Enter a valid email address, like name@example.com.",
        )),
    }
}

#[derive(Validate)]
struct TitleRules<'a> {
    #[validate(length(min = 1, max = TITLE_MAX_LEN))]
    title: &'a str,
}

/// Trims and lower-cases an email, and writes its domain in the ASCII form of IDNA (UTS #46,
/// non-transitional, as browsers and mail servers resolve it), so that one mailbox is one account
/// however it is typed: `Ada@Bücher.example` and `ada@xn--bcher-kva.example` are the same. A
/// domain IDNA refuses is left lower-cased, and validation then refuses the address.
pub fn normalize_email(email: &str) -> String {
    let email = email.trim();
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_lowercase());
            format!("{}@{domain}", local.to_lowercase())
        }
        None => email.to_lowercase(),
    }
}

/// The form of a password that is hashed and compared: NFKC, so that one password typed on
/// different keyboards or systems (composed or decomposed accents, full-width digits) is one
/// password (NIST SP 800-63B §3.1.1.2).
pub fn normalize_password(password: &str) -> String {
    password.nfkc().collect()
}

/// Checks a new password against the policy of NIST SP 800-63B: 8 to 128 characters (counted
/// after normalization; longer inputs are refused before any other work), no composition
/// rules, never truncated, not one of the 30,000 most common passwords (zxcvbn's list, matched
/// case-insensitively), not guessable in fewer than [`PASSWORD_MIN_GUESSES`] by zxcvbn's
/// estimate (sequences, repeats, keyboard rows, dates, a word plus digits: what NIST lists
/// beside the common passwords) and not containing the email's local part. Returns the
/// normalized password.
///
/// # Errors
/// A [`FieldError`] on `field` that says why.
pub fn new_password(password: &str, email: &str, field: &str) -> Result<String, FieldError> {
    // Both bounds apply to the password as typed, in characters (what the API's JSON Schema
    // `minLength`/`maxLength` count), and before normalizing, so a megabyte of input costs
    // nothing. NFKC may then lengthen it (U+FB03 "ﬃ" becomes "ffi") or shorten it (a letter
    // plus a combining accent becomes one character); neither moves it across a bound.
    let typed = password.chars().count();
    if typed < PASSWORD_MIN {
        return Err(FieldError::new(
            field,
            format!("Password must be at least {PASSWORD_MIN} characters."),
        ));
    }
    if typed > PASSWORD_MAX {
        return Err(FieldError::new(
            field,
            format!("Password must be at most {PASSWORD_MAX} characters."),
        ));
    }
    let password = normalize_password(password);
    let estimate = zxcvbn::zxcvbn(&password, &[]);
    if is_common_password(&estimate) {
        return Err(FieldError::new(
            field,
            "This password is one of the most commonly used passwords, so it is among the \
             first an attacker tries. Choose another; a few unrelated words make a strong one.",
        ));
    }
    if estimate.guesses() < PASSWORD_MIN_GUESSES {
        // zxcvbn names the pattern that makes it guessable (a sequence, a repeat, a row of
        // keys, a date, a name plus digits); say it, so the person knows what to change.
        let why = estimate
            .feedback()
            .and_then(zxcvbn::feedback::Feedback::warning)
            .map(|warning| format!(" {warning}"))
            .unwrap_or_default();
        return Err(FieldError::new(
            field,
            format!(
                "This password is too easy to guess.{why} Make it longer or less predictable; \
                 a few unrelated words make a strong one."
            ),
        ));
    }
    let email = normalize_email(email);
    let local = email.split('@').next().unwrap_or_default();
    if local.chars().count() >= LOCAL_PART_MIN_CHECKED && password.to_lowercase().contains(local) {
        return Err(FieldError::new(
            field,
            "Password must not contain the first part of your email address.",
        ));
    }
    Ok(password)
}

/// Whether the whole password is on zxcvbn's list of common passwords (in any letter case),
/// rather than merely containing a common word.
fn is_common_password(estimate: &zxcvbn::Entropy) -> bool {
    use zxcvbn::feedback::Warning;
    estimate
        .feedback()
        .and_then(zxcvbn::feedback::Feedback::warning)
        .is_some_and(|warning| {
            matches!(
                warning,
                Warning::ThisIsATop10Password
                    | Warning::ThisIsATop100Password
                    | Warning::ThisIsACommonPassword
            )
        })
}

/// The problems with a sign-up's name and (normalized) email, in field order.
fn name_and_email_errors(name: &str, email: &str) -> Vec<FieldError> {
    match (RegistrationRules { name, email }).validate() {
        Ok(()) => Vec::new(),
        Err(e) => field_errors(&e, |field| match field {
            "name" if name.is_empty() => "Enter your name.".into(),
            "name" => format!("Name must be at most {NAME_MAX} characters."),
            _ => "Enter a valid email address, like name@example.com.".into(),
        }),
    }
}

/// Checks a sign-up without a password (a passkey instead): returns the trimmed name and the
/// normalized email.
///
/// # Errors
/// [`AppError::Validation`] naming every bad field.
pub fn name_and_email(name: &str, email: &str) -> Result<(String, String), AppError> {
    let name = name.trim();
    let email = normalize_email(email);
    let errors = name_and_email_errors(name, &email);
    if errors.is_empty() {
        Ok((name.to_owned(), email))
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Checks and trims a passkey's name; an empty one becomes "Passkey".
///
/// # Errors
/// [`AppError::Validation`] on the `name` field.
pub fn passkey_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err(AppError::field(
            "name",
            "A passkey's name cannot hold line breaks or control characters.",
        ));
    }
    if name.chars().count() > PASSKEY_NAME_MAX {
        return Err(AppError::field(
            "name",
            format!("A passkey's name can be at most {PASSKEY_NAME_MAX} characters."),
        ));
    }
    Ok(if name.is_empty() { "Passkey" } else { name }.to_owned())
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
    let mut errors = name_and_email_errors(name, &email);
    let normalized = new_password(password, &email, "password")
        .map_err(|e| errors.push(e))
        .ok();
    if let Some(confirm) = password_confirm
        && confirm != password
    {
        errors.push(FieldError::new(
            "password_confirm",
            "The passwords do not match.",
        ));
    }
    match normalized {
        Some(password) if errors.is_empty() => Ok(ValidRegistration {
            name: name.to_owned(),
            email,
            password,
        }),
        _ => Err(AppError::Validation(errors)),
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

/// A list endpoint's page size: `default` when not given, refused outside `1..=max`.
///
/// # Errors
/// [`AppError::Validation`] on `query.limit`.
pub fn page_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, AppError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::field(
            "query.limit",
            format!("limit must be between 1 and {max}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mailbox_is_one_email_however_its_domain_is_written() {
        let canonical = "ada@xn--bcher-kva.example";
        for typed in [
            "ada@bücher.example",
            " Ada@BÜCHER.example ",
            "ada@xn--bcher-kva.example",
            "ADA@XN--BCHER-KVA.EXAMPLE",
            // Decomposed ü (u + combining diaeresis): UTS #46 maps it to the same label.
            "ada@bu\u{308}cher.example",
        ] {
            assert_eq!(normalize_email(typed), canonical, "{typed:?}");
        }
        // Non-transitional: ß stays ß (as browsers resolve it), so it is not "ss".
        assert_ne!(normalize_email("a@faß.de"), normalize_email("a@fass.de"));
        assert_eq!(normalize_email("no-at-sign"), "no-at-sign");
        assert_eq!(normalize_email("x@example.com"), "x@example.com");
    }

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

    const STRONG: &str = "violet kettle drum";

    #[test]
    fn name_limit_is_100_characters_not_bytes() {
        assert!(registration(&"é".repeat(100), "a@b.co", STRONG, None).is_ok());
        let err = registration(&"a".repeat(101), "a@b.co", STRONG, None).unwrap_err();
        assert!(err.message_for("name").unwrap().contains("100"));
    }

    #[test]
    fn password_bounds_are_8_to_128_characters() {
        // Exactly 8 and exactly 128 characters (not repeats, which the guess estimate refuses).
        let phrase = |words: &str, n: usize| words.repeat(8).chars().take(n).collect::<String>();
        assert!(registration("A", "a@b.co", "kxqbvmwz", None).is_ok());
        let ascii = phrase("violet kettle harbour lamp ", 128);
        assert!(registration("A", "a@b.co", &ascii, None).is_ok());
        let accented = phrase("grüne äpfel über brücken ", 128);
        assert_eq!(accented.chars().count(), 128);
        assert!(registration("A", "a@b.co", &accented, None).is_ok());
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
    fn password_bounds_count_typed_characters_like_the_json_schema() {
        // Six typed characters that NFKC expands to ten ("ﬃ" -> "ffi"): still too short,
        // as the API's `minLength: 8` says (schemathesis found the server accepting it).
        let expands = "\u{fb03}\u{fb03}kite";
        assert_eq!(normalize_password(expands).chars().count(), 10);
        assert!(new_password(expands, "x@y.co", "password").is_err());
        // 128 typed characters that NFKC makes longer: accepted, as `maxLength: 128` says.
        let long: String = "\u{fb03}"
            .repeat(8)
            .chars()
            .chain("violet kettle harbour lamp ".repeat(5).chars())
            .take(128)
            .collect();
        assert!(new_password(&long, "x@y.co", "password").is_ok());
        // Eight typed characters that NFKC composes into seven: accepted.
        let composes = "cafe\u{301}tea";
        assert_eq!(composes.chars().count(), 8);
        assert!(new_password(composes, "x@y.co", "password").is_ok());
    }

    #[test]
    fn passwords_are_not_trimmed() {
        // Eight characters only because of the spaces: still accepted, never altered.
        let ok = registration("A", "a@b.co", "  abcd  ", None).unwrap();
        assert_eq!(ok.password, "  abcd  ");
    }

    #[test]
    fn passwords_are_nfkc_normalized() {
        // "é" composed vs "e" + combining acute; full-width digits vs ASCII digits.
        let composed = new_password("caf\u{e9} au lait", "x@y.co", "password").unwrap();
        let decomposed = new_password("cafe\u{301} au lait", "x@y.co", "password").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(
            new_password("ｖｉｏｌｅｔ ｋｅｔｔｌｅ ９", "x@y.co", "password").unwrap(),
            "violet kettle 9"
        );
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for common in [
            "password",
            "12345678",
            "Password1",
            "QWERTYUIOP",
            "iloveyou",
            "sunshine1",
        ] {
            let err = new_password(common, "x@y.co", "password").unwrap_err();
            assert!(err.message.contains("commonly used"), "{common}: {err:?}");
        }
        // Containing a common word is fine; being one is not.
        assert!(new_password("password kettle violet", "x@y.co", "password").is_ok());
    }

    #[test]
    fn guessable_patterns_are_refused_and_the_message_says_why() {
        for (weak, why) in [
            ("123456789012", ""),
            ("qwertyuiop[]", "rows of keys"),
            ("pppppppppppp", "Repeats"),
            ("abcdefghijkl", "Sequences"),
            ("iloveyou2024", ""),
        ] {
            let err = new_password(weak, "x@y.co", "password").unwrap_err();
            assert_eq!(err.field, "password");
            assert!(
                err.message.contains("too easy to guess") && err.message.contains(why),
                "{weak}: {err:?}"
            );
        }
    }

    #[test]
    fn passphrases_and_random_strings_clear_the_guess_estimate() {
        for strong in [
            "violet kettle",
            "correct horse battery staple",
            "kxqbvmwz",
            "Tr0ub4dor&3",
            // Long passphrases stay accepted, however plain their words.
            "the cat sat on the mat by the door",
        ] {
            assert!(
                new_password(strong, "x@y.co", "password").is_ok(),
                "{strong} refused"
            );
        }
    }

    #[test]
    fn passwords_containing_the_email_local_part_are_refused() {
        let err =
            new_password("xx-ada.lovelace-99", "Ada.Lovelace@example.com", "password").unwrap_err();
        assert!(err.message.contains("email"), "{err:?}");
        // Very short local parts are not checked.
        assert!(new_password("violet kettle", "al@example.com", "password").is_ok());
    }

    #[test]
    fn overlong_passwords_are_refused_before_normalizing() {
        let err = new_password(&"x".repeat(1_000_000), "x@y.co", "password").unwrap_err();
        assert!(err.message.contains("at most 128"));
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for email in ["", "plain", "a@", "@b.co", "a b@c.co", "a@b@c.co"] {
            let err = registration("A", email, STRONG, None).unwrap_err();
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
