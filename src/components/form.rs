//! Labelled form fields and error messages that assistive technology announces.

use leptos::{prelude::*, server::SharedValue, server_fn::ServerFn};

use crate::{error::AppError, model::limits::PASSWORD_MAX};

/// A labelled input with its error message underneath, linked by `aria-describedby`.
#[component]
pub fn Field(
    /// Visible label text.
    label: &'static str,
    /// Form field name; must match the server function's argument.
    name: &'static str,
    /// Names the input `field-{id}` instead of `field-{name}` (its message `field-{id}-error`),
    /// for a page with two forms that have a field of the same name.
    #[prop(optional)]
    id: Option<&'static str>,
    /// The input's `type`.
    #[prop(default = "text")]
    kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    /// The on-screen keyboard a phone shows (`numeric` for a 6-digit code).
    #[prop(optional_no_strip)]
    inputmode: Option<&'static str>,
    /// The current error for this field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] required: bool,
    /// Marks the field invalid for an error shown elsewhere (a form-level one, such as a
    /// failed login, which is about both fields).
    #[prop(optional, into)]
    invalid: Option<Signal<bool>>,
    /// The id of that form-level message (or of a hint), read out with the field.
    #[prop(optional_no_strip)]
    described_by: Option<&'static str>,
    /// Focus on load: the first invalid field of a form that came back refused (without
    /// JavaScript; with it, [`focus_first_invalid`] does this).
    #[prop(optional)]
    autofocus: bool,
    /// What the field shows on load: what the person had typed into a refused form.
    #[prop(optional_no_strip)]
    value: Option<String>,
) -> impl IntoView {
    let id = id.map_or_else(|| format!("field-{name}"), |id| format!("field-{id}"));
    let error_id = format!("{id}-error");
    let is_invalid =
        move || error.with(Option::is_some) || invalid.is_some_and(|invalid| invalid.get());
    let describedby = match described_by {
        Some(other) => format!("{error_id} {other}"),
        None => error_id.clone(),
    };
    let password = kind == "password";
    let input = view! {
        <input
            id=id.clone()
            name=name
            type=kind
            autocomplete=autocomplete
            inputmode=inputmode
            maxlength=maxlength
            required=required
            autofocus=autofocus
            value=value
            aria-invalid=move || if is_invalid() { "true" } else { "false" }
            aria-describedby=describedby
        />
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {if password {
                view! {
                    <div class="password-field">
                        {input}
                        // Shows what was typed as plain text (on a phone above all). It needs
                        // a script: the pages that load the passkey module (public/passkeys.js)
                        // bring it to life, and the stylesheet hides it everywhere else.
                        <button type="button" class="reveal secondary" aria-controls=id>
                            "Show"
                            <span class="visually-hidden">{format!(" {}", label.to_lowercase())}</span>
                        </button>
                    </div>
                }
                    .into_any()
            } else {
                input.into_any()
            }}
            <p class="field-error" id=error_id role="alert">
                {move || error.get()}
            </p>
        </div>
    }
}

/// A form-level error (one not tied to a field), announced when it appears.
#[component]
pub fn FormError(
    #[prop(into)] error: Signal<Option<String>>,
    /// For fields that name it in `aria-describedby`.
    #[prop(optional)]
    id: Option<&'static str>,
) -> impl IntoView {
    view! {
        <p class="form-error" id=id role="alert">
            {move || error.get()}
        </p>
    }
}

/// After a refused submit, moves the focus to the form's first invalid field, so the person
/// lands where the problem is (and hears its message) instead of on the page's body.
pub fn focus_first_invalid(form: NodeRef<leptos::html::Form>, error: Signal<Option<AppError>>) {
    Effect::new(move |_| {
        if error.with(Option::is_none) {
            return;
        }
        request_animation_frame(move || {
            use leptos::wasm_bindgen::JsCast;
            let Some(form) = form.get_untracked() else {
                return;
            };
            if let Ok(Some(field)) = form.query_selector("[aria-invalid='true']")
                && let Ok(field) = field.dyn_into::<leptos::web_sys::HtmlElement>()
            {
                let _ = field.focus();
            }
        });
    });
}

/// The error a server function returned to a plain HTML form post (JavaScript off). The server
/// keeps it in a one-time cookie (`server::form_posts`), never in the URL, so a crafted link
/// cannot put text on the page; it is read while the page renders on the server and handed to
/// the hydrating client with the page.
pub fn no_js_error<S: ServerFn>() -> Option<AppError> {
    no_js_refusal::<S>().map(|refusal| refusal.error)
}

/// What a refused plain form post comes back with: the error, and the fields the person typed
/// in the open (name, email, title; never a password or code), to fill in again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    pub error: AppError,
    pub fields: Vec<(String, String)>,
}

impl Refusal {
    /// The value the person had typed into `field`.
    pub fn value(&self, field: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.clone())
    }
}

/// [`no_js_error`] with the fields to fill in again.
pub fn no_js_refusal<S: ServerFn>() -> Option<Refusal> {
    SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            use axum::http::request::Parts;
            let parts = use_context::<Parts>()?;
            let cookies = parts.extensions.get::<tower_cookies::Cookies>()?;
            let state = use_context::<crate::server::AppState>()?;
            crate::server::form_posts::take(&state.config, cookies, S::PATH)
        }
        #[cfg(not(feature = "ssr"))]
        {
            None
        }
    })
    .into_inner()
}

/// The answer of a plain form post that went through, for the forms whose pages say what they
/// did (`server::form_posts::SAYS_WHAT_IT_DID`), with the fields typed in the open (the new
/// address of an email change). Read once, like [`no_js_refusal`].
pub fn no_js_done<S>() -> Option<(S::Output, Vec<(String, String)>)>
where
    S: ServerFn,
    S::Output: serde::Serialize + serde::de::DeserializeOwned,
{
    SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            use axum::http::request::Parts;
            let parts = use_context::<Parts>()?;
            let cookies = parts.extensions.get::<tower_cookies::Cookies>()?;
            let state = use_context::<crate::server::AppState>()?;
            let (answer, fields) =
                crate::server::form_posts::take_done(&state.config, cookies, S::PATH)?;
            Some((serde_json::from_value(answer).ok()?, fields))
        }
        #[cfg(not(feature = "ssr"))]
        {
            None
        }
    })
    .into_inner()
}

/// The answer of `action` when it went through: its last result when it has run here,
/// otherwise the answer a JavaScript-free submission came back with ([`no_js_done`]).
pub fn action_done<S>(action: ServerAction<S>) -> Signal<Option<S::Output>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let from_post = no_js_done::<S>().map(|(answer, _)| answer);
    Signal::derive(move || match action.value().get() {
        Some(result) => result.ok(),
        None => from_post.clone(),
    })
}

/// The latest error of `action`: its last result when it has run here, otherwise the error a
/// JavaScript-free submission came back with.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    action_error_or(action, no_js_error::<S>())
}

/// [`action_error`] for a page that has read the plain post's refusal itself
/// ([`no_js_refusal`], to fill the form in again).
pub fn action_error_or<S>(
    action: ServerAction<S>,
    from_url: Option<AppError>,
) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || match action.value().get() {
        Some(result) => result.err(),
        None => from_url.clone(),
    })
}

/// The message for `field` in `error`.
pub fn field_message(
    error: Signal<Option<AppError>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || error.get().and_then(|e| e.message_for(field)))
}

/// The message for errors that belong to no listed field.
pub fn general_message(
    error: Signal<Option<AppError>>,
    fields: &'static [&'static str],
) -> Signal<Option<String>> {
    Signal::derive(move || {
        error.get().and_then(|e| {
            if fields.iter().any(|f| e.message_for(f).is_some()) {
                None
            } else {
                Some(e.to_string())
            }
        })
    })
}

/// One input of a [`PostForm`]: what [`Field`] needs, as data.
pub struct Input {
    pub label: &'static str,
    /// The form field's name (the server function's argument).
    pub name: &'static str,
    /// The element id's suffix (`field-{id}`), for a page with two forms that share a name.
    pub id: &'static str,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    /// `numeric` for a 6-digit code.
    pub inputmode: Option<&'static str>,
}

/// A plain HTML form post to a server function, with JavaScript too: the server answers with a
/// redirect to the page that shows the outcome, and a refusal comes back with the page (in the
/// one-time cookie of `server::form_posts`), each message next to its field and the focus on
/// the first field refused. One component for every such form keeps the wasm bundle small:
/// each distinct view carries its own copy of the rendering and hydration code.
#[component]
pub fn PostForm(
    /// The server function's path.
    action: &'static str,
    /// One or two inputs.
    inputs: &'static [Input],
    /// The submit button's text.
    button: &'static str,
    /// The button's class (`danger`, `secondary`, or none).
    #[prop(optional)]
    button_class: &'static str,
    /// A hidden field (`next` of the sign-in code).
    #[prop(optional)]
    hidden: Option<(&'static str, String)>,
    /// The id of the heading that names the form.
    #[prop(optional)]
    labelled_by: Option<&'static str>,
    /// The id of a hint the inputs are described by.
    #[prop(optional)]
    described_by: Option<&'static str>,
    /// Focus the first input on load even when nothing was refused (a page for that one form).
    #[prop(optional)]
    focus: bool,
    /// The refusal this form came back with.
    refused: Option<AppError>,
) -> impl IntoView {
    debug_assert!(inputs.len() <= 2, "PostForm shows at most two inputs");
    let first_bad = refused.as_ref().and_then(|e| {
        inputs
            .iter()
            .position(|input| e.message_for(input.name).is_some())
    });
    let first_bad = first_bad.or((focus || refused.is_some()).then_some(0));
    let error = Signal::stored(refused);
    let general = Signal::derive(move || {
        error.get().and_then(|e| {
            let about_a_field = inputs.iter().any(|i| e.message_for(i.name).is_some());
            (!about_a_field).then(|| e.to_string())
        })
    });
    let (hidden_name, hidden_value) = hidden.unzip();
    // One or two inputs (no list: a list's rendering code would weigh more than two slots).
    let field = move |i: usize| {
        inputs.get(i).map(|input| {
            view! {
                <Field
                    label=input.label
                    name=input.name
                    id=input.id
                    kind=input.kind
                    autocomplete=input.autocomplete
                    inputmode=input.inputmode
                    maxlength=PASSWORD_MAX
                    required=true
                    error=field_message(error, input.name)
                    described_by=described_by
                    autofocus=first_bad == Some(i)
                />
            }
        })
    };
    view! {
        <form method="post" action=action aria-labelledby=labelled_by>
            {hidden_name.map(|name| view! { <input type="hidden" name=name value=hidden_value /> })}
            {field(0)}
            {field(1)}
            <FormError error=general />
            <button type="submit" class=button_class>
                {button}
            </button>
        </form>
    }
}
