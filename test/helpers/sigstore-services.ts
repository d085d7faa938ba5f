// Local stand-ins for the Sigstore services on loopback — Fulcio (certificates for an OIDC identity),
// Rekor (log entries with signed entry timestamps and inclusion proofs) and a timestamp authority —
// built from @sigstore/mock's handlers (real certificates, real signatures, ephemeral keys), with the
// trusted_root.json that names their keys. @sigstore/sign signs against them as against the public
// instances, so keyless signatures and bundles in the tests come from a real signer.

import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, initializeTSA, rekorHandler, rekorV2Handler, tsaHandler, type HandlerFn } from '@sigstore/mock';
import { HashAlgorithm, PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { FulcioSigner, RekorWitness, TSAWitness, type Witness } from '@sigstore/sign';

export interface SigstoreServices {
  readonly url: string;
  /** trusted_root.json naming these services' CA, log, CT log and TSA. */
  readonly trustedRootPath: string;
  /** A signer for `identity` (an OIDC issuer + subject) through these services. */
  signer(identity: { issuer: string; subject: string }): FulcioSigner;
  /** Rekor v1 (hashedrekord entries with a signed entry timestamp). */
  rekor(): Witness;
  /** Rekor v2 (DSSE entries with an inclusion proof and no signed time: a TSA timestamp proves the time). */
  rekorV2(): Witness;
  tsa(): Witness;
  close(): Promise<void>;
}

const keyPair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** An OIDC identity token as Fulcio reads it (the stand-in does not check the token's signature). */
function identityToken(issuer: string, subject: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ iss: issuer, sub: subject, aud: 'sigstore', exp: 4102444800 })}.c2ln`;
}

/** `caClock`: when Fulcio thinks it is (its certificates are valid for 10 minutes from then). */
export async function startSigstoreServices(dir: string, o: { caClock?: Date } = {}): Promise<SigstoreServices> {
  const routes = new Map<string, HandlerFn>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fn = req.method === 'POST' ? routes.get(req.url ?? '') : undefined;
      if (!fn) return void res.writeHead(404).end();
      fn(Buffer.concat(chunks).toString()).then(
        (r) => res.writeHead(r.statusCode, { 'content-type': r.contentType ?? 'application/json' }).end(typeof r.response === 'string' ? r.response : Buffer.from(r.response.buffer, r.response.byteOffset, r.response.byteLength)),
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // The timestamp authority stamps one fixed time: with its real clock, a time whose milliseconds end
  // in 0 is encoded ".5Z", which @sigstore/core does not read (only ".NNNZ"). That time lies a few
  // seconds ahead, after the TSA's own certificates (issued now, at the second) begin; Fulcio's clock
  // runs a few seconds behind, so its certificates (valid 10 minutes) cover both that time and the
  // Rekor entries made during a test.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const stamped = new Date(now + 5_000 + 123);
  const ctlog = await initializeCTLog(keyPair());
  const ca = await initializeCA(keyPair(), ctlog, o.caClock ?? new Date(now - 5_000));
  const tlog = await initializeTLog(url, keyPair());
  const tsa = await initializeTSA(keyPair(), stamped);
  for (const h of [fulcioHandler(ca), rekorHandler(tlog), rekorV2Handler(tlog), tsaHandler(tsa)]) routes.set(h.path, h.fn);

  const since = { start: new Date('2020-01-01T00:00:00Z'), end: undefined };
  const key = (raw: Buffer) => ({ rawBytes: raw, keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: since });
  const root = TrustedRoot.toJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: url, hashAlgorithm: HashAlgorithm.SHA2_256, publicKey: key(tlog.publicKey), logId: { keyId: createHash('sha256').update(tlog.publicKey).digest() }, checkpointKeyId: undefined, operator: '' }],
    ctlogs: [{ baseUrl: url, hashAlgorithm: HashAlgorithm.SHA2_256, publicKey: key(ctlog.publicKey), logId: { keyId: Buffer.from(ctlog.logID.buffer) }, checkpointKeyId: undefined, operator: '' }],
    certificateAuthorities: [{ subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, uri: url, certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate.buffer) }] }, validFor: since, operator: '' }],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: url,
        certChain: { certificates: [{ rawBytes: Buffer.from(tsa.intCertificate.buffer) }, { rawBytes: Buffer.from(tsa.rootCertificate.buffer) }] },
        validFor: since,
        operator: '',
      },
    ],
  } as unknown as TrustedRoot);
  const trustedRootPath = join(dir, `trusted_root-${Date.now()}-${Math.random().toString(16).slice(2, 8)}.json`);
  writeFileSync(trustedRootPath, JSON.stringify(root, null, 2));
  return {
    url,
    trustedRootPath,
    signer: ({ issuer, subject }) => new FulcioSigner({ fulcioBaseURL: url, identityProvider: { getToken: async () => identityToken(issuer, subject) } }),
    rekor: () => new RekorWitness({ rekorBaseURL: url }),
    rekorV2: () => new RekorWitness({ rekorBaseURL: url, majorApiVersion: 2 }),
    tsa: () => new TSAWitness({ tsaBaseURL: url }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
