//! Signing up from an invite code: keys and Secret Key are made here, in the browser, and the
//! Emergency Kit is shown once, to print or download as a page.

use leptos::prelude::*;
use vaiti_client::invite::{InviteCode, NewMember, signup};
use vaiti_core::AccountKind;
use wasm_bindgen::JsCast as _;
use zeroize::Zeroizing;

use crate::app::{Field, Notice, Screen, now_s, use_ctx};
use crate::i18n::{Key, Lang, tr};
use crate::signin::own_api;

/// What the Emergency Kit shows.
#[derive(Debug, Clone)]
pub struct Kit {
    /// The server's address.
    pub server: String,
    /// The clinic's name.
    pub clinic_name: String,
    /// The clinic id (hex).
    pub clinic: String,
    /// The login: email, or a patient's handle.
    pub login: String,
    /// The Secret Key, printed form.
    pub secret_key: Zeroizing<String>,
    /// The root fingerprint pinned at sign-up.
    pub root_fingerprint: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The kit as a self-contained printable page (no script, no outside resource).
pub fn kit_html(kit: &Kit, lang: Lang) -> String {
    let t = |k| escape(tr(lang, k));
    let row = |k: Key, v: &str| {
        format!(
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            t(k),
            escape(v)
        )
    };
    let root = format!(
        "<tr><th>Root</th><td><code>{}</code></td></tr>",
        escape(&kit.root_fingerprint)
    );
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto}}\
         th{{text-align:left;padding-right:1em}}code{{font-size:1.2em}}td{{padding:.4em 0}}\
         .blank{{border-bottom:1px solid #000;min-width:16em;display:inline-block}}</style></head>\
         <body><h1>{title}</h1><p><strong>{clinic_name}</strong></p><p>{intro}</p><table>{server}{clinic}{login}{secret}\
         <tr><th>{pw}</th><td><span class=\"blank\">&nbsp;</span></td></tr>{root}</table></body></html>",
        lang = lang.code(),
        title = t(Key::EmergencyKit),
        clinic_name = escape(&kit.clinic_name),
        intro = t(Key::EmergencyKitIntro),
        server = row(Key::KitServer, &kit.server),
        clinic = row(Key::ClinicCode, &kit.clinic),
        login = row(Key::LoginName, &kit.login),
        secret = row(Key::SecretKey, &kit.secret_key),
        pw = t(Key::KitWritePassword),
        root = root,
    )
}

/// Offers `html` as a file download (a blob URL; nothing leaves the device).
fn download(name: &str, html: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(html));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/html");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| "cannot make the file")?;
    let url =
        web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "cannot make the file")?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| "cannot make a link")?
        .dyn_into()
        .map_err(|_| "cannot make a link")?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// The sign-up screen, then the Emergency Kit.
#[component]
pub fn SignUp() -> impl IntoView {
    let ctx = use_ctx();
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let kit = RwSignal::new_local(None::<Kit>);
    let staff_join = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let invite = match InviteCode::parse(code.get_untracked().trim()) {
            Ok(c) => c,
            Err(e) => {
                error.set(Some(ctx.error_text(&e)));
                return;
            }
        };
        let pw = Zeroizing::new(password.get_untracked());
        if pw.chars().count() < 10 {
            error.set(Some(ctx.t(Key::PasswordTooShort).into()));
            return;
        }
        if *pw != repeat.get_untracked() {
            error.set(Some(ctx.t(Key::PasswordsDiffer).into()));
            return;
        }
        let display = name.get_untracked().trim().to_string();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = async {
                let api = own_api().map_err(vaiti_client::ClientError::Usage)?;
                let req = NewMember {
                    code: &invite,
                    email: None,
                    display_name: (!display.is_empty()).then_some(display.as_str()),
                    password: &pw,
                    now: now_s(),
                };
                signup(&api, &req).await
            }
            .await;
            busy.set(false);
            match result {
                Ok(account) => {
                    password.set(String::new());
                    repeat.set(String::new());
                    staff_join.set(account.kind == AccountKind::Staff);
                    let server = web_sys::window()
                        .and_then(|w| w.location().origin().ok())
                        .unwrap_or_default();
                    kit.set(Some(Kit {
                        server,
                        clinic_name: account.clinic_name.clone(),
                        clinic: hex::encode(account.clinic.as_bytes()),
                        login: account.login.clone(),
                        secret_key: Zeroizing::new(account.secret_key.to_printed().to_string()),
                        root_fingerprint: hex::encode(account.root_fingerprint.0),
                    }));
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };

    let form = move || {
        view! {
            <section class="card narrow" aria-labelledby="signup-title">
                <h1 id="signup-title">{move || ctx.t(Key::SignUp)}</h1>
                <form on:submit=submit novalidate=true>
                    <Field
                        id="invite"
                        label=Signal::derive(move || ctx.t(Key::InviteCode).to_string())
                        help=Signal::derive(move || ctx.t(Key::InviteCodeHelp).to_string())
                    >
                        <input id="invite" spellcheck="false" autocomplete="off" aria-describedby="invite-help" bind:value=code/>
                    </Field>
                    <Field id="display-name" label=Signal::derive(move || ctx.t(Key::DisplayName).to_string())>
                        <input id="display-name" autocomplete="name" bind:value=name/>
                    </Field>
                    <Field id="new-password" label=Signal::derive(move || ctx.t(Key::NewPassword).to_string())>
                        <input id="new-password" type="password" autocomplete="new-password" bind:value=password/>
                    </Field>
                    <Field id="repeat-password" label=Signal::derive(move || ctx.t(Key::RepeatPassword).to_string())>
                        <input id="repeat-password" type="password" autocomplete="new-password" bind:value=repeat/>
                    </Field>
                    <Notice message=error/>
                    <button type="submit" class="primary" disabled=move || busy.get()>
                        {move || if busy.get() { ctx.t(Key::CreatingAccount) } else { ctx.t(Key::CreateAccount) }}
                    </button>
                </form>
                <p class="alt">
                    <button type="button" class="link" on:click=move |_| ctx.go(Screen::SignIn)>
                        {move || ctx.t(Key::BackToSignIn)}
                    </button>
                </p>
            </section>
        }
    };

    let kit_view = move |k: Kit| {
        let html = kit_html(&k, ctx.lang.get_untracked());
        let download_error = RwSignal::new(None::<String>);
        view! {
            <section class="card kit" aria-labelledby="kit-title">
                <h1 id="kit-title">{move || ctx.t(Key::EmergencyKit)}</h1>
                <p class="warning">{move || ctx.t(Key::EmergencyKitIntro)}</p>
                <dl class="kit-fields">
                    <dt>{move || ctx.t(Key::KitServer)}</dt><dd><code>{k.server.clone()}</code></dd>
                    <dt>{move || ctx.t(Key::ClinicCode)}</dt><dd><code data-testid="kit-clinic">{k.clinic.clone()}</code></dd>
                    <dt>{move || ctx.t(Key::LoginName)}</dt><dd><code data-testid="kit-login">{k.login.clone()}</code></dd>
                    <dt>{move || ctx.t(Key::SecretKey)}</dt><dd><code data-testid="kit-secret-key">{k.secret_key.to_string()}</code></dd>
                    <dt>{move || ctx.t(Key::KitWritePassword)}</dt><dd class="blank"></dd>
                </dl>
                <Show when=move || staff_join.get()>
                    <p>{move || ctx.t(Key::JoinPending)}</p>
                </Show>
                <Notice message=download_error/>
                <div class="actions">
                    <button on:click=move |_| {
                        if let Err(e) = download("vaiti-emergency-kit.html", &html) {
                            download_error.set(Some(e));
                        }
                    }>{move || ctx.t(Key::DownloadKit)}</button>
                    <button on:click=move |_| {
                        if let Some(w) = web_sys::window() {
                            let _ = w.print();
                        }
                    }>{move || ctx.t(Key::PrintKit)}</button>
                    <button class="primary" on:click=move |_| {
                        kit.set(None);
                        ctx.go(Screen::SignIn);
                    }>{move || ctx.t(Key::KitSaved)}</button>
                </div>
            </section>
        }
    };

    move || match kit.get() {
        Some(k) => kit_view(k).into_any(),
        None => form().into_any(),
    }
}
