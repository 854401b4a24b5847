//! Entries of the audit trail as lists show them: a person's own "Recent activity" on the
//! account page, and the administrators' record on `/admin`.

use leptos::prelude::*;

use crate::{
    model::{ActivityItem, AuditItem, Party},
    paths,
};

/// "203.0.113.7 · 2 hours ago", the exact UTC time on hover, rendered identically on the server
/// and in the browser (the server wrote all three texts).
fn where_and_when(item: &ActivityItem) -> impl IntoView + use<> {
    let ip = (!item.ip.is_empty()).then(|| format!("{} · ", item.ip));
    view! {
        {ip}
        <time datetime=item.at_iso.clone() title=item.at_text.clone()>
            {item.at_ago.clone()}
        </time>
    }
}

/// One event of the signed-in person's own activity.
#[component]
pub fn ActivityEntry(item: ActivityItem) -> impl IntoView {
    view! {
        <li class="activity-item">
            <span>{item.summary.clone()}</span>
            <span class="muted">{where_and_when(&item)}</span>
        </li>
    }
}

/// An account an event names: a link to its admin page while it exists.
fn party(party: Party) -> impl IntoView {
    match party.email {
        Some(email) => view! { <a href=paths::admin_account(party.id)>{email}</a> }.into_any(),
        None => format!("account {} (deleted)", party.id).into_any(),
    }
}

/// One event as administrators see it: what, whose account, who did it (when someone else),
/// from where and when.
#[component]
pub fn AuditEntry(
    item: AuditItem,
    /// Leaves out whose account it is: on that account's own page.
    #[prop(optional)]
    without_subject: bool,
) -> impl IntoView {
    let AuditItem {
        activity,
        subject,
        actor,
    } = item;
    let by_someone_else = actor
        .filter(|actor| {
            subject
                .as_ref()
                .is_none_or(|subject| subject.id != actor.id)
        })
        .map(|actor| view! { " · by " {party(actor)} });
    let concerns = subject
        .filter(|_| !without_subject)
        .map(|subject| view! { " · " {party(subject)} });
    view! {
        <li class="activity-item">
            <span>{activity.summary.clone()} {concerns} {by_someone_else}</span>
            <span class="muted">{where_and_when(&activity)}</span>
        </li>
    }
}
