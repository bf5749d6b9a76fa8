//! The patient portal: the notes the care team chose to share, and who accessed the record and
//! why, with "I don't recognise this" on every entry.
//!
//! A patient holds only the shared tier's key, so the team's private notes cannot be opened here
//! at all (the server never hands that key to a patient, and the client could not unwrap it).

use leptos::prelude::*;
use vaiti_client::ClientError;
use vaiti_client::access_log::{AccessEntry, chart_log, default_purpose};
use vaiti_client::chart::{Note, list_notes};
use vaiti_client::session::Session;
use vaiti_core::ChartId;

use crate::app::{Notice, use_ctx, with_session};
use crate::chart::{AccessTable, fmt_time};
use crate::i18n::Key;

/// The patient's own chart, from their certificate.
fn my_chart(s: &Session<'_>) -> Result<ChartId, ClientError> {
    s.myself()?
        .certificate
        .chart
        .ok_or_else(|| ClientError::Usage("this account has no chart".into()))
}

/// "Notes shared with me".
#[component]
pub fn SharedNotes() -> impl IntoView {
    let ctx = use_ctx();
    let notes = RwSignal::new(None::<Vec<Note>>);
    let error = RwSignal::new(None::<String>);
    if let Some(user) = ctx.signed_in() {
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                let chart = my_chart(s)?;
                list_notes(s, chart).await
            })
            .await;
            match result {
                Ok(mut list) => {
                    list.sort_by_key(|n| {
                        std::cmp::Reverse(n.versions.first().map_or(0, |v| v.created_at))
                    });
                    notes.set(Some(list));
                }
                Err(e) => {
                    notes.set(Some(Vec::new()));
                    error.set(Some(ctx.error_text(&e)));
                }
            }
        });
    }
    view! {
        <section aria-labelledby="shared-title">
            <h1 id="shared-title">{move || ctx.t(Key::MySharedNotes)}</h1>
            <Notice message=error/>
            {move || match notes.get() {
                None => view! { <p class="muted" role="status">{ctx.t(Key::Decrypting)}</p> }.into_any(),
                Some(list) if list.is_empty() => view! { <p>{ctx.t(Key::NoNotes)}</p> }.into_any(),
                Some(list) => view! {
                    <ol class="timeline">
                        {list.into_iter().filter_map(|n| {
                            let v = n.current()?.clone();
                            let author = v.author_label().to_string();
                            Some(view! {
                                <li class="note shared">
                                    <header>
                                        <h2>{v.title.clone()}</h2>
                                        <span class="meta">{move || ctx.tf(Key::WrittenBy, &[&author, &fmt_time(v.created_at, ctx.lang.get())])}</span>
                                    </header>
                                    <div class="note-text">{v.text.clone()}</div>
                                </li>
                            })
                        }).collect_view()}
                    </ol>
                }
                    .into_any(),
            }}
        </section>
    }
}

/// "Who accessed my record, and why", with reporting.
#[component]
pub fn MyAccessLog() -> impl IntoView {
    let ctx = use_ctx();
    let entries = RwSignal::new(None::<Vec<AccessEntry>>);
    let error = RwSignal::new(None::<String>);
    let reporting = RwSignal::new(None::<u64>);
    let reason = RwSignal::new(String::new());
    let sent = RwSignal::new(None::<String>);
    let load = move || {
        let Some(user) = ctx.signed_in() else { return };
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                let chart = my_chart(s)?;
                let purpose = default_purpose(s);
                chart_log(s, chart, purpose).await
            })
            .await;
            match result {
                Ok(list) => entries.set(Some(list)),
                Err(e) => {
                    entries.set(Some(Vec::new()));
                    error.set(Some(ctx.error_text(&e)));
                }
            }
        });
    };
    load();
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(entry) = reporting.get_untracked() else {
            return;
        };
        let why = reason.get_untracked();
        if why.trim().is_empty() {
            error.set(Some(ctx.t(Key::ErrRequired).into()));
            return;
        }
        let Some(user) = ctx.signed_in() else { return };
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| {
                vaiti_client::report::report(s, entry, &why).await
            })
            .await
            {
                Ok(_) => {
                    reporting.set(None);
                    reason.set(String::new());
                    sent.set(Some(ctx.t(Key::ReportSent).into()));
                    load();
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    view! {
        <section aria-labelledby="mylog-title">
            <h1 id="mylog-title">{move || ctx.t(Key::MyAccessLog)}</h1>
            <p class="help">{move || ctx.t(Key::MyAccessLogHelp)}</p>
            <Notice message=error/>
            <Notice message=sent kind="ok"/>
            <Show when=move || reporting.with(Option::is_some)>
                <form class="card" on:submit=send>
                    <h2>{move || format!("{} — #{}", ctx.t(Key::NotRecognised), reporting.get().unwrap_or_default())}</h2>
                    <label for="report-reason">{move || ctx.t(Key::ReportReason)}</label>
                    <textarea id="report-reason" rows="4" bind:value=reason></textarea>
                    <button type="submit" class="primary">{move || ctx.t(Key::SendReport)}</button>
                    <button type="button" class="quiet" on:click=move |_| reporting.set(None)>{move || ctx.t(Key::Cancel)}</button>
                </form>
            </Show>
            {move || match entries.get() {
                None => view! { <p class="muted" role="status">{ctx.t(Key::Decrypting)}</p> }.into_any(),
                Some(list) => view! {
                    <p class="ok" role="status">{ctx.tf(Key::LogVerified, &[&list.len().to_string()])}</p>
                    <AccessTable entries=list report=Callback::new(move |i: u64| reporting.set(Some(i)))/>
                }
                    .into_any(),
            }}
        </section>
    }
}
