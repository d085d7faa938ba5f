// Test certificates built in-process (no openssl): self-signed roots, CA-issued leaves, expired,
// SHA-1 signed, weak RSA — whatever a test needs to feed the trust engine or a TLS server.

import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_subjectAltName,
} from '@peculiar/asn1-x509';

export type SigAlg = 'sha256' | 'sha1';

export interface CertOptions {
  subjectCN: string;
  publicKey: KeyObject;
  /** Signs the certificate; the subject's own private key for self-signed. */
  issuerKey: KeyObject;
  issuerCN?: string;
  notBefore?: Date;
  notAfter?: Date;
  isCA?: boolean;
  hash?: SigAlg;
  eku?: string[];
  /** Subject alternative names: IPs and DNS names (for TLS server certificates). */
  ips?: string[];
  dns?: string[];
}

const OID = {
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha1: '1.2.840.10045.4.1',
  rsaSha256: '1.2.840.113549.1.1.11',
  rsaSha1: '1.2.840.113549.1.1.5',
  cn: '2.5.4.3',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

export const EKU = { codeSigning: OID.codeSigning, serverAuth: OID.serverAuth };

function name(cn: string): Name {
  return new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID.cn, value: new AttributeValue({ utf8String: cn }) })])]);
}

export function makeCertificate(o: CertOptions): Buffer {
  const isRsa = o.issuerKey.asymmetricKeyType === 'rsa';
  const hash = o.hash ?? 'sha256';
  const algorithm = isRsa ? (hash === 'sha1' ? OID.rsaSha1 : OID.rsaSha256) : hash === 'sha1' ? OID.ecdsaSha1 : OID.ecdsaSha256;
  const sigAlg = new AlgorithmIdentifier({ algorithm, ...(isRsa ? { parameters: null } : {}) });
  const spki = AsnConvert.parse(o.publicKey.export({ format: 'der', type: 'spki' }), SubjectPublicKeyInfo);
  const ext = (id: string, critical: boolean, value: unknown) =>
    new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  const extensions = [ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: o.isCA ?? false }))];
  if (o.eku) extensions.push(ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage(o.eku)));
  if (o.ips?.length || o.dns?.length) {
    const names = [
      ...(o.ips ?? []).map((ip) => new GeneralName({ iPAddress: ip })),
      ...(o.dns ?? []).map((d) => new GeneralName({ dNSName: d })),
    ];
    extensions.push(ext(id_ce_subjectAltName, false, new SubjectAlternativeName(names)));
  }
  const now = Date.now();
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array([0x01, ...randomBytes(15)]).buffer,
    signature: sigAlg,
    issuer: name(o.issuerCN ?? o.subjectCN),
    validity: new Validity({
      notBefore: o.notBefore ?? new Date(now - 3600_000),
      notAfter: o.notAfter ?? new Date(now + 10 * 365 * 86400_000),
    }),
    subject: name(o.subjectCN),
    subjectPublicKeyInfo: spki,
    extensions: new Extensions(extensions),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = sign(hash, tbsDer, o.issuerKey);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: sigAlg, signatureValue: new Uint8Array(signature).buffer });
  return Buffer.from(AsnConvert.serialize(cert));
}

export function pem(der: Buffer, label = 'CERTIFICATE'): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

export function ecKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** A CA plus a TLS server certificate for 127.0.0.1/localhost, as PEM strings. */
export function makeTlsPki(): { caPem: string; certPem: string; keyPem: string } {
  const ca = ecKeyPair();
  const caDer = makeCertificate({ subjectCN: 'trustgate test CA', publicKey: ca.publicKey, issuerKey: ca.privateKey, isCA: true });
  const srv = ecKeyPair();
  const srvDer = makeCertificate({
    subjectCN: '127.0.0.1',
    issuerCN: 'trustgate test CA',
    publicKey: srv.publicKey,
    issuerKey: ca.privateKey,
    eku: [OID.serverAuth, OID.clientAuth],
    ips: ['127.0.0.1', '::1'],
    dns: ['localhost'],
  });
  return {
    caPem: pem(caDer),
    certPem: pem(srvDer),
    keyPem: srv.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
}

export { createPublicKey };
