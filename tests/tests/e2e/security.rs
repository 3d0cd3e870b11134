//! Who may do what: Google ID tokens refused with a reason code or accepted, jobs invisible to
//! other users, spreadsheets worked on only for a caller who proved they can edit them (and only
//! when the service account can), CORS, rate limits and input limits — the real backend over
//! HTTP, the emulator signing the tokens.

use std::time::Duration;

use almanac_demo::authorized_client;
use almanac_emulator::Role;
use almanac_emulator::identity::{self, CLIENT_ID, STRANGER_KEY_PEM};
use almanac_emulator::oauth::SERVICE_ACCOUNT_EMAIL;
use almanac_protocol::JobStatus;
use almanac_tests::{
    KOREAN_CSV, SPREADSHEET, USER_A, USER_B, fast, prove, spawn_app, spawn_app_with,
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
    let valid = || identity::claims(USER_A.sub, USER_A.email, CLIENT_ID);
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
    let (status, c, err) = code((resp.status().as_u16(), resp.json().await.unwrap()));
    assert_eq!((status, c.as_str()), (403, "proof_not_found"), "{err}");
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
                "authorization,content-type,x-almanac-access-proof",
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
    for h in ["authorization", "content-type", "x-almanac-access-proof"] {
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
async fn the_event_stream_accepts_the_id_token_as_a_query_parameter_and_no_other_route_does() {
    let app = spawn_app(fast()).await;
    app.add_sheet(0, "Events", KOREAN_CSV);
    let job = app.create_job(&app.request(0, 2, 3, MODEL)).await;
    let plain = reqwest::Client::new();
    let events = format!("{}/jobs/{}/events", app.api, job.id);

    // A browser's EventSource cannot send headers: the token rides in the query.
    let resp = plain
        .get(format!("{events}?access_token={}", app.id_token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = resp.text().await.unwrap();
    assert!(body.contains("event: progress"), "{body}");

    // A forged query token is refused like a forged header.
    let resp = plain
        .get(format!("{events}?access_token=not.a.token"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Other routes take the header only.
    let resp = plain
        .get(format!(
            "{}/jobs/{}?access_token={}",
            app.api, job.id, app.id_token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_token");
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
