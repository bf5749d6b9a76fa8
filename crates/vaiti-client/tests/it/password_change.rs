//! Changing a password through the real client against the real server, on both backends: the
//! change proves the current password (a session alone cannot change it), keeps the account's
//! keys, and ends every session.

use vaiti_client::ClientError;
use vaiti_client::account::change_password;

use crate::support::{Harness, PASSWORD, found_clinic, on_both_backends, start_server};

on_both_backends!(
    a_wrong_current_password_changes_nothing,
    the_right_one_changes_it_and_ends_every_session,
);

const NEW: &str = "Heinäkuun neljäs päivä";

async fn a_wrong_current_password_changes_nothing(h: Harness) {
    let store = h.store("password").await;
    let url = start_server(store.store, vaiti_server::router).await;
    let (admin, _) = found_clinic(&url, "aino@terapia.example", 2, "Oulu").await;
    // Whoever holds the unlocked session but not the password.
    let e = change_password(&admin.api, &admin.me, &admin.secret_key, "a guess", NEW)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::LoginFailed), "{e}");
    assert!(
        admin.session_works().await,
        "a failed change ends no session"
    );
    admin.log_in_again(&url).await.unwrap();
}

async fn the_right_one_changes_it_and_ends_every_session(h: Harness) {
    let store = h.store("password").await;
    let url = start_server(store.store, vaiti_server::router).await;
    let (admin, _) = found_clinic(&url, "aino@terapia.example", 2, "Oulu").await;
    change_password(&admin.api, &admin.me, &admin.secret_key, PASSWORD, NEW)
        .await
        .unwrap();
    assert!(!admin.session_works().await);
    assert!(matches!(
        admin.log_in_again(&url).await,
        Err(ClientError::LoginFailed)
    ));
    // The keys came along: the new password unlocks the same account.
    let mut api = vaiti_client::api::Api::new(&url).unwrap();
    let again = vaiti_client::account::login(
        &mut api,
        admin.me.clinic,
        admin.email,
        &admin.secret_key,
        NEW,
    )
    .await
    .unwrap();
    assert_eq!(again.account.id, admin.id());
}
