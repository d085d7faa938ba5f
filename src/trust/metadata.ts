// The TUF file formats notary uses, parsed from untrusted bytes with runtime guards.
// Structure rules follow notary tuf/data (root.go, snapshot.go, timestamp.go, targets.go, roles.go).
// Nothing here checks signatures, versions against history or expiry: that is trusted-set.ts.

import { DeserializationError, DelegationError, WrongTypeError } from '../errors.js';
import { parseJsonDocument, type JsonObject, type JsonValue } from './canonical.js';
import { decodeBase64, isStdBase64, makePublicKey, type PublicKey } from './public-key.js';
import type { Signature } from './signatures.js';
import type { Envelope, Common, RoleSpec, Root, FileMeta, Timestamp, Snapshot, DelegationSpec, TargetIndex, Targets } from './metadata-types.js';

export const ROOT = 'root';
export const TARGETS = 'targets';
export const SNAPSHOT = 'snapshot';
export const TIMESTAMP = 'timestamp';
export const RELEASES = 'targets/releases';
export const BASE_ROLES = [ROOT, TARGETS, SNAPSHOT, TIMESTAMP] as const;

// The names trust files go by, the same everywhere (Notary URLs, stores, bundles, the Notary read API):
//   a role as stored                   root, timestamp, snapshot, targets, targets/<delegation>…, N.root
//   a file as Notary serves it         any of those, optionally .<sha256hex> (consistent snapshots)
const ROLE_PATTERN = '(?:root|timestamp|snapshot|targets(?:/[-a-z0-9_]+)*)';
export const STORED_ROLE_NAME = new RegExp(`^(?:\\d{1,10}\\.)?${ROLE_PATTERN}$`);
export const METADATA_FILE_NAME = new RegExp(`^(?:\\d{1,10}\\.)?${ROLE_PATTERN}(?:\\.[0-9a-f]{64})?$`);

const TUF_TYPES: Record<string, string> = { root: 'Root', targets: 'Targets', snapshot: 'Snapshot', timestamp: 'Timestamp' };

export type { Envelope, Common, RoleSpec, Root, FileMeta, Timestamp, Snapshot, DelegationSpec, TargetIndex, Targets } from './metadata-types.js';

// ---- guards ----------------------------------------------------------------------------

type Ctx = string; // the role, for error messages

function fail(role: Ctx, what: string): never {
  throw new DeserializationError(role, what);
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(o: JsonObject, name: string): JsonValue | undefined {
  return Object.hasOwn(o, name) ? o[name] : undefined;
}

function obj(v: JsonValue | undefined, role: Ctx, what: string): JsonObject {
  if (!isObject(v)) fail(role, `${what} must be an object`);
  return v;
}

/** Go decodes null (and absence) into a zero value; these helpers accept both where notary would. */
function optObj(v: JsonValue | undefined, role: Ctx, what: string): JsonObject {
  return v === undefined || v === null ? (Object.create(null) as JsonObject) : obj(v, role, what);
}

function str(v: JsonValue | undefined, role: Ctx, what: string): string {
  if (typeof v !== 'string') fail(role, `${what} must be a string`);
  return v;
}

function int(v: JsonValue | undefined, role: Ctx, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(role, `${what} must be an integer`);
  return v;
}

function strList(v: JsonValue | undefined, role: Ctx, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(role, `${what} must be a list`);
  return v.map((item, i) => str(item, role, `${what}[${i}]`));
}

// RFC 3339 as Go's time.Time unmarshals it (fractional seconds up to nanoseconds, Z or offset)
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export function parseTime(s: string, role: Ctx, what: string): Date {
  const m = RFC3339.exec(s);
  if (!m) fail(role, `${what} is not an RFC 3339 time`);
  const [, y, mo, d, h, mi, sec, frac, zone] = m as unknown as string[];
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +sec!, frac ? Math.floor(+`0.${frac}` * 1000) : 0);
  const check = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +sec!));
  if (check.getUTCMonth() !== +mo! - 1 || check.getUTCDate() !== +d! || check.getUTCHours() !== +h! || check.getUTCMinutes() !== +mi!) {
    fail(role, `${what} is not a valid date`);
  }
  let offset = 0;
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    const [oh, om] = zone!.slice(1).split(':').map(Number) as [number, number];
    if (oh > 23 || om > 59) fail(role, `${what} has an invalid zone offset`);
    offset = sign * (oh * 60 + om) * 60_000;
  }
  return new Date(ms - offset);
}

// ---- envelope ----------------------------------------------------------------------------

/** Parse `{"signed":…,"signatures":[…]}` and compute the canonical bytes the signatures cover. */
export function parseEnvelope(bytes: Uint8Array, role: string): Envelope {
  const parsed = parseJsonDocument(bytes, role);
  const doc = obj(parsed.value, role, 'metadata');
  const signed = obj(field(doc, 'signed'), role, 'signed');
  const rawSigs = field(doc, 'signatures');
  if (rawSigs !== undefined && rawSigs !== null && !Array.isArray(rawSigs)) fail(role, 'signatures must be a list');
  const signatures = (rawSigs ?? []).map((s, i): Signature => {
    const o = obj(s, role, `signatures[${i}]`);
    return {
      keyId: str(field(o, 'keyid'), role, `signatures[${i}].keyid`),
      // notary SigAlgorithm.UnmarshalJSON lower-cases the method
      method: str(field(o, 'method'), role, `signatures[${i}].method`).toLowerCase(),
      sig: decodeBase64(str(field(o, 'sig'), role, `signatures[${i}].sig`), `signatures[${i}].sig`, role),
    };
  });
  // notary's own files carry `signed` already canonical: then its bytes are the message as they are
  return { signed, signatures, message: parsed.canonicalBytesOf(signed) };
}

function parseCommon(signed: JsonObject, role: string): Common {
  const type = str(field(signed, '_type'), role, '_type');
  const expected = TUF_TYPES[role.startsWith('targets/') ? TARGETS : role];
  if (type !== expected) throw new WrongTypeError(role, `metadata has type ${JSON.stringify(type)}, expected ${expected}`);
  const version = int(field(signed, 'version'), role, 'version');
  if (version < 1) fail(role, 'version cannot be less than 1');
  const expires = parseTime(str(field(signed, 'expires'), role, 'expires'), role, 'expires');
  return { type, version, expires };
}

function parseKeys(v: JsonValue | undefined, role: string, what: string): Map<string, PublicKey> {
  const keys = new Map<string, PublicKey>();
  for (const [id, raw] of Object.entries(optObj(v, role, what))) {
    const k = obj(raw, role, `${what}[${id}]`);
    const keyval = obj(field(k, 'keyval'), role, `${what}[${id}].keyval`);
    const publicBytes = decodeBase64(str(field(keyval, 'public'), role, `${what}[${id}].keyval.public`), 'public key', role);
    keys.set(id, makePublicKey(str(field(k, 'keytype'), role, `${what}[${id}].keytype`), publicBytes));
  }
  return keys;
}

function parseRoleSpec(v: JsonValue | undefined, role: string, name: string, keys: ReadonlyMap<string, PublicKey>): RoleSpec {
  const o = obj(v, role, `role ${name}`);
  const keyIds = strList(field(o, 'keyids'), role, `${name}.keyids`);
  const threshold = int(field(o, 'threshold'), role, `${name}.threshold`);
  if (threshold < 1) fail(role, `invalid threshold ${threshold} for ${name}`);
  for (const id of keyIds) if (!keys.has(id)) fail(role, `key ID ${id} listed for ${name} has no key`);
  return { keyIds, threshold };
}

const HASH_SIZES: Record<string, number> = { sha256: 32, sha512: 64 };

/**
 * File metadata: `length` and base64 `hashes`. Every hash must be valid base64 (Go decodes them into
 * []byte). `strict` adds notary's CheckValidHashStructures rules for the files a client must fetch by
 * checksum (snapshot in timestamp, root/targets in snapshot): sha256 present, known digests sized right.
 */
function parseFileMeta(v: JsonValue | undefined, role: string, what: string, strict: boolean): FileMeta {
  const o = obj(v, role, what);
  const length = int(field(o, 'length') ?? 0, role, `${what}.length`);
  const hashes = new Map<string, string>();
  for (const [alg, h] of Object.entries(optObj(field(o, 'hashes'), role, `${what}.hashes`))) {
    const b64 = str(h, role, `${what}.hashes.${alg}`);
    if (!isStdBase64(b64)) fail(role, `${what}.hashes.${alg} is not valid base64`);
    hashes.set(alg, b64);
  }
  if (strict) {
    if (!hashes.has('sha256')) fail(role, `${what} is missing its sha256 checksum`);
    for (const [alg, b64] of hashes) {
      const size = HASH_SIZES[alg];
      if (size !== undefined && Buffer.from(b64, 'base64').length !== size) fail(role, `${what} has a malformed ${alg} hash`);
    }
  }
  return { length, hashes };
}

function targetIndex(raw: JsonObject, role: string): TargetIndex {
  const names = Object.keys(raw);
  for (const name of names) if (!isObject(raw[name])) fail(role, `targets[${name}] must be an object`);
  const parsed = new Map<string, FileMeta>();
  return {
    size: names.length,
    names: () => names.values(),
    get(name) {
      if (!Object.hasOwn(raw, name)) return undefined;
      let meta = parsed.get(name);
      if (!meta) parsed.set(name, (meta = parseFileMeta(raw[name], role, `targets[${name}]`, false)));
      return meta;
    },
  };
}

// ---- roles -------------------------------------------------------------------------------

export function parseRoot(env: Envelope): Root {
  const s = env.signed;
  const common = parseCommon(s, ROOT);
  const keys = parseKeys(field(s, 'keys'), ROOT, 'keys');
  const rolesObj = optObj(field(s, 'roles'), ROOT, 'roles');
  const roles = new Map<string, RoleSpec>();
  for (const name of BASE_ROLES) {
    const spec = field(rolesObj, name);
    if (spec === undefined || spec === null) fail(ROOT, `missing ${name} role specification`);
    roles.set(name, parseRoleSpec(spec, ROOT, name, keys));
  }
  const cs = field(s, 'consistent_snapshot');
  return { ...common, keys, roles, consistentSnapshot: cs === true };
}

export function parseTimestamp(env: Envelope): Timestamp {
  const s = env.signed;
  const common = parseCommon(s, TIMESTAMP);
  const meta = optObj(field(s, 'meta'), TIMESTAMP, 'meta');
  return { ...common, snapshot: parseFileMeta(field(meta, SNAPSHOT), TIMESTAMP, 'meta.snapshot', true) };
}

export function parseSnapshot(env: Envelope): Snapshot {
  const s = env.signed;
  const common = parseCommon(s, SNAPSHOT);
  const meta = new Map<string, FileMeta>();
  for (const [name, m] of Object.entries(optObj(field(s, 'meta'), SNAPSHOT, 'meta'))) {
    meta.set(name, parseFileMeta(m, SNAPSHOT, `meta.${name}`, name === ROOT || name === TARGETS));
  }
  for (const required of [ROOT, TARGETS]) if (!meta.has(required)) fail(SNAPSHOT, `missing ${required} checksum information`);
  return { ...common, meta };
}

// notary data.IsDelegation: lower-case names under targets/, clean paths, under 256 bytes
const DELEGATION_NAME = /^[-a-z0-9_/]+$/;

export function isDelegationName(name: string): boolean {
  return (
    name.startsWith('targets/') &&
    DELEGATION_NAME.test(name) &&
    name.length < 256 &&
    !name.endsWith('/') &&
    !name.includes('//') &&
    !name.split('/').some((seg) => seg === '.' || seg === '..')
  );
}

function parentOf(name: string): string {
  return name.slice(0, name.lastIndexOf('/'));
}

/** A targets file: the top-level `targets` role or a delegation (`role` is its name). */
export function parseTargets(env: Envelope, role: string): Targets {
  const s = env.signed;
  const common = parseCommon(s, role);
  const targets = targetIndex(optObj(field(s, 'targets'), role, 'targets'), role);
  const d = optObj(field(s, 'delegations'), role, 'delegations');
  const delegationKeys = parseKeys(field(d, 'keys'), role, 'delegations.keys');
  const rawRoles = field(d, 'roles');
  if (rawRoles !== undefined && rawRoles !== null && !Array.isArray(rawRoles)) fail(role, 'delegations.roles must be a list');
  const delegations = (rawRoles ?? []).map((r, i): DelegationSpec => {
    const o = obj(r, role, `delegations.roles[${i}]`);
    const name = str(field(o, 'name'), role, `delegations.roles[${i}].name`);
    // notary isValidTargetsStructure: every delegation is a valid name and a direct child
    if (!isDelegationName(name) || parentOf(name) !== role) {
      throw new DelegationError(role, `delegation ${JSON.stringify(name)} is not a direct child of ${role}`);
    }
    const spec = parseRoleSpec(o, role, name, delegationKeys);
    return { name, ...spec, paths: strList(field(o, 'paths'), role, `${name}.paths`) };
  });
  return { ...common, targets, delegationKeys, delegations };
}
