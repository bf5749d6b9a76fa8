//! vaiti's browser app: Rust compiled to wasm, over the same `vaiti-client` and `vaiti-crypto`
//! code as the CLI, so every key is made, unwrapped and used in the browser and the server sees
//! only ciphertext.
//!
//! Leptos in client-side rendering mode, with no inline script or style, runs under the strict
//! Content-Security-Policy the server sends (`docs/web.md`). Modules by screen:
//! - [`app`] and [`shell`]: state, locking, the header, which screen shows;
//! - [`signin`], [`signup`]: signing in and up, the Emergency Kit;
//! - [`caseload`], [`chart`]: a therapist's caseload, chart, notes and editor;
//! - [`frontdesk`]: patients, adding them, portal invites; [`admin`]: the clinic;
//! - [`portal`]: a patient's shared notes and access log;
//! - [`i18n`] (every string, Finnish and English), [`text`] (Finnish sorting, folding search),
//!   [`templates`] (note templates), [`storage`] (what the browser keeps).

#![forbid(unsafe_code)]

pub mod about;
pub mod admin;
pub mod app;
pub mod caseload;
pub mod chart;
pub mod frontdesk;
pub mod i18n;
pub mod portal;
pub mod shell;
pub mod signin;
pub mod signup;
pub mod storage;
pub mod templates;
pub mod text;

/// The wasm entry point: mounts the app on `<body>`.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(app::App);
}
