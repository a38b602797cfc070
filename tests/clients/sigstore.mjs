// Sigstore bundles made and checked by sigstore-js (the Sigstore project's
// own JavaScript libraries):
//   node sigstore.mjs keygen <private.pem>        writes a P-256 PKCS#8 key, prints its public PEM
//   node sigstore.mjs sign <message|dsse> <artifact> <private.pem> <bundle.json>
//   node sigstore.mjs keyless <message|dsse> <artifact> <sigstore-url> <trusted_root.json> <token> <bundle.json>
// `sign` builds the bundle with @sigstore/sign's builders offline (no
// Fulcio, no Rekor: the key is the trust) and checks it with
// @sigstore/verify against the key's public half. `keyless` signs as
// `cosign sign-blob` and sigstore-js's `sign` do without a key: an
// ephemeral key, a Fulcio certificate for the identity token, a Rekor
// entry (Fulcio and Rekor both at <sigstore-url>), and checks the bundle
// with @sigstore/verify against the trusted root, SCTs included. Both
// write the bundle in its JSON form.
import { DSSEBundleBuilder, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import crypto from 'node:crypto';
import fs from 'node:fs';

const [command, ...args] = process.argv.slice(2);
if (command === 'keygen') {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(args[0], privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  process.stdout.write(publicKey.export({ type: 'spki', format: 'pem' }));
} else if (command === 'sign') {
  const [kind, artifactPath, keyPath, out] = args;
  const privateKey = crypto.createPrivateKey(fs.readFileSync(keyPath));
  const publicKey = crypto.createPublicKey(privateKey);
  // ECDSA signs a SHA-256 digest; Ed25519 the message itself.
  const hash = privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const signer = {
    sign: async (data) => ({
      signature: crypto.sign(hash, data, privateKey),
      key: { $case: 'publicKey', publicKey: publicKey.export({ type: 'spki', format: 'pem' }), hint: 'release' },
    }),
  };
  const Builder = { message: MessageSignatureBundleBuilder, dsse: DSSEBundleBuilder }[kind];
  if (!Builder) throw new Error(`kind is message or dsse, not ${kind}`);
  const data = fs.readFileSync(artifactPath);
  const bundle = await new Builder({ signer, witnesses: [] }).create({ data, type: 'text/plain' });
  const json = bundleToJSON(bundle);
  const noRoots = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [],
  };
  const trust = toTrustMaterial(noRoots, () => ({ publicKey, validFor: () => true }));
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, tsaThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundleFromJSON(json), kind === 'message' ? data : undefined));
  fs.writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
} else if (command === 'keyless') {
  const [kind, artifactPath, url, rootPath, token, out] = args;
  const signer = new FulcioSigner({ fulcioBaseURL: url, identityProvider: { getToken: async () => token } });
  const witness = new RekorWitness({ rekorBaseURL: url, entryType: kind === 'dsse' ? 'dsse' : undefined });
  const Builder = { message: MessageSignatureBundleBuilder, dsse: DSSEBundleBuilder }[kind];
  if (!Builder) throw new Error(`kind is message or dsse, not ${kind}`);
  const data = fs.readFileSync(artifactPath);
  const bundle = await new Builder({ signer, witnesses: [witness] }).create({ data, type: 'text/plain' });
  const json = bundleToJSON(bundle);
  const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(rootPath, 'utf8'))));
  const verifier = new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 1, tsaThreshold: 0, timestampThreshold: 1 });
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
  const policy = { subjectAlternativeName: claims.sub, extensions: { issuer: claims.iss } };
  // Written before the check, so that a test can also hand the host a
  // bundle @sigstore/verify refuses (exit status 3).
  fs.writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
  try {
    verifier.verify(toSignedEntity(bundleFromJSON(json), kind === 'message' ? data : undefined), policy);
  } catch (e) {
    process.stderr.write(`@sigstore/verify refuses it: ${e.code ?? ''} ${e.message}\n`);
    process.exit(3);
  }
} else {
  throw new Error('usage: node sigstore.mjs keygen <private.pem> | sign <message|dsse> <artifact> <private.pem> <bundle.json> | keyless <message|dsse> <artifact> <sigstore-url> <trusted_root.json> <token> <bundle.json>');
}
