//! One module per page.

pub mod landing;
pub mod login;
pub mod not_found;
pub mod register;
pub mod sessions;
pub mod tasks;
