//! Credentials as they arrive in `Authorization`: API keys
//! (`smcp_<tenant>_<hex>`) looked up in a key store that holds real keys,
//! and JWTs verified against a trusted issuer: headers, claims, algorithms
//! and signatures of every shape. Nothing forged may authenticate.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smcp_core::auth::Role;
use smcp_core::auth::api_keys::ApiKeys;
use smcp_core::auth::jwt::{self, Issuer};

thread_local! {
    static STATE: (smcp_fuzz::Platform, Vec<Issuer>) = {
        let platform = smcp_fuzz::Platform::new();
        let keys = ApiKeys::new(platform.backends().kv, [4; 32]);
        futures::executor::block_on(keys.create(&smcp_core::names::TenantId::from_static("acme"), Role::Admin, "fuzz", None, 0, platform.backends().random)).unwrap();
        let jwk = serde_json::json!({ "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" });
        let issuer = Issuer {
            issuer: "https://auth.example.com".into(),
            algorithms: vec![jsonwebtoken_alg()],
            keys: serde_json::from_value(serde_json::json!({ "keys": [jwk] })).unwrap(),
            jwks_uri: Some("https://auth.example.com/jwks".into()),
            scopes: vec![("mcp:use".into(), Role::McpUser)],
            leeway_seconds: 60,
        };
        (platform, vec![issuer])
    };
}

fn jsonwebtoken_alg() -> jwt::Algorithm {
    jwt::Algorithm::ES256
}

fuzz_target!(|data: &[u8]| {
    let Ok(credential) = std::str::from_utf8(data) else { return };
    STATE.with(|(platform, issuers)| {
        let keys = ApiKeys::new(platform.backends().kv, [4; 32]);
        let by_key = futures::executor::block_on(keys.authenticate(credential, 1));
        assert!(by_key.is_err(), "a fuzzed API key authenticated");
        let _ = jwt::unverified_issuer(credential);
        let verdict = jwt::verify(
            credential,
            &smcp_core::names::TenantId::from_static("acme"),
            issuers,
            "https://mcp.example.com/t/acme/s/x/mcp",
            1_800_000_000_000,
        );
        assert!(!matches!(verdict, Ok(jwt::Verdict::Valid(_))), "a fuzzed token verified");
    });
});
