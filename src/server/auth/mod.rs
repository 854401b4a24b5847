//! Authentication: password hashing, access tokens, the auth cookie and the request extractor.

pub mod cookie;
pub mod extractor;
pub mod jwt;
pub mod password;

pub use extractor::{AuthOutcome, CurrentUser, MaybeUser};
