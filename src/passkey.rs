//! The browser's side of passkeys: `navigator.credentials.create` / `.get` through `web-sys`,
//! with the server's WebAuthn options (JSON, binary fields in base64url) turned into the
//! buffers the browser wants, and its answer turned back into JSON for the server.
//!
//! Only the hydrate build talks to the browser; on the server these functions say passkeys
//! are unsupported (they only run from event handlers and effects, which never run there).

/// Why a passkey ceremony did not produce an answer for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// This page stopped it (the autofill request, when the button is pressed).
    Aborted,
    /// The person cancelled, or the browser's dialog timed out.
    Cancelled,
    /// The device already holds a passkey for this account (registration only).
    AlreadyOnDevice,
    /// No WebAuthn in this browser, or not at this address.
    Unsupported,
    /// Anything else the browser reported.
    Other(String),
}

impl Failure {
    /// A sentence for the person; `None` when nothing needs saying (aborted by this page).
    pub fn message(&self) -> Option<String> {
        match self {
            Self::Aborted => None,
            Self::Cancelled => Some(
                "The passkey request was cancelled or timed out. Try again when you are ready."
                    .into(),
            ),
            Self::AlreadyOnDevice => Some(
                "This device already has a passkey for your account. Use it to sign in, or add \
                 a passkey from another device."
                    .into(),
            ),
            Self::Unsupported => Some(
                "This browser cannot use passkeys here. Use your password, or open Tasks in a \
                 current browser at its usual address."
                    .into(),
            ),
            Self::Other(text) => Some(format!(
                "The browser could not use a passkey ({text}). Try again, or use your password."
            )),
        }
    }
}

/// base64url without padding (RFC 4648 §5), as WebAuthn's JSON uses. Written out rather than
/// a crate: a few lines instead of kilobytes in every visitor's bundle.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
mod base64url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    /// Decodes base64url, with or without padding; `None` for anything else.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let text = text.trim_end_matches('=');
        let mut out = Vec::with_capacity(text.len() * 3 / 4);
        let (mut n, mut bits) = (0u32, 0);
        for c in text.bytes() {
            let value = ALPHABET.iter().position(|a| *a == c)? as u32;
            n = (n << 6) | value;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((n >> bits) as u8);
            }
        }
        Some(out)
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use js_sys::{Array, ArrayBuffer, JSON, Object, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        AbortSignal, AuthenticatorAssertionResponse, AuthenticatorAttestationResponse,
        CredentialCreationOptions, CredentialRequestOptions, PublicKeyCredential,
    };

    use super::{
        Failure,
        base64url::{decode, encode},
    };

    fn failure(err: JsValue) -> Failure {
        let name = Reflect::get(&err, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "AbortError" => Failure::Aborted,
            "NotAllowedError" => Failure::Cancelled,
            "InvalidStateError" => Failure::AlreadyOnDevice,
            "NotSupportedError" | "SecurityError" => Failure::Unsupported,
            _ => Failure::Other(
                Reflect::get(&err, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or(name),
            ),
        }
    }

    fn get(object: &JsValue, key: &str) -> Result<JsValue, Failure> {
        Reflect::get(object, &key.into()).map_err(failure)
    }

    fn set(object: &JsValue, key: &str, value: &JsValue) -> Result<(), Failure> {
        Reflect::set(object, &key.into(), value)
            .map(|_| ())
            .map_err(failure)
    }

    /// Replaces the base64url text at `object[key]` by its bytes.
    fn to_buffer(object: &JsValue, key: &str) -> Result<(), Failure> {
        if let Some(text) = get(object, key)?.as_string() {
            let bytes = decode(&text).ok_or_else(|| Failure::Other("bad options".into()))?;
            set(object, key, &Uint8Array::from(bytes.as_slice()))?;
        }
        Ok(())
    }

    /// `to_buffer` on the `id` of each credential listed at `object[key]`.
    fn ids_to_buffers(object: &JsValue, key: &str) -> Result<(), Failure> {
        let list = get(object, key)?;
        if Array::is_array(&list) {
            for item in Array::from(&list).iter() {
                to_buffer(&item, "id")?;
            }
        }
        Ok(())
    }

    fn text(buffer: &ArrayBuffer) -> JsValue {
        encode(&Uint8Array::new(buffer).to_vec()).into()
    }

    fn credentials() -> Result<web_sys::CredentialsContainer, Failure> {
        let window = web_sys::window().ok_or(Failure::Unsupported)?;
        if get(&window, "PublicKeyCredential")?.is_undefined() {
            return Err(Failure::Unsupported);
        }
        Ok(window.navigator().credentials())
    }

    /// The `publicKey` member of the server's options, parsed.
    fn public_key(options: &str) -> Result<JsValue, Failure> {
        let parsed = JSON::parse(options).map_err(failure)?;
        let public_key = get(&parsed, "publicKey")?;
        to_buffer(&public_key, "challenge")?;
        Ok(public_key)
    }

    /// The answer as the JSON the server reads (`clientExtensionResults` included).
    fn answer(credential: &PublicKeyCredential, response: &Object) -> Result<String, Failure> {
        let out = Object::new();
        set(&out, "id", &credential.id().into())?;
        set(&out, "rawId", &text(&credential.raw_id()))?;
        set(&out, "type", &"public-key".into())?;
        set(&out, "response", response)?;
        let extensions = get(credential, "getClientExtensionResults")?
            .dyn_ref::<js_sys::Function>()
            .and_then(|f| f.call0(credential).ok())
            .unwrap_or_else(|| Object::new().into());
        set(&out, "clientExtensionResults", &extensions)?;
        JSON::stringify(&out).map(String::from).map_err(failure)
    }

    pub async fn create(options: &str) -> Result<String, Failure> {
        let container = credentials()?;
        let public_key = public_key(options)?;
        to_buffer(&get(&public_key, "user")?, "id")?;
        ids_to_buffers(&public_key, "excludeCredentials")?;
        let request: CredentialCreationOptions = Object::new().unchecked_into();
        set(&request, "publicKey", &public_key)?;
        let promise = container.create_with_options(&request).map_err(failure)?;
        let credential: PublicKeyCredential = JsFuture::from(promise)
            .await
            .map_err(failure)?
            .dyn_into()
            .map_err(|_| Failure::Unsupported)?;
        let response: AuthenticatorAttestationResponse = credential.response().unchecked_into();
        let out = Object::new();
        set(&out, "clientDataJSON", &text(&response.client_data_json()))?;
        set(
            &out,
            "attestationObject",
            &text(&response.attestation_object()),
        )?;
        let transports = get(&response, "getTransports")?;
        if let Some(function) = transports.dyn_ref::<js_sys::Function>() {
            set(
                &out,
                "transports",
                &function.call0(&response).map_err(failure)?,
            )?;
        }
        answer(&credential, &out)
    }

    pub async fn sign_in(
        options: &str,
        conditional: bool,
        signal: Option<&AbortSignal>,
    ) -> Result<String, Failure> {
        let container = credentials()?;
        let public_key = public_key(options)?;
        ids_to_buffers(&public_key, "allowCredentials")?;
        let request: CredentialRequestOptions = Object::new().unchecked_into();
        set(&request, "publicKey", &public_key)?;
        if conditional {
            set(&request, "mediation", &"conditional".into())?;
        }
        if let Some(signal) = signal {
            set(&request, "signal", signal)?;
        }
        let promise = container.get_with_options(&request).map_err(failure)?;
        let credential: PublicKeyCredential = JsFuture::from(promise)
            .await
            .map_err(failure)?
            .dyn_into()
            .map_err(|_| Failure::Cancelled)?;
        let response: AuthenticatorAssertionResponse = credential.response().unchecked_into();
        let out = Object::new();
        set(&out, "clientDataJSON", &text(&response.client_data_json()))?;
        set(
            &out,
            "authenticatorData",
            &text(&response.authenticator_data()),
        )?;
        set(&out, "signature", &text(&response.signature()))?;
        if let Some(handle) = response.user_handle() {
            set(&out, "userHandle", &text(&handle))?;
        }
        answer(&credential, &out)
    }

    /// Whether the browser offers passkeys in autofill (conditional mediation).
    pub async fn autofill_available() -> bool {
        let Some(window) = web_sys::window() else {
            return false;
        };
        let Ok(class) = get(&window, "PublicKeyCredential") else {
            return false;
        };
        let Ok(check) = get(&class, "isConditionalMediationAvailable") else {
            return false;
        };
        let Some(check) = check.dyn_ref::<js_sys::Function>() else {
            return false;
        };
        let Ok(promise) = check.call0(&class) else {
            return false;
        };
        JsFuture::from(js_sys::Promise::from(promise))
            .await
            .is_ok_and(|v| v.is_truthy())
    }

    /// Whether this browser has WebAuthn at all.
    pub fn supported() -> bool {
        web_sys::window()
            .and_then(|w| Reflect::get(&w, &"PublicKeyCredential".into()).ok())
            .is_some_and(|c| !c.is_undefined())
    }
}

/// Something that can stop a running autofill request (an `AbortController`).
#[cfg(feature = "hydrate")]
pub type Abort = web_sys::AbortController;
#[cfg(not(feature = "hydrate"))]
pub type Abort = ();

/// A new abort handle, or `None` where there is no browser.
pub fn abort_handle() -> Option<Abort> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::AbortController::new().ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Stops the request `handle` was given to.
pub fn abort(handle: &Abort) {
    #[cfg(feature = "hydrate")]
    handle.abort();
    #[cfg(not(feature = "hydrate"))]
    let _ = handle;
}

/// Makes a passkey with the server's creation options; returns the answer as JSON.
///
/// # Errors
/// [`Failure`] when the browser made none.
pub async fn create(options: &str) -> Result<String, Failure> {
    #[cfg(feature = "hydrate")]
    {
        browser::create(options).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err(Failure::Unsupported)
    }
}

/// Signs a sign-in challenge with a passkey the person picks (in a dialog, or in the email
/// field's autofill when `conditional`); returns the answer as JSON.
///
/// # Errors
/// [`Failure`] when the browser gave none.
pub async fn sign_in(
    options: &str,
    conditional: bool,
    abort: Option<&Abort>,
) -> Result<String, Failure> {
    #[cfg(feature = "hydrate")]
    {
        let signal = abort.map(web_sys::AbortController::signal);
        browser::sign_in(options, conditional, signal.as_ref()).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (options, conditional, abort);
        Err(Failure::Unsupported)
    }
}

/// Whether the browser offers passkeys in the email field's autofill.
pub async fn autofill_available() -> bool {
    #[cfg(feature = "hydrate")]
    {
        browser::autofill_available().await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// Whether this browser can use passkeys at all.
pub fn supported() -> bool {
    #[cfg(feature = "hydrate")]
    {
        browser::supported()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::base64url::{decode, encode};

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(encode(b"\xfb\xff"), "-_8");
        assert_eq!(decode("-_8=").unwrap(), b"\xfb\xff");
        assert!(decode("not base64!").is_none());
    }
}
