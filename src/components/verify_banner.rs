//! The reminder a signed-in person sees on every page until their address is verified, with a
//! way to have the link sent again.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::{
    app::Auth,
    components::form::{FormError, action_done, action_error, general_message},
    fns::email::ResendVerification,
    paths,
};

#[component]
pub fn VerifyBanner() -> impl IntoView {
    let auth = expect_context::<Auth>();
    // A server that sends no mail (production without SMTP_URL) asks nobody to verify.
    let mail_on = OnceResource::new(crate::fns::email::mail_enabled());
    let resend = ServerAction::<ResendVerification>::new();
    // Without JavaScript a refused "Send again" (too many) comes back to the page it was on.
    let error = action_error(resend);
    let pending = resend.pending();
    let location = use_location();
    // With JavaScript or without (the plain post's answer comes back with the page).
    let done = action_done(resend);
    let sent = move || done.get().map(|()| "Sent. Check your inbox.");
    view! {
        <Transition fallback=|| ()>
            {move || {
                // The pages that open a mailed link verify the address while they render, after
                // the request already knew the person as unverified: they say what happened
                // themselves, and the banner is gone from the next page on.
                let path = location.pathname.get();
                let opens_link = path == paths::VERIFY_EMAIL || path == paths::CONFIRM_EMAIL;
                Suspend::new(async move {
                    let user = auth.user.await.ok().flatten()?;
                    let mail_on = mail_on.await.unwrap_or(false);
                    (!user.email_verified && !opens_link && mail_on)
                        .then(|| {
                            view! {
                                <section class="verify-banner" aria-label="Email verification">
                                    <p>"Check your inbox to verify " <strong>{user.email}</strong> "."</p>
                                    <ActionForm action=resend>
                                        <button
                                            type="submit"
                                            class="secondary"
                                            aria-disabled=move || pending.get().to_string()
                                            aria-busy=move || pending.get().to_string()
                                        >
                                            {move || if pending.get() { "Sending…" } else { "Send again" }}
                                        </button>
                                    </ActionForm>
                                    <p class="notice" role="status">{sent}</p>
                                    <FormError error=general_message(error, &[]) />
                                </section>
                            }
                        })
                })
            }}
        </Transition>
    }
}
