//! What this app protects against and what it does not, in plain words, with the fingerprint of
//! the release the browser is running.

use leptos::prelude::*;
use sha2::{Digest, Sha256};

use crate::app::use_ctx;
use crate::i18n::Key;

/// SHA-256 of the asset manifest this page was served with: the value `vaiti serve` prints at
/// start-up and appends to every clinic's transparency log. Every asset's integrity hash is in
/// the manifest, and the browser refused any asset that did not match, so comparing this value
/// with the log's tells whether this browser runs the release the server announced.
async fn release_fingerprint() -> Result<String, String> {
    let origin = web_sys::window()
        .ok_or("no window")?
        .location()
        .origin()
        .map_err(|_| "no origin")?;
    let bytes = reqwest::get(format!("{origin}/asset-manifest.json"))
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// The about page.
#[component]
pub fn About() -> impl IntoView {
    let ctx = use_ctx();
    let fingerprint = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        fingerprint.set(Some(release_fingerprint().await.unwrap_or_else(|e| e)));
    });
    view! {
        <section class="card" aria-labelledby="about-title">
            <h1 id="about-title">{move || ctx.t(Key::AboutTitle)}</h1>
            <p>{move || ctx.t(Key::AboutBody1)}</p>
            <p>{move || ctx.t(Key::AboutBody2)}</p>
            <p>{move || ctx.t(Key::AboutRelease)}</p>
            <p><code class="fingerprint" data-testid="release">{move || fingerprint.get().unwrap_or_default()}</code></p>
            <button on:click=move |_| ctx.go(crate::app::Screen::Home)>{move || ctx.t(Key::Back)}</button>
        </section>
    }
}
