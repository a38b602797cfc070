//! OAuth 2.1 bearer tokens (JWTs) from the issuers a tenant trusts. A
//! token is accepted only when its signature verifies with a key of its
//! issuer, under an algorithm that issuer allows (never `none`, and a key
//! is used only for its own algorithm family, so an RSA public key can
//! never verify an HMAC), its `iss` is that issuer, its `aud` is the
//! endpoint's canonical URL (RFC 8707), and it is within `exp`/`nbf`
//! (small leeway) on the host's clock. Its scopes map to a role.

use super::{AuthError, Principal, Role};
use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use jsonwebtoken::Algorithm;
use jsonwebtoken::{DecodingKey, Validation};
use serde::{Deserialize, Serialize};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 60;

/// An issuer a tenant trusts, as stored in its auth settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issuer {
    /// The `iss` value, e.g. `https://auth.example.com`.
    pub issuer: String,
    /// Algorithms accepted from this issuer (e.g. `["RS256", "ES256"]`).
    pub algorithms: Vec<Algorithm>,
    /// Its signing keys (the JWKS document's `keys`).
    pub keys: JwkSet,
    /// Where to fetch them again when a token names an unknown `kid`.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Scope → role; a token gets the highest role among its scopes.
    pub scopes: Vec<(String, Role)>,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

fn default_leeway() -> u64 {
    LEEWAY_SECONDS
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<Vec<String>>,
}

/// Why a token names an issuer but cannot be checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Valid(Principal),
    /// Signed with a key id the issuer's key set lacks: refresh it from
    /// `jwks_uri` and try again.
    UnknownKey { jwks_uri: String },
}

fn invalid(why: impl Into<String>) -> AuthError {
    AuthError::InvalidToken(why.into())
}

/// The unverified `iss` of a token, to pick the issuer whose keys verify it.
pub fn unverified_issuer(token: &str) -> Result<String, AuthError> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let claims: Iss = jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| invalid("not a JWT with an `iss`"))?;
    Ok(claims.iss)
}

/// Verifies `token` for `tenant`'s endpoint `audience` at `now_ms`.
pub fn verify(token: &str, tenant: &str, issuers: &[Issuer], audience: &str, now_ms: u64) -> Result<Verdict, AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed JWT header"))?;
    let iss = unverified_issuer(token)?;
    let issuer = issuers.iter().find(|i| i.issuer == iss).ok_or_else(|| invalid("issuer not trusted by this tenant"))?;
    if !issuer.algorithms.contains(&header.alg) {
        return Err(invalid(format!("algorithm {:?} not accepted from this issuer", header.alg)));
    }
    let jwk = match &header.kid {
        Some(kid) => issuer.keys.find(kid),
        // Without a kid, only an issuer with a single key can be meant.
        None if issuer.keys.keys.len() == 1 => issuer.keys.keys.first(),
        None => return Err(invalid("token has no `kid` and the issuer has several keys")),
    };
    let Some(jwk) = jwk else {
        return match &issuer.jwks_uri {
            Some(uri) => Ok(Verdict::UnknownKey { jwks_uri: uri.clone() }),
            None => Err(invalid("signed with a key this issuer does not have")),
        };
    };
    let key = decoding_key(jwk, header.alg)?;
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.set_issuer(&[&issuer.issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Time is checked below on the platform's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| invalid(describe(&e)))?;
    let claims = data.claims;
    let now = now_ms / 1000;
    if claims.exp.saturating_add(issuer.leeway_seconds) <= now {
        return Err(invalid("expired"));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + issuer.leeway_seconds) {
        return Err(invalid("not valid yet"));
    }
    let scopes: Vec<String> = match (claims.scope, claims.scp) {
        (Some(scope), _) => scope.split_whitespace().map(str::to_owned).collect(),
        (None, Some(scp)) => scp,
        (None, None) => Vec::new(),
    };
    let role = issuer
        .scopes
        .iter()
        .filter(|(scope, _)| scopes.contains(scope))
        .map(|(_, role)| *role)
        .max()
        .ok_or(AuthError::NoRole)?;
    let _ = claims.iss;
    Ok(Verdict::Valid(Principal { tenant: tenant.to_owned(), id: format!("jwt:{}#{}", issuer.issuer, claims.sub), role }))
}

/// The verification key of `jwk`, refusing one whose family does not fit
/// `alg` (what stops HS256 signed with a public key).
pub(crate) fn decoding_key(jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, AuthError> {
    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(invalid("symmetric algorithms are not accepted"));
    }
    if let Some(key_alg) = jwk.common.key_algorithm
        && key_alg.to_string() != format!("{alg:?}")
    {
        return Err(invalid("the key is not for this algorithm"));
    }
    DecodingKey::from_jwk(jwk).map_err(|_| invalid("unusable issuer key"))
}

fn describe(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature => "bad signature".into(),
        ErrorKind::InvalidAudience => "wrong audience".into(),
        ErrorKind::InvalidIssuer => "wrong issuer".into(),
        ErrorKind::InvalidAlgorithm => "algorithm does not match the key".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("missing claim `{claim}`"),
        _ => "malformed token".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::{Value, json};

    const PRIVATE: &str = include_str!("testdata/es256-private.pem");
    const OTHER_PRIVATE: &str = include_str!("testdata/other-private.pem");
    const PUBLIC: &str = include_str!("testdata/es256-public.pem");
    const JWK: &str = include_str!("testdata/es256-jwk.json");
    const AUD: &str = "https://mcp.example.com/t/acme/s/notes/mcp";
    const NOW_S: u64 = 1_800_000_000;

    fn issuer() -> Issuer {
        Issuer {
            issuer: "https://auth.example.com".into(),
            algorithms: vec![Algorithm::ES256],
            keys: JwkSet { keys: vec![serde_json::from_str(JWK).unwrap()] },
            jwks_uri: None,
            scopes: vec![("mcp:read".into(), Role::ReadOnly), ("mcp:use".into(), Role::McpUser)],
            leeway_seconds: LEEWAY_SECONDS,
        }
    }

    fn claims(changes: Value) -> Value {
        let mut claims = json!({ "iss": "https://auth.example.com", "sub": "alice", "aud": AUD, "exp": NOW_S + 600, "scope": "openid mcp:use" });
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() { claims.as_object_mut().unwrap().remove(k); } else { claims[k] = v.clone(); }
        }
        claims
    }

    fn es256(claims: &Value, pem: &str) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("test-key".into());
        encode(&header, claims, &EncodingKey::from_ec_pem(pem.as_bytes()).unwrap()).unwrap()
    }

    fn check(token: &str) -> Result<Verdict, AuthError> {
        verify(token, "acme", &[issuer()], AUD, NOW_S * 1000)
    }

    #[test]
    fn a_good_token_maps_its_scope_to_a_role() {
        let Verdict::Valid(who) = check(&es256(&claims(json!({})), PRIVATE)).unwrap() else { panic!() };
        assert_eq!(who, Principal { tenant: "acme".into(), id: "jwt:https://auth.example.com#alice".into(), role: Role::McpUser });
        let Verdict::Valid(who) = check(&es256(&claims(json!({ "scope": null, "scp": ["mcp:read"] })), PRIVATE)).unwrap() else { panic!() };
        assert_eq!(who.role, Role::ReadOnly);
    }

    #[test]
    fn every_forgery_and_mismatch_is_refused() {
        let good = claims(json!({}));
        let unsigned = {
            let b64 = |v: &Value| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v.to_string());
            format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&good))
        };
        let hs256_with_public_key = {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some("test-key".into());
            encode(&header, &good, &EncodingKey::from_secret(PUBLIC.as_bytes())).unwrap()
        };
        let cases = [
            (es256(&good, OTHER_PRIVATE), "bad signature"),
            (unsigned, "malformed JWT header"),
            (hs256_with_public_key, "algorithm HS256 not accepted"),
            (es256(&claims(json!({ "iss": "https://evil.example.com" })), PRIVATE), "issuer not trusted"),
            (es256(&claims(json!({ "aud": "https://mcp.example.com/t/beta/s/notes/mcp" })), PRIVATE), "wrong audience"),
            (es256(&claims(json!({ "exp": NOW_S - 61 })), PRIVATE), "expired"),
            (es256(&claims(json!({ "nbf": NOW_S + 120 })), PRIVATE), "not valid yet"),
            (es256(&claims(json!({ "aud": null })), PRIVATE), "missing claim `aud`"),
            ("not.a.jwt".to_string(), "malformed JWT header"),
        ];
        for (token, expected) in cases {
            let error = check(&token).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected}: got {error}");
            assert!(!error.contains(&token), "the error echoes the token");
        }
        // Inside the leeway, still fine.
        assert!(check(&es256(&claims(json!({ "exp": NOW_S - 30 })), PRIVATE)).is_ok());
        assert_eq!(check(&es256(&claims(json!({ "scope": "openid" })), PRIVATE)), Err(AuthError::NoRole));
    }

    #[test]
    fn an_unknown_key_id_asks_for_a_refresh_only_when_there_is_a_jwks_uri() {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("rotated".into());
        let token = encode(&header, &claims(json!({})), &EncodingKey::from_ec_pem(PRIVATE.as_bytes()).unwrap()).unwrap();
        assert!(check(&token).unwrap_err().to_string().contains("key this issuer does not have"));
        let with_uri = Issuer { jwks_uri: Some("https://auth.example.com/jwks".into()), ..issuer() };
        assert_eq!(verify(&token, "acme", &[with_uri], AUD, NOW_S * 1000), Ok(Verdict::UnknownKey { jwks_uri: "https://auth.example.com/jwks".into() }));
    }
}
