//! One chart, opened: identity, care team, the notes timeline decrypted here, the note editor
//! with sealed autosaved drafts, amendments, and the chart's access log.
//!
//! Opening is one signed, logged key release (`vaiti_client::chart::open_chart`); nothing of the
//! answer is used before its log leaf is proven.

use leptos::prelude::*;
use vaiti_client::access_log::{AccessEntry, chart_log, default_purpose};
use vaiti_client::chart::{
    Note, OpenedChart, WaitingMember, amend_note, care_team_add, open_chart, share_history,
};
use vaiti_client::draft::Draft;
use vaiti_core::{ChartId, ObjectId};
use vaiti_crypto::Tier;

use crate::app::{Ctx, Notice, Screen, now_s, use_ctx, with_session};
use crate::i18n::{Key, Lang};
use crate::storage;
use crate::templates::Template;

/// A time for people, in the interface language and the browser's time zone.
pub fn fmt_time(secs: i64, lang: Lang) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(secs as f64 * 1000.0));
    let locale = match lang {
        Lang::Fi => "fi-FI",
        Lang::En => "en-GB",
    };
    String::from(date.to_locale_string(locale, &wasm_bindgen::JsValue::UNDEFINED))
}

/// Marks, for the benchmark and the browser tests, that a chart's notes are all decrypted and on
/// screen (a User Timing mark and an attribute on the chart section).
fn mark_rendered(count: usize) {
    if let Some(w) = web_sys::window() {
        if let Some(p) = w.performance() {
            let _ = p.mark("vaiti-notes-rendered");
        }
        if let Some(el) = w.document().and_then(|d| d.get_element_by_id("chart")) {
            let _ = el.set_attribute("data-notes-rendered", &count.to_string());
        }
    }
}

/// The chart screen.
#[component]
pub fn ChartView(
    /// The chart.
    chart: ChartId,
) -> impl IntoView {
    let ctx = use_ctx();
    let opened = RwSignal::new(None::<OpenedChart>);
    let error = RwSignal::new(None::<String>);
    let reload = move || {
        let Some(user) = ctx.signed_in() else {
            return;
        };
        if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
            let _ = p.mark("vaiti-chart-open");
        }
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| open_chart(s, chart).await).await {
                Ok(c) => {
                    error.set(None);
                    opened.set(Some(c));
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    reload();
    // After the notes are in the DOM (the effect runs after rendering).
    Effect::new(move |_| {
        if let Some(c) = opened.get() {
            mark_rendered(c.notes.len());
        }
    });
    view! {
        <section id="chart" aria-labelledby="chart-title">
            <p>
                <button class="link" on:click=move |_| ctx.go(Screen::Home)>{move || ctx.t(Key::Back)}</button>
            </p>
            <Notice message=error/>
            {move || match opened.get() {
                None => view! {
                    <h1 id="chart-title">{ctx.t(Key::OpenChart)}</h1>
                    <p class="muted" role="status">{ctx.t(Key::Decrypting)}</p>
                }
                    .into_any(),
                Some(c) => view! {
                    <ChartBody opened=c reload=Callback::new(move |()| reload())/>
                }
                    .into_any(),
            }}
        </section>
    }
}

#[component]
fn ChartBody(opened: OpenedChart, reload: Callback<()>) -> impl IntoView {
    let ctx = use_ctx();
    let chart = opened.record.chart;
    let d = opened.record.details.clone();
    let mut notes = opened.notes.clone();
    // Newest first by when the note was first written.
    notes.sort_by_key(|n| std::cmp::Reverse(n.versions.first().map_or(0, |v| v.created_at)));
    let note_count = notes.len();
    let row = move |k: Key, v: Option<String>| {
        v.filter(|v| !v.is_empty())
            .map(|v| view! { <dt>{move || ctx.t(k)}</dt><dd>{v}</dd> })
    };
    view! {
        <h1 id="chart-title">{d.name.clone()}</h1>
        <div class="chart-grid">
            <section class="card identity" aria-labelledby="identity-title">
                <h2 id="identity-title">{move || ctx.t(Key::Identity)}</h2>
                <dl>
                    {row(Key::Hetu, d.hetu.clone())}
                    {row(Key::BirthDate, d.birth_date.clone())}
                    {row(Key::Phone, d.phone.clone())}
                    {row(Key::Email, d.email.clone())}
                    {row(Key::Branch, Some(opened.record.branch.clone()))}
                </dl>
            </section>
            <CareTeam
                chart=chart
                members=opened.record.care_team.clone()
                waiting=opened.waiting.clone()
                reload=reload
            />
            // Only a therapist of the care team may invite the patient (their device hands the
            // patient the shared keys), and whoever has the chart open is one.
            <section class="card" aria-labelledby="portal-title">
                <h2 id="portal-title">{move || ctx.t(Key::PortalAccount)}</h2>
                <crate::frontdesk::PortalInvite chart=chart already=opened.record.portal/>
            </section>
        </div>
        <NoteEditor chart=chart reload=reload/>
        <section aria-labelledby="notes-title">
            <h2 id="notes-title">{move || ctx.t(Key::Notes)} " (" {note_count} ")"</h2>
            {(notes.is_empty()).then(|| view! { <p>{move || ctx.t(Key::NoNotes)}</p> })}
            <ol class="timeline">
                {notes.into_iter().map(|n| view! { <NoteCard note=n reload=reload/> }).collect_view()}
            </ol>
        </section>
        <ChartAccessLog chart=chart/>
    }
}

#[component]
fn CareTeam(
    chart: ChartId,
    members: Vec<String>,
    waiting: Vec<WaitingMember>,
    reload: Callback<()>,
) -> impl IntoView {
    let ctx = use_ctx();
    let email = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // A member added by front desk or an admin (or re-added) reads the earlier notes only once
    // a clinician of the team confirms: who added them and when is shown with the button.
    let share = move |login: String| {
        let Some(user) = ctx.signed_in() else { return };
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| share_history(s, chart, &login).await).await {
                Ok(_) => reload.run(()),
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    let waiting = waiting
        .into_iter()
        .map(|w| {
            let login = w.login.clone();
            let at = w.added_at;
            view! {
                <li class="waiting">
                    <p>
                        {move || {
                            let when = fmt_time(at, ctx.lang.get());
                            ctx.tf(Key::WaitsForHistory, &[&w.member, &w.added_by, &when])
                        }}
                    </p>
                    <button type="button" on:click=move |_| share(login.clone())>
                        {move || ctx.t(Key::ShareHistory)}
                    </button>
                </li>
            }
        })
        .collect_view();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(user) = ctx.signed_in() else { return };
        let who = email.get_untracked();
        if who.trim().is_empty() {
            error.set(Some(ctx.t(Key::ErrRequired).into()));
            return;
        }
        leptos::task::spawn_local(async move {
            match with_session(user, None, async |s| {
                care_team_add(s, chart, who.trim()).await
            })
            .await
            {
                Ok(()) => {
                    email.set(String::new());
                    reload.run(());
                }
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="team-title">
            <h2 id="team-title">{move || ctx.t(Key::CareTeam)}</h2>
            <ul>{members.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}</ul>
            <ul class="waiting-list">{waiting}</ul>
            <form class="inline" on:submit=add>
                <label for="team-add">{move || ctx.t(Key::Email)}</label>
                <input id="team-add" type="email" autocomplete="off" bind:value=email/>
                <button type="submit">"+"</button>
            </form>
            <Notice message=error/>
        </section>
    }
}

#[component]
fn NoteCard(note: Note, reload: Callback<()>) -> impl IntoView {
    let ctx = use_ctx();
    let Some(current) = note.current().cloned() else {
        return ().into_any();
    };
    let author = current.author_label().to_string();
    let shared = note.tier == "shared";
    let originals: Vec<_> = note.versions[..note.versions.len() - 1].to_vec();
    let amending = RwSignal::new(false);
    let id = note.id;
    view! {
        <li class=if shared { "note shared" } else { "note" } data-note=id.to_string()>
            <header>
                <h3>{current.title.clone()}</h3>
                <span class="badge">{move || if shared { ctx.t(Key::TierShared) } else { ctx.t(Key::TierTeam) }}</span>
                <span class="meta">
                    {move || ctx.tf(Key::WrittenBy, &[&author, &fmt_time(current.created_at, ctx.lang.get())])}
                    {(current.version > 1).then(|| format!(" · v{}", current.version))}
                </span>
            </header>
            {current.reason.clone().map(|r| {
                let when = current.created_at;
                view! { <p class="amended">{move || ctx.tf(Key::AmendedBy, &[&fmt_time(when, ctx.lang.get()), &r])}</p> }
            })}
            <div class="note-text">{current.text.clone()}</div>
            {(!originals.is_empty()).then(|| view! {
                <details>
                    <summary>{move || ctx.t(Key::OriginalVersion)}</summary>
                    {originals.iter().map(|v| {
                        let v = v.clone();
                        view! {
                            <div class="version">
                                <p class="meta">{move || ctx.tf(Key::Version, &[&v.version.to_string()])} " · " {v.author_label().to_string()}</p>
                                <div class="note-text">{v.text.clone()}</div>
                            </div>
                        }
                    }).collect_view()}
                </details>
            })}
            <Show when=move || !amending.get()>
                <button class="quiet" on:click=move |_| amending.set(true)>{move || ctx.t(Key::Amend)}</button>
            </Show>
            <Show when=move || amending.get()>
                <AmendForm note=id text=current.text.clone() done=Callback::new(move |changed: bool| {
                    amending.set(false);
                    if changed { reload.run(()); }
                })/>
            </Show>
        </li>
    }
    .into_any()
}

#[component]
fn AmendForm(note: ObjectId, text: String, done: Callback<bool>) -> impl IntoView {
    let ctx = use_ctx();
    let body = RwSignal::new(text);
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let field = format!("amend-{note}");
    let reason_field = format!("amend-reason-{note}");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if reason.get_untracked().trim().is_empty() {
            error.set(Some(ctx.t(Key::ErrRequired).into()));
            return;
        }
        let Some(user) = ctx.signed_in() else { return };
        let (t, r) = (body.get_untracked(), reason.get_untracked());
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result =
                with_session(user, None, async |s| amend_note(s, note, &t, &r).await).await;
            busy.set(false);
            match result {
                Ok(_) => done.run(true),
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    view! {
        <form class="amend" on:submit=submit>
            <label for=field.clone()>{move || ctx.t(Key::NoteText)}</label>
            <textarea id=field rows="8" bind:value=body></textarea>
            <label for=reason_field.clone()>{move || ctx.t(Key::AmendReason)}</label>
            <input id=reason_field bind:value=reason/>
            <Notice message=error/>
            <button type="submit" class="primary" disabled=move || busy.get()>{move || ctx.t(Key::SignAndLock)}</button>
            <button type="button" class="quiet" on:click=move |_| done.run(false)>{move || ctx.t(Key::Cancel)}</button>
        </form>
    }
}

/// Saves the editor's content as a sealed draft for this chart.
fn save_draft(ctx: Ctx, draft: &Draft) -> Result<(), String> {
    let user = ctx.signed_in().ok_or("locked")?;
    let sealed = draft.seal(&user.me).map_err(|e| e.to_string())?;
    storage::set_bytes(&user.draft_key(draft.chart), &sealed)
}

#[component]
fn NoteEditor(chart: ChartId, reload: Callback<()>) -> impl IntoView {
    let ctx = use_ctx();
    let template = RwSignal::new(Template::Free);
    let title = RwSignal::new(String::new());
    let sections = RwSignal::new(vec![String::new(); 4]);
    let shared = RwSignal::new(false);
    let saved_at = RwSignal::new(None::<i64>);
    let notice = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    // Restore a draft left by an expired or locked session.
    if let Some(user) = ctx.signed_in()
        && let Some(bytes) = storage::get_bytes(&user.draft_key(chart))
        && let Ok(d) = Draft::open(&user.me, chart, &bytes)
    {
        template.set(Template::from_name(&d.template));
        title.set(d.title);
        let mut s = d.sections;
        s.resize(4, String::new());
        sections.set(s);
        shared.set(d.shared);
        saved_at.set(Some(d.saved_at));
        notice.set(Some(ctx.t(Key::DraftRestored).into()));
    }

    let is_empty = move || {
        title.with(|t| t.trim().is_empty())
            && sections.with(|s| s.iter().all(|x| x.trim().is_empty()))
    };
    // Autosave: every change is sealed and stored at once (sealing a note is microseconds).
    Effect::new(move |first: Option<()>| {
        let draft = Draft {
            v: 1,
            chart,
            template: template.get().name().to_string(),
            title: title.get(),
            sections: sections.get(),
            shared: shared.get(),
            saved_at: now_s(),
        };
        if first.is_none() || is_empty() {
            return;
        }
        match save_draft(ctx, &draft) {
            Ok(()) => saved_at.set(Some(draft.saved_at)),
            Err(e) => error.set(Some(ctx.tf(Key::ErrStorage, &[&e]))),
        }
    });

    let discard = move || {
        if let Some(user) = ctx.signed_in() {
            storage::remove(&user.draft_key(chart));
        }
        title.set(String::new());
        sections.set(vec![String::new(); 4]);
        shared.set(false);
        saved_at.set(None);
        notice.set(None);
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let lang = ctx.lang.get_untracked();
        let text = template
            .get_untracked()
            .compose(lang, &sections.get_untracked());
        let heading = title.get_untracked();
        if heading.trim().is_empty() || text.trim().is_empty() {
            error.set(Some(ctx.t(Key::ErrRequired).into()));
            return;
        }
        let tier = if shared.get_untracked() {
            Tier::Shared
        } else {
            Tier::Team
        };
        let Some(user) = ctx.signed_in() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                vaiti_client::chart::add_note(s, chart, tier, &heading, &text).await
            })
            .await;
            busy.set(false);
            match result {
                Ok(_) => {
                    discard();
                    reload.run(());
                }
                // The draft stays sealed in storage: an ended session loses nothing.
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };

    let section_fields = move || {
        let lang = ctx.lang.get();
        let t = template.get();
        t.sections(lang)
            .iter()
            .enumerate()
            .map(|(i, heading)| {
                let id = format!("note-section-{i}");
                let label = if heading.is_empty() { ctx.t(Key::NoteText).to_string() } else { (*heading).to_string() };
                view! {
                    <div class="field">
                        <label for=id.clone()>{label}</label>
                        <textarea
                            id=id
                            rows=if t == Template::Free { "10" } else { "4" }
                            prop:value=move || sections.with(|s| s.get(i).cloned().unwrap_or_default())
                            on:input=move |ev| {
                                let v = event_target_value(&ev);
                                sections.update(|s| {
                                    if let Some(x) = s.get_mut(i) {
                                        *x = v;
                                    }
                                });
                            }
                        ></textarea>
                    </div>
                }
            })
            .collect_view()
    };

    view! {
        <section class="card editor" aria-labelledby="editor-title">
            <h2 id="editor-title">{move || ctx.t(Key::NewNote)}</h2>
            <Notice message=notice kind="ok"/>
            <form on:submit=submit>
                <div class="field">
                    <label for="note-template">{move || ctx.t(Key::Template)}</label>
                    <select
                        id="note-template"
                        on:change=move |ev| template.set(Template::from_name(&event_target_value(&ev)))
                    >
                        {Template::ALL
                            .into_iter()
                            .map(|t| view! {
                                <option value=t.name() selected=move || template.get() == t>
                                    {move || t.label(ctx.lang.get())}
                                </option>
                            })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="note-title">{move || ctx.t(Key::Title)}</label>
                    <input id="note-title" autocomplete="off" bind:value=title/>
                </div>
                {section_fields}
                <div class="check">
                    <input id="note-shared" type="checkbox" bind:checked=shared/>
                    <label for="note-shared">{move || ctx.t(Key::ShareWithPatient)}</label>
                    <p class="help">{move || ctx.t(Key::PrivateByDefault)}</p>
                </div>
                <p class="help">{move || ctx.t(Key::SignAndLockHelp)}</p>
                <p class="muted" role="status">
                    {move || saved_at.get().map(|at| ctx.tf(Key::DraftSaved, &[&fmt_time(at, ctx.lang.get())]))}
                </p>
                <Notice message=error/>
                <button type="submit" class="primary" disabled=move || busy.get()>{move || ctx.t(Key::SignAndLock)}</button>
                <button type="button" class="quiet" on:click=move |_| discard()>{move || ctx.t(Key::DiscardDraft)}</button>
            </form>
        </section>
    }
}

/// A purpose's label.
pub fn purpose_label(ctx: Ctx, purpose: &str) -> &'static str {
    match purpose {
        "treatment" => ctx.t(Key::PurposeTreatment),
        "administration" => ctx.t(Key::PurposeAdministration),
        "audit" => ctx.t(Key::PurposeAudit),
        "emergency" => ctx.t(Key::PurposeEmergency),
        _ => "—",
    }
}

/// A verified access log as a table; `report` adds an "I don't recognise this" button per row.
#[component]
pub fn AccessTable(
    /// The entries, oldest first.
    entries: Vec<AccessEntry>,
    /// What reporting an entry does, if offered.
    #[prop(optional)]
    report: Option<Callback<u64>>,
) -> impl IntoView {
    let ctx = use_ctx();
    let mut entries = entries;
    entries.reverse();
    view! {
        <table class="access-log">
            <thead>
                <tr>
                    <th scope="col">{move || ctx.t(Key::AccessEntryNumber)}</th>
                    <th scope="col">{move || ctx.t(Key::When)}</th>
                    <th scope="col">{move || ctx.t(Key::Who)}</th>
                    <th scope="col">{move || ctx.t(Key::What)}</th>
                    <th scope="col">{move || ctx.t(Key::Why)}</th>
                    {report.map(|_| view! { <th scope="col"><span class="sr-only">{move || ctx.t(Key::NotRecognised)}</span></th> })}
                </tr>
            </thead>
            <tbody>
                {entries
                    .into_iter()
                    .map(|e| {
                        let who = match (&e.name, &e.login) {
                            (Some(n), Some(l)) => format!("{n} <{l}>"),
                            (None, Some(l)) => l.clone(),
                            _ => "—".into(),
                        };
                        let who = format!("{who} ({})", e.roles.join(", "));
                        let index = e.index;
                        view! {
                            <tr data-action=e.action>
                                <td>{e.index}</td>
                                <td>{move || fmt_time(e.time, ctx.lang.get())}</td>
                                <td>{who}</td>
                                <td>{e.action}</td>
                                <td>{move || purpose_label(ctx, e.purpose)}</td>
                                {report.map(|r| view! {
                                    <td><button class="quiet" on:click=move |_| r.run(index)>{move || ctx.t(Key::NotRecognised)}</button></td>
                                })}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn ChartAccessLog(chart: ChartId) -> impl IntoView {
    let ctx = use_ctx();
    let entries = RwSignal::new(None::<Vec<AccessEntry>>);
    let error = RwSignal::new(None::<String>);
    let load = move |_| {
        let Some(user) = ctx.signed_in() else { return };
        leptos::task::spawn_local(async move {
            let result = with_session(user, None, async |s| {
                let purpose = default_purpose(s);
                chart_log(s, chart, purpose).await
            })
            .await;
            match result {
                Ok(list) => entries.set(Some(list)),
                Err(e) => error.set(Some(ctx.error_text(&e))),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="chart-log-title">
            <h2 id="chart-log-title">{move || ctx.t(Key::AccessLog)}</h2>
            <Notice message=error/>
            {move || match entries.get() {
                None => view! { <button on:click=load>{ctx.t(Key::AccessLog)}</button> }.into_any(),
                Some(list) => view! {
                    <p class="ok" role="status">{ctx.tf(Key::LogVerified, &[&list.len().to_string()])}</p>
                    <AccessTable entries=list/>
                }
                    .into_any(),
            }}
        </section>
    }
}
