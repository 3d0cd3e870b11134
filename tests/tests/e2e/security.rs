//! Who may do what: Google ID tokens refused with a reason code or accepted, jobs invisible to
//! other users, spreadsheets worked on only for a caller who proved they can edit them (and only
//! when the service account can), CORS, rate limits and input limits — the real backend over
//! HTTP, the emulator signing the tokens.

use std::time::Duration;

use almanac_demo::authorized_client;
use almanac_emulator::identity::{self, CLIENT_ID, STRANGER_KEY_PEM};
use almanac_emulator::oauth::SERVICE_ACCOUNT_EMAIL;
use almanac_emulator::{HoldPoint, Role};
use almanac_protocol::JobStatus;
use almanac_tests::{
    KOREAN_CSV, SPREADSHEET, USER_A, USER_B, WORKSPACE_DOMAIN, fast, prove, spawn_app,
    spawn_app_with,
};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const MODEL: &str = "gpt-4.1-mini-2025-04-14";

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// `GET /models` with this `Authorization` header (none when `None`): (status, challenge, body).
async fn call_models(api: &str, authorization: Option<&str>) -> (u16, String, Value) {
    let mut req = reqwest::Client::new().get(format!("{api}/models"));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_bad_token_is_refused_with_401_and_its_reason_code() {
    let app = spawn_app_with(fast(), |config| {
        if let almanac::config::AuthMode::GoogleIdToken(identity) = &mut config.auth {
            identity.allowed_email_domains = vec!["example.com".into()];
        }
    })
    .await;
    let emu = &app.emulator;
    let (kid, public_pem) = emu.current_signing_key();
    let valid = || {
        let mut claims = identity::claims(USER_A.sub, USER_A.email, CLIENT_ID);
        claims["hd"] = json!(WORKSPACE_DOMAIN);
        claims
    };
    let with = |key: &str, value: Value| {
        let mut claims = valid();
        claims[key] = value;
        emu.sign_id_token(&claims)
    };
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg_none = format!(
        "{}.{}.",
        engine.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string()),
        engine.encode(valid().to_string())
    );
    let hs256_with_public_key = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        let key = EncodingKey::from_secret(public_pem.as_bytes());
        jsonwebtoken::encode(&header, &valid(), &key).unwrap()
    };
    let forged = identity::sign(&valid(), &kid, STRANGER_KEY_PEM);
    let unknown_kid = identity::sign(&valid(), "retired-key-0", identity::SIGNING_KEYS[0].1);
    let mut expired = valid();
    expired["iat"] = json!(now() - 3_700);
    expired["exp"] = json!(now() - 100);
    let mut unverified = valid();
    unverified["email_verified"] = json!(false);
    let other_domain = emu.id_token(USER_B.sub, USER_B.email, CLIENT_ID);
    // A personal Google account registered with a company address: no `hd`.
    let personal_with_company_email = emu.sign_id_token(&identity::claims(
        "110000000000000000009",
        "eve@example.com",
        CLIENT_ID,
    ));
    let mut other_workspace = valid();
    other_workspace["hd"] = json!("example.org");

    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no header", None, "missing_token"),
        ("an empty bearer", Some("Bearer ".into()), "missing_token"),
        (
            "not a JWT",
            Some("Bearer not-a-jwt".into()),
            "malformed_token",
        ),
        (
            "another scheme",
            Some(format!("Basic {}", app.id_token)),
            "malformed_token",
        ),
        ("a forged signature", Some(forged), "bad_signature"),
        ("alg none", Some(alg_none), "unsupported_alg"),
        (
            "HS256 signed with the public key",
            Some(hs256_with_public_key),
            "unsupported_alg",
        ),
        ("an unknown kid", Some(unknown_kid), "unknown_kid"),
        (
            "an expired token",
            Some(emu.sign_id_token(&expired)),
            "expired",
        ),
        (
            "a token not valid yet",
            Some(with("nbf", json!(now() + 600))),
            "not_yet_valid",
        ),
        (
            "another issuer",
            Some(with("iss", json!("https://evil.example.com"))),
            "wrong_issuer",
        ),
        (
            "another audience",
            Some(with(
                "aud",
                json!("someone-else.apps.googleusercontent.com"),
            )),
            "wrong_audience",
        ),
        (
            "an unverified email",
            Some(emu.sign_id_token(&unverified)),
            "email_unverified",
        ),
        (
            "no email",
            Some(with("email", Value::Null)),
            "email_unverified",
        ),
        (
            "an email outside the allowed domains",
            Some(other_domain),
            "email_domain_not_allowed",
        ),
        (
            "a personal account with an address of an allowed domain",
            Some(personal_with_company_email),
            "email_domain_not_allowed",
        ),
        (
            "a Workspace account of another domain",
            Some(emu.sign_id_token(&other_workspace)),
            "email_domain_not_allowed",
        ),
    ];
    for (what, token, code) in cases {
        let header = token.map(|t| {
            if t.starts_with("Bearer ") || t.starts_with("Basic ") {
                t
            } else {
                format!("Bearer {t}")
            }
        });
        let (status, challenge, body) = call_models(&app.api, header.as_deref()).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        assert!(
            !body["error"]["message"].as_str().unwrap().is_empty(),
            "{what}"
        );
        assert!(challenge.starts_with("Bearer"), "{what}: {challenge:?}");
        if code != "missing_token" {
            assert!(
                challenge.contains(r#"error="invalid_token""#),
                "{what}: {challenge:?}"
            );
        }
    }

    // Accepted: a valid token, and one expired by less than the 60 s leeway.
    let (status, _, body) = call_models(&app.api, Some(&format!("Bearer {}", app.id_token))).await;
    assert_eq!(status, 200, "{body}");
    let mut skewed = valid();
    skewed["exp"] = json!(now() - 20);
    let (status, _, body) = call_models(
        &app.api,
        Some(&format!("Bearer {}", emu.sign_id_token(&skewed))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_token_signed_with_a_rotated_key_is_accepted_once_the_jwks_lists_it() {
    let app = spawn_app(fast()).await;
    let before = format!("Bearer {}", app.id_token);
    assert_eq!(call_models(&app.api, Some(&before)).await.0, 200);
    app.emulator.rotate_signing_key();
    let rotated = app.emulator.id_token(USER_A.sub, USER_A.email, CLIENT_ID);
    let (status, _, body) = call_models(&app.api, Some(&format!("Bearer {rotated}"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.emulator.calls().jwks, 2, "one fetch, one refresh");
    // The previous key stays published during the rotation.
    assert_eq!(call_models(&app.api, Some(&before)).await.0, 200);
}

#[tokio::test]
async fn unknown_key_ids_refresh_the_jwks_at_most_once_a_minute() {
    let app = spawn_app_with(fast(), |config| {
        if let almanac::config::AuthMode::GoogleIdToken(identity) = &mut config.auth {
            identity.jwks_min_refresh = Duration::from_secs(60);
        }
    })
    .await;
    assert_eq!(
        call_models(&app.api, Some(&format!("Bearer {}", app.id_token)))
            .await
            .0,
        200
    );
    assert_eq!(app.emulator.calls().jwks, 1);
    let claims = identity::claims(USER_A.sub, USER_A.email, CLIENT_ID);
    for i in 0..5 {
        let token = identity::sign(
            &claims,
            &format!("made-up-{i}"),
            identity::SIGNING_KEYS[0].1,
        );
        let (status, _, body) = call_models(&app.api, Some(&format!("Bearer {token}"))).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unknown_kid"))
        );
    }
    assert_eq!(app.emulator.calls().jwks, 1, "no fetch within the minute");
}

#[tokio::test]
async fn another_user_cannot_read_stream_cancel_retry_or_list_a_job_that_is_not_theirs() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.hold_batches(true);
    let job = app.create_job(&app.request(0, 2, 17, MODEL)).await;
    let bob = app.client_as(USER_B).await;
    let not_found = |resp: reqwest::Response| async move {
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
    };
    let url = |tail: &str| format!("{}/jobs/{}{tail}", app.api, job.id);
    not_found(bob.get(url("")).send().await.unwrap()).await;
    not_found(bob.get(url("/status")).send().await.unwrap()).await;
    not_found(bob.get(url("/events")).send().await.unwrap()).await;
    // Without an access proof Bob cannot cancel or retry anything (refused before any lookup);
    // as an editor of the spreadsheet with a proof, Ada's job is still not his.
    let refused = bob.post(url("/cancel")).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    app.emulator.share(SPREADSHEET, USER_B.email);
    let bob = app.client_as(USER_B).await;
    not_found(bob.post(url("/cancel")).send().await.unwrap()).await;
    let list: Value = bob
        .get(format!("{}/jobs?spreadsheet_id={SPREADSHEET}", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["jobs"], json!([]));
    // Bob's attempts changed nothing: the job is still Ada's to see and cancel.
    let list: Value = app
        .http
        .get(format!("{}/jobs?spreadsheet_id={SPREADSHEET}", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["jobs"][0]["id"], job.id.as_str());
    assert_ne!(app.job(&job.id).await.status, JobStatus::Cancelling);
    let resp = app.http.post(url("/cancel")).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let cancelled = app.wait_finished(&job.id).await;
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    // Retrying is the owner's alone too.
    not_found(bob.post(url("/retry")).send().await.unwrap()).await;
    let resp = app.http.post(url("/retry")).send().await.unwrap();
    assert_eq!(resp.status(), 202);
}

#[tokio::test]
async fn retry_and_cancel_after_losing_edit_access_are_refused() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let finished = app.create_job(&app.request(0, 6, 9, MODEL)).await;
    app.wait_finished(&finished.id).await;
    app.emulator.hold_batches(true);
    let running = app.create_job(&app.request(0, 2, 5, MODEL)).await;
    // Ada is no longer an editor: she cannot prove access again, and without a proof the service
    // account writes nothing for her.
    app.emulator.unshare(SPREADSHEET, USER_A.email);
    assert!(
        prove(&app.emulator, &app.api, USER_A, &app.id_token)
            .await
            .is_err()
    );
    let no_proof = authorized_client(&app.id_token, None).unwrap();
    for (id, action) in [(&finished.id, "retry"), (&running.id, "cancel")] {
        let resp = no_proof
            .post(format!("{}/jobs/{id}/{action}", app.api))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 403, "{action}: {body}");
        assert_eq!(body["error"]["code"], "access_not_proven", "{action}");
    }
    assert!(!app.job(&running.id).await.status.is_terminal());
    assert_ne!(app.job(&running.id).await.status, JobStatus::Cancelling);
}

#[tokio::test]
async fn a_job_needs_an_access_proof_that_only_an_editor_can_make_and_the_service_account_must_take()
 {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let body = serde_json::to_value(app.request(0, 2, 17, MODEL)).unwrap();
    let post = |client: reqwest::Client, body: Value| {
        let url = format!("{}/jobs", app.api);
        async move {
            let resp = client.post(url).json(&body).send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let code = |(status, err): (u16, Value)| {
        (
            status,
            err["error"]["code"].as_str().unwrap_or("").to_owned(),
            err,
        )
    };
    // The add-on's own token (spreadsheets.currentonly) opens nothing through the REST API: the
    // old check with it could never have passed.
    let add_on_token = app.emulator.user_token(USER_A.email);
    let get = reqwest::Client::new()
        .get(format!(
            "{}v4/spreadsheets/{SPREADSHEET}",
            app.emulator.sheets_base_url()
        ))
        .bearer_auth(&add_on_token)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 403);
    let refusal: Value = get.json().await.unwrap();
    assert_eq!(
        refusal["error"]["details"][0]["reason"],
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    );

    // Ada, an editor, proved access when the test app started: her job is created.
    let (status, job) = post(app.http.clone(), body.clone()).await;
    assert_eq!(status, 201, "{job}");
    assert!(
        app.emulator.developer_metadata(SPREADSHEET).is_empty(),
        "the proof was deleted"
    );

    // Bob, a viewer: Apps Script refuses to write the nonce, so he has no proof, and the job is
    // refused with a message saying how to get one.
    app.emulator
        .share_as(SPREADSHEET, USER_B.email, Role::Reader);
    let bob_id = app.emulator.id_token(USER_B.sub, USER_B.email, CLIENT_ID);
    let viewer = prove(&app.emulator, &app.api, USER_B, &bob_id)
        .await
        .unwrap_err();
    assert!(viewer.to_string().contains("edit"), "{viewer}");
    let (status, c, err) = code(post(app.client_as(USER_B).await, body.clone()).await);
    assert_eq!((status, c.as_str()), (403, "access_not_proven"), "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access/challenge"),
        "{err}"
    );
    // Handing back a nonce nobody wrote proves nothing.
    let bob = authorized_client(&bob_id, None).unwrap();
    let access = format!("{}/spreadsheets/{SPREADSHEET}/access", app.api);
    let challenge: Value = bob
        .post(format!("{access}/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nonce = challenge["nonce"].as_str().unwrap();
    let resp = bob
        .post(format!("{access}/proof"))
        .json(&json!({"nonce": nonce}))
        .send()
        .await
        .unwrap();
    // (Answered as for a spreadsheet not shared with the service account: see
    // `probing_spreadsheet_ids_…` below.)
    let (status, c, err) = code((resp.status().as_u16(), resp.json().await.unwrap()));
    assert_eq!(
        (status, c.as_str()),
        (403, "service_account_no_access"),
        "{err}"
    );
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("edit access"),
        "{err}"
    );
    // Ada's nonce (or proof) is no use to Bob: both are bound to who asked.
    let ada_proof = app.access_proof.clone();
    let stolen = authorized_client(&bob_id, Some(&ada_proof)).unwrap();
    let (status, c, _) = code(post(stolen, body.clone()).await);
    assert_eq!((status, c.as_str()), (403, "access_not_proven"));
    app.emulator
        .add_developer_metadata_as(USER_A.email, SPREADSHEET, "almanac-access-proof", nonce)
        .unwrap();
    let resp = bob
        .post(format!("{access}/proof"))
        .json(&json!({"nonce": nonce}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "Bob's own nonce, written by an editor, is Bob's"
    );
    let ada_nonce: Value = app
        .http
        .post(format!("{access}/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = bob
        .post(format!("{access}/proof"))
        .json(&json!({"nonce": ada_nonce["nonce"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "another caller's nonce");
    // Without any proof header.
    let id_only = authorized_client(&app.id_token, None).unwrap();
    let (status, c, _) = code(post(id_only, body.clone()).await);
    assert_eq!((status, c.as_str()), (403, "access_not_proven"));

    // An editor whose spreadsheet is not shared with the service account: a step naming the email.
    app.emulator.share(SPREADSHEET, USER_B.email);
    app.emulator.unshare(SPREADSHEET, SERVICE_ACCOUNT_EMAIL);
    let not_shared = prove(&app.emulator, &app.api, USER_B, &bob_id)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        not_shared.contains("service_account_no_access"),
        "{not_shared}"
    );
    assert!(
        not_shared.contains(&format!("share it with {SERVICE_ACCOUNT_EMAIL} as Editor")),
        "{not_shared}"
    );
    // Once shared, Bob proves access and creates his job.
    app.emulator.share(SPREADSHEET, SERVICE_ACCOUNT_EMAIL);
    let (status, job) = post(app.client_as(USER_B).await, body).await;
    assert_eq!(status, 201, "{job}");
}

/// `POST …/access/challenge` then `…/access/proof` with the challenge's nonce (written by nobody)
/// on `spreadsheet_id`, as `client`: (status, code, message) of the proof's answer.
async fn probe_proof(
    client: &reqwest::Client,
    api: &str,
    spreadsheet_id: &str,
) -> (u16, String, String) {
    let access = format!("{api}/spreadsheets/{spreadsheet_id}/access");
    let resp = client
        .post(format!("{access}/challenge"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let challenge: Value = resp.json().await.unwrap();
    let resp = client
        .post(format!("{access}/proof"))
        .json(&json!({"nonce": challenge["nonce"]}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    let text = |k: &str| body["error"][k].as_str().unwrap_or("").to_owned();
    (status, text("code"), text("message"))
}

#[tokio::test]
async fn probing_spreadsheet_ids_tells_no_caller_which_are_shared_with_the_service_account() {
    let app = spawn_app(fast()).await;
    app.emulator.add_spreadsheet("not-shared-spreadsheet");
    app.emulator
        .unshare("not-shared-spreadsheet", SERVICE_ACCOUNT_EMAIL);
    // Bob may open none of the three; only the first is shared with the service account.
    let bob_id = app.emulator.id_token(USER_B.sub, USER_B.email, CLIENT_ID);
    let bob = authorized_client(&bob_id, None).unwrap();
    let shared = probe_proof(&bob, &app.api, SPREADSHEET).await;
    let not_shared = probe_proof(&bob, &app.api, "not-shared-spreadsheet").await;
    let missing = probe_proof(&bob, &app.api, "no-such-spreadsheet").await;
    assert_eq!(shared.0, 403, "{shared:?}");
    assert_eq!(shared.1, "service_account_no_access", "{shared:?}");
    assert_eq!(shared, not_shared);
    assert_eq!(shared, missing);
}

#[tokio::test]
async fn job_creation_after_the_spreadsheet_was_unshared_says_to_share_it_again() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    // Access was proven when the app started; then the owner unshares the service account.
    app.emulator.unshare(SPREADSHEET, SERVICE_ACCOUNT_EMAIL);
    let resp = app.post_job(&app.request(0, 2, 3, MODEL)).await;
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "service_account_no_access", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(SERVICE_ACCOUNT_EMAIL), "{message}");
}

/// `n` access proofs in a row by `client` with one nonce on [`SPREADSHEET`]: the statuses, and the
/// first 429's `Retry-After` and error code.
async fn proofs_in_a_row(
    client: &reqwest::Client,
    api: &str,
    n: usize,
) -> (Vec<u16>, Option<(u64, String)>) {
    let access = format!("{api}/spreadsheets/{SPREADSHEET}/access");
    let challenge: Value = client
        .post(format!("{access}/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (mut statuses, mut refusal) = (Vec::new(), None);
    for _ in 0..n {
        let resp = client
            .post(format!("{access}/proof"))
            .json(&json!({"nonce": challenge["nonce"]}))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 && refusal.is_none() {
            let wait: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let body: Value = resp.json().await.unwrap();
            refusal = Some((wait, body["error"]["code"].as_str().unwrap().to_owned()));
        }
    }
    (statuses, refusal)
}

#[tokio::test]
async fn access_proofs_are_rate_limited_per_user_and_per_spreadsheet_with_retry_after() {
    let app = spawn_app_with(fast(), |config| {
        config.api.limits.access_checks_per_user = 10;
        config.api.limits.access_checks_per_spreadsheet = 15;
    })
    .await;
    let writes = || app.emulator.calls().spreadsheets_batch_update;
    let before = writes();
    // Ada proved access once at start-up: 9 more proofs, then 429 (and no Sheets write). (A slot
    // comes back every 6 s: a slow machine may let one more through.)
    let (statuses, refusal) = proofs_in_a_row(&app.http, &app.api, 60).await;
    let passed = statuses.iter().filter(|s| **s != 429).count();
    assert!(statuses[..9].iter().all(|s| *s != 429), "{statuses:?}");
    assert!((9..=10).contains(&passed), "{statuses:?}");
    assert_eq!(statuses[59], 429, "{statuses:?}");
    let (wait, code) = refusal.unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(code, "rate_limited");
    assert_eq!(writes() - before, passed, "a refused proof writes nothing");
    // Bob has a quota of his own, but the spreadsheet's (15 a minute) is shared by everyone.
    let bob_id = app.emulator.id_token(USER_B.sub, USER_B.email, CLIENT_ID);
    let bob = authorized_client(&bob_id, None).unwrap();
    let (statuses, _) = proofs_in_a_row(&bob, &app.api, 15 - passed - 1 + 3).await;
    let n = statuses.len();
    assert!(statuses[..n - 3].iter().all(|s| *s != 429), "{statuses:?}");
    assert_eq!(statuses[n - 1], 429, "{statuses:?}");
}

#[tokio::test]
async fn job_creation_is_rate_limited_per_user_with_retry_after() {
    let app = spawn_app_with(fast(), |config| config.api.jobs_per_minute = 2).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.share(SPREADSHEET, USER_B.email);
    let req = app.request(0, 2, 3, MODEL);
    for _ in 0..2 {
        assert_eq!(app.post_job(&req).await.status(), 201);
    }
    let refused = app.post_job(&req).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another user has their own quota.
    let bob = app.client_as(USER_B).await;
    let resp = bob
        .post(format!("{}/jobs", app.api))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn oversized_or_out_of_range_input_is_refused_with_a_4xx_saying_what_to_change() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let post = |path: &'static str, body: Value| {
        let url = format!("{}{path}", app.api);
        let http = app.http.clone();
        async move {
            let resp = http.post(url).json(&body).send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let job = |rows: Value| json!({"spreadsheet_id": SPREADSHEET, "sheet_id": 0, "rows": rows, "model": MODEL});
    let mut padded = job(json!([{"start_row": 2, "end_row": 3}]));
    padded["padding"] = json!("x".repeat(100 * 1024));
    let spans: Vec<Value> = (0..1001)
        .map(|i| json!({"start_row": 2 + i, "end_row": 2 + i}))
        .collect();
    let cases = [
        (
            "/jobs",
            job(json!([{"start_row": 2, "end_row": 50_002}])),
            400,
            "50000",
        ),
        (
            "/jobs",
            job(json!([{"start_row": 20_000_000, "end_row": 20_000_001}])),
            400,
            "10000000",
        ),
        ("/jobs", job(json!(spans)), 400, "1000"),
        (
            "/jobs",
            json!({"spreadsheet_id": "../x", "sheet_id": 0, "rows": [{"start_row": 2, "end_row": 3}], "model": MODEL}),
            400,
            "spreadsheet id",
        ),
        ("/jobs", padded, 413, "KiB"),
        (
            "/estimate",
            json!({"model": MODEL, "rows": [{"id": "a", "title": "t".repeat(501)}]}),
            400,
            "500 characters",
        ),
        (
            "/estimate",
            json!({"model": MODEL, "rows": [{"id": "a\tb", "title": "t"}]}),
            400,
            "control character",
        ),
    ];
    for (path, body, status, hint) in cases {
        let (got, answer) = post(path, body).await;
        assert_eq!(got, status, "{path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(hint), "{path}: {message}");
    }
    assert_eq!(app.emulator.calls().values_batch_get_by_data_filter, 0);
}

#[tokio::test]
async fn cors_answers_preflights_for_apps_script_origins_only_and_never_allows_credentials() {
    let app = spawn_app(fast()).await;
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, format!("{}/jobs", app.api))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,x-almanac-access-proof,idempotency-key",
            )
            .send()
    };
    let sidebar = "https://n-abc123def-0lu-script.googleusercontent.com";
    let resp = preflight(sidebar).await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let headers = resp.headers();
    assert_eq!(headers["access-control-allow-origin"], sidebar);
    assert!(headers.get("access-control-allow-credentials").is_none());
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "authorization",
        "content-type",
        "x-almanac-access-proof",
        "idempotency-key",
    ] {
        assert!(allowed.contains(h), "{allowed}");
    }
    // Another site, and another host of Google's user content (a Drive download, an Apps Script
    // page is `n-…-script`): no CORS headers.
    for refused in [
        "https://evil.example.com",
        "https://doc-0k-8c-docs.googleusercontent.com",
        "https://evil.n-abc123def-0lu-script.googleusercontent.com",
    ] {
        let resp = preflight(refused).await.unwrap();
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{refused}"
        );
    }
    // A simple request from the sidebar's origin gets the header too.
    let resp = app
        .http
        .get(format!("{}/models", app.api))
        .header("origin", sidebar)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], sidebar);
}

#[tokio::test]
async fn health_the_openapi_document_and_the_docs_need_no_token() {
    let app = spawn_app(fast()).await;
    let anonymous = reqwest::Client::new();
    let health = anonymous
        .get(format!("{}/health", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let doc: Value = anonymous
        .get(format!("{}/openapi.json", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"].get("/api/v1/jobs/{id}/cancel").is_some());
    assert!(doc["paths"].get("/api/v1/jobs/{id}/status").is_some());
    let base = app.api.trim_end_matches("/api/v1");
    let docs = anonymous.get(format!("{base}/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("Almanac API"));
    // Swagger UI's files come from the backend itself, configured to read our document.
    let init = anonymous
        .get(format!("{base}/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/api/v1/openapi.json"));
}

#[tokio::test]
async fn no_route_takes_the_id_token_from_the_url_the_event_stream_included() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let job = app.create_job(&app.request(0, 2, 3, MODEL)).await;
    let plain = reqwest::Client::new();
    for path in [
        format!("jobs/{}/events", job.id),
        format!("jobs/{}", job.id),
    ] {
        // RFC 6750 §2.3's query parameter would put the token in proxies' and servers' logs.
        let resp = plain
            .get(format!("{}/{path}?access_token={}", app.api, app.id_token))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "missing_token", "{path}");
    }
    // With the header (as the sidebar's fetch sends it), the stream is served.
    let resp = app
        .http
        .get(format!("{}/jobs/{}/events", app.api, job.id))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = resp.text().await.unwrap();
    assert!(body.contains("event: progress"), "{body}");
}

#[tokio::test]
async fn one_user_past_the_open_stream_cap_is_refused_while_others_are_not() {
    let app = spawn_app_with(fast(), |config| config.api.limits.streams_per_user = 3).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    // A job that cannot end while its batch's poll is held: its streams stay open.
    let mut poll = app.emulator.hold_next(HoldPoint::BatchRetrieved);
    let job = app.create_job(&app.request(0, 2, 3, MODEL)).await;
    assert!(poll.reached().await);
    let events = format!("{}/jobs/{}/events", app.api, job.id);
    let mut open = Vec::new();
    for _ in 0..3 {
        let resp = app.http.get(&events).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        open.push(resp);
    }
    let refused = app.http.get(&events).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams", "{body}");
    // Bob is not refused for Ada's streams (his answer is his own: a 404 for her job).
    let bob = app.client_as(USER_B).await;
    let resp = bob.get(&events).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    // Streams that ended give their slots back.
    poll.release();
    app.wait_finished(&job.id).await;
    for stream in open {
        assert!(stream.text().await.unwrap().contains("completed"));
    }
    let again = app.http.get(&events).send().await.unwrap();
    assert_eq!(again.status(), 200);
}

#[tokio::test]
async fn metrics_are_served_on_their_own_loopback_address_never_on_the_api_s() {
    let app = spawn_app(fast()).await;
    let running = app.app.as_ref().unwrap();
    let public = reqwest::get(format!("{}/metrics", running.base_url))
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
    let metrics = running.metrics_url.clone().unwrap();
    assert!(metrics.starts_with("http://127.0.0.1:"), "{metrics}");
    assert_ne!(metrics, running.base_url);
    let resp = reqwest::get(format!("{metrics}/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("almanac_jobs"));
}

/// Reads `stream` until the server closes it (`None` when it has not within a minute, a bound
/// that only keeps a broken server from hanging the test): what it sent.
async fn until_closed(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut got)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_half_sent_request_head_or_body_is_closed_after_its_timeout() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(fast(), |config| {
        config.api.limits.header_read_timeout = Duration::from_millis(300);
        config.api.limits.idle_timeout = Duration::from_millis(600);
    })
    .await;
    let addr = app
        .app
        .as_ref()
        .unwrap()
        .base_url
        .trim_start_matches("http://")
        .to_owned();
    // Headers without their blank line, and no token: closed once the head is late.
    let mut slow_head = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow_head
        .write_all(b"GET /api/v1/models HTTP/1.1\r\nhost: almanac\r\n")
        .await
        .unwrap();
    assert!(
        until_closed(&mut slow_head).await.is_some(),
        "a half-sent head stays open"
    );
    // A whole head, then a tenth of the body it announces: closed once the connection is idle.
    let mut slow_body = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/estimate HTTP/1.1\r\nhost: almanac\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"sp",
        app.id_token
    );
    slow_body.write_all(head.as_bytes()).await.unwrap();
    assert!(
        until_closed(&mut slow_body).await.is_some(),
        "a half-sent body stays open"
    );
}

#[tokio::test]
async fn connections_past_the_cap_are_answered_503_and_closed() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(fast(), |config| config.api.limits.max_connections = 4).await;
    let addr = app
        .app
        .as_ref()
        .unwrap()
        .base_url
        .trim_start_matches("http://")
        .to_owned();
    // Four silent connections hold every slot (until their heads are late: 10 s).
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut fifth = tokio::net::TcpStream::connect(&addr).await.unwrap();
    fifth
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nhost: almanac\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut fifth).await.expect("refused at once");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("\"server_busy\""), "{answer}");
    // Once they close, the server serves again (their slots come back as it sees them close).
    drop(held);
    let mut status = 0;
    for _ in 0..100 {
        let resp = reqwest::get(format!("{}/health", app.api)).await.unwrap();
        status = resp.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_each_surface_its_policy() {
    let app = spawn_app(fast()).await;
    let anonymous = reqwest::Client::new();
    let base = app.api.trim_end_matches("/api/v1");
    // (path, the policy's directives that must be there, API answer)
    let cases: [(&str, &[&str], bool); 6] = [
        (
            "/api/v1/health",
            &["default-src 'none'", "frame-ancestors 'none'"],
            true,
        ),
        (
            "/api/v1/models",
            &["default-src 'none'", "frame-ancestors 'none'"],
            true,
        ),
        ("/api/v1/nowhere", &["default-src 'none'"], true),
        (
            "/docs",
            &[
                "script-src 'self'",
                "connect-src 'self'",
                "frame-ancestors 'none'",
            ],
            false,
        ),
        (
            "/sidebar/",
            &[
                "script-src 'self' 'wasm-unsafe-eval'",
                "frame-ancestors 'self' https://docs.google.com https://*.googleusercontent.com",
            ],
            false,
        ),
        ("/", &["default-src 'none'"], true),
    ];
    for (path, directives, api) in cases {
        let resp = anonymous.get(format!("{base}{path}")).send().await.unwrap();
        let headers = resp.headers();
        let header = |name: &str| {
            headers
                .get(name)
                .unwrap_or_else(|| panic!("{path}: no {name}"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        let csp = header("content-security-policy");
        for directive in directives {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("'unsafe-eval'"), "{path}: {csp}");
        if api {
            assert_eq!(header("cache-control"), "no-store", "{path}");
        }
    }
}

/// `POST /jobs` as `client` with `Idempotency-Key: key`: status, `Idempotent-Replayed`, body.
async fn post_job_keyed(
    client: &reqwest::Client,
    api: &str,
    key: &str,
    req: &almanac_protocol::CreateJobRequest,
) -> (u16, bool, String) {
    let resp = client
        .post(format!("{api}/jobs"))
        .header(
            almanac_protocol::IDEMPOTENCY_KEY_HEADER,
            format!("\"{key}\""),
        )
        .json(req)
        .send()
        .await
        .unwrap();
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    (resp.status().as_u16(), replayed, resp.text().await.unwrap())
}

#[tokio::test]
async fn a_repeated_idempotency_key_answers_the_first_answer_and_creates_nothing_again() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.hold_batches(true);
    app.emulator.share(SPREADSHEET, USER_B.email);
    let req = app.request(0, 2, 5, MODEL);
    let key = "8e03978e-40d5-43e8-bc93-6894a57f9324";
    let (status, replayed, first) = post_job_keyed(&app.http, &app.api, key, &req).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    // A double click, or a retry after a lost answer: the same body again, and one job.
    let (status, replayed, again) = post_job_keyed(&app.http, &app.api, key, &req).await;
    assert_eq!((status, replayed), (201, true), "{again}");
    assert_eq!(again, first);
    let list = |client: reqwest::Client| {
        let url = format!("{}/jobs?spreadsheet_id={SPREADSHEET}", app.api);
        async move {
            let list: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            list["jobs"].as_array().unwrap().len()
        }
    };
    assert_eq!(list(app.http.clone()).await, 1);
    // The same key for another request is refused (422), and creates nothing either.
    let other = app.request(0, 2, 6, MODEL);
    let (status, _, body) = post_job_keyed(&app.http, &app.api, key, &other).await;
    assert_eq!(status, 422, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
    assert_eq!(list(app.http.clone()).await, 1);
    // Another user's key of the same text is their own.
    let bob = app.client_as(USER_B).await;
    let (status, replayed, bobs) = post_job_keyed(&bob, &app.api, key, &req).await;
    assert_eq!((status, replayed), (201, false), "{bobs}");
    assert_ne!(bobs, first);
    assert_eq!(list(bob).await, 1);
    // Cancel with a key: cancelled once, the repeat gets the first answer.
    let job: Value = serde_json::from_str(&first).unwrap();
    let cancel = |key: &'static str| {
        let url = format!("{}/jobs/{}/cancel", app.api, job["id"].as_str().unwrap());
        let http = app.http.clone();
        async move {
            let resp = http
                .post(url)
                .header(almanac_protocol::IDEMPOTENCY_KEY_HEADER, key)
                .send()
                .await
                .unwrap();
            let replayed = resp.headers().get("idempotent-replayed").is_some();
            (resp.status().as_u16(), replayed, resp.text().await.unwrap())
        }
    };
    let (status, replayed, cancelled) = cancel("cancel-1").await;
    assert_eq!((status, replayed), (202, false), "{cancelled}");
    assert_eq!(cancel("cancel-1").await, (202, true, cancelled));
    // A malformed key is refused before anything runs.
    let (status, _, body) = post_job_keyed(&app.http, &app.api, "a\\b", &other).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(list(app.http.clone()).await, 1);
    // A refusal before anything ran (403 without an access proof) is not kept: the same click
    // sent again with a proof runs.
    let unproven = authorized_client(&app.id_token, None).unwrap();
    let (status, _, body) = post_job_keyed(&unproven, &app.api, "proof-later", &other).await;
    assert_eq!(status, 403, "{body}");
    let (status, replayed, body) = post_job_keyed(&app.http, &app.api, "proof-later", &other).await;
    assert_eq!((status, replayed), (201, false), "{body}");
    assert_eq!(list(app.http.clone()).await, 2);
}

#[tokio::test]
async fn a_key_in_flight_is_409_and_its_answer_is_kept_when_the_client_left() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    app.emulator.hold_batches(true);
    let req = app.request(0, 2, 5, MODEL);
    // The first click's creation stops at its read of the sheet.
    let mut read = app.emulator.hold_next(HoldPoint::ValuesBatchGet);
    let first = tokio::spawn({
        let (http, api, req) = (app.http.clone(), app.api.clone(), req.clone());
        async move { post_job_keyed(&http, &api, "click-1", &req).await }
    });
    assert!(read.reached().await);
    let (status, _, body) = post_job_keyed(&app.http, &app.api, "click-1", &req).await;
    assert_eq!(status, 409, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "idempotency_key_in_flight");
    // The first client gives up; the creation still ends, and its answer is what a retry gets.
    first.abort();
    read.release();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (status, replayed, body) = loop {
        let answer = post_job_keyed(&app.http, &app.api, "click-1", &req).await;
        if answer.0 != 409 {
            break answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "still in flight");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((status, replayed), (201, true), "{body}");
    let list: Value = app
        .http
        .get(format!("{}/jobs?spreadsheet_id={SPREADSHEET}", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        list["jobs"][0]["id"],
        serde_json::from_str::<Value>(&body).unwrap()["id"]
    );
}
