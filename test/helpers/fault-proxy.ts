// A fault-injecting HTTP proxy between trustgate and a real upstream: it records every request and,
// per mode, swaps manifest bytes, lies in Docker-Content-Digest, replays stored responses, redirects
// blobs to another host, or answers everything from another server (a forged repository).

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'swap-manifest'; body: Buffer }
  | { kind: 'flip-manifest-byte' }
  | { kind: 'lie-digest'; digest: string }
  | { kind: 'redirect-blobs'; to: string }
  /** Name another token realm in the upstream's bearer challenges. */
  | { kind: 'rewrite-realm'; realm: string }
  | { kind: 'replay'; path: RegExp; body: Buffer }
  /** Accept the request and never answer. */
  | { kind: 'hang'; path: RegExp }
  /** Answer 200 with an endless body. */
  | { kind: 'endless'; path: RegExp }
  /** Answer 200 with random bytes. */
  | { kind: 'garbage'; path: RegExp }
  /** Pass the response headers and half the body, then cut the connection. */
  | { kind: 'drop-mid-body'; path: RegExp }
  /** Pass the response headers and a little of the body, then go silent. */
  | { kind: 'stall-body'; path: RegExp }
  /** Answer every request from another server (a forged repository behind the same name). */
  | { kind: 'forward'; to: string };

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export class FaultProxy {
  mode: FaultMode = { kind: 'pass' };
  readonly requests: Recorded[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  /**
   * Inject `mode` for the rest of test `t`: its teardown puts the proxy back to pass-through, so a
   * failing assertion never leaves the fault in place for the next test.
   */
  inject(t: { teardown(fn: () => void): void }, mode: FaultMode): void {
    this.mode = mode;
    t.teardown(() => {
      this.mode = { kind: 'pass' };
    });
  }

  /** Connections currently open to this proxy (from trustgate). */
  connections(): Promise<number> {
    return new Promise((resolve) => this.server?.getConnections((_e, n) => resolve(n)) ?? resolve(0));
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    this.requests.push({ method: req.method ?? 'GET', path, headers: req.headers });
    const mode = this.mode;
    if (mode.kind === 'hang' && mode.path.test(path)) return;
    if (mode.kind === 'endless' && mode.path.test(path)) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 0x7b);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (mode.kind === 'garbage' && mode.path.test(path)) {
      const junk = randomBytes(700);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(junk.length) }).end(junk);
      return;
    }
    if (mode.kind === 'replay' && mode.path.test(path)) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(mode.body.length) }).end(mode.body);
      return;
    }
    if (mode.kind === 'redirect-blobs' && /\/blobs\/sha256:/.test(path)) {
      res.writeHead(307, { location: `${mode.to}${path}` }).end();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (k !== 'host' && k !== 'connection' && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    let upstream: Response;
    try {
      const base = mode.kind === 'forward' ? mode.to : this.target;
      upstream = await fetch(base + path, { method: req.method, headers, redirect: 'manual' });
    } catch {
      res.writeHead(502).end();
      return;
    }
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (k !== 'content-encoding' && k !== 'transfer-encoding' && k !== 'connection') out[k] = v;
    });
    let body: Buffer = Buffer.from(await upstream.arrayBuffer());
    if ((mode.kind === 'drop-mid-body' || mode.kind === 'stall-body') && mode.path.test(path) && req.method === 'GET') {
      res.writeHead(upstream.status, { ...out, 'content-length': String(body.length) });
      const part = mode.kind === 'drop-mid-body' ? Math.floor(body.length / 2) : Math.min(16, body.length);
      res.write(body.subarray(0, part), () => {
        if (mode.kind === 'drop-mid-body') res.socket?.destroy();
      });
      return;
    }
    const isManifest = req.method === 'GET' && /\/manifests\//.test(path) && upstream.status === 200;
    if (isManifest && mode.kind === 'swap-manifest') body = mode.body;
    if (isManifest && mode.kind === 'flip-manifest-byte') {
      body = Buffer.from(body);
      body.writeUInt8(body.readUInt8(body.length - 2) ^ 0x20, body.length - 2);
    }
    if (/\/manifests\//.test(path) && mode.kind === 'lie-digest') out['docker-content-digest'] = mode.digest;
    if (mode.kind === 'rewrite-realm' && out['www-authenticate']) out['www-authenticate'] = out['www-authenticate'].replace(/realm="[^"]*"/, `realm="${mode.realm}"`);
    if (req.method !== 'HEAD') out['content-length'] = String(body.length);
    res.writeHead(upstream.status, out).end(req.method === 'HEAD' ? undefined : body);
  }
}
