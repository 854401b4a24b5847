//! The SMTP connection (lettre) and the checks on `SMTP_URL` and `MAIL_FROM`.

use std::time::Duration;

use lettre::{AsyncSmtpTransport, Tokio1Executor, message::Mailbox};

/// How long one SMTP conversation may take before it counts as a failed attempt: a slow server
/// delays only the sender task, never a page.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// `SMTP_URL` as lettre reads it: a plain `smtp://` URL without a `tls` choice upgrades with
/// STARTTLS when the server offers it (lettre's default there would be no TLS at all).
fn with_tls_choice(url: &str) -> String {
    if url.starts_with("smtp://") && !url.contains("tls=") {
        let joiner = if url.contains('?') { '&' } else { '?' };
        format!("{url}{joiner}tls=opportunistic")
    } else {
        url.to_owned()
    }
}

/// Checks `SMTP_URL` without connecting. The message names the variable and never repeats the
/// URL (it may hold a password).
///
/// # Errors
/// A sentence for the configuration error.
pub fn check_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
        return Err(
            "SMTP_URL must start with smtp:// (STARTTLS when offered) or smtps:// \
                    (TLS from the start), for example smtps://user:password@mail.example.com:465"
                .into(),
        );
    }
    build(url).map(|_| ()).map_err(|e| {
        format!(
            "SMTP_URL cannot be used ({}); write it as smtp://host:port or \
             smtps://user:password@host:465, with any special character of the password \
             percent-encoded",
            describe(&e)
        )
    })
}

/// The transport for `url` (checked by [`check_url`] at startup).
///
/// # Errors
/// lettre's error when the URL cannot be read.
pub fn build(
    url: &str,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::from_url(&with_tls_choice(url))?
            .timeout(Some(SMTP_TIMEOUT))
            .build(),
    )
}

/// Checks `MAIL_FROM`: `Name <address>` or a bare address.
///
/// # Errors
/// A sentence for the configuration error.
pub fn check_mailbox(from: &str) -> Result<(), String> {
    from.parse::<Mailbox>().map(|_| ()).map_err(|_| {
        "MAIL_FROM must be an address, or a name and an address such as \
         `Tasks <no-reply@tasks.example.com>`"
            .into()
    })
}

/// An SMTP error in one line, without anything from the URL: the SMTP server's code and text
/// when it answered, else what went wrong with the connection.
pub fn describe(err: &lettre::transport::smtp::Error) -> String {
    let text = err.to_string();
    // lettre's messages never include the credentials; keep them short for the log and the
    // queue row.
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_upgrades_when_offered() {
        assert_eq!(
            with_tls_choice("smtp://mail.example.com:587"),
            "smtp://mail.example.com:587?tls=opportunistic"
        );
        assert_eq!(
            with_tls_choice("smtp://mail.example.com:587?tls=required"),
            "smtp://mail.example.com:587?tls=required"
        );
        assert_eq!(
            with_tls_choice("smtps://u:p@mail.example.com"),
            "smtps://u:p@mail.example.com"
        );
    }

    #[test]
    fn smtp_urls_are_checked_without_repeating_them() {
        assert!(check_url("smtp://127.0.0.1:2525").is_ok());
        assert!(check_url("smtps://user:s3cret@mail.example.com:465").is_ok());
        let err = check_url("http://user:s3cret@mail.example.com").unwrap_err();
        assert!(err.contains("SMTP_URL") && !err.contains("s3cret"), "{err}");
        let err = check_url("smtp://user:s3cret@").unwrap_err();
        assert!(err.contains("SMTP_URL") && !err.contains("s3cret"), "{err}");
    }

    #[test]
    fn mail_from_takes_a_name_and_an_address() {
        assert!(check_mailbox("Tasks <no-reply@tasks.example.com>").is_ok());
        assert!(check_mailbox("no-reply@tasks.example.com").is_ok());
        assert!(check_mailbox("Tasks").is_err());
    }
}
