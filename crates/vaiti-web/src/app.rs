//! The app's shell: who is signed in, which screen shows, the language, locking after inactivity
//! and the one-key "hide screen", and the one way screens talk to the server
//! ([`with_session`]).
//!
//! Keys live only in this tab's memory, inside [`SignedIn`]. Locking (by hand or after
//! [`LOCK_AFTER_MINUTES`] without activity) ends the server session and drops them; unlocking
//! asks for the password again. Signing out also forgets the Secret Key held for unlocking.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use vaiti_client::ClientError;
use vaiti_client::account::Unlocked;
use vaiti_client::api::Api;
use vaiti_client::seen::Seen;
use vaiti_client::session::Session;
use vaiti_core::{AccessPurpose, AccountKind, ChartId, Role};
use zeroize::Zeroizing;

use crate::i18n::{Key, Lang, fill, tr};
use crate::storage;

/// Minutes without a key press or click before the session locks itself.
pub const LOCK_AFTER_MINUTES: u32 = 10;

/// Seconds since the Unix epoch, from the browser's clock.
pub fn now_s() -> i64 {
    // `std::time` panics on wasm32-unknown-unknown; `Date.now()` is the browser's clock.
    (js_sys::Date::now() / 1000.0) as i64
}

/// A signed-in account: the server connection and the keys only this tab holds.
#[derive(Debug)]
pub struct SignedIn {
    /// The server connection (a browser session: the cookie is `HttpOnly`, no token here).
    pub api: Api,
    /// The unlocked account.
    pub me: Unlocked,
    /// What this device has seen (rollback protection), persisted sealed after each call.
    pub seen: RefCell<Seen>,
}

impl SignedIn {
    /// Whether the account is staff holding `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.me.account.kind == AccountKind::Staff && self.me.account.roles.contains(&role)
    }

    /// Whether the account is a patient's.
    pub fn is_patient(&self) -> bool {
        self.me.account.kind == AccountKind::Patient
    }

    /// The storage key of one of this account's items on this device.
    fn item_key(me: &Unlocked, item: &str) -> String {
        storage::account_key(
            &hex::encode(me.clinic.as_bytes()),
            &hex::encode(me.account.id.as_bytes()),
            item,
        )
    }

    /// The device's sealed memory for this account, if it has one that opens.
    pub fn load_seen(me: &Unlocked) -> Seen {
        storage::get_bytes(&Self::item_key(me, "seen"))
            .and_then(|b| Seen::open(me, &b).ok())
            .unwrap_or_default()
    }

    fn save_seen(&self, seen: &Seen) {
        if let Ok(sealed) = seen.seal(&self.me) {
            let _ = storage::set_bytes(&Self::item_key(&self.me, "seen"), &sealed);
        }
    }

    /// The storage key of this account's draft for `chart`.
    pub fn draft_key(&self, chart: ChartId) -> String {
        Self::item_key(&self.me, &format!("draft.{chart}"))
    }
}

/// Opens a verified session (the clinic directory, the log's checkpoint and witnesses), runs `f`
/// in it, and keeps what the device saw. Every screen reaches the server through here.
pub async fn with_session<T>(
    user: Rc<SignedIn>,
    purpose: Option<AccessPurpose>,
    f: impl AsyncFnOnce(&Session<'_>) -> Result<T, ClientError>,
) -> Result<T, ClientError> {
    let seen = user.seen.borrow().clone();
    let mut session = Session::open_with(&user.api, &user.me, now_s(), seen).await?;
    session.purpose = purpose;
    let out = f(&session).await;
    if let Ok(mine) = session.seen() {
        // Another action may have saved meanwhile (several can be in flight): keep the newer
        // of each, never an older memory over a newer one.
        let merged = {
            let mut current = user.seen.borrow_mut();
            current.merge(&mine);
            current.clone()
        };
        user.save_seen(&merged);
    }
    out
}

/// A screen of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Sign in.
    SignIn,
    /// Sign up with an invite code.
    SignUp,
    /// The signed-in user's start screen (by role).
    Home,
    /// A therapist's caseload.
    Caseload,
    /// One chart, opened.
    Chart(ChartId),
    /// Front desk and admins: the patient directory.
    Patients,
    /// Front desk: add a patient.
    AddPatient,
    /// Admin: branches, staff, invites, alerts, decoys, reports.
    Admin,
    /// A patient: shared notes.
    PortalNotes,
    /// A patient: who accessed my record.
    PortalLog,
    /// What this app does and does not protect against.
    About,
}

/// What unlocking after a lock needs besides the password.
#[derive(Debug, Clone)]
pub struct LockedAccount {
    /// The clinic id (hex).
    pub clinic: String,
    /// The login name.
    pub login: String,
    /// The Secret Key, held in this tab's memory only until sign-out.
    pub secret_key: Rc<Zeroizing<String>>,
    /// Why it locked.
    pub reason: LockReason,
}

/// Why the session locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReason {
    /// The user pressed Lock.
    ByHand,
    /// No activity for [`LOCK_AFTER_MINUTES`].
    Inactivity,
    /// The server session ended (expired or revoked).
    Expired,
}

/// The app-wide state every component reaches with [`use_ctx`].
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// The interface language.
    pub lang: RwSignal<Lang>,
    /// The signed-in account.
    pub user: RwSignal<Option<Rc<SignedIn>>, LocalStorage>,
    /// The Secret Key typed at sign-in, kept for unlocking after a lock.
    pub secret: RwSignal<Option<Rc<Zeroizing<String>>>, LocalStorage>,
    /// Set while locked.
    pub locked: RwSignal<Option<LockedAccount>, LocalStorage>,
    /// The screen shown.
    pub screen: RwSignal<Screen>,
    /// Whether the screen is covered ("hide screen").
    pub hidden: RwSignal<bool>,
    /// When the user last pressed a key or clicked (ms since the epoch).
    pub last_activity: StoredValue<f64>,
}

/// The app context.
pub fn use_ctx() -> Ctx {
    use_context::<Ctx>().unwrap_or_else(Ctx::new)
}

impl Ctx {
    fn new() -> Self {
        let lang = storage::language()
            .map(|c| Lang::from_code(&c))
            .or_else(|| {
                web_sys::window()
                    .and_then(|w| w.navigator().language())
                    .map(|c| Lang::from_code(&c))
            })
            .unwrap_or(Lang::Fi);
        Self {
            lang: RwSignal::new(lang),
            user: RwSignal::new_local(None),
            secret: RwSignal::new_local(None),
            locked: RwSignal::new_local(None),
            screen: RwSignal::new(Screen::SignIn),
            hidden: RwSignal::new(false),
            last_activity: StoredValue::new(js_sys::Date::now()),
        }
    }

    /// A string in the current language (reactive when read inside a closure).
    pub fn t(&self, key: Key) -> &'static str {
        tr(self.lang.get(), key)
    }

    /// A string with `{0}`… filled in.
    pub fn tf(&self, key: Key, values: &[&str]) -> String {
        fill(self.t(key), values)
    }

    /// The signed-in account, if any (not reactive).
    pub fn signed_in(&self) -> Option<Rc<SignedIn>> {
        self.user.get_untracked()
    }

    /// Goes to `screen`.
    pub fn go(&self, screen: Screen) {
        self.screen.set(screen);
        // Move focus to the main region so keyboard and screen-reader users land on the new
        // screen, not on the button that is gone.
        if let Some(main) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("main"))
            && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(main)
        {
            let _ = el.focus();
        }
    }

    /// Signs in: keeps the keys and the Secret Key (for unlocking) and shows the home screen.
    pub fn signed_in_as(&self, me: SignedIn, secret_key: Zeroizing<String>) {
        self.secret.set(Some(Rc::new(secret_key)));
        let me = Rc::new(me);
        if !me.is_patient() {
            complete_joins(me.clone());
        }
        self.user.set(Some(me));
        self.locked.set(None);
        if matches!(self.screen.get_untracked(), Screen::SignIn | Screen::SignUp) {
            self.screen.set(Screen::Home);
        }
    }

    /// Locks: ends the server session, drops the keys, keeps the screen to come back to.
    pub fn lock(&self, reason: LockReason) {
        let Some(user) = self.user.get_untracked() else {
            return;
        };
        let locked = LockedAccount {
            clinic: hex::encode(user.me.clinic.as_bytes()),
            login: user.me.account.login.clone(),
            secret_key: self
                .secret
                .get_untracked()
                .unwrap_or_else(|| Rc::new(Zeroizing::new(String::new()))),
            reason,
        };
        self.user.set(None);
        self.locked.set(Some(locked));
        end_server_session(user);
    }

    /// Signs out: ends the server session and forgets every secret this tab held.
    pub fn sign_out(&self) {
        if let Some(user) = self.user.get_untracked() {
            end_server_session(user);
        }
        self.user.set(None);
        self.secret.set(None);
        self.locked.set(None);
        self.screen.set(Screen::SignIn);
    }

    /// A message for the user about `e`, saying what to do. An ended session locks instead (the
    /// caller's screen keeps its draft).
    pub fn error_text(&self, e: &ClientError) -> String {
        match e {
            ClientError::LoginFailed => self.t(Key::ErrLogin).to_string(),
            ClientError::Network(_) => self.t(Key::ErrNetwork).to_string(),
            ClientError::Api { status: 401, .. } => {
                self.lock(LockReason::Expired);
                self.t(Key::SessionExpired).to_string()
            }
            ClientError::Api { message, .. } => self.tf(Key::ErrRefused, &[message]),
            ClientError::Protocol(what) => self.tf(Key::ErrSecurity, &[what]),
            ClientError::Crypto(what) => self.tf(Key::ErrSecurity, &[&what.to_string()]),
            ClientError::Usage(what) => what.clone(),
            other => other.to_string(),
        }
    }

    /// Notes activity (a key press or click), postponing the automatic lock.
    pub fn touch(&self) {
        self.last_activity.set_value(js_sys::Date::now());
    }
}

/// Completes the joins of people this user invited who have since signed up (certifies staff,
/// shares a patient's keys), as the CLI does at the start of every command. Runs in the
/// background after sign-in; a failure is left for the admin screen, which shows it.
pub fn complete_joins(user: Rc<SignedIn>) {
    leptos::task::spawn_local(async move {
        let _ = with_session(user, None, async |s| {
            vaiti_client::invite::complete_invites(s).await
        })
        .await;
    });
}

fn end_server_session(user: Rc<SignedIn>) {
    leptos::task::spawn_local(async move {
        let mut api = user.api.clone();
        // Best effort: the session also ends on its own. Nothing to tell the user either way.
        let _ = vaiti_client::account::logout(&mut api, user.me.clinic).await;
    });
}

/// A labelled group of a field and its help or error text, the same everywhere.
#[component]
pub fn Field(
    /// The field's id (the label points at it).
    id: &'static str,
    /// The label.
    label: Signal<String>,
    /// Help text under the field.
    #[prop(optional, into)]
    help: Option<Signal<String>>,
    /// The control.
    children: Children,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{move || label.get()}</label>
            {children()}
            {help.map(|h| view! { <p class="help" id=format!("{id}-help")>{move || h.get()}</p> })}
        </div>
    }
}

/// An error or notice line, announced to screen readers.
#[component]
pub fn Notice(
    /// The message; nothing shows when empty.
    message: RwSignal<Option<String>>,
    /// `error` or `ok`.
    #[prop(default = "error")]
    kind: &'static str,
) -> impl IntoView {
    view! {
        <Show when=move || message.with(Option::is_some)>
            <p class=format!("notice {kind}") role=if kind == "error" { "alert" } else { "status" }>
                {move || message.get().unwrap_or_default()}
            </p>
        </Show>
    }
}

/// Watches key presses and clicks for the inactivity lock and the hide-screen key (F8).
pub fn install_activity_watch(ctx: Ctx) {
    let on_key = window_event_listener(leptos::ev::keydown, move |e| {
        ctx.touch();
        if e.key() == "F8" {
            e.prevent_default();
            ctx.hidden.update(|h| *h = !*h);
        } else if ctx.hidden.get_untracked() && (e.key() == "Enter" || e.key() == "Escape") {
            e.prevent_default();
            ctx.hidden.set(false);
        }
    });
    let on_pointer = window_event_listener(leptos::ev::pointerdown, move |_| ctx.touch());
    let interval = set_interval_with_handle(
        move || {
            let idle_ms = js_sys::Date::now() - ctx.last_activity.get_value();
            if ctx.user.get_untracked().is_some()
                && idle_ms > f64::from(LOCK_AFTER_MINUTES) * 60_000.0
            {
                ctx.lock(LockReason::Inactivity);
            }
        },
        std::time::Duration::from_secs(15),
    );
    on_cleanup(move || {
        on_key.remove();
        on_pointer.remove();
        if let Ok(handle) = interval {
            handle.clear();
        }
    });
}

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx::new();
    provide_context(ctx);
    install_activity_watch(ctx);
    // Keep <html lang> true for screen readers and hyphenation.
    Effect::new(move |_| {
        let lang = ctx.lang.get();
        storage::set_language(lang.code());
        if let Some(html) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = html.set_attribute("lang", lang.code());
        }
    });
    view! {
        <a class="skip" href="#main">{move || ctx.t(Key::SkipToContent)}</a>
        <crate::shell::Header/>
        <main id="main" tabindex="-1">
            {move || crate::shell::body(ctx)}
        </main>
        <Show when=move || ctx.hidden.get()>
            <div class="cover" role="dialog" aria-modal="true" aria-labelledby="cover-title">
                <h2 id="cover-title">{move || ctx.t(Key::ScreenHidden)}</h2>
                <button autofocus=true on:click=move |_| ctx.hidden.set(false)>
                    {move || ctx.t(Key::ShowScreen)}
                </button>
            </div>
        </Show>
    }
}
