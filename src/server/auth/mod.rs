//! Authentication's building blocks: password hashing, access and refresh tokens, the auth
//! cookies and the client behind a request. `server::context` puts them together, once per
//! request.

pub mod client;
pub mod cookie;
pub mod jwt;
pub mod password;
pub mod refresh;
pub mod totp;

pub use client::ClientInfo;
