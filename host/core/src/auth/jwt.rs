//! OAuth 2.1 bearer tokens (JWTs) from the issuers a tenant trusts. A
//! token is accepted only when its signature verifies with a key of its
//! issuer, under an algorithm that issuer allows (never `none`, and a key
//! is used only for its own algorithm family, so an RSA public key can
//! never verify an HMAC), its `iss` is that issuer, its `aud` is the
//! endpoint's canonical URL (RFC 8707), and it is within `exp`/`nbf`
//! (small leeway) on the host's clock. Its scopes map to a role.

use super::{AuthError, Principal, Role};
use crate::names::TenantId;
pub use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{Jwk, JwkSet};
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

/// Smallest RSA modulus accepted from an issuer, in bits.
pub const MIN_RSA_BITS: usize = 2048;

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
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
    UnknownKey {
        jwks_uri: String,
    },
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
    let claims: Iss =
        jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| invalid("not a JWT with an `iss`"))?;
    Ok(claims.iss)
}

/// Verifies `token` for `tenant`'s endpoint `audience` at `now_ms`.
pub fn verify(
    token: &str,
    tenant: &TenantId,
    issuers: &[Issuer],
    audience: &str,
    now_ms: u64,
) -> Result<Verdict, AuthError> {
    verify_until(token, tenant, issuers, audience, now_ms).map(|(verdict, _)| verdict)
}

/// Tokens this process verified, each under what its verification
/// depended on: the token, the tenant, the audience and the issuer's whole
/// record (keys, algorithms, scopes, leeway), which every request still
/// reads from the store. A changed issuer, key set or audience is another
/// entry, so this is a pure function's memo, safe where several processes
/// write the store (the Worker's isolates); what it saves is the signature
/// check (ES256: about 300 µs a request). Grant revocation of the host's
/// own tokens is checked on every request, outside it.
#[derive(Default)]
pub struct VerifiedTokens {
    verified: std::sync::Mutex<crate::lru::Lru<[u8; 32], (Principal, u64)>>,
}

/// Tokens held at most.
const VERIFIED_TOKENS: usize = 10_000;

impl VerifiedTokens {
    /// [`verify`], answered from the memo when this token was verified
    /// under the same issuer record and audience and has not expired since.
    pub fn verify(
        &self,
        token: &str,
        tenant: &TenantId,
        issuers: &[Issuer],
        audience: &str,
        now_ms: u64,
    ) -> Result<Verdict, AuthError> {
        let issuer = unverified_issuer(token).ok().and_then(|iss| issuers.iter().find(|i| i.issuer == iss));
        let Some(key) = issuer.and_then(|issuer| fingerprint(token, tenant, audience, issuer)) else {
            return verify(token, tenant, issuers, audience, now_ms);
        };
        let now = now_ms / 1000;
        if let Ok(mut verified) = self.verified.lock()
            && let Some((principal, until)) = verified.get(&key)
            && now < *until
        {
            return Ok(Verdict::Valid(principal.clone()));
        }
        let (verdict, until) = verify_until(token, tenant, issuers, audience, now_ms)?;
        if let (Verdict::Valid(principal), Some(until), Ok(mut verified)) = (&verdict, until, self.verified.lock()) {
            verified.insert(key, (principal.clone(), until), VERIFIED_TOKENS);
        }
        Ok(verdict)
    }
}

/// What a verification of `token` depends on, hashed.
fn fingerprint(token: &str, tenant: &TenantId, audience: &str, issuer: &Issuer) -> Option<[u8; 32]> {
    let record = serde_json::to_vec(issuer).ok()?;
    let mut hasher = blake3::Hasher::new_derive_key("smcp 2026-12 verified bearer tokens");
    for part in [token.as_bytes(), tenant.as_str().as_bytes(), audience.as_bytes(), &record] {
        hasher.update(&(part.len() as u64).to_le_bytes()).update(part);
    }
    Some(*hasher.finalize().as_bytes())
}

/// [`verify`], with the second (Unix time) before which a valid token stays
/// valid: its `exp` plus the issuer's leeway.
fn verify_until(
    token: &str,
    tenant: &TenantId,
    issuers: &[Issuer],
    audience: &str,
    now_ms: u64,
) -> Result<(Verdict, Option<u64>), AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed JWT header"))?;
    refuse_critical_extensions(token)?;
    let iss = unverified_issuer(token)?;
    let issuer =
        issuers.iter().find(|i| i.issuer == iss).ok_or_else(|| invalid("issuer not trusted by this tenant"))?;
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
            Some(uri) => Ok((Verdict::UnknownKey { jwks_uri: uri.clone() }, None)),
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
    if claims.iat.is_some_and(|iat| iat > now + issuer.leeway_seconds) {
        return Err(invalid("issued in the future"));
    }
    if claims.sub.trim().is_empty() || claims.sub.len() > 255 || claims.sub.chars().any(char::is_control) {
        return Err(invalid("`sub` must name someone: 1-255 characters, none of them control characters"));
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
    let principal = Principal { tenant: tenant.to_owned(), id: format!("jwt:{}#{}", issuer.issuer, claims.sub), role };
    Ok((Verdict::Valid(principal), Some(claims.exp.saturating_add(issuer.leeway_seconds))))
}

/// RFC 7515 §4.1.11: a recipient must refuse a token whose `crit` header
/// names an extension it does not understand. The host understands none
/// (not `b64` either), and an empty or malformed `crit` is invalid too.
fn refuse_critical_extensions(token: &str) -> Result<(), AuthError> {
    use base64::Engine as _;
    let encoded = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| invalid("malformed JWT header"))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|_| invalid("malformed JWT header"))?;
    if header.contains_key("crit") {
        return Err(invalid("the header's `crit` names extensions this host does not support"));
    }
    if header.contains_key("b64") {
        return Err(invalid("unencoded payloads (`b64`) are not accepted"));
    }
    Ok(())
}

/// Checks a key an issuer publishes: RSA moduli of at least
/// [`MIN_RSA_BITS`]. For registering issuers and for every key used.
pub fn check_issuer_key(jwk: &Jwk) -> Result<(), AuthError> {
    use base64::Engine as _;
    if let jsonwebtoken::jwk::AlgorithmParameters::RSA(rsa) = &jwk.algorithm {
        let modulus = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(rsa.n.trim_end_matches('='))
            .map_err(|_| invalid("unusable issuer key"))?;
        let significant = modulus.iter().skip_while(|b| **b == 0).count();
        let bits = significant
            .saturating_mul(8)
            .saturating_sub(modulus.iter().find(|b| **b != 0).map_or(0, |b| b.leading_zeros() as usize));
        if bits < MIN_RSA_BITS {
            return Err(invalid(format!("RSA keys under {MIN_RSA_BITS} bits are not accepted (this one has {bits})")));
        }
    }
    Ok(())
}

/// The verification key of `jwk`, refusing one whose family does not fit
/// `alg` (what stops HS256 signed with a public key).
pub(crate) fn decoding_key(jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, AuthError> {
    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(invalid("symmetric algorithms are not accepted"));
    }
    check_issuer_key(jwk)?;
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
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }

    fn es256(claims: &Value, pem: &str) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("test-key".into());
        encode(&header, claims, &EncodingKey::from_ec_pem(pem.as_bytes()).unwrap()).unwrap()
    }

    fn check(token: &str) -> Result<Verdict, AuthError> {
        verify(token, &TenantId::from_static("acme"), &[issuer()], AUD, NOW_S * 1000)
    }

    #[test]
    fn a_good_token_maps_its_scope_to_a_role() {
        let Verdict::Valid(who) = check(&es256(&claims(json!({})), PRIVATE)).unwrap() else { panic!() };
        assert_eq!(
            who,
            Principal {
                tenant: TenantId::from_static("acme"),
                id: "jwt:https://auth.example.com#alice".into(),
                role: Role::McpUser
            }
        );
        let Verdict::Valid(who) =
            check(&es256(&claims(json!({ "scope": null, "scp": ["mcp:read"] })), PRIVATE)).unwrap()
        else {
            panic!()
        };
        assert_eq!(who.role, Role::ReadOnly);
    }

    #[test]
    fn every_forgery_and_mismatch_is_refused() {
        let good = claims(json!({}));
        let unsigned = {
            let b64 =
                |v: &Value| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v.to_string());
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

    /// A token with header `header`, signed with ES256 like a real one.
    fn with_header(header: Value, claims: &Value) -> String {
        let b64 = |v: &Value| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v.to_string());
        let message = format!("{}.{}", b64(&header), b64(claims));
        let key = EncodingKey::from_ec_pem(PRIVATE.as_bytes()).unwrap();
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::ES256).unwrap();
        format!("{message}.{signature}")
    }

    #[test]
    fn headers_and_claims_outside_the_rules_are_refused() {
        let good = claims(json!({}));
        let header = |extra: Value| {
            let mut h = json!({ "alg": "ES256", "typ": "JWT", "kid": "test-key" });
            h.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            h
        };
        assert!(check(&with_header(header(json!({})), &good)).is_ok(), "signed by hand, the same token passes");
        for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!(["alg"])] {
            let error = check(&with_header(header(json!({ "crit": crit })), &good)).unwrap_err().to_string();
            assert!(error.contains("crit"), "{crit}: {error}");
        }
        assert!(check(&with_header(header(json!({ "crit": "x" })), &good)).is_err(), "a `crit` that is not a list");
        let error = check(&with_header(header(json!({ "b64": false })), &good)).unwrap_err().to_string();
        assert!(error.contains("b64"), "{error}");
        for (changes, expected) in [
            (json!({ "sub": "" }), "`sub` must name someone"),
            (json!({ "sub": " " }), "`sub` must name someone"),
            (json!({ "sub": "a\nb" }), "`sub` must name someone"),
            (json!({ "iat": NOW_S + 365 * 86_400 }), "issued in the future"),
        ] {
            let error = check(&es256(&claims(changes.clone()), PRIVATE)).unwrap_err().to_string();
            assert!(error.contains(expected), "{changes}: {error}");
        }
        assert!(check(&es256(&claims(json!({ "iat": NOW_S + 30 })), PRIVATE)).is_ok(), "within the leeway");
    }

    #[test]
    fn short_rsa_keys_are_refused() {
        use base64::Engine as _;
        let rsa = |bytes: usize| -> Jwk {
            let mut n = vec![0xffu8; bytes];
            n[0] = 0xc1;
            let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&n);
            serde_json::from_value(json!({ "kty": "RSA", "n": n, "e": "AQAB", "kid": "r" })).unwrap()
        };
        for bytes in [64, 128, 255] {
            let error = check_issuer_key(&rsa(bytes)).unwrap_err().to_string();
            assert!(error.contains(&format!("this one has {}", bytes * 8)), "{error}");
        }
        assert!(check_issuer_key(&rsa(256)).is_ok());
        assert!(check_issuer_key(&serde_json::from_str(JWK).unwrap()).is_ok(), "EC keys have no modulus to check");
    }

    #[test]
    fn an_unknown_key_id_asks_for_a_refresh_only_when_there_is_a_jwks_uri() {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("rotated".into());
        let token =
            encode(&header, &claims(json!({})), &EncodingKey::from_ec_pem(PRIVATE.as_bytes()).unwrap()).unwrap();
        assert!(check(&token).unwrap_err().to_string().contains("key this issuer does not have"));
        let with_uri = Issuer { jwks_uri: Some("https://auth.example.com/jwks".into()), ..issuer() };
        assert_eq!(
            verify(&token, &TenantId::from_static("acme"), &[with_uri], AUD, NOW_S * 1000),
            Ok(Verdict::UnknownKey { jwks_uri: "https://auth.example.com/jwks".into() })
        );
    }

    #[test]
    fn the_memo_answers_only_for_the_same_token_issuer_and_audience_until_expiry() {
        let memo = VerifiedTokens::default();
        let acme = TenantId::from_static("acme");
        let token = es256(&claims(json!({})), PRIVATE);
        let now = NOW_S * 1000;
        let valid =
            |verdict: Result<Verdict, AuthError>| matches!(verdict, Ok(Verdict::Valid(p)) if p.role == Role::McpUser);
        assert!(valid(memo.verify(&token, &acme, &[issuer()], AUD, now)));
        assert!(valid(memo.verify(&token, &acme, &[issuer()], AUD, now + 1)), "from the memo");
        // Each input the verification depends on still counts.
        let mut demoted = issuer();
        demoted.scopes = vec![("mcp:use".into(), Role::ReadOnly)];
        let read_only = memo.verify(&token, &acme, &[demoted], AUD, now);
        assert!(matches!(read_only, Ok(Verdict::Valid(p)) if p.role == Role::ReadOnly), "a changed issuer re-verifies");
        let mut other_keys = issuer();
        other_keys.keys = JwkSet { keys: vec![] };
        assert!(memo.verify(&token, &acme, &[other_keys], AUD, now).is_err(), "its key removed: refused");
        assert!(memo.verify(&token, &acme, &[], AUD, now).is_err(), "its issuer removed: refused");
        let elsewhere = "https://mcp.example.com/t/acme/s/files/mcp";
        assert!(memo.verify(&token, &acme, &[issuer()], elsewhere, now).is_err(), "another audience");
        // The tenant is part of the answer: never another tenant's principal.
        let umbrella = TenantId::from_static("umbrella");
        let theirs = memo.verify(&token, &umbrella, &[issuer()], AUD, now);
        assert!(matches!(theirs, Ok(Verdict::Valid(p)) if p.tenant == umbrella), "as verify answers");
        let expired = (NOW_S + 600 + LEEWAY_SECONDS) * 1000;
        assert!(memo.verify(&token, &acme, &[issuer()], AUD, expired).is_err(), "expired, memo or not");
        // A token that fails is never remembered as valid.
        let forged = es256(&claims(json!({})), OTHER_PRIVATE);
        assert!(memo.verify(&forged, &acme, &[issuer()], AUD, now).is_err());
        assert!(memo.verify(&forged, &acme, &[issuer()], AUD, now).is_err());
    }
}
