// Sigstore bundles made and checked by sigstore-js (the Sigstore project's
// own JavaScript libraries), offline, with a key the signer holds:
//   node sigstore.mjs keygen <private.pem>        writes a P-256 PKCS#8 key, prints its public PEM
//   node sigstore.mjs sign <message|dsse> <artifact> <private.pem> <bundle.json>
// `sign` builds the bundle with @sigstore/sign's builders (no Fulcio, no
// Rekor: the key is the trust), checks it with @sigstore/verify against
// the key's public half, and writes it in the bundle's JSON form.
import { DSSEBundleBuilder, MessageSignatureBundleBuilder } from '@sigstore/sign';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
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
} else {
  throw new Error('usage: node sigstore.mjs keygen <private.pem> | sign <message|dsse> <artifact> <private.pem> <bundle.json>');
}
