//! A Sigstore instance of the test's own on loopback: a Fulcio that issues
//! short-lived signing certificates (with embedded SCTs by its CT log) to
//! whoever the identity token names, and a Rekor that logs entries with a
//! signed entry timestamp, an inclusion proof and a signed checkpoint. The
//! real signing client (sigstore-js's `FulcioSigner` and `RekorWitness`, in
//! tests/clients/sigstore.mjs) talks to it over HTTP, and its trusted root
//! is what the host under test is configured with. Options make it
//! misbehave the ways an attacker's or a broken instance would.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{Value, json};
use sha2::Digest as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::der::asn1::{BitString, Ia5String, OctetString, UtcTime, Utf8StringRef};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// How the instance misbehaves (all `false`: it behaves).
#[derive(Debug, Clone, Copy, Default)]
pub struct Quirks {
    /// Certificates that had expired an hour before they were issued.
    pub expired_certificates: bool,
    /// Certificates without SCTs.
    pub no_scts: bool,
}

struct Log {
    entries: Vec<[u8; 32]>,
}

/// A running instance; it serves until the test ends.
pub struct Sigstore {
    pub url: String,
    root_cert: Certificate,
    intermediate_cert: Certificate,
    intermediate_key: p384::ecdsa::SigningKey,
    log_key: p256::ecdsa::SigningKey,
    ct_key: p256::ecdsa::SigningKey,
    log: Mutex<Log>,
    pub quirks: Mutex<Quirks>,
}

fn seed(label: &str, instance: &str) -> [u8; 32] {
    sha2::Sha256::digest(format!("{instance}/{label}").as_bytes()).into()
}

fn spki(der: &[u8]) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_der(der).unwrap()
}

fn now() -> SystemTime {
    SystemTime::now()
}

fn validity(from: SystemTime, to: SystemTime) -> Validity {
    let utc =
        |t: SystemTime| Time::UtcTime(UtcTime::from_unix_duration(t.duration_since(UNIX_EPOCH).unwrap()).unwrap());
    Validity { not_before: utc(from), not_after: utc(to) }
}

fn extension(oid: &str, critical: bool, value: impl x509_cert::der::Encode) -> Extension {
    Extension {
        extn_id: ObjectIdentifier::new_unwrap(oid),
        critical,
        extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

/// A certificate over `tbs`, signed by a P-384 key (ECDSA with SHA-384).
fn signed(tbs: TbsCertificate, key: &p384::ecdsa::SigningKey) -> Certificate {
    let signature: p384::ecdsa::Signature = key.sign(&tbs.to_der().unwrap());
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: AlgorithmIdentifierOwned { oid: ECDSA_SHA384, parameters: None },
        signature: BitString::from_bytes(signature.to_der().as_bytes()).unwrap(),
    }
}

fn tbs(
    serial: u8,
    issuer: &Name,
    subject: Name,
    key: SubjectPublicKeyInfoOwned,
    valid: Validity,
    extensions: Vec<Extension>,
) -> TbsCertificate {
    TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&[serial, 0x5e, 0x11]).unwrap(),
        signature: AlgorithmIdentifierOwned { oid: ECDSA_SHA384, parameters: None },
        issuer: issuer.clone(),
        validity: valid,
        subject,
        subject_public_key_info: key,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    }
}

fn authority_extensions() -> Vec<Extension> {
    vec![
        extension("2.5.29.15", true, KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)),
        extension("2.5.29.19", true, BasicConstraints { ca: true, path_len_constraint: None }),
    ]
}

fn pem(cert: &Certificate) -> String {
    let body = B64.encode(cert.to_der().unwrap());
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

fn pem_der(pem: &str) -> Vec<u8> {
    B64.decode(pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>()).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

fn node(left: &[u8], right: &[u8]) -> [u8; 32] {
    sha256(&[&[1u8][..], left, right].concat())
}

/// RFC 6962's tree hash of `leaves`.
fn tree(leaves: &[[u8; 32]]) -> [u8; 32] {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let k = leaves.len().next_power_of_two() / 2;
    node(&tree(&leaves[..k]), &tree(&leaves[k..]))
}

/// RFC 6962's inclusion proof of `index` in `leaves`.
fn proof(leaves: &[[u8; 32]], index: usize) -> Vec<[u8; 32]> {
    if leaves.len() == 1 {
        return vec![];
    }
    let k = leaves.len().next_power_of_two() / 2;
    let (mut path, sibling) = if index < k {
        (proof(&leaves[..k], index), tree(&leaves[k..]))
    } else {
        (proof(&leaves[k..], index - k), tree(&leaves[..k]))
    };
    path.push(sibling);
    path
}

impl Sigstore {
    /// Starts an instance; `name` makes its keys (two names, two unrelated
    /// instances).
    pub fn start(name: &str) -> Arc<Sigstore> {
        let p384_key = |label: &str| {
            let bytes = [seed(label, name), seed(&format!("{label}+"), name)].concat();
            p384::ecdsa::SigningKey::from_slice(&bytes[..48]).unwrap()
        };
        let (root_key, intermediate_key) = (p384_key("root"), p384_key("intermediate"));
        let log_key = p256::ecdsa::SigningKey::from_slice(&seed("rekor", name)).unwrap();
        let ct_key = p256::ecdsa::SigningKey::from_slice(&seed("ctlog", name)).unwrap();
        let key_spki = |der: p256::pkcs8::Document| spki(der.as_bytes());
        let long = validity(now() - Duration::from_secs(86_400), now() + Duration::from_secs(365 * 86_400));
        let root_name = Name::from_str(&format!("CN={name} root,O=smcp-test")).unwrap();
        let root_cert = signed(
            tbs(
                1,
                &root_name,
                root_name.clone(),
                key_spki(root_key.verifying_key().to_public_key_der().unwrap()),
                long,
                authority_extensions(),
            ),
            &root_key,
        );
        let intermediate_name = Name::from_str(&format!("CN={name} intermediate,O=smcp-test")).unwrap();
        let intermediate_cert = signed(
            tbs(
                2,
                &root_name,
                intermediate_name,
                key_spki(intermediate_key.verifying_key().to_public_key_der().unwrap()),
                long,
                authority_extensions(),
            ),
            &root_key,
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sigstore = Arc::new(Sigstore {
            url,
            root_cert,
            intermediate_cert,
            intermediate_key,
            log_key,
            ct_key,
            log: Mutex::new(Log { entries: Vec::new() }),
            quirks: Mutex::new(Quirks::default()),
        });
        let served = sigstore.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let served = served.clone();
                std::thread::spawn(move || served.answer(stream));
            }
        });
        sigstore
    }

    /// Its trusted root, as `trusted_root.json` says it.
    pub fn trusted_root(&self) -> Value {
        let log = |key: &p256::ecdsa::SigningKey| {
            let der = key.verifying_key().to_public_key_der().unwrap();
            json!({
                "baseUrl": self.url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(der.as_bytes()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": { "start": "2020-01-01T00:00:00Z" }
                },
                "logId": { "keyId": B64.encode(sha256(der.as_bytes())) }
            })
        };
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&self.log_key)],
            "certificateAuthorities": [{
                "subject": { "organization": "smcp-test", "commonName": "smcp-test" },
                "uri": self.url,
                "certChain": { "certificates": [
                    { "rawBytes": B64.encode(self.intermediate_cert.to_der().unwrap()) },
                    { "rawBytes": B64.encode(self.root_cert.to_der().unwrap()) }
                ] },
                "validFor": { "start": "2020-01-01T00:00:00Z" }
            }],
            "ctlogs": [log(&self.ct_key)],
            "timestampAuthorities": []
        })
    }

    /// An identity token (unsigned: this Fulcio believes it) for `subject`
    /// from `issuer`.
    pub fn token(subject: &str, issuer: &str) -> String {
        let part = |v: Value| B64URL.encode(serde_json::to_vec(&v).unwrap());
        let exp = now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 600;
        format!(
            "{}.{}.c2ln",
            part(json!({"alg": "none"})),
            part(json!({"iss": issuer, "sub": subject, "aud": "sigstore", "exp": exp}))
        )
    }

    fn answer(&self, stream: std::net::TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let path = request_line.split(' ').nth(1).unwrap_or_default();
        let (status, answer) = match path {
            "/api/v2/signingCert" => (200, self.certificate(&request)),
            "/api/v1/log/entries" => (201, self.append(&request)),
            _ => (404, json!({})),
        };
        let answer = serde_json::to_vec(&answer).unwrap();
        let mut stream = stream;
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            answer.len()
        );
        let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&answer));
    }

    /// Fulcio: a certificate for the posted key, naming the token's subject
    /// and issuer.
    fn certificate(&self, request: &Value) -> Value {
        let quirks = *self.quirks.lock().unwrap();
        let token = request["credentials"]["oidcIdentityToken"].as_str().unwrap();
        let claims: Value = serde_json::from_slice(&B64URL.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
        let (subject, issuer) = (claims["sub"].as_str().unwrap(), claims["iss"].as_str().unwrap());
        let key = spki(&pem_der(request["publicKeyRequest"]["publicKey"]["content"].as_str().unwrap()));
        let valid = if quirks.expired_certificates {
            validity(now() - Duration::from_secs(3600), now() - Duration::from_secs(3000))
        } else {
            validity(now() - Duration::from_secs(60), now() + Duration::from_secs(600))
        };
        let name = if subject.contains('@') && !subject.contains(':') {
            GeneralName::Rfc822Name(Ia5String::new(subject).unwrap())
        } else {
            GeneralName::UniformResourceIdentifier(Ia5String::new(subject).unwrap())
        };
        let extensions = vec![
            extension("2.5.29.15", true, KeyUsage(KeyUsages::DigitalSignature.into())),
            extension("2.5.29.37", false, ExtendedKeyUsage(vec![ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3")])),
            extension("2.5.29.17", true, SubjectAltName(vec![name])),
            extension("1.3.6.1.4.1.57264.1.8", false, Utf8StringRef::new(issuer).unwrap()),
        ];
        let issuer_name = self.intermediate_cert.tbs_certificate.subject.clone();
        let mut leaf = tbs(3, &issuer_name, Name::default(), key, valid, extensions);
        if !quirks.no_scts {
            let sct = self.sct(&leaf);
            leaf.extensions.as_mut().unwrap().push(extension(
                "1.3.6.1.4.1.11129.2.4.2",
                false,
                OctetString::new(sct).unwrap(),
            ));
        }
        let leaf = signed(leaf, &self.intermediate_key);
        json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": [
            pem(&leaf), pem(&self.intermediate_cert), pem(&self.root_cert)
        ] } } })
    }

    /// The CT log: an SCT list (one SCT) over the precertificate `tbs`.
    fn sct(&self, tbs: &TbsCertificate) -> Vec<u8> {
        let timestamp = now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let tbs = tbs.to_der().unwrap();
        let issuer_key = self.intermediate_cert.tbs_certificate.subject_public_key_info.to_der().unwrap();
        let mut signed = vec![0u8, 0];
        signed.extend_from_slice(&timestamp.to_be_bytes());
        signed.extend_from_slice(&[0, 1]);
        signed.extend_from_slice(&sha256(&issuer_key));
        signed.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(&tbs);
        signed.extend_from_slice(&[0, 0]);
        let signature: p256::ecdsa::Signature = self.ct_key.sign(&signed);
        let signature = signature.to_der();
        let log_id = sha256(self.ct_key.verifying_key().to_public_key_der().unwrap().as_bytes());
        let mut sct = vec![0u8];
        sct.extend_from_slice(&log_id);
        sct.extend_from_slice(&timestamp.to_be_bytes());
        sct.extend_from_slice(&[0, 0, 4, 3]);
        sct.extend_from_slice(&(signature.as_bytes().len() as u16).to_be_bytes());
        sct.extend_from_slice(signature.as_bytes());
        let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
        list.extend_from_slice(&sct);
        list
    }

    /// Rekor: logs the proposed entry and answers with its SET, inclusion
    /// proof and checkpoint.
    fn append(&self, proposed: &Value) -> Value {
        let body = if proposed["kind"] == "dsse" {
            let content = &proposed["spec"]["proposedContent"];
            let envelope_text = content["envelope"].as_str().unwrap();
            let envelope: Value = serde_json::from_str(envelope_text).unwrap();
            let payload = B64.decode(envelope["payload"].as_str().unwrap()).unwrap();
            let verifier = content["verifiers"][0].clone();
            let signatures: Vec<Value> = envelope["signatures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| json!({ "signature": s["sig"], "verifier": verifier }))
                .collect();
            json!({ "apiVersion": "0.0.1", "kind": "dsse", "spec": {
                "envelopeHash": { "algorithm": "sha256", "value": hex(&sha256(envelope_text.as_bytes())) },
                "payloadHash": { "algorithm": "sha256", "value": hex(&sha256(&payload)) },
                "signatures": signatures,
            } })
        } else {
            proposed.clone()
        };
        let body = serde_json::to_vec(&body).unwrap();
        let mut log = self.log.lock().unwrap();
        log.entries.push(sha256(&[&[0u8][..], &body].concat()));
        let (index, size) = (log.entries.len() - 1, log.entries.len());
        let root = tree(&log.entries);
        let hashes: Vec<String> = proof(&log.entries, index).iter().map(|h| hex(h)).collect();
        drop(log);
        let integrated = now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let log_id = sha256(self.log_key.verifying_key().to_public_key_der().unwrap().as_bytes());
        let promise = format!(
            r#"{{"body":"{}","integratedTime":{integrated},"logID":"{}","logIndex":{index}}}"#,
            B64.encode(&body),
            hex(&log_id)
        );
        let set: p256::ecdsa::Signature = self.log_key.sign(promise.as_bytes());
        let origin = self.url.trim_start_matches("http://");
        let note = format!("{origin} - 1\n{size}\n{}\n", B64.encode(root));
        let note_signature: p256::ecdsa::Signature = self.log_key.sign(note.as_bytes());
        let hint_and_signature = [&log_id[..4], note_signature.to_der().as_bytes()].concat();
        let checkpoint = format!("{note}\n\u{2014} {origin} {}\n", B64.encode(hint_and_signature));
        json!({ hex(&sha256(&body)): {
            "body": B64.encode(&body),
            "integratedTime": integrated,
            "logID": hex(&log_id),
            "logIndex": index,
            "verification": {
                "signedEntryTimestamp": B64.encode(set.to_der().as_bytes()),
                "inclusionProof": {
                    "checkpoint": checkpoint,
                    "hashes": hashes,
                    "logIndex": index,
                    "rootHash": hex(&root),
                    "treeSize": size,
                },
            },
        } })
    }
}
