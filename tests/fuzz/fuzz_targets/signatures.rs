//! Signatures as uploads carry them: signature files and Sigstore bundles,
//! signed with a key or keyless, checked against a tenant's key and
//! identity signers and a trusted root (fixtures/trusted_root.json, whose
//! Sigstore instance made the keyless seeds). Nothing may panic, and what
//! verifies names a listed signer; the same bytes as a trusted root must
//! parse or be refused, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smcp_core::signing::sigstore::TrustedRoot;
use smcp_core::signing::{Signer, SignerIdentity, verify};
use std::sync::LazyLock;

static ROOT: LazyLock<TrustedRoot> =
    LazyLock::new(|| TrustedRoot::parse(include_bytes!("../fixtures/trusted_root.json")).expect("the fixture parses"));

static SIGNERS: LazyLock<Vec<Signer>> = LazyLock::new(|| {
    vec![
        Signer {
            name: "release-workflow".into(),
            public_key: String::new(),
            identity: Some(SignerIdentity {
                subject: "https://github.com/acme/x/.github/workflows/release.yml@refs/heads/main".into(),
                issuer: "https://token.actions.githubusercontent.com".into(),
            }),
            expires_ms: None,
            revoked_ms: None,
        },
        Signer {
            name: "release-key".into(),
            public_key: "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=".into(),
            identity: None,
            expires_ms: None,
            revoked_ms: None,
        },
    ]
});

fuzz_target!(|data: &[u8]| {
    // The statement the keyless seeds sign: a component of 64 zeros, no grant.
    let digest = "0".repeat(64);
    if let Ok(Some(by)) = verify(&SIGNERS, Some(data), &digest, b"", 1_800_000_000_000, Some(&ROOT)) {
        assert!(SIGNERS.iter().any(|s| s.name == by.signer), "verified as {by:?}, who is not listed");
    }
    let _ = TrustedRoot::parse(data);
});
