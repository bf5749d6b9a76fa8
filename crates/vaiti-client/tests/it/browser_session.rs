//! The browser app's session against the real server: the session lives in an `HttpOnly`
//! cookie the page never reads, every call is marked `x-vaiti-client: web`, and the web app
//! release the server serves is a leaf in the clinic's access log that `vaiti log verify`
//! recomputes with everything else.
//!
//! The browser is stood in for by `reqwest` with a cookie store, which keeps and sends cookies
//! by the same rules (path, expiry, `Max-Age=0` deletes).

use vaiti_client::ClientError;
use vaiti_client::access_log::{action_name, verify_log};
use vaiti_client::account::{login, logout};
use vaiti_client::api::Api;
use vaiti_client::session::Session;
use vaiti_log::{Action, Leaf};
use vaiti_server::{WebApp, WebFile};

use crate::support::{self, Harness, PASSWORD, found_clinic, now, start_server};

// Each `async fn name(h: Harness)` runs as `sqlite::name` and `postgres::name`.
support::on_both_backends!(
    a_browser_logs_in_with_a_cookie_it_cannot_read,
    a_browser_logout_deletes_the_cookie_and_ends_the_session,
    each_web_release_is_logged_once_and_the_log_still_verifies,
);

/// A browser: every call marked as the web app, cookies kept as a browser keeps them.
fn browser(url: &str) -> Api {
    Api::browser(url).unwrap().with_http_client(
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
    )
}

async fn a_browser_logs_in_with_a_cookie_it_cannot_read(h: Harness) {
    let t = h.store("browser").await;
    let url = start_server(t.store.clone(), vaiti_server::router).await;
    let (admin, _) = found_clinic(&url, "aino@terapia.example", 2, "Helsinki").await;

    let mut api = browser(&url);
    assert!(api.is_browser());
    let me = login(
        &mut api,
        admin.me.clinic,
        admin.email,
        &admin.secret_key,
        PASSWORD,
    )
    .await
    .unwrap();
    assert_eq!(me.account.id, admin.id());
    assert_eq!(api.token(), None, "the page holds no token");
    // A browser session opens the verified directory and verifies the log like any other.
    let s = Session::open(&api, &me, now()).await.unwrap();
    assert!(verify_log(&s).await.unwrap().recomputed);
    // A browser session never takes a bearer token, even if handed one.
    api.set_token(Some("AAAA".into()));
    assert_eq!(api.token(), None);

    // Without a cookie store the login cannot finish: the token is only in the cookie, never in
    // the body.
    let mut jarless = Api::browser(&url).unwrap();
    let err = login(
        &mut jarless,
        admin.me.clinic,
        admin.email,
        &admin.secret_key,
        PASSWORD,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ClientError::Api { status: 401, ref code, .. } if code == "unauthenticated"),
        "{err:?}"
    );

    // The CLI's way is unchanged: a bearer token, no cookie.
    let mut cli = Api::new(&url).unwrap();
    login(
        &mut cli,
        admin.me.clinic,
        admin.email,
        &admin.secret_key,
        PASSWORD,
    )
    .await
    .unwrap();
    assert!(cli.token().is_some_and(|t| !t.is_empty()));
}

async fn a_browser_logout_deletes_the_cookie_and_ends_the_session(h: Harness) {
    let t = h.store("browser_logout").await;
    let url = start_server(t.store.clone(), vaiti_server::router).await;
    let (admin, _) = found_clinic(&url, "aino@terapia.example", 2, "Helsinki").await;
    let mut api = browser(&url);
    let me = login(
        &mut api,
        admin.me.clinic,
        admin.email,
        &admin.secret_key,
        PASSWORD,
    )
    .await
    .unwrap();
    let me_path = format!("{}/me", me.clinic_path());
    api.get::<serde_json::Value>(&me_path).await.unwrap();
    logout(&mut api, me.clinic).await.unwrap();
    // The cookie is gone from the jar (Max-Age=0), so the call is simply unauthenticated.
    let err = api.get::<serde_json::Value>(&me_path).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Api { status: 401, ref code, .. } if code == "unauthenticated"),
        "{err:?}"
    );
    // And the session itself ended on the server, not just in the jar.
    let sessions: i64 =
        t.db.query("SELECT COUNT(*) FROM sessions")
            .fetch_scalar()
            .await;
    assert_eq!(sessions, 1, "only the admin's CLI session is left");
    assert!(admin.session_works().await);
}

fn web_app(manifest: &str) -> WebApp {
    WebApp::new(vec![
        WebFile::new("/index.html", &b"<!doctype html>"[..]),
        WebFile::new("/app_bg-0123abcd.wasm", &b"\0asm\x01\0\0\0"[..]),
        WebFile::new("/asset-manifest.json", manifest.as_bytes().to_vec()),
    ])
    .unwrap()
}

/// What a server start with `web` records, as `vaiti serve` does before serving.
async fn start_with(store: &std::sync::Arc<dyn vaiti_store::Store>, web: WebApp) -> usize {
    let state = vaiti_server::AppState::new(store.clone(), None, vaiti_server::system_clock())
        .await
        .unwrap()
        .with_web(web);
    vaiti_server::record_web_release(&state).await.unwrap()
}

async fn each_web_release_is_logged_once_and_the_log_still_verifies(h: Harness) {
    let t = h.store("web_release").await;
    let url = start_server(t.store.clone(), vaiti_server::router).await;
    let (admin, _) = found_clinic(&url, "aino@terapia.example", 2, "Helsinki").await;
    let before = {
        let s = admin.session().await.unwrap();
        verify_log(&s).await.unwrap().size
    };

    let first = web_app("{\"files\":[\"a\"]}");
    let second = web_app("{\"files\":[\"b\"]}");
    let (first_hash, second_hash) = (first.manifest_hash(), second.manifest_hash());
    assert_eq!(start_with(&t.store, first).await, 1);
    assert_eq!(
        start_with(&t.store, web_app("{\"files\":[\"a\"]}")).await,
        0,
        "a restart with the same release"
    );
    assert_eq!(start_with(&t.store, second).await, 1);

    // The admin's next session accepts the grown log (consistent with the checkpoint it held),
    // and the whole-log recompute still agrees with the signed root.
    let s = admin.session().await.unwrap();
    let verified = verify_log(&s).await.unwrap();
    assert!(verified.recomputed);
    assert!(verified.size >= before + 2, "{verified:?}");
    let page: vaiti_core::api::LogLeaves = admin
        .api
        .get(&admin.path(&format!("/log/leaves?start=0&end={}", verified.size)))
        .await
        .unwrap();
    let releases: Vec<Leaf> = page
        .leaves
        .iter()
        .map(|l| Leaf::decode(l.as_bytes()).unwrap())
        .filter(|l| l.action == Action::AppRelease)
        .collect();
    assert_eq!(
        releases.iter().map(|l| l.detail).collect::<Vec<_>>(),
        vec![first_hash, second_hash]
    );
    assert!(
        releases
            .iter()
            .all(|l| l.actor == [0; 16] && l.chart == [0; 16])
    );
    assert_eq!(action_name(Action::AppRelease), "app release");
}
