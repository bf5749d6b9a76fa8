//! The header (navigation by role, language, lock, hide, sign out) and which screen shows.

use leptos::prelude::*;
use vaiti_core::Role;

use crate::app::{Ctx, LockReason, Screen, use_ctx};
use crate::i18n::{Key, Lang};

/// The page header.
#[component]
pub fn Header() -> impl IntoView {
    let ctx = use_ctx();
    let nav_item = move |key: Key, screen: Screen| {
        let target = screen.clone();
        view! {
            <li>
                <button
                    class="nav"
                    aria-current=move || (ctx.screen.get() == target).then_some("page")
                    on:click=move |_| ctx.go(screen.clone())
                >
                    {move || ctx.t(key)}
                </button>
            </li>
        }
    };
    let nav = move || {
        let user = ctx.user.get()?;
        let mut items = Vec::new();
        if user.is_patient() {
            items.push(nav_item(Key::NavMyNotes, Screen::PortalNotes));
            items.push(nav_item(Key::NavMyLog, Screen::PortalLog));
        } else {
            if user.has_role(Role::Therapist) {
                items.push(nav_item(Key::NavCaseload, Screen::Caseload));
            }
            if user.has_role(Role::Frontdesk) || user.has_role(Role::Admin) {
                items.push(nav_item(Key::NavPatients, Screen::Patients));
            }
            if user.has_role(Role::Frontdesk) {
                items.push(nav_item(Key::NavAddPatient, Screen::AddPatient));
            }
            if user.has_role(Role::Admin) || user.has_role(Role::Auditor) {
                items.push(nav_item(Key::NavAdmin, Screen::Admin));
            }
        }
        Some(view! { <nav aria-label="main"><ul>{items}</ul></nav> })
    };
    let who = move || {
        ctx.user.get().map(|u| {
            let name =
                u.me.account
                    .display_name
                    .clone()
                    .unwrap_or_else(|| u.me.account.login.clone());
            view! { <span class="who">{move || ctx.tf(Key::SignedInAs, &[&name])}</span> }
        })
    };
    view! {
        <header class="top">
            <span class="brand">{move || ctx.t(Key::AppName)}</span>
            {nav}
            <div class="tools">
                {who}
                <label class="lang">
                    <span class="sr-only">{move || ctx.t(Key::Language)}</span>
                    <select on:change=move |ev| ctx.lang.set(Lang::from_code(&event_target_value(&ev)))>
                        {Lang::ALL
                            .iter()
                            .map(|l| {
                                let l = *l;
                                view! {
                                    <option value=l.code() selected=move || ctx.lang.get() == l>
                                        {l.own_name()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <button class="quiet" on:click=move |_| ctx.go(Screen::About)>
                    {move || ctx.t(Key::About)}
                </button>
                <Show when=move || ctx.user.with(Option::is_some)>
                    <button class="quiet" on:click=move |_| ctx.hidden.set(true)>
                        {move || ctx.t(Key::HideScreen)}
                    </button>
                    <button class="quiet" on:click=move |_| ctx.lock(LockReason::ByHand)>
                        {move || ctx.t(Key::Lock)}
                    </button>
                    <button class="quiet" on:click=move |_| ctx.sign_out()>
                        {move || ctx.t(Key::SignOut)}
                    </button>
                </Show>
            </div>
        </header>
    }
}

/// The main region for the current state.
pub fn body(ctx: Ctx) -> AnyView {
    let screen = ctx.screen.get();
    if screen == Screen::About {
        return view! { <crate::about::About/> }.into_any();
    }
    if ctx.locked.with(Option::is_some) {
        return view! { <crate::signin::Unlock/> }.into_any();
    }
    let Some(user) = ctx.user.get() else {
        return match screen {
            Screen::SignUp => view! { <crate::signup::SignUp/> }.into_any(),
            _ => view! { <crate::signin::SignIn/> }.into_any(),
        };
    };
    let home = if user.is_patient() {
        Screen::PortalNotes
    } else if user.has_role(Role::Therapist) {
        Screen::Caseload
    } else if user.has_role(Role::Frontdesk) {
        Screen::Patients
    } else {
        Screen::Admin
    };
    match screen {
        Screen::Home | Screen::SignIn | Screen::SignUp => {
            ctx.screen.set(home);
            ().into_any()
        }
        Screen::Caseload => view! { <crate::caseload::Caseload/> }.into_any(),
        Screen::Chart(chart) => view! { <crate::chart::ChartView chart=chart/> }.into_any(),
        Screen::Patients => view! { <crate::frontdesk::Patients/> }.into_any(),
        Screen::AddPatient => view! { <crate::frontdesk::AddPatient/> }.into_any(),
        Screen::Admin => view! { <crate::admin::AdminHome/> }.into_any(),
        Screen::PortalNotes => view! { <crate::portal::SharedNotes/> }.into_any(),
        Screen::PortalLog => view! { <crate::portal::MyAccessLog/> }.into_any(),
        Screen::About => view! { <crate::about::About/> }.into_any(),
    }
}
