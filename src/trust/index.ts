// The trust engine: pure verification of Notary (TUF) trust data. No network, no store, no clock.
export { canonicalBytes, canonicalString, parseJson, type JsonObject, type JsonValue } from './canonical.js';
export { canonicalKeyId } from './keys.js';
export { keyIdOf, makePublicKey, type PublicKey } from './public-key.js';
export { parseCertificate, type CertInfo } from './certs.js';
export { decodePemCertificates } from './pem.js';
export * from './metadata.js';
export { NO_PINNING, type TrustPinning, type PinMode } from './pinning.js';
export { rotatedRoles, validateRoot, type VerifiedRoot } from './root.js';
export { verifySignature, verifyThreshold, type Signature, type RoleKeys } from './signatures.js';
export { TrustedMetadataSet, checkFileMeta, type TrustContext, type Verified } from './trusted-set.js';
export { resolveSignedTag, signedDigests, chainOf, acceptedUntil, DOCKER_ROLES, type SignedTarget, type RoleExpiry } from './resolve.js';
