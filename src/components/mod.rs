//! Reusable pieces of the pages.

pub mod activity;
pub mod form;
pub mod guard;
pub mod header;
pub mod verify_banner;

/// A page's `<title>`: what the page is first, then the app ("Log in · Tasks"), so tabs,
/// history and screen readers name the page, not just the site.
pub fn page_title(page: &str) -> String {
    format!("{page} · Tasks")
}
