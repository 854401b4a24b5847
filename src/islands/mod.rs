//! The islands: the only parts of the pages that run in the browser.
//!
//! Everything else is rendered on the server and works as plain HTML (links and form posts).
//! An island gets what it shows as serialisable props and reaches the server only through
//! server functions, so what is in this module (and what it uses) is what a phone downloads.

pub mod task_list;
