// Client authentication, so a trustgate that holds upstream credentials does not open private
// repositories to everyone who can reach it: HTTP Basic against an htpasswd file (bcrypt entries, as
// `htpasswd -B` writes them and distribution reads them), and/or static bearer tokens known only by
// their SHA-256. Clients get the registry's challenge (docker login works as against a registry).
//
// bcrypt is deliberately slow, so a verified credential is remembered (keyed by an HMAC with a
// per-process key, never the credential itself) for a minute; failures are not remembered. An unknown
// username costs a bcrypt comparison too (against a dummy hash of the file's highest cost), so the
// time of an answer does not tell which usernames exist.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import type { ClientAuthConfig } from '../config/config.js';
import { ConfigError, UnauthorizedError } from '../errors.js';

const REMEMBER_MS = 60_000;
const MAX_REMEMBERED = 10_000;

export class ClientAuth {
  private users = new Map<string, string>();
  private readonly tokens: Buffer[];
  private readonly remembered = new Map<string, number>();
  private readonly hmacKey = randomBytes(32);
  readonly challenge: string;

  private dummyHash: string | undefined;

  constructor(
    private readonly config: ClientAuthConfig,
    /** bcrypt's comparison (tests count calls). */
    private readonly compare: (password: string, hash: string) => Promise<boolean> = bcrypt.compare,
  ) {
    this.tokens = config.tokenSha256.map((h) => Buffer.from(h, 'hex'));
    this.challenge = `Basic realm="${config.realm.replace(/["\\]/g, '')}"`;
  }

  /** (Re)read the htpasswd file. Refuses entries that are not bcrypt. */
  async load(): Promise<void> {
    if (!this.config.htpasswdPath) return;
    let text: string;
    try {
      text = await readFile(this.config.htpasswdPath, 'utf8');
    } catch (cause) {
      throw new ConfigError(`cannot read htpasswd file ${this.config.htpasswdPath}`, { cause });
    }
    const users = new Map<string, string>();
    for (const [i, line] of text.split('\n').entries()) {
      const l = line.trim();
      if (!l || l.startsWith('#')) continue;
      const colon = l.indexOf(':');
      const hash = l.slice(colon + 1);
      if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) throw new ConfigError(`htpasswd line ${i + 1}: only bcrypt entries are accepted (htpasswd -B)`);
      users.set(l.slice(0, colon), hash);
    }
    this.users = users;
    this.dummyHash = await bcrypt.hash(randomBytes(16).toString('base64'), highestCost(users));
    this.remembered.clear(); // a removed user must not stay authenticated
  }

  /** Throws UnauthorizedError unless the Authorization header carries valid credentials. */
  async check(authorization: string | undefined): Promise<void> {
    if (!authorization) throw new UnauthorizedError('authentication required', this.challenge);
    const [scheme, value = ''] = authorization.split(' ', 2) as [string, string?];
    if (scheme.toLowerCase() === 'bearer' && this.tokenValid(value)) return;
    if (scheme.toLowerCase() === 'basic' && (await this.basicValid(value))) return;
    throw new UnauthorizedError('invalid credentials', this.challenge);
  }

  private tokenValid(token: string): boolean {
    const h = createHash('sha256').update(token).digest();
    return this.tokens.some((t) => timingSafeEqual(t, h));
  }

  private async basicValid(b64: string): Promise<boolean> {
    const decoded = Buffer.from(b64, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return false;
    const user = decoded.slice(0, colon);
    const hash = this.users.get(user);
    if (!hash) {
      if (this.dummyHash) await this.compare(decoded.slice(colon + 1), this.dummyHash);
      return false;
    }
    const key = createHmac('sha256', this.hmacKey).update(decoded).digest('base64');
    const until = this.remembered.get(key);
    if (until !== undefined && until > Date.now()) return true;
    if (!(await this.compare(decoded.slice(colon + 1), hash))) return false;
    if (this.remembered.size >= MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value as string);
    this.remembered.set(key, Date.now() + REMEMBER_MS);
    return true;
  }
}

/** The highest bcrypt cost among the entries (`$2b$12$…` → 12), 10 when there are none. */
function highestCost(users: ReadonlyMap<string, string>): number {
  let cost = 0;
  for (const hash of users.values()) cost = Math.max(cost, Number(hash.slice(4, 6)));
  return cost || 10;
}
