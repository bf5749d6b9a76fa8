//! A therapist's caseload: the patients whose care team they are on, from identity records only.
//!
//! Listing reads identities (logged as identity reads, as the CLI's `patient list` is) and never
//! releases a case key, so the caseload does not fill a patient's log with chart openings. The
//! filter runs here, over decrypted names, accent- and case-insensitively, in Finnish order.

use leptos::prelude::*;
use vaiti_client::chart::{PatientSummary, list_patients};
use vaiti_client::invite::{PendingJoin, confirm_join, pending_joins, revoke_invite};

use crate::app::{Notice, Screen, use_ctx, with_session};
use crate::i18n::Key;
use crate::text::{finnish_cmp, matches};

/// A list of patients with a filter box; `open` is what choosing one does.
#[component]
pub fn PatientList(
    /// The patients.
    patients: RwSignal<Option<Vec<PatientSummary>>>,
    /// The filter text.
    filter: RwSignal<String>,
    /// The button label.
    action: Key,
    /// What choosing a patient does.
    open: Callback<PatientSummary>,
) -> impl IntoView {
    let ctx = use_ctx();
    let shown = move || {
        let q = filter.get();
        let mut list: Vec<PatientSummary> = patients
            .get()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| {
                matches(
                    &q,
                    &[&p.name, p.birth_date.as_deref().unwrap_or(""), &p.branch],
                )
            })
            .collect();
        list.sort_by(|a, b| finnish_cmp(&a.name, &b.name));
        list
    };
    view! {
        <div class="field">
            <label for="patient-filter">{move || ctx.t(Key::FilterPatients)}</label>
            <input id="patient-filter" type="search" autocomplete="off" bind:value=filter/>
        </div>
        {move || match patients.get() {
            None => view! { <p class="muted" role="status">{ctx.t(Key::Decrypting)}</p> }.into_any(),
            Some(all) if all.is_empty() => view! { <p>{ctx.t(Key::NoPatients)}</p> }.into_any(),
            Some(_) => {
                let rows = shown();
                if rows.is_empty() {
                    return view! { <p role="status">{ctx.t(Key::NoMatches)}</p> }.into_any();
                }
                view! {
                    <table class="patients">
                        <thead>
                            <tr>
                                <th scope="col">{ctx.t(Key::Name)}</th>
                                <th scope="col">{ctx.t(Key::BirthDate)}</th>
                                <th scope="col">{ctx.t(Key::Branch)}</th>
                                <th scope="col"><span class="sr-only">{ctx.t(action)}</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows
                                .into_iter()
                                .map(|p| {
                                    let name = p.name.clone();
                                    let label = format!("{} — {}", ctx.t(action), name);
                                    view! {
                                        <tr>
                                            <td>{p.name.clone()}</td>
                                            <td>{p.birth_date.clone().unwrap_or_default()}</td>
                                            <td>{p.branch.clone()}</td>
                                            <td>
                                                <button aria-label=label on:click=move |_| open.run(p.clone())>
                                                    {ctx.t(action)}
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }
        }}
    }
}

/// The caseload screen.
#[component]
pub fn Caseload() -> impl IntoView {
    let ctx = use_ctx();
    let patients = RwSignal::new(None::<Vec<PatientSummary>>);
    let filter = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    if let Some(user) = ctx.signed_in() {
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| list_patients(s, None).await).await {
                Ok(list) => patients.set(Some(list)),
                Err(e) => {
                    patients.set(Some(Vec::new()));
                    error.set(Some(ctx.error_text(&e)));
                }
            }
        });
    }
    view! {
        <section aria-labelledby="caseload-title">
            <h1 id="caseload-title">{move || ctx.t(Key::Caseload)}</h1>
            <p class="help">{move || ctx.t(Key::CaseloadHelp)}</p>
            <Notice message=error/>
            <PendingJoins patients=patients/>
            <PatientList
                patients=patients
                filter=filter
                action=Key::OpenChart
                open=Callback::new(move |p: PatientSummary| ctx.go(Screen::Chart(p.chart)))
            />
        </section>
    }
}

/// Portal sign-ups the front desk started for the therapist's patients: each waits until a
/// clinician of the care team confirms it (which hands the patient the shared notes) or declines
/// it (which revokes the invite and the account made with it). Shows nothing when none wait.
#[component]
fn PendingJoins(
    /// The caseload, for the patients' names.
    patients: RwSignal<Option<Vec<PatientSummary>>>,
) -> impl IntoView {
    let ctx = use_ctx();
    let pending = RwSignal::new(Vec::<PendingJoin>::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let load = move || {
        let Some(user) = ctx.signed_in() else { return };
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| pending_joins(s).await).await {
                Ok(list) => pending.set(list),
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    load();
    let act = move |join: PendingJoin, confirm: bool| {
        let Some(user) = ctx.signed_in() else { return };
        error.set(None);
        done.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                if confirm {
                    confirm_join(s, join.invite).await.map(|_| ())
                } else {
                    revoke_invite(s, join.invite, true).await
                }
            })
            .await;
            busy.set(false);
            match result {
                Ok(()) => {
                    let key = if confirm {
                        Key::JoinConfirmed
                    } else {
                        Key::JoinDeclined
                    };
                    done.set(Some(ctx.t(key).to_string()));
                    load();
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    let name_of = move |join: &PendingJoin| {
        patients.with(|list| {
            list.as_ref()
                .and_then(|l| l.iter().find(|p| p.chart == join.chart))
                .map_or_else(|| join.chart.to_string(), |p| p.name.clone())
        })
    };
    view! {
        <Notice message=done kind="ok"/>
        <Show when=move || !pending.with(Vec::is_empty) || error.with(Option::is_some)>
            <section class="card pending-joins" data-testid="pending-joins" aria-labelledby="pending-joins-title">
                <h2 id="pending-joins-title">{move || ctx.t(Key::PendingJoins)}</h2>
                <p class="help">{move || ctx.t(Key::PendingJoinsHelp)}</p>
                <Notice message=error/>
                <ul>
                    {move || {
                        pending
                            .get()
                            .into_iter()
                            .map(|join| {
                                let name = name_of(&join);
                                let detail = ctx.tf(
                                    Key::PendingJoinDetail,
                                    &[
                                        &join.inviter_name,
                                        &crate::chart::fmt_time(join.created_at, ctx.lang.get()),
                                        &join.login,
                                    ],
                                );
                                let (yes, no) = (join.clone(), join);
                                view! {
                                    <li>
                                        <strong>{name}</strong>
                                        <span class="muted">" · "{detail}</span>
                                        <button
                                            type="button"
                                            data-testid="confirm-join"
                                            disabled=move || busy.get()
                                            on:click=move |_| act(yes.clone(), true)
                                        >
                                            {move || ctx.t(Key::ConfirmJoin)}
                                        </button>
                                        <button
                                            type="button"
                                            class="quiet"
                                            disabled=move || busy.get()
                                            on:click=move |_| act(no.clone(), false)
                                        >
                                            {move || ctx.t(Key::DeclineJoin)}
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </section>
        </Show>
    }
}
