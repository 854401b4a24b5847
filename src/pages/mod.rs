//! One module per page.

pub mod account;
pub mod admin;
pub mod forgot_password;
pub mod landing;
pub mod login;
pub mod login_code;
pub mod mail_links;
pub mod not_found;
pub mod passkeys;
pub mod register;
pub mod tasks;
pub mod two_step;
