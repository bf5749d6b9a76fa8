//! Signing in (password and Secret Key; the Secret Key remembered only on the user's own
//! device) and unlocking after a lock.
//!
//! OPAQUE and Argon2 run here, in the browser: the server sees neither the password nor the
//! Secret Key, and the session cookie it sets is `HttpOnly`, out of this page's reach.

use leptos::prelude::*;
use vaiti_client::api::Api;
use vaiti_crypto::{ClinicId, SecretKey};
use zeroize::Zeroizing;

use crate::app::{Field, LockReason, Notice, Screen, SignedIn, use_ctx};
use crate::i18n::Key;
use crate::storage::{self, RememberedDevice};

/// The API of the server this page came from (the app only ever talks to its own origin).
pub fn own_api() -> Result<Api, String> {
    let origin = web_sys::window()
        .ok_or("no window")?
        .location()
        .origin()
        .map_err(|_| "no origin".to_string())?;
    Api::browser(&origin).map_err(|e| e.to_string())
}

/// Parses the clinic id as printed on the Emergency Kit (32 hex characters).
pub fn parse_clinic(text: &str) -> Option<ClinicId> {
    let bytes: [u8; 16] = hex::decode(text.trim()).ok()?.try_into().ok()?;
    Some(ClinicId::from_bytes(bytes))
}

/// Signs in with both secrets; on success the app holds the keys.
async fn sign_in(
    clinic: ClinicId,
    login: String,
    password: Zeroizing<String>,
    secret: &SecretKey,
) -> Result<SignedIn, vaiti_client::ClientError> {
    let mut api = own_api().map_err(vaiti_client::ClientError::Usage)?;
    let me =
        vaiti_client::account::login(&mut api, clinic, login.trim(), secret, &password).await?;
    let seen = SignedIn::load_seen(&me);
    Ok(SignedIn {
        api,
        me,
        seen: std::cell::RefCell::new(seen),
    })
}

/// The sign-in screen.
#[component]
pub fn SignIn() -> impl IntoView {
    let ctx = use_ctx();
    let remembered = RwSignal::new(storage::remembered());
    let clinic = RwSignal::new(String::new());
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let remember = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        let device = remembered.get_untracked();
        let (clinic_text, login_text, secret_text) = match &device {
            Some(d) => (d.clinic.clone(), d.login.clone(), d.secret_key.clone()),
            None => (
                clinic.get_untracked(),
                login.get_untracked(),
                secret.get_untracked(),
            ),
        };
        let Some(clinic_id) = parse_clinic(&clinic_text) else {
            error.set(Some(ctx.t(Key::ErrClinicCode).into()));
            return;
        };
        if login_text.trim().is_empty() || password.get_untracked().is_empty() {
            error.set(Some(ctx.t(Key::ErrRequired).into()));
            return;
        }
        let Ok(secret_key) = SecretKey::parse_printed(&secret_text) else {
            error.set(Some(ctx.t(Key::ErrSecretKey).into()));
            return;
        };
        let pw = Zeroizing::new(password.get_untracked());
        let keep = remember.get_untracked() && device.is_none();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = sign_in(clinic_id, login_text.clone(), pw, &secret_key).await;
            busy.set(false);
            match result {
                Ok(me) => {
                    password.set(String::new());
                    let printed = secret_key.to_printed();
                    if keep
                        && let Err(e) = storage::remember(&RememberedDevice {
                            clinic: clinic_text.trim().to_lowercase(),
                            login: login_text.trim().to_string(),
                            secret_key: printed.to_string(),
                        })
                    {
                        error.set(Some(ctx.tf(Key::ErrStorage, &[&e])));
                    }
                    secret.set(String::new());
                    ctx.signed_in_as(me, Zeroizing::new(printed.to_string()));
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };

    let known_fields = move || {
        remembered.get().map(|d| {
            view! {
                <p class="remembered">
                    <strong>{d.login.clone()}</strong>
                    " · "
                    <button
                        type="button"
                        class="link"
                        on:click=move |_| {
                            storage::forget();
                            remembered.set(None);
                        }
                    >
                        {move || ctx.t(Key::UseAnotherAccount)}
                    </button>
                </p>
            }
        })
    };

    view! {
        <section class="card narrow" aria-labelledby="signin-title">
            <h1 id="signin-title">{move || ctx.t(Key::SignIn)}</h1>
            <p class="lede">{move || ctx.t(Key::Tagline)}</p>
            <form on:submit=submit novalidate=true>
                {known_fields}
                <Show when=move || remembered.with(Option::is_none)>
                    <Field
                        id="clinic"
                        label=Signal::derive(move || ctx.t(Key::ClinicCode).to_string())
                        help=Signal::derive(move || ctx.t(Key::ClinicCodeHelp).to_string())
                    >
                        <input
                            id="clinic"
                            name="clinic"
                            autocomplete="organization"
                            spellcheck="false"
                            aria-describedby="clinic-help"
                            bind:value=clinic
                        />
                    </Field>
                    <Field
                        id="login"
                        label=Signal::derive(move || ctx.t(Key::LoginName).to_string())
                    >
                        <input id="login" name="username" autocomplete="username" bind:value=login/>
                    </Field>
                </Show>
                <Field id="password" label=Signal::derive(move || ctx.t(Key::Password).to_string())>
                    <input
                        id="password"
                        type="password"
                        name="password"
                        autocomplete="current-password"
                        bind:value=password
                    />
                </Field>
                <Show when=move || remembered.with(Option::is_none)>
                    <Field
                        id="secret-key"
                        label=Signal::derive(move || ctx.t(Key::SecretKey).to_string())
                        help=Signal::derive(move || ctx.t(Key::SecretKeyHelp).to_string())
                    >
                        <input
                            id="secret-key"
                            type="password"
                            autocomplete="off"
                            spellcheck="false"
                            aria-describedby="secret-key-help"
                            bind:value=secret
                        />
                    </Field>
                    <div class="check">
                        <input id="remember" type="checkbox" bind:checked=remember/>
                        <label for="remember">{move || ctx.t(Key::RememberDevice)}</label>
                        <p class="help">{move || ctx.t(Key::RememberDeviceHelp)}</p>
                    </div>
                </Show>
                <Notice message=error/>
                <button type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { ctx.t(Key::SigningIn) } else { ctx.t(Key::SignIn) }}
                </button>
            </form>
            <p class="alt">
                <button type="button" class="link" on:click=move |_| ctx.go(Screen::SignUp)>
                    {move || ctx.t(Key::HaveInvite)}
                </button>
            </p>
        </section>
    }
}

/// The lock screen: the password alone unlocks (the Secret Key stayed in this tab's memory).
#[component]
pub fn Unlock() -> impl IntoView {
    let ctx = use_ctx();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let locked = ctx.locked.get_untracked();
    let login_name = locked.as_ref().map(|l| l.login.clone()).unwrap_or_default();
    let reason = locked.as_ref().map_or(LockReason::ByHand, |l| l.reason);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(locked) = ctx.locked.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        let Some(clinic) = parse_clinic(&locked.clinic) else {
            ctx.sign_out();
            return;
        };
        let Ok(secret_key) = SecretKey::parse_printed(&locked.secret_key) else {
            ctx.sign_out();
            return;
        };
        let pw = Zeroizing::new(password.get_untracked());
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result = sign_in(clinic, locked.login.clone(), pw, &secret_key).await;
            busy.set(false);
            match result {
                Ok(me) => {
                    password.set(String::new());
                    ctx.signed_in_as(me, Zeroizing::new(locked.secret_key.to_string()));
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };

    view! {
        <section class="card narrow" aria-labelledby="lock-title">
            <h1 id="lock-title">{move || ctx.t(Key::Locked)}</h1>
            <p>
                {move || match reason {
                    LockReason::Expired => ctx.t(Key::SessionExpired).to_string(),
                    _ => ctx.tf(Key::LockedIntro, &[&crate::app::LOCK_AFTER_MINUTES.to_string()]),
                }}
            </p>
            <form on:submit=submit>
                <p class="remembered"><strong>{login_name}</strong></p>
                <Field id="unlock-password" label=Signal::derive(move || ctx.t(Key::Password).to_string())>
                    <input
                        id="unlock-password"
                        type="password"
                        autocomplete="current-password"
                        bind:value=password
                    />
                </Field>
                <Notice message=error/>
                <button type="submit" class="primary" disabled=move || busy.get()>
                    {move || ctx.t(Key::Unlock)}
                </button>
                <button type="button" class="quiet" on:click=move |_| ctx.sign_out()>
                    {move || ctx.t(Key::SignOut)}
                </button>
            </form>
        </section>
    }
}
