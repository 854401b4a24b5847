//! Authentication: password hashing, access and refresh tokens, the auth cookies, the client
//! behind a request, and the request extractors.

pub mod client;
pub mod cookie;
pub mod extractor;
pub mod jwt;
pub mod password;
pub mod refresh;

pub use client::ClientInfo;
pub use extractor::{
    AuthOutcome, CurrentSession, CurrentUser, MaybeUser, Principal, RenewedAccess,
};
