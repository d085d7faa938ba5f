// A small Docker token issuer (distribution docs/spec/auth/token.md) for the test harness: basic
// credentials in, an ES256 JWT with an x5c chain out, accepted by distribution and notary-server
// configured with `auth: token`. Every request is recorded so tests can see where credentials went.

import { randomBytes, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { ecKeyPair, makeCertificate, pem } from './x509.js';

export interface IssuerRequest {
  path: string;
  authorization: string | undefined;
}

export class TokenIssuer {
  readonly requests: IssuerRequest[] = [];
  readonly issuer = 'trustgate-test-issuer';
  private readonly key = ecKeyPair();
  private readonly certDer: Buffer;
  private server?: Server;
  url = '';
  /** Lifetime of issued tokens, seconds. */
  ttl = 300;

  constructor(
    private readonly users: Record<string, string>,
    /** A loopback address to listen on (127.0.0.1 unless a test needs another). */
    private readonly host = '127.0.0.1',
  ) {
    this.certDer = makeCertificate({ subjectCN: 'token signer', publicKey: this.key.publicKey, issuerKey: this.key.privateKey });
  }

  /** The root certificate bundle distribution/notary need to verify tokens. */
  writeBundle(path: string): string {
    writeFileSync(path, pem(this.certDer));
    return path;
  }

  get realm(): string {
    return `${this.url}/token`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
      const u = new URL(req.url ?? '/', 'http://x');
      const user = this.authenticate(req);
      if (u.pathname !== '/token' || user === undefined) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      const token = this.token(user, u.searchParams.get('service') ?? '', u.searchParams.getAll('scope'));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: this.ttl }));
    });
    await new Promise<void>((r) => this.server?.listen(0, this.host, r));
    this.url = `http://${this.host}:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private authenticate(req: IncomingMessage): string | undefined {
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Basic ')) return undefined;
    const [user, ...rest] = Buffer.from(h.slice(6), 'base64').toString().split(':');
    return user !== undefined && this.users[user] === rest.join(':') ? user : undefined;
  }

  private token(user: string, service: string, scopes: string[]): string {
    const access = scopes
      .flatMap((s) => s.split(' '))
      .map((s) => /^(repository):(.+):([a-z,*]+)$/.exec(s))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ type: m[1], name: m[2], actions: (m[3] as string).split(',') }));
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const header = b64({ typ: 'JWT', alg: 'ES256', x5c: [this.certDer.toString('base64')] });
    const claims = b64({ iss: this.issuer, sub: user, aud: service, exp: now + this.ttl, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access });
    const sig = sign('sha256', Buffer.from(`${header}.${claims}`), { key: this.key.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${header}.${claims}.${sig.toString('base64url')}`;
  }
}
