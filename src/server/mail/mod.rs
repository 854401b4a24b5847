//! Outgoing mail: queued in the database by the request that wants it sent, sent by a
//! background task on every replica.
//!
//! A page or API call only adds a row to `mail_queue` (one insert) and wakes this replica's
//! sender, so a slow or unreachable SMTP server never delays an answer. The sender claims one
//! due message at a time with a lease, sends it with lettre and marks it sent; a failure is
//! tried again after `MAIL_RETRY_AFTER`, doubling up to an hour, [`MAX_ATTEMPTS`] times in all.
//! A replica that dies mid-send leaves its claim to run out, and any replica sends the message
//! then: mail is sent at least once, and every message carries a fixed `Message-ID`, so a
//! receiving server can tell a repeat.
//!
//! Without `SMTP_URL` in development the rows stay in the queue unsent and are shown at
//! `/dev/mailbox` (see [`mailbox`]); without it in production, mail is off and the flows that
//! need it say so.

pub mod mailbox;
pub mod templates;
pub mod transport;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use tokio::sync::Notify;

use super::{
    config::{AppEnv, Config, ConfigError},
    db::{self, Db, duration_millis, now_millis},
    error::StartupError,
};
use crate::error::AppError;
pub use templates::{Content, Template};

/// Tries per message before it is given up on (about 3 hours with the default 30 s start).
pub const MAX_ATTEMPTS: i64 = 10;
/// The longest wait between two tries of a message.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How long a claim keeps other senders off a message: the SMTP timeout and then some.
const LEASE: Duration = Duration::from_secs(90);
/// How often an idle sender looks for messages another replica queued or left behind.
const POLL: Duration = Duration::from_secs(5);
/// Sent and given-up rows (bodies already emptied) and expired links are erased this long after.
const KEEP_DONE: Duration = Duration::from_secs(7 * 24 * 3600);
const KEEP_EXPIRED_LINKS: Duration = Duration::from_secs(24 * 3600);
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// How mail leaves this server.
enum Delivery {
    /// Through the SMTP server of `SMTP_URL`.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without `SMTP_URL`: kept in the database for `/dev/mailbox`.
    Mailbox,
    /// Production without `SMTP_URL`: no mail.
    Off,
}

struct Inner {
    delivery: Delivery,
    from: Mailbox,
    /// `PUBLIC_URL` without a trailing `/`.
    public_url: String,
    retry_after: Duration,
    /// Wakes this replica's sender when a request queued a message.
    wake: Notify,
}

/// The mail settings and this replica's link to its sender. Cheap to clone.
#[derive(Clone)]
pub struct Mail(Arc<Inner>);

impl Mail {
    /// Reads the mail settings (already checked by `Config::validate`). `site_addr` is the
    /// listening address, the development default of `PUBLIC_URL`.
    ///
    /// # Errors
    /// [`StartupError::Config`] if `SMTP_URL` or `MAIL_FROM` cannot be used after all.
    pub fn new(config: &Config, site_addr: SocketAddr) -> Result<Self, StartupError> {
        let public_url = config.public_url.clone().unwrap_or_else(|| {
            let host = if site_addr.ip().is_unspecified() {
                format!("localhost:{}", site_addr.port())
            } else {
                site_addr.to_string()
            };
            format!("http://{host}")
        });
        let delivery = match (&config.smtp_url, config.env) {
            (Some(url), _) => Delivery::Smtp(
                transport::build(url.expose())
                    .map_err(|e| StartupError::Config(ConfigError(transport::describe(&e))))?,
            ),
            (None, AppEnv::Development) => Delivery::Mailbox,
            (None, AppEnv::Production) => Delivery::Off,
        };
        let from = match &config.mail_from {
            Some(from) => from.parse(),
            None => {
                let host = public_url
                    .split_once("://")
                    .map_or("localhost", |(_, rest)| rest)
                    .split([':', '/'])
                    .next()
                    .unwrap_or("localhost");
                let host = if host.contains('.') {
                    host
                } else {
                    "localhost.localdomain"
                };
                format!("Tasks <no-reply@{host}>").parse()
            }
        }
        .map_err(|_| {
            StartupError::Config(ConfigError(
                "MAIL_FROM must be an address such as `Tasks <no-reply@tasks.example.com>`".into(),
            ))
        })?;
        Ok(Self(Arc::new(Inner {
            delivery,
            from,
            public_url,
            retry_after: config.mail_retry_after,
            wake: Notify::new(),
        })))
    }

    /// Whether mail can reach people (SMTP, or the development mailbox).
    pub fn enabled(&self) -> bool {
        !matches!(self.0.delivery, Delivery::Off)
    }

    /// Whether mail is kept for `/dev/mailbox` instead of being sent.
    pub fn is_mailbox(&self) -> bool {
        matches!(self.0.delivery, Delivery::Mailbox)
    }

    /// `PUBLIC_URL`, or the listening address in development, without a trailing `/`.
    pub fn public_url(&self) -> &str {
        &self.0.public_url
    }

    /// A link into the app for a mail: `PUBLIC_URL` + `path_and_query` (which starts with `/`).
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.0.public_url)
    }

    /// Queues `content` for `to` and wakes the sender. Does nothing when mail is off.
    ///
    /// # Errors
    /// Database failures.
    pub async fn send(&self, db: &Db, to: &str, content: &Content) -> Result<(), AppError> {
        if !self.enabled() {
            return Ok(());
        }
        let new = db::mail::NewMail {
            recipient: to,
            subject: &content.subject,
            text_body: &content.text,
            html_body: &content.html,
        };
        let id = db::mail::enqueue(db, &new, now_millis()).await?;
        tracing::info!(mail_id = id, subject = %content.subject, "mail queued");
        self.0.wake.notify_one();
        Ok(())
    }

    /// How long to wait before try number `attempts + 1` of a message.
    fn backoff(&self, attempts: i64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        self.0
            .retry_after
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF)
    }
}

/// Starts this replica's sender, when mail goes out over SMTP. It runs for as long as the
/// runtime does.
pub fn spawn_sender(mail: Mail, db: Db) -> Option<tokio::task::JoinHandle<()>> {
    if !matches!(mail.0.delivery, Delivery::Smtp(_)) {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut last_sweep = None::<tokio::time::Instant>;
        loop {
            if let Err(err) = send_due(&mail, &db).await {
                tracing::warn!(error = %err, "the mail sender could not read its queue; it tries again in a few seconds");
            }
            if last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
                last_sweep = Some(tokio::time::Instant::now());
                sweep(&db).await;
            }
            let wait = match db::mail::next_due(&db).await {
                Ok(Some(due)) => {
                    let ms = (due - now_millis()).clamp(0, duration_millis(POLL));
                    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
                }
                _ => POLL,
            };
            tokio::select! {
                () = mail.0.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }))
}

/// Erases what the queue and the links table no longer need. Best effort.
async fn sweep(db: &Db) {
    let now = now_millis();
    let done = db::mail::purge_done(db, now - duration_millis(KEEP_DONE)).await;
    let links = db::mail::purge_tokens(db, now - duration_millis(KEEP_EXPIRED_LINKS)).await;
    let alert_links = db::alerts::purge_links(db, now - duration_millis(KEEP_EXPIRED_LINKS)).await;
    if let Err(err) = done.and(links).and(alert_links) {
        tracing::warn!(error = %err, "could not erase old mail and expired links; the next sweep tries again in an hour");
    }
}

/// Sends every message that is due now, one claim at a time. Returns how many were sent.
///
/// # Errors
/// Database failures (a failed send is recorded on its message, not returned).
pub async fn send_due(mail: &Mail, db: &Db) -> Result<usize, AppError> {
    let Delivery::Smtp(transport) = &mail.0.delivery else {
        return Ok(0);
    };
    let mut sent = 0;
    loop {
        let claimed = db::mail::claim_due(db, now_millis(), duration_millis(LEASE), 1).await?;
        let Some(message) = claimed.into_iter().next() else {
            return Ok(sent);
        };
        match deliver(mail, transport, &message).await {
            Ok(()) => {
                db::mail::mark_sent(db, message.id, now_millis()).await?;
                tracing::info!(
                    mail_id = message.id,
                    attempt = message.attempts,
                    "mail sent"
                );
                sent += 1;
            }
            Err(error) => {
                let now = now_millis();
                let retry_at = (message.attempts < MAX_ATTEMPTS)
                    .then(|| now + duration_millis(mail.backoff(message.attempts)));
                db::mail::mark_failed(db, message.id, &error, retry_at, now).await?;
                if retry_at.is_some() {
                    tracing::warn!(
                        mail_id = message.id,
                        attempt = message.attempts,
                        error = %error,
                        "mail not sent; it will be tried again later"
                    );
                } else {
                    tracing::error!(
                        mail_id = message.id,
                        attempts = message.attempts,
                        error = %error,
                        "mail given up on after {MAX_ATTEMPTS} tries; check SMTP_URL and the \
                         SMTP server's log (mail_queue.last_error has the last refusal)"
                    );
                }
            }
        }
    }
}

/// One SMTP conversation for `message`.
async fn deliver(
    mail: &Mail,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    message: &db::mail::QueuedMail,
) -> Result<(), String> {
    let to: Mailbox = message
        .recipient
        .parse()
        .map_err(|_| "the recipient is not a valid address".to_owned())?;
    let domain = mail.0.from.email.domain().to_owned();
    let email = Message::builder()
        .from(mail.0.from.clone())
        .to(to)
        .subject(message.subject.clone())
        // The same id on every try: a receiving server can tell a repeat.
        .message_id(Some(format!(
            "<tasks.{}.{}@{domain}>",
            message.id, message.created_at
        )))
        .multipart(MultiPart::alternative_plain_html(
            message.text_body.clone(),
            message.html_body.clone(),
        ))
        .map_err(|e| format!("the message could not be built: {e}"))?;
    transport
        .send(email)
        .await
        .map(|_| ())
        .map_err(|e| transport::describe(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(pairs: &[(&str, &str)]) -> Mail {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap().to_owned();
        let mut all = vec![("DATA_DIR", data.as_str())];
        all.extend_from_slice(pairs);
        let config = Config::from_pairs(&all).unwrap();
        Mail::new(&config, "127.0.0.1:3000".parse().unwrap()).unwrap()
    }

    #[test]
    fn links_start_with_the_public_url_or_the_listening_address() {
        assert_eq!(
            mail(&[]).link("/verify-email?token=x"),
            "http://127.0.0.1:3000/verify-email?token=x"
        );
        assert_eq!(
            mail(&[("PUBLIC_URL", "https://tasks.example.com/")]).link("/a"),
            "https://tasks.example.com/a"
        );
    }

    #[test]
    fn development_without_smtp_keeps_mail_for_the_mailbox() {
        assert!(mail(&[]).is_mailbox());
        let smtp = mail(&[("SMTP_URL", "smtp://127.0.0.1:2525")]);
        assert!(smtp.enabled() && !smtp.is_mailbox());
    }

    #[test]
    fn the_sender_defaults_to_the_public_host() {
        let m = mail(&[("PUBLIC_URL", "https://tasks.example.com")]);
        assert_eq!(m.0.from.email.to_string(), "no-reply@tasks.example.com");
        let m = mail(&[("MAIL_FROM", "Team <team@example.org>")]);
        assert_eq!(m.0.from.email.to_string(), "team@example.org");
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_an_hour() {
        let m = mail(&[("MAIL_RETRY_AFTER", "30s")]);
        assert_eq!(m.backoff(1), Duration::from_secs(30));
        assert_eq!(m.backoff(2), Duration::from_secs(60));
        assert_eq!(m.backoff(4), Duration::from_secs(240));
        assert_eq!(m.backoff(9), MAX_BACKOFF);
    }
}
