//! Transparency-log entries (Rekor v1): the signed entry timestamp that
//! dates a signature, the inclusion proof and the signed checkpoint it
//! leads to, and what the logged body says was signed.

use super::hex;
use super::keys::sha256;
use super::trusted_root::{Log, TrustedRoot};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

/// The longest inclusion proof read (a log of 2^64 entries needs 64).
const MAX_PROOF_HASHES: usize = 64;

// Protobuf's JSON form leaves out zeros and empty lists: the first entry
// of a log has no `logIndex`, a proof in a tree of one no `hashes`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Entry {
    #[serde(default)]
    log_index: String,
    log_id: LogId,
    kind_version: KindVersion,
    integrated_time: String,
    inclusion_promise: Option<Promise>,
    inclusion_proof: Option<Proof>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogId {
    key_id: String,
}

#[derive(Deserialize)]
struct KindVersion {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Promise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Proof {
    #[serde(default)]
    log_index: String,
    root_hash: String,
    tree_size: String,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Checkpoint,
}

#[derive(Deserialize)]
struct Checkpoint {
    envelope: String,
}

/// What a logged entry says was signed, to be matched with the bundle.
pub(super) enum Logged {
    /// A `hashedrekord`: the artifact's SHA-256, the signature, and the
    /// signing certificate (PEM).
    Message { sha256: String, signature: Vec<u8>, certificate_pem: String },
    /// A `dsse` entry: the payload's SHA-256, and each signature with the
    /// certificate (PEM) it verifies under.
    Envelope { payload_sha256: String, signatures: Vec<(Vec<u8>, String)> },
}

fn number(what: &str, text: &str) -> Result<i64, String> {
    let text = if text.is_empty() { "0" } else { text };
    text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| format!("{what} `{text}` is not a number"))
}

fn base64(what: &str, text: &str) -> Result<Vec<u8>, String> {
    B64.decode(text.trim()).map_err(|_| format!("{what} is not base64"))
}

impl Entry {
    /// Verifies the entry against the root's logs and returns when it was
    /// recorded (seconds) and what it records. The signed entry timestamp
    /// is required: it is what makes the time a log's word.
    pub(super) fn verify(&self, root: &TrustedRoot) -> Result<(i64, Logged), String> {
        let integrated = number("integratedTime", &self.integrated_time)?;
        let index = number("logIndex", &self.log_index)?;
        let log_id = base64("the log id", &self.log_id.key_id)?;
        let body = base64("the canonicalized body", &self.canonicalized_body)?;
        let log = root
            .tlog(&log_id, integrated)
            .ok_or("the entry is in no transparency log of the trusted root (in force at its time)")?;
        let promise = self
            .inclusion_promise
            .as_ref()
            .ok_or("the entry has no signed entry timestamp (inclusionPromise); this host dates signatures by it")?;
        let set = base64("the signed entry timestamp", &promise.signed_entry_timestamp)?;
        // RFC 8785 canonical JSON of the four fields: keys in order, and
        // nothing in the values that needs escaping but the base64 body.
        let signed = format!(
            r#"{{"body":"{}","integratedTime":{integrated},"logID":"{}","logIndex":{index}}}"#,
            B64.encode(&body),
            hex(&log_id)
        );
        if !log.key.verifies(None, signed.as_bytes(), &set) {
            return Err("the signed entry timestamp does not verify under the log's key".into());
        }
        if let Some(proof) = &self.inclusion_proof {
            proof.verify(log, &body)?;
        }
        Ok((integrated, self.logged(&body)?))
    }

    fn logged(&self, body: &[u8]) -> Result<Logged, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            kind: String,
            api_version: String,
            spec: serde_json::Value,
        }
        let body: Body = serde_json::from_slice(body).map_err(|e| format!("the logged body: {e}"))?;
        if body.kind != self.kind_version.kind || body.api_version != self.kind_version.version {
            return Err("the logged body's kind is not the entry's".into());
        }
        let text = |v: &serde_json::Value, path: &str| -> Result<String, String> {
            v.pointer(path)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| format!("the logged body has no {path}"))
        };
        let sha256 = |v: &serde_json::Value, path: &str| -> Result<String, String> {
            if text(v, &format!("{path}/algorithm"))? != "sha256" {
                return Err(format!("the logged {path} is not SHA-256"));
            }
            text(v, &format!("{path}/value")).map(|h| h.to_ascii_lowercase())
        };
        let pem = |b64: String| -> Result<String, String> {
            String::from_utf8(base64("a logged certificate", &b64)?)
                .map_err(|_| "a logged certificate is not PEM".into())
        };
        match (body.kind.as_str(), body.api_version.as_str()) {
            ("hashedrekord", "0.0.1") => Ok(Logged::Message {
                sha256: sha256(&body.spec, "/data/hash")?,
                signature: base64("the logged signature", &text(&body.spec, "/signature/content")?)?,
                certificate_pem: pem(text(&body.spec, "/signature/publicKey/content")?)?,
            }),
            ("dsse", "0.0.1") => {
                let signatures = body
                    .spec
                    .get("signatures")
                    .and_then(|s| s.as_array())
                    .ok_or("the logged body has no signatures")?
                    .iter()
                    .take(8)
                    .map(|s| Ok((base64("a logged signature", &text(s, "/signature")?)?, pem(text(s, "/verifier")?)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                Ok(Logged::Envelope { payload_sha256: sha256(&body.spec, "/payloadHash")?, signatures })
            }
            (kind, version) => Err(format!("a `{kind}` {version} entry (this host reads hashedrekord and dsse 0.0.1)")),
        }
    }
}

impl Proof {
    /// RFC 6962 inclusion of `body` in the tree the checkpoint, signed by
    /// `log`, commits to.
    fn verify(&self, log: &Log, body: &[u8]) -> Result<(), String> {
        let index = number("the proof's logIndex", &self.log_index)? as u64;
        let size = number("the proof's treeSize", &self.tree_size)? as u64;
        let root = base64("the proof's root hash", &self.root_hash)?;
        if self.hashes.len() > MAX_PROOF_HASHES {
            return Err("an inclusion proof longer than any log's".into());
        }
        let hashes = self.hashes.iter().map(|h| base64("a proof hash", h)).collect::<Result<Vec<_>, _>>()?;
        let (note_size, note_root) = checkpoint(&self.checkpoint.envelope, log)?;
        if note_size != size || note_root != root {
            return Err("the inclusion proof is not of the tree its checkpoint signs".into());
        }
        let mut leaf = vec![0u8];
        leaf.extend_from_slice(body);
        if root_from_proof(index, size, sha256(&leaf), &hashes)? != root.as_slice() {
            return Err("the inclusion proof does not lead to the checkpoint's root".into());
        }
        Ok(())
    }
}

fn node(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(65);
    bytes.push(1);
    bytes.extend_from_slice(left);
    bytes.extend_from_slice(right);
    sha256(&bytes)
}

/// The root an RFC 6962 / RFC 9162 inclusion proof leads to.
fn root_from_proof(index: u64, size: u64, leaf: [u8; 32], hashes: &[Vec<u8>]) -> Result<[u8; 32], String> {
    if index >= size {
        return Err(format!("the entry's index {index} is outside a tree of {size}"));
    }
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = (index >> inner).count_ones() as usize;
    if hashes.len() != inner + border {
        return Err("an inclusion proof with the wrong number of hashes".into());
    }
    let mut hash = leaf;
    for (i, sibling) in hashes[..inner].iter().enumerate() {
        hash = if (index >> i) & 1 == 1 { node(sibling, &hash) } else { node(&hash, sibling) };
    }
    for sibling in &hashes[inner..] {
        hash = node(sibling, &hash);
    }
    Ok(hash)
}

/// A checkpoint (a signed note: origin, tree size, root hash, then a blank
/// line and signature lines `— <name> <base64(key hint ‖ signature)>`),
/// verified under `log`: its size and root.
fn checkpoint(envelope: &str, log: &Log) -> Result<(u64, Vec<u8>), String> {
    let split = envelope.find("\n\n").ok_or("a checkpoint without signatures")?;
    let (note, signatures) = (&envelope[..split + 1], &envelope[split + 2..]);
    let signed = signatures.lines().filter_map(|line| line.strip_prefix("\u{2014} ")).any(|line| {
        let Some((_, encoded)) = line.rsplit_once(' ') else { return false };
        let Ok(bytes) = B64.decode(encoded) else { return false };
        bytes.len() > 4
            && log.key_id.get(..4) == Some(&bytes[..4])
            && log.key.verifies(None, note.as_bytes(), &bytes[4..])
    });
    if !signed {
        return Err("the checkpoint is not signed by the log".into());
    }
    let mut lines = note.lines().skip(1);
    let size = lines.next().and_then(|l| l.parse::<u64>().ok()).ok_or("a checkpoint without a tree size")?;
    let root = lines.next().and_then(|l| B64.decode(l).ok()).ok_or("a checkpoint without a root hash")?;
    Ok((size, root))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u8) -> [u8; 32] {
        sha256(&[0, n])
    }

    /// A tree's root by RFC 6962's definition, and the inclusion proof of
    /// `index`, computed the slow way, to check the fast verifier against.
    fn tree(leaves: &[[u8; 32]]) -> [u8; 32] {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let k = leaves.len().next_power_of_two() / 2;
        node(&tree(&leaves[..k]), &tree(&leaves[k..]))
    }

    fn proof(leaves: &[[u8; 32]], index: usize) -> Vec<Vec<u8>> {
        if leaves.len() == 1 {
            return vec![];
        }
        let k = leaves.len().next_power_of_two() / 2;
        if index < k {
            let mut p = proof(&leaves[..k], index);
            p.push(tree(&leaves[k..]).to_vec());
            p
        } else {
            let mut p = proof(&leaves[k..], index - k);
            p.push(tree(&leaves[..k]).to_vec());
            p
        }
    }

    #[test]
    fn inclusion_proofs_lead_to_the_root_for_every_index_and_size() {
        for size in 1..=17u8 {
            let leaves: Vec<_> = (0..size).map(leaf).collect();
            let root = tree(&leaves);
            for index in 0..size as usize {
                let p = proof(&leaves, index);
                assert_eq!(root_from_proof(index as u64, size as u64, leaves[index], &p).unwrap(), root);
                if !p.is_empty() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert_ne!(root_from_proof(index as u64, size as u64, leaves[index], &bad).unwrap(), root);
                }
            }
        }
        assert!(root_from_proof(3, 3, leaf(0), &[]).is_err());
        assert!(root_from_proof(0, 2, leaf(0), &[]).is_err());
    }
}
