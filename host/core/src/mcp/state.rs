//! `requestState` handed to clients in 2026-07-28's InputRequiredResult:
//! the guest's opaque state, bound to the server and tool, with an expiry,
//! and a keyed blake3 MAC so that a client cannot forge or alter it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Sealed {
    /// tenant/server/tool the state belongs to.
    scope: String,
    /// Expiry, milliseconds since the epoch.
    exp: u64,
    state: String,
}

/// How long a client has to answer input requests.
pub const STATE_TTL_MS: u64 = 10 * 60 * 1000;

/// Seals `state` for `scope` until `now_ms + STATE_TTL_MS`.
pub fn seal(key: &[u8; 32], scope: &str, state: &str, now_ms: u64) -> String {
    let sealed = Sealed { scope: scope.to_owned(), exp: now_ms + STATE_TTL_MS, state: state.to_owned() };
    let body = B64.encode(serde_json::to_vec(&sealed).unwrap_or_default());
    let mac = blake3::keyed_hash(key, body.as_bytes());
    format!("{body}.{}", B64.encode(mac.as_bytes()))
}

/// The guest state inside `token`, if the MAC verifies (in constant time),
/// the scope matches and it has not expired.
pub fn open(key: &[u8; 32], scope: &str, token: &str, now_ms: u64) -> Result<String, &'static str> {
    let (body, mac) = token.split_once('.').ok_or("malformed requestState")?;
    let mac: [u8; 32] = B64.decode(mac).ok().and_then(|m| m.try_into().ok()).ok_or("malformed requestState")?;
    // blake3::Hash compares in constant time.
    if blake3::keyed_hash(key, body.as_bytes()) != blake3::Hash::from_bytes(mac) {
        return Err("requestState failed verification");
    }
    let sealed: Sealed =
        B64.decode(body).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or("malformed requestState")?;
    if sealed.scope != scope {
        return Err("requestState belongs to another request");
    }
    if sealed.exp < now_ms {
        return Err("requestState expired");
    }
    Ok(sealed.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_state_opens_only_unchanged_in_scope_and_in_time() {
        let key = [7u8; 32];
        let token = seal(&key, "a/b/greet", "guest-state", 1000);
        assert_eq!(open(&key, "a/b/greet", &token, 2000).as_deref(), Ok("guest-state"));
        assert!(open(&key, "a/b/other", &token, 2000).is_err());
        assert!(open(&key, "a/b/greet", &token, 1000 + STATE_TTL_MS + 1).is_err());
        assert!(open(&[8u8; 32], "a/b/greet", &token, 2000).is_err());
        let mut tampered = token.clone().into_bytes();
        tampered[3] ^= 1;
        assert!(open(&key, "a/b/greet", &String::from_utf8(tampered).unwrap(), 2000).is_err());
        assert!(open(&key, "a/b/greet", "garbage", 2000).is_err());
    }
}
