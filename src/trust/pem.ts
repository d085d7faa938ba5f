// PEM as Go's encoding/pem reads and writes it, for certificate bundles inside TUF keys.

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/=\s]*$/;

export class PemError extends Error {}

/**
 * Every PEM block must be a CERTIFICATE and there must be at least one (notary
 * utils.LoadCertBundleFromPEM). Text outside blocks is ignored, as pem.Decode does.
 */
export function decodePemCertificates(pem: Uint8Array): Buffer[] {
  const text = Buffer.from(pem).toString('latin1');
  const out: Buffer[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, type, body] = m as unknown as [string, string, string];
    if (type !== 'CERTIFICATE') throw new PemError(`invalid PEM block type ${type}`);
    if (!BASE64_BODY.test(body) || body.includes(':')) throw new PemError('malformed PEM body');
    out.push(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
  }
  if (out.length === 0) throw new PemError('no certificates found');
  return out;
}

/** pem.EncodeToMemory: 64-character lines, LF line endings. */
export function encodePemCertificate(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + '\n';
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
}
