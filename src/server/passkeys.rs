//! Passkeys (WebAuthn): adding one to an account, signing in with one (the button, or the
//! browser's autofill), signing up with one instead of a password, renaming and removing.
//! The one logic path behind the server functions in `fns::passkeys`.
//!
//! Every ceremony is started here and its state kept in `passkey_challenges` under the SHA-256
//! of a random ticket the browser holds: single use (finishing deletes the row first), five
//! minutes, and in the database so any replica finishes what another started. The browser
//! runs `navigator.credentials` with the options and returns the answer with the ticket.
//!
//! User verification (the device's PIN, fingerprint or face) is required in every ceremony, so
//! a passkey is two factors at once: a passkey sign-in is complete without the second step of
//! two-step sign-in. Each sign-in moves the stored signature counter forward in one conditional
//! statement. An answer whose counter does not go up (unless both are 0: authenticators without
//! a counter) is the WebAuthn sign of a copied authenticator: the passkey is suspended, not only
//! the attempt refused, so retrying until a copy's counter overtakes the stored one gets
//! nowhere. The owner is mailed, and can re-enable it after confirming with their password
//! ([`reenable`]) or remove it.
//!
//! Sign-in starts are limited per address (`attempt_limits::passkey_sign_in_start`) and in
//! total ([`PENDING_SIGN_INS_MAX`]), and refused finishes count as failed sign-ins of the
//! address, with password failures.

use std::time::Duration;

use tower_cookies::Cookies;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use super::{
    alerts, attempt_limits,
    audit::{self, Event, Record},
    auth::{ClientInfo, refresh::RefreshToken},
    context::Principal,
    db::{
        self, duration_millis, now_millis,
        passkeys::{NewPasskey, Purpose, Removed},
    },
    mail::templates::{self, Template, TwoStepChange},
    metrics::LoginOutcome,
    sessions::{self, reason},
    state::AppState,
    validate,
};
use crate::{
    error::{AppError, PasskeyRule},
    model::{PasskeyCeremony, PasskeyInfo, PasskeyOverview, User},
};

/// How long a ceremony waits for the browser's answer (also the timeout the browser is given).
pub const CEREMONY_TTL: Duration = Duration::from_secs(5 * 60);
/// How recent a passkey-only account's sign-in must be to add a passkey without a password.
pub const RECENT_SIGN_IN: Duration = Duration::from_secs(10 * 60);
/// The most passkey sign-ins waiting for the browser's answer at once, across all addresses
/// (each lasts [`CEREMONY_TTL`]): about 33 starts a second, sustained, that nobody finishes.
pub const PENDING_SIGN_INS_MAX: i64 = 10_000;
/// The longest answer a browser sends (an attestation is a few hundred bytes to a few KB).
const CREDENTIAL_MAX: usize = 16 * 1024;

/// The relying party for `public_url` (`PUBLIC_URL`, or the listening address in
/// development): its host is the relying party id, the URL the one origin accepted. Browsers
/// refuse IP addresses as relying party ids, so a loopback address becomes `localhost`
/// (open the development server at `http://localhost:3000`). `None` when no passkey can work
/// there (another IP address, or a URL webauthn-rs refuses).
pub fn relying_party(public_url: &str) -> Option<Webauthn> {
    let mut origin = Url::parse(public_url).ok()?;
    let loopback = match origin.host() {
        Some(url::Host::Domain(_)) => false,
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() || ip.is_unspecified() => true,
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() || ip.is_unspecified() => true,
        _ => return None,
    };
    if loopback {
        origin.set_host(Some("localhost")).ok()?;
    }
    let rp_id = origin.host_str()?.to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name("Tasks")
        .timeout(CEREMONY_TTL)
        .build()
        .ok()
}

fn relying(state: &AppState) -> Result<&Webauthn, AppError> {
    state
        .webauthn
        .as_ref()
        .ok_or(PasskeyRule::Unavailable.into())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn internal(what: &str, err: impl std::fmt::Display) -> AppError {
    AppError::internal(what, err)
}

/// Stores a ceremony's state under a new ticket, and returns what the browser needs.
async fn begin(
    state: &AppState,
    purpose: Purpose,
    user_id: Option<i64>,
    saved: &impl Serialize,
    options: serde_json::Value,
) -> Result<PasskeyCeremony, AppError> {
    let ticket = RefreshToken::generate()?;
    let saved = serde_json::to_string(saved).map_err(|e| internal("passkey state", e))?;
    let expires = now_millis().saturating_add(duration_millis(CEREMONY_TTL));
    db::passkeys::insert_challenge(&state.db, &ticket.hash(), purpose, user_id, &saved, expires)
        .await?;
    Ok(PasskeyCeremony {
        ticket: ticket.expose().to_owned(),
        options: options.to_string(),
    })
}

/// Takes the ceremony `ticket` names out of the database (single use).
async fn take(
    state: &AppState,
    ticket: &str,
    purpose: Purpose,
) -> Result<db::passkeys::Challenge, AppError> {
    // Tickets are 43 characters; anything much longer is not one (and is not hashed).
    if ticket.is_empty() || ticket.len() > 128 {
        return Err(PasskeyRule::Expired.into());
    }
    let hash = super::auth::refresh::sha256_hex(ticket);
    db::passkeys::take_challenge(&state.db, &hash, purpose, now_millis())
        .await?
        .ok_or(PasskeyRule::Expired.into())
}

fn parse<T: for<'de> Deserialize<'de>>(credential: &str) -> Result<T, AppError> {
    if credential.len() > CREDENTIAL_MAX {
        return Err(PasskeyRule::NotAccepted.into());
    }
    serde_json::from_str(credential).map_err(|err| {
        tracing::info!(error = %err, "a passkey answer that is not WebAuthn JSON");
        PasskeyRule::NotAccepted.into()
    })
}

/// Registration options as JSON, asking for a discoverable credential (a passkey the browser
/// can offer by itself, in autofill) with user verification. webauthn-rs leaves the resident
/// key optional for the sake of old security keys; passkeys need it.
fn creation_options(
    ccr: &webauthn_rs::prelude::CreationChallengeResponse,
) -> Result<serde_json::Value, AppError> {
    let mut options = serde_json::to_value(ccr).map_err(|e| internal("passkey options", e))?;
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(serde_json::Value::as_object_mut)
    {
        selection.insert("residentKey".into(), "required".into());
        selection.insert("requireResidentKey".into(), true.into());
        selection.insert("userVerification".into(), "required".into());
    }
    Ok(options)
}

/// A passkey that just passed registration, in the form it is stored in.
struct Registered {
    credential_id: String,
    /// webauthn-rs's `Passkey`, JSON.
    credential: String,
    internals: Credential,
}

impl Registered {
    /// Checks the browser's answer to a registration (`credential`, JSON) against its
    /// ceremony: origin, relying party, challenge, user verification, the key.
    fn check(
        webauthn: &Webauthn,
        credential: &str,
        registration: &PasskeyRegistration,
    ) -> Result<Self, AppError> {
        let answer: RegisterPublicKeyCredential = parse(credential)?;
        let passkey = webauthn
            .finish_passkey_registration(&answer, registration)
            .map_err(|err| {
                tracing::info!(error = ?err, "passkey registration refused");
                match err {
                    WebauthnError::CredentialAlreadyExists => PasskeyRule::AlreadyRegistered.into(),
                    other => refused(&other),
                }
            })?;
        let stored = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
        Ok(Self {
            credential_id: b64(passkey.cred_id()),
            credential: stored,
            internals: Credential::from(passkey),
        })
    }

    /// The row to store, under user handle `handle` and `name`.
    fn row<'a>(&'a self, handle: &'a str, name: &'a str) -> NewPasskey<'a> {
        NewPasskey {
            credential_id: &self.credential_id,
            user_handle: handle,
            name,
            credential: &self.credential,
            sign_count: i64::from(self.internals.counter),
            backup_eligible: self.internals.backup_eligible,
            backed_up: self.internals.backup_state,
        }
    }
}

fn refused(err: &WebauthnError) -> AppError {
    match err {
        WebauthnError::CredentialPossibleCompromise => PasskeyRule::Cloned.into(),
        _ => PasskeyRule::NotAccepted.into(),
    }
}

/// What a sign-up ceremony keeps until the browser answers.
#[derive(Serialize, Deserialize)]
struct SignUpState {
    registration: PasskeyRegistration,
    name: String,
    email: String,
    /// The WebAuthn user handle, base64url.
    handle: String,
}

/// What adding a passkey keeps until the browser answers.
#[derive(Serialize, Deserialize)]
struct AddState {
    registration: PasskeyRegistration,
    handle: String,
}

// ---------------------------------------------------------------------------------------------
// Signing in

/// Starts a sign-in with any passkey of this site (discoverable credentials: the browser's
/// autofill or the "Sign in with a passkey" button; no email is asked first).
///
/// # Errors
/// [`PasskeyRule::Unavailable`]; database failures.
pub async fn start_sign_in(
    state: &AppState,
    client: &ClientInfo,
) -> Result<PasskeyCeremony, AppError> {
    let webauthn = relying(state)?;
    attempt_limits::passkey_sign_in_start(state, client).await?;
    // Anonymous starts are bounded per address above, and all together here: the table never
    // holds more than this many waiting sign-ins (expired ones are erased on every insert).
    if db::passkeys::pending_sign_ins(&state.db).await? >= PENDING_SIGN_INS_MAX {
        tracing::warn!(target: "security", event = "passkey_sign_ins_full", max = PENDING_SIGN_INS_MAX, ip = %client.ip_text(), "passkey sign-in refused: too many sign-ins are waiting for an answer (many addresses starting sign-ins they never finish?)");
        return Err(PasskeyRule::Busy.into());
    }
    let (rcr, saved) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| internal("passkey sign-in options", e))?;
    let options = serde_json::to_value(&rcr).map_err(|e| internal("passkey options", e))?;
    begin(state, Purpose::SignIn, None, &saved, options).await
}

/// Finishes a passkey sign-in: checks the answer against the ceremony and the stored passkey,
/// moves its counter forward, and returns the account (the caller starts the session).
///
/// # Errors
/// [`PasskeyRule::Expired`], [`PasskeyRule::NotAccepted`], [`PasskeyRule::Unknown`],
/// [`PasskeyRule::Cloned`]; [`AppError::AccountDisabled`]; database failures.
pub async fn finish_sign_in(
    state: &AppState,
    ticket: &str,
    credential: &str,
    client: &ClientInfo,
    cookies: &Cookies,
) -> Result<User, AppError> {
    let result = check_sign_in(state, ticket, credential, client, cookies).await;
    state.metrics.login(match &result {
        Ok(_) => LoginOutcome::Success,
        Err(AppError::AccountDisabled) => LoginOutcome::Disabled,
        Err(AppError::Passkey(_)) => LoginOutcome::InvalidCredentials,
        Err(_) => LoginOutcome::Error,
    });
    result
}

async fn check_sign_in(
    state: &AppState,
    ticket: &str,
    credential: &str,
    client: &ClientInfo,
    cookies: &Cookies,
) -> Result<User, AppError> {
    let webauthn = relying(state)?;
    attempt_limits::passkey_sign_in_finish(state, client).await?;
    let challenge = take(state, ticket, Purpose::SignIn).await?;
    let saved: DiscoverableAuthentication =
        serde_json::from_str(&challenge.state).map_err(|e| internal("passkey state", e))?;
    let answer: PublicKeyCredential = parse(credential)?;
    let (handle, credential_id) = webauthn
        .identify_discoverable_authentication(&answer)
        .map_err(|e| refused(&e))?;
    let Some(stored) = db::passkeys::find(&state.db, &b64(credential_id)).await? else {
        tracing::warn!(target: "security", event = "passkey_unknown", ip = %client.ip_text(), "sign-in with a passkey that is not registered");
        attempt_limits::passkey_failed(state, client).await?;
        return Err(PasskeyRule::Unknown.into());
    };
    let failed = |detail: &'static str| async move {
        tracing::warn!(target: "security", event = "passkey_sign_in_failed", user_id = stored.user_id, ip = %client.ip_text(), reason = detail, "passkey sign-in refused");
        let throttled = attempt_limits::passkey_failed(state, client)
            .await
            .unwrap_or(false);
        audit::failed_login(state, Some(stored.user_id), client, detail, throttled).await;
    };
    if stored.user_handle != b64(handle.as_bytes()) {
        failed(audit::detail::PASSKEY_REFUSED).await;
        return Err(PasskeyRule::NotAccepted.into());
    }
    // Whether it is suspended is said only to whoever proved they hold the key.
    let suspended = stored.suspended_at.is_some();
    let mut passkey: Passkey =
        serde_json::from_str(&stored.credential).map_err(|e| internal("stored passkey", e))?;
    let outcome = match webauthn.finish_discoverable_authentication_v2(&answer, saved, &passkey) {
        Ok(outcome) => outcome,
        Err(err) => {
            let cloned = matches!(err, WebauthnError::CredentialPossibleCompromise);
            tracing::info!(error = ?err, "passkey answer refused");
            if cloned && suspended {
                failed(audit::detail::PASSKEY_SUSPENDED).await;
                return Err(PasskeyRule::Suspended.into());
            } else if cloned {
                failed(audit::detail::PASSKEY_CLONED).await;
                suspend_clone(state, &stored, client).await?;
            } else {
                failed(audit::detail::PASSKEY_REFUSED).await;
            }
            return Err(refused(&err));
        }
    };
    if !outcome.user_verified() {
        failed(audit::detail::PASSKEY_REFUSED).await;
        return Err(PasskeyRule::NotAccepted.into());
    }
    if suspended {
        failed(audit::detail::PASSKEY_SUSPENDED).await;
        return Err(PasskeyRule::Suspended.into());
    }
    passkey.update_credential(&outcome);
    let updated = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
    let counter = i64::from(outcome.counter());
    if !db::passkeys::record_use(
        &state.db,
        stored.id,
        &updated,
        counter,
        outcome.backup_state(),
    )
    .await?
    {
        // Another sign-in with this passkey moved the counter past this one meanwhile (two
        // devices hold the same key), or it was suspended meanwhile.
        failed(audit::detail::PASSKEY_CLONED).await;
        suspend_clone(state, &stored, client).await?;
        return Err(PasskeyRule::Cloned.into());
    }
    let account = db::users::account(&state.db, stored.user_id, now_millis())
        .await?
        .ok_or(PasskeyRule::Unknown)?;
    if account.disabled {
        tracing::warn!(target: "security", event = "login_disabled_account", user_id = stored.user_id, "passkey sign-in refused: account disabled");
        let record = Record {
            actor: None,
            ..Record::own(Event::LoginFailed, stored.user_id, client)
        };
        audit::record(state, record.detail(audit::detail::DISABLED_ACCOUNT)).await;
        return Err(AppError::AccountDisabled);
    }
    let seen = attempt_limits::passkey_signed_in(state, &account.user.email, cookies)?;
    alerts::signed_in(state, &account.user, client, seen, alerts::Method::Passkey).await;
    let detail = format!("with passkey “{}”", stored.name);
    tracing::info!(target: "security", event = "login_succeeded", user_id = stored.user_id, ip = %client.ip_text(), method = "passkey", "signed in with a passkey");
    audit::record(
        state,
        Record::own(Event::LoginSucceeded, stored.user_id, client).detail(&detail),
    )
    .await;
    Ok(account.user)
}

/// A sign-in with passkey `stored` showed a signature counter that did not go up: the passkey
/// is suspended on every replica (one conditional UPDATE), and the first time, the owner is
/// mailed and the audit trail records `passkey_suspected_clone`.
async fn suspend_clone(
    state: &AppState,
    stored: &db::passkeys::Stored,
    client: &ClientInfo,
) -> Result<(), AppError> {
    if !db::passkeys::suspend_cloned(&state.db, stored.id, now_millis()).await? {
        return Ok(());
    }
    let user_id = stored.user_id;
    tracing::warn!(target: "security", event = "passkey_suspected_clone", user_id, passkey_id = stored.id, ip = %client.ip_text(), "passkey suspended: its signature counter did not go up, so a copy of it may exist");
    let detail = format!("“{}”", stored.name);
    let record = Record {
        actor: None,
        ..Record::own(Event::PasskeySuspectedClone, user_id, client)
    };
    audit::record(state, record.detail(&detail)).await;
    if let Some(user) = db::users::find_by_id(&state.db, user_id).await? {
        let device = sessions::describe_user_agent(&client.user_agent);
        let when = sessions::utc_text(now_millis());
        let ip = client.ip_text();
        alerts::security_mail(state, &user, |secure_link, account_link| {
            templates::render(Template::PasskeySuspended {
                name: &user.name,
                passkey: &stored.name,
                when: &when,
                device: &device,
                ip: &ip,
                account_link,
                secure_link,
            })
        })
        .await;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Signing up without a password

/// Starts a sign-up with a passkey instead of a password.
///
/// # Errors
/// [`AppError::Validation`] for a bad name or email; [`AppError::EmailTaken`];
/// [`AppError::RateLimited`] (the sign-up limits); [`PasskeyRule::Unavailable`].
pub async fn start_sign_up(
    state: &AppState,
    name: &str,
    email: &str,
    client: &ClientInfo,
) -> Result<PasskeyCeremony, AppError> {
    let webauthn = relying(state)?;
    attempt_limits::registration_attempt(state, &validate::normalize_email(email), client).await?;
    let (name, email) = validate::name_and_email(name, email)?;
    if db::users::find_credentials(&state.db, &email)
        .await?
        .is_some()
    {
        return Err(AppError::EmailTaken);
    }
    let handle = Uuid::new_v4();
    let (ccr, registration) = webauthn
        .start_passkey_registration(handle, &email, &name, None)
        .map_err(|e| internal("passkey registration options", e))?;
    let saved = SignUpState {
        registration,
        name,
        email,
        handle: b64(handle.as_bytes()),
    };
    begin(
        state,
        Purpose::SignUp,
        None,
        &saved,
        creation_options(&ccr)?,
    )
    .await
}

/// Finishes a passkey sign-up: the account is created with the passkey as its only way to sign
/// in (no password until the person adds one).
///
/// # Errors
/// [`PasskeyRule::Expired`], [`PasskeyRule::NotAccepted`]; [`AppError::Validation`] on
/// `name`; [`AppError::EmailTaken`] when the email was registered meanwhile.
pub async fn finish_sign_up(
    state: &AppState,
    ticket: &str,
    credential: &str,
    passkey_name: &str,
    client: &ClientInfo,
) -> Result<User, AppError> {
    let webauthn = relying(state)?;
    let passkey_name = validate::passkey_name(passkey_name)?;
    let challenge = take(state, ticket, Purpose::SignUp).await?;
    let saved: SignUpState =
        serde_json::from_str(&challenge.state).map_err(|e| internal("passkey state", e))?;
    let registered = Registered::check(&webauthn, credential, &saved.registration)?;
    // A password nobody knows: 256 random bits, hashed like any password (see the migration).
    let unusable = state
        .hasher
        .hash(RefreshToken::generate()?.expose().to_owned())
        .await?;
    let new = registered.row(&saved.handle, &passkey_name);
    let user =
        db::passkeys::insert_account(&state.db, &saved.email, &saved.name, &unusable, &new).await?;
    tracing::info!(target: "security", event = "account_created", user_id = user.id, ip = %client.ip_text(), method = "passkey", "account created with a passkey");
    let record = Record::own(Event::SignUp, user.id, client).detail(audit::detail::WITH_PASSKEY);
    audit::record(state, record).await;
    let detail = format!("“{passkey_name}”");
    audit::record(
        state,
        Record::own(Event::PasskeyAdded, user.id, client).detail(&detail),
    )
    .await;
    super::email::after_sign_up(state, &user).await;
    Ok(user)
}

// ---------------------------------------------------------------------------------------------
// The account page

/// Checks that the person may change their sign-in methods now: the password when the account
/// has one, else a sign-in within [`RECENT_SIGN_IN`] (a passkey-only account has nothing
/// to type; a session left open for hours should not be enough to add a key).
async fn check_identity(
    state: &AppState,
    principal: &Principal,
    password: Option<String>,
) -> Result<(), AppError> {
    let user_id = principal.user.id;
    if db::passkeys::has_password(&state.db, user_id).await? {
        attempt_limits::two_step_check(state, user_id).await?;
        let password = password.unwrap_or_default();
        if !super::accounts::password_matches(state, user_id, password).await? {
            attempt_limits::two_step_check_failed(state, user_id).await?;
            return Err(AppError::field("password", "Your password is not correct."));
        }
        return Ok(());
    }
    require_recent_sign_in(state, principal).await
}

/// Refuses unless the caller's session started (signed in) within [`RECENT_SIGN_IN`]: what
/// stands in for the password of an account that has none.
///
/// # Errors
/// [`PasskeyRule::NeedsRecentSignIn`]; database failures.
pub async fn require_recent_sign_in(
    state: &AppState,
    principal: &Principal,
) -> Result<(), AppError> {
    let started = db::passkeys::session_started_at(&state.db, &principal.session_id)
        .await?
        .unwrap_or(0);
    if now_millis().saturating_sub(started) > duration_millis(RECENT_SIGN_IN) {
        return Err(PasskeyRule::NeedsRecentSignIn.into());
    }
    Ok(())
}

/// Starts adding a passkey to the signed-in person's account (their password is required
/// when the account has one). The passkeys it already has are excluded, so a device that
/// holds one says so instead of making a second.
///
/// # Errors
/// [`AppError::Validation`] on `password`; [`PasskeyRule::NeedsRecentSignIn`];
/// [`AppError::RateLimited`]; [`PasskeyRule::Unavailable`]; database failures.
pub async fn start_add(
    state: &AppState,
    principal: &Principal,
    password: Option<String>,
) -> Result<PasskeyCeremony, AppError> {
    let webauthn = relying(state)?;
    check_identity(state, principal, password).await?;
    let user = &principal.user;
    let existing = db::passkeys::list(&state.db, user.id).await?;
    let exclude = existing
        .iter()
        .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
        .map(Into::into)
        .collect::<Vec<_>>();
    let handle = match db::passkeys::user_handle(&state.db, user.id).await? {
        Some(handle) => handle,
        None => b64(Uuid::new_v4().as_bytes()),
    };
    let handle_uuid = URL_SAFE_NO_PAD
        .decode(&handle)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| internal("passkey user handle", "not a UUID"))?;
    let (ccr, registration) = webauthn
        .start_passkey_registration(handle_uuid, &user.email, &user.name, Some(exclude))
        .map_err(|e| internal("passkey registration options", e))?;
    let saved = AddState {
        registration,
        handle,
    };
    let options = creation_options(&ccr)?;
    begin(state, Purpose::Add, Some(user.id), &saved, options).await
}

/// Finishes adding a passkey: stored under `name`, every other session ends, the audit trail
/// records it and the person is mailed. Returns how many sessions ended.
///
/// # Errors
/// [`PasskeyRule::Expired`] (also for a ceremony another account started),
/// [`PasskeyRule::NotAccepted`], [`PasskeyRule::AlreadyRegistered`]; [`AppError::Validation`]
/// on `name`; database failures.
pub async fn finish_add(
    state: &AppState,
    principal: &Principal,
    ticket: &str,
    credential: &str,
    name: &str,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    let webauthn = relying(state)?;
    let name = validate::passkey_name(name)?;
    let user = &principal.user;
    let challenge = take(state, ticket, Purpose::Add).await?;
    if challenge.user_id != Some(user.id) {
        return Err(PasskeyRule::Expired.into());
    }
    let saved: AddState =
        serde_json::from_str(&challenge.state).map_err(|e| internal("passkey state", e))?;
    let registered = Registered::check(&webauthn, credential, &saved.registration)?;
    db::passkeys::insert(&state.db, user.id, &registered.row(&saved.handle, &name)).await?;
    changed(state, principal, client, Event::PasskeyAdded, &name).await
}

/// After a passkey was added or removed: every other session ends (whoever was signed in
/// elsewhere signs in again under the new rules), the audit trail records it, a notice is
/// mailed.
async fn changed(
    state: &AppState,
    principal: &Principal,
    client: &ClientInfo,
    event: Event,
    name: &str,
) -> Result<u64, AppError> {
    let user = &principal.user;
    let ended = sessions::end_all_except(
        state,
        user.id,
        Some(&principal.session_id),
        reason::PASSKEYS_CHANGED,
    )
    .await?;
    tracing::info!(target: "security", event = event.name(), user_id = user.id, sessions_ended = ended, "passkeys changed");
    let detail = format!("“{name}”");
    audit::record(state, Record::own(event, user.id, client).detail(&detail)).await;
    let change = match event {
        Event::PasskeyRemoved => TwoStepChange::PasskeyRemoved,
        Event::PasskeyReenabled => TwoStepChange::PasskeyReenabled,
        _ => TwoStepChange::PasskeyAdded,
    };
    super::alerts::security_mail(state, user, |secure_link, account_link| {
        templates::render(Template::TwoStepChanged {
            name: &user.name,
            change,
            account_link,
            secure_link,
        })
    })
    .await;
    Ok(ended)
}

/// The signed-in person's passkeys, and whether the account has a password.
///
/// # Errors
/// Database failures.
pub async fn overview(state: &AppState, user_id: i64) -> Result<PasskeyOverview, AppError> {
    let passkeys = db::passkeys::list(&state.db, user_id)
        .await?
        .into_iter()
        .map(|p| PasskeyInfo {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            added: sessions::utc_text(p.created_at),
            last_used: p.last_used_at.map(sessions::utc_text),
            backed_up: p.backed_up,
            suspended: p
                .suspended_at
                .map(|at| suspension_text(p.suspended_reason.as_deref(), at)),
        })
        .collect();
    Ok(PasskeyOverview {
        passkeys,
        has_password: db::passkeys::has_password(&state.db, user_id).await?,
    })
}

/// Why a passkey is suspended, as the account page and the API say it.
fn suspension_text(reason: Option<&str>, at: i64) -> String {
    let at = sessions::utc_text(at);
    match reason {
        Some("cloned") => format!(
            "Suspended {at}: its signature counter went backwards at a sign-in, so a copy of it \
             may exist."
        ),
        Some("secured") => format!("Suspended {at} by “This wasn't me”."),
        _ => format!("Suspended {at}."),
    }
}

/// Lifts the suspension of one of the signed-in person's passkeys, after their password (or,
/// for an account without one, a sign-in within [`RECENT_SIGN_IN`]). Every other session
/// ends; the audit trail records it and the person is mailed (as for a new passkey).
///
/// # Errors
/// [`AppError::Validation`] on `password`; [`PasskeyRule::NeedsRecentSignIn`];
/// [`AppError::RateLimited`]; [`AppError::NotFound`] for a passkey that is not theirs or not
/// suspended.
pub async fn reenable(
    state: &AppState,
    principal: &Principal,
    id: i64,
    password: Option<String>,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    check_identity(state, principal, password).await?;
    let Some(name) = db::passkeys::reenable(&state.db, principal.user.id, id).await? else {
        return Err(AppError::NotFound(crate::error::Resource::Passkey));
    };
    changed(state, principal, client, Event::PasskeyReenabled, &name).await
}

/// Renames one of the signed-in person's passkeys.
///
/// # Errors
/// [`AppError::Validation`] on `name`; [`AppError::NotFound`] for a passkey that is not theirs.
pub async fn rename(
    state: &AppState,
    principal: &Principal,
    id: i64,
    name: &str,
) -> Result<(), AppError> {
    let name = validate::passkey_name(name)?;
    if !db::passkeys::rename(&state.db, principal.user.id, id, &name).await? {
        return Err(AppError::NotFound(crate::error::Resource::Passkey));
    }
    Ok(())
}

/// Removes one of the signed-in person's passkeys (unless it is their last way to sign in);
/// every other session ends. Returns how many ended.
///
/// # Errors
/// [`PasskeyRule::LastSignInMethod`]; [`AppError::NotFound`] for a passkey that is not theirs.
pub async fn remove(
    state: &AppState,
    principal: &Principal,
    id: i64,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    match db::passkeys::remove(&state.db, principal.user.id, id).await? {
        Removed::Done(name) => {
            changed(state, principal, client, Event::PasskeyRemoved, &name).await
        }
        Removed::NotFound => Err(AppError::NotFound(crate::error::Resource::Passkey)),
        Removed::LastSignInMethod => Err(PasskeyRule::LastSignInMethod.into()),
    }
}

/// Gives a passkey-only account a password (no current password to check; a recent sign-in
/// instead). Every other session ends. Returns how many ended.
///
/// # Errors
/// [`PasskeyRule::HasPassword`]; [`PasskeyRule::NeedsRecentSignIn`];
/// [`AppError::Validation`] on `new_password` / `new_password_confirm`.
pub async fn add_password(
    state: &AppState,
    principal: &Principal,
    new_password: &str,
    new_password_confirm: &str,
    client: &ClientInfo,
) -> Result<u64, AppError> {
    let user = &principal.user;
    if db::passkeys::has_password(&state.db, user.id).await? {
        return Err(PasskeyRule::HasPassword.into());
    }
    check_identity(state, principal, None).await?;
    let password = validate::new_password(new_password, &user.email, "new_password")
        .map_err(|e| AppError::Validation(vec![e]))?;
    if validate::normalize_password(new_password_confirm) != password {
        return Err(AppError::field(
            "new_password_confirm",
            "The new passwords do not match.",
        ));
    }
    super::accounts::set_password(
        state,
        principal,
        password,
        client,
        audit::detail::PASSWORD_ADDED,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_become_localhost_and_other_addresses_have_no_passkeys() {
        for url in [
            "http://127.0.0.1:3000",
            "http://[::1]:3000",
            "http://0.0.0.0:3000",
        ] {
            let rp = relying_party(url).expect(url);
            assert_eq!(
                rp.get_allowed_origins()[0].as_str(),
                "http://localhost:3000/",
                "{url}"
            );
        }
        assert!(relying_party("https://tasks.example.com").is_some());
        assert!(relying_party("http://192.0.2.7:3000").is_none());
        assert!(relying_party("not a url").is_none());
    }

    #[test]
    fn registration_options_ask_for_a_discoverable_credential_and_verification() {
        let rp = relying_party("https://tasks.example.com").unwrap();
        let (ccr, _) = rp
            .start_passkey_registration(Uuid::new_v4(), "a@example.com", "A", None)
            .unwrap();
        let options = creation_options(&ccr).unwrap();
        let selection = &options["publicKey"]["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["requireResidentKey"], true);
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(options["publicKey"]["rp"]["id"], "tasks.example.com");
    }
}
