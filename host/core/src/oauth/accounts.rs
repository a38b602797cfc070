//! A tenant's local accounts: people who sign in on the login page.
//! Tenant admins manage them; passwords are kept only as argon2id hashes
//! (PHC strings), and logins are throttled per account: after
//! [`FREE_FAILURES`] failures in a row, each further attempt must wait
//! twice as long as the last, up to [`MAX_LOCK_MS`].

use super::OAuthError;
use crate::auth::Role;
use crate::names::TenantId;
use crate::platform::Backends;
use crate::platform::clock::offloaded;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

const FREE_FAILURES: u32 = 5;
const FIRST_LOCK_MS: u64 = 30_000;
const MAX_LOCK_MS: u64 = 15 * 60_000;
/// Password lengths accepted (NIST SP 800-63B: at least 8, allow long).
const PASSWORD_CHARS: core::ops::RangeInclusive<usize> = 8..=256;

/// An account as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub v: u8,
    pub username: String,
    pub role: Role,
    pub created_ms: u64,
    /// argon2id PHC string; empty for an account that signs in only
    /// through the tenant's upstream provider (it never verifies).
    password: String,
}

/// An account as the admin API shows it: never the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub username: String,
    pub role: Role,
    pub created_ms: u64,
    /// No password: signs in only through the tenant's upstream provider.
    #[serde(default)]
    pub upstream: bool,
}

impl Account {
    /// Signs in with a password here, not through the upstream provider.
    pub fn is_local(&self) -> bool {
        !self.password.is_empty()
    }

    /// Changes when the account's password does, or when the account is
    /// made anew under the same name: what a browser's sign-in and a
    /// remembered consent are bound to, so that either ends with it.
    pub(crate) fn stamp(&self) -> String {
        let bound = [self.created_ms.to_string().as_str(), &self.password].join("\n");
        blake3::hash(bound.as_bytes()).to_hex()[..32].to_owned()
    }

    pub fn view(&self) -> AccountView {
        AccountView {
            username: self.username.clone(),
            role: self.role,
            created_ms: self.created_ms,
            upstream: !self.is_local(),
        }
    }
}

/// Consecutive failed logins of one account.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Failures {
    count: u32,
    last_ms: u64,
}

/// Why a login did not succeed. The page says the same for an unknown
/// account and a wrong password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("wrong username or password")]
    Wrong,
    #[error("too many failed attempts: try again in {0} s")]
    Throttled(u64),
    #[error("{0}")]
    Unavailable(String),
}

/// Usernames: 1-64 of `[a-z0-9._@-]`, case-folded; they are path segments.
pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-".contains(&b))
        && !name.starts_with('.')
}

fn path(tenant: &TenantId, username: &str) -> String {
    format!("oauth/{tenant}/users/{username}")
}

fn failures_path(tenant: &TenantId, username: &str) -> String {
    format!("oauth/{tenant}/login-failures/{username}")
}

/// Hashes `password` off the serving thread ([`offloaded`]).
async fn hash_password(backends: Backends<'_>, password: &str) -> Result<String, OAuthError> {
    let mut salt = [0u8; 16];
    backends.random.fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|_| OAuthError::unavailable("salt"))?;
    let password = zeroize::Zeroizing::new(password.to_owned());
    let hashed = offloaded(backends.clock, move || {
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string())
    });
    match hashed.await {
        Some(Ok(hash)) => Ok(hash),
        Some(Err(_)) => Err(OAuthError::unavailable("hashing the password failed")),
        None => Err(OAuthError::unavailable("too many passwords are being checked now; retry shortly")),
    }
}

fn check_password(password: &str) -> Result<(), OAuthError> {
    if PASSWORD_CHARS.contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(format!(
            "a password has {} to {} characters",
            PASSWORD_CHARS.start(),
            PASSWORD_CHARS.end()
        )))
    }
}

pub async fn get(backends: Backends<'_>, tenant: &TenantId, username: &str) -> Result<Option<Account>, OAuthError> {
    if !valid_username(username) {
        return Ok(None);
    }
    match backends.kv.get(&path(tenant, username)).await.map_err(OAuthError::storage)? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| OAuthError::unavailable("an account record is corrupt")),
        None => Ok(None),
    }
}

async fn put(backends: Backends<'_>, tenant: &TenantId, account: &Account) -> Result<(), OAuthError> {
    let bytes = serde_json::to_vec(account).map_err(OAuthError::storage)?;
    backends.kv.set(&path(tenant, &account.username), bytes, None).await.map_err(OAuthError::storage)
}

/// Creates an account; refused when the name is taken.
pub async fn create(
    backends: Backends<'_>,
    tenant: &TenantId,
    username: &str,
    password: &str,
    role: Role,
) -> Result<AccountView, OAuthError> {
    if !valid_username(username) {
        return Err(OAuthError::invalid_request("a username is 1-64 of a-z, 0-9, `.`, `_`, `@` and `-`"));
    }
    check_password(password)?;
    if get(backends, tenant, username).await?.is_some() {
        return Err(OAuthError::new(409, "conflict", format!("user `{username}` exists")));
    }
    let account = Account {
        v: 1,
        username: username.to_owned(),
        role,
        created_ms: backends.clock.now_ms(),
        password: hash_password(backends, password).await?,
    };
    put(backends, tenant, &account).await?;
    Ok(account.view())
}

/// Creates an account for someone the tenant's upstream provider vouches
/// for: it has no password, so it signs in only through the provider.
/// Refused when the name is taken.
pub async fn create_external(
    backends: Backends<'_>,
    tenant: &TenantId,
    username: &str,
    role: Role,
) -> Result<Account, OAuthError> {
    if !valid_username(username) {
        return Err(OAuthError::invalid_request("a username is 1-64 of a-z, 0-9, `.`, `_`, `@` and `-`"));
    }
    if get(backends, tenant, username).await?.is_some() {
        return Err(OAuthError::new(409, "conflict", format!("user `{username}` exists")));
    }
    let account = Account {
        v: 1,
        username: username.to_owned(),
        role,
        created_ms: backends.clock.now_ms(),
        password: String::new(),
    };
    put(backends, tenant, &account).await?;
    Ok(account)
}

/// Changes an account's password and/or role.
pub async fn update(
    backends: Backends<'_>,
    tenant: &TenantId,
    username: &str,
    password: Option<&str>,
    role: Option<Role>,
) -> Result<AccountView, OAuthError> {
    let mut account =
        get(backends, tenant, username).await?.ok_or_else(|| OAuthError::new(404, "not_found", "no such user"))?;
    if let Some(password) = password {
        check_password(password)?;
        account.password = hash_password(backends, password).await?;
    }
    if let Some(role) = role {
        account.role = role;
    }
    put(backends, tenant, &account).await?;
    Ok(account.view())
}

pub async fn delete(backends: Backends<'_>, tenant: &TenantId, username: &str) -> Result<bool, OAuthError> {
    if get(backends, tenant, username).await?.is_none() {
        return Ok(false);
    }
    backends.kv.delete(&path(tenant, username)).await.map_err(OAuthError::storage)?;
    let _ = backends.kv.delete(&failures_path(tenant, username)).await;
    Ok(true)
}

/// Every account of `tenant`, by name.
pub async fn list(backends: Backends<'_>, tenant: &TenantId) -> Result<Vec<AccountView>, OAuthError> {
    let prefix = format!("oauth/{tenant}/users/");
    let mut views = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = backends.kv.list(&prefix, cursor.as_deref(), 1000).await.map_err(OAuthError::storage)?;
        for key in &page.keys {
            if let Some(account) = get(backends, tenant, &key[prefix.len()..]).await? {
                views.push(account.view());
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(views),
        }
    }
}

/// How long `failures` lock the account from `now_ms`; 0 when free.
fn locked_for_ms(failures: &Failures, now_ms: u64) -> u64 {
    if failures.count < FREE_FAILURES {
        return 0;
    }
    let lock = FIRST_LOCK_MS.saturating_mul(1 << (failures.count - FREE_FAILURES).min(16)).min(MAX_LOCK_MS);
    (failures.last_ms + lock).saturating_sub(now_ms)
}

/// Checks a login. An unknown account costs the same hashing as a wrong
/// password, so timing does not tell which names exist.
pub async fn login(
    backends: Backends<'_>,
    tenant: &TenantId,
    username: &str,
    password: &str,
) -> Result<Account, LoginError> {
    let unavailable = |e: OAuthError| LoginError::Unavailable(e.description);
    let username = username.trim().to_ascii_lowercase();
    let now = backends.clock.now_ms();
    let failures_key = failures_path(tenant, &username);
    let failures: Failures = match backends.kv.get(&failures_key).await {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Ok(None) => Failures::default(),
        Err(e) => return Err(LoginError::Unavailable(e.to_string())),
    };
    let wait = locked_for_ms(&failures, now);
    if wait > 0 {
        return Err(LoginError::Throttled(wait.div_ceil(1000)));
    }
    let account = get(backends, tenant, &username).await.map_err(unavailable)?;
    // Checked off the serving thread, with the host's bound on how many at
    // once (about 40 ms of CPU each).
    let stored = account.as_ref().map_or(DUMMY_HASH, |a| a.password.as_str()).to_owned();
    let password = zeroize::Zeroizing::new(password.to_owned());
    let verified = offloaded(backends.clock, move || {
        PasswordHash::new(&stored)
            .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
    });
    let Some(verified) = verified.await else {
        return Err(LoginError::Unavailable("too many sign-ins are being checked now; retry shortly".into()));
    };
    match account {
        Some(account) if verified => {
            if failures.count > 0 {
                let _ = backends.kv.delete(&failures_key).await;
            }
            Ok(account)
        }
        _ => {
            if valid_username(&username) {
                let failures = Failures { count: failures.count.saturating_add(1), last_ms: now };
                let bytes = serde_json::to_vec(&failures).unwrap_or_default();
                let _ = backends.kv.set(&failures_key, bytes, Some(24 * 3600)).await;
            }
            Err(LoginError::Wrong)
        }
    }
}

/// An argon2id hash (default parameters) of a random password nobody
/// knows: verified against when the account does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c21jcGR1bW15c2FsdA$yWQ6+j6nOjfSlVQ6BNVJ0kGZKHoJd0k1BVU6kfxBgNs";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_doubles_and_is_capped() {
        let at = |count| locked_for_ms(&Failures { count, last_ms: 1_000_000 }, 1_000_000);
        assert_eq!(at(4), 0);
        assert_eq!(at(5), 30_000);
        assert_eq!(at(6), 60_000);
        assert_eq!(at(30), MAX_LOCK_MS);
        assert_eq!(locked_for_ms(&Failures { count: 5, last_ms: 0 }, 40_000), 0);
    }

    #[test]
    fn the_dummy_hash_parses_with_default_parameters() {
        let hash = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        assert!(Argon2::default().verify_password(b"guess", &hash).is_err());
    }

    #[test]
    fn usernames() {
        assert!(valid_username("alice"));
        assert!(valid_username("alice.smith@example.com"));
        assert!(!valid_username("Alice"));
        assert!(!valid_username("a/b"));
        assert!(!valid_username(".."));
        assert!(!valid_username(""));
    }
}
