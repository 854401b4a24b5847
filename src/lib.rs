//! Tasks: one crate that builds both the server binary (`ssr`) and the browser bundle (`hydrate`).
//!
//! Shared code (pages, components, server-function declarations, wire types and the error enum)
//! compiles into both; everything under [`server`] exists only in the `ssr` build, so no server
//! crate (sqlx, argon2, jsonwebtoken, ...) can reach the wasm bundle.

pub mod app;
pub mod components;
pub mod error;
pub mod fns;
pub mod islands;
pub mod model;
pub mod pages;
pub mod paths;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the wasm bundle: brings the page's islands ([`islands`]) to life. The rest
/// of the page is server-rendered HTML that stays as it is.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
