//! The set-up step before the first Generate or Chat: the access proof, made when the panel opens
//! ([`access_resource`]), and what a person sees until it is made ([`AccessStep`]): the service
//! account to share the spreadsheet with, a button that shares it, "Check again", or that they
//! need edit access.

use leptos::prelude::*;

use crate::api::{Access, Api};
use crate::i18n::{t, tf};
use crate::js;

/// Where the access proof stands (proved when the panel opens, again on "Check again").
pub(crate) type AccessState = LocalResource<Access>;

/// Proves access once the panel opens (and again when refetched).
pub(crate) fn access_resource(api: &Api) -> AccessState {
    let api = api.clone();
    LocalResource::new(move || {
        let api = api.clone();
        async move { api.prove_access().await }
    })
}

/// The set-up step before the first Generate or Chat: checking access, then — when the spreadsheet is not
/// shared with Almanac's service account — the email to share it with, a button that shares it
/// (when the script's owner configured that address) and "Check again"; a person who cannot edit
/// the spreadsheet is told to ask for edit access. Nothing once access is proven.
#[component]
pub(crate) fn AccessStep(access: AccessState) -> impl IntoView {
    let sharing = Action::new_local(move |_: &()| async move {
        let shared = js::share_with_service_account().await;
        if shared.is_ok() {
            access.refetch();
        }
        shared
    });
    move || {
        match access.get() {
        None => Some(view! { <p class="muted" role="status">{t("access-checking")}</p> }.into_any()),
        Some(Access::Proven) => None,
        Some(Access::CannotEdit(message)) => Some(view! {
            <section class="setup error" role="alert" aria-label=t("access-label")>
                <p>{t("access-cannot-edit")}</p>
                <p class="muted">{message}</p>
            </section>
        }.into_any()),
        Some(Access::NotShared { email, can_share }) => Some(view! {
            <section class="setup notice" role="status" aria-label=t("share-label")>
                <h2>{t("share-heading")}</h2>
                <p>{t("share-explain")}</p>
                <p><code class="service-account" data-email=email.clone()>{email.clone()}</code></p>
                {can_share.then(|| view! {
                    <button type="button" class="primary" disabled=move || sharing.pending().get()
                        on:click=move |_| { sharing.dispatch(()); }>{t("share-button")}</button>
                })}
                <p class="muted">{t("share-by-hand")}</p>
                <button type="button" class="secondary" on:click=move |_| access.refetch()>{t("check-again")}</button>
                {move || sharing.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e}</p> })}
            </section>
        }.into_any()),
        Some(Access::Failed(message)) => Some(view! {
            <section class="setup error" role="alert" aria-label=t("access-label")>
                <p>{tf("access-failed", &[("error", message.into())])}</p>
                <button type="button" class="secondary" on:click=move |_| access.refetch()>{t("check-again")}</button>
            </section>
        }.into_any()),
    }
    }
}
