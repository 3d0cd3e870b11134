//! The emulator's Google identity side: ID tokens verify against the published JWKS (also after a
//! rotation), and user access tokens reach only the spreadsheets shared with their user.

use almanac_emulator::identity::{CLIENT_ID, ISSUER};
use almanac_emulator::scopes;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::common::{http, start};

async fn jwks(client: &reqwest::Client, url: &str) -> JwkSet {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

fn verify(token: &str, set: &JwkSet) -> Result<Value, jsonwebtoken::errors::Error> {
    let header = jsonwebtoken::decode_header(token)?;
    let jwk = set
        .find(header.kid.as_deref().unwrap_or_default())
        .expect("the token's kid is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[CLIENT_ID]);
    validation.set_issuer(&[ISSUER]);
    let data = jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk)?, &validation)?;
    Ok(data.claims)
}

#[tokio::test]
async fn signed_id_tokens_verify_against_the_published_keys_before_and_after_a_rotation() {
    let emu = start().await;
    let client = http();
    let token = emu.id_token("sub-1", "ada@example.com", CLIENT_ID);
    let set = jwks(&client, &emu.jwks_url()).await;
    assert_eq!(set.keys.len(), 1);
    let claims = verify(&token, &set).unwrap();
    assert_eq!(claims["sub"], "sub-1");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["email_verified"], true);

    let (old_kid, _) = emu.current_signing_key();
    emu.rotate_signing_key();
    let (new_kid, _) = emu.current_signing_key();
    assert_ne!(old_kid, new_kid);
    let rotated = emu.id_token("sub-1", "ada@example.com", CLIENT_ID);
    assert!(
        set.find(&new_kid).is_none(),
        "the old JWKS does not know the new key"
    );
    let set = jwks(&client, &emu.jwks_url()).await;
    assert_eq!(set.keys.len(), 2, "the new key and the previous one");
    assert!(verify(&rotated, &set).is_ok());
    assert!(verify(&token, &set).is_ok());
    assert_eq!(emu.calls().jwks, 2);
}

#[tokio::test]
async fn a_user_token_reads_only_the_spreadsheets_shared_with_its_user() {
    let emu = start().await;
    let client = http();
    emu.add_sheet("shared", 0, "S", vec![vec!["id".into()]]);
    emu.add_sheet("private", 0, "P", vec![vec!["id".into()]]);
    emu.share("shared", "ada@example.com");
    let token = emu.user_token_with_scopes("ada@example.com", &[scopes::SPREADSHEETS]);
    let get = |id: &str| {
        client
            .get(format!(
                "{}v4/spreadsheets/{id}?fields=spreadsheetId",
                emu.sheets_base_url()
            ))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(get("shared").await.unwrap().status(), 200);
    let denied = get("private").await.unwrap();
    assert_eq!(denied.status(), 403);
    let body: Value = denied.json().await.unwrap();
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(get("missing").await.unwrap().status(), 404);
    let stranger = client
        .get(format!("{}v4/spreadsheets/shared", emu.sheets_base_url()))
        .bearer_auth("ya29.user-made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401);
}
