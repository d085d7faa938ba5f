// The clients and peers of the proxy benchmark (bench/proxy.ts): wrk and ab for manifest load, curl
// and an in-process undici client for blobs, nginx as the reverse-proxy baseline.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ALL_MANIFEST_TYPES } from '../test/helpers/images.js';
import { startNginx as startPrivateNginx } from '../test/helpers/front.js';
import { freePort, runOk } from '../test/helpers/process.js';

const ACCEPT = ALL_MANIFEST_TYPES.join(', ');

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function ms(v: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

/** GET load with wrk (one thread, 32 connections). */
export async function wrk(url: string, seconds: string): Promise<WrkResult> {
  const out = await runOk('wrk', ['-t1', '-c32', `-d${seconds}s`, '--latency', '-H', `Accept: ${ACCEPT}`, url], { timeoutMs: 120_000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = ms(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = ms(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((n, x) => n + Number(x), 0) : 0);
  return { rps, p50, p99, errors };
}

/** HEAD load with ApacheBench (wrk waits for a body after a HEAD with Content-Length). */
export async function ab(url: string, seconds: string): Promise<WrkResult> {
  const n = String(Math.max(2000, Number(seconds) * 4000));
  const out = await runOk('ab', ['-q', '-k', '-i', '-c', '32', '-t', seconds, '-n', n, '-H', `Accept: ${ACCEPT}`, url], { timeoutMs: 120_000 });
  return {
    rps: Number(/Requests per second:\s+([\d.]+)/.exec(out)?.[1]),
    p50: Number(/\s50%\s+(\d+)/.exec(out)?.[1]),
    p99: Number(/\s99%\s+(\d+)/.exec(out)?.[1]),
    errors: Number(/Failed requests:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Non-2xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
  };
}

/** MB/s downloading `url` once with curl (following redirects); `bytes` is the size expected. */
export async function curlDownload(url: string, bytes: number): Promise<number> {
  const out = await runOk('curl', ['-s', '-L', '-o', '/dev/null', '-w', '%{speed_download} %{size_download}', url], { timeoutMs: 300_000 });
  const [speed, size] = out.trim().split(' ').map(Number) as [number, number];
  if (size !== bytes) throw new Error(`downloaded ${size} bytes from ${url}`);
  return speed / 1e6;
}

// the benchmark's own client: undici (as trustgate itself uses upstream), one connection, following
// redirects, its body read as Node streams deliver it and dropped. npm run bench:proxy gives this
// process the V8 flags trustgate runs with (a floor under the old generation's limit sized for this
// larger process), so that its reads are not slowed by the mark-compacts they avoid (src/node-flags.ts)
const agent = new Agent({ connections: 1, pipelining: 1 });

/** MB/s downloading `url` once in this process with undici (following one redirect). */
export async function ownDownload(url: string, bytes: number): Promise<number> {
  const t0 = performance.now();
  let res = await request(url, { dispatcher: agent });
  if (res.statusCode === 307) {
    await res.body.dump();
    res = await request(String(res.headers.location), { dispatcher: agent });
  }
  let n = 0;
  for await (const chunk of res.body) n += (chunk as Buffer).length;
  if (n !== bytes) throw new Error(`downloaded ${n} bytes from ${url}`);
  return n / ((performance.now() - t0) / 1000) / 1e6;
}

export function rssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

export async function uploadBlob(registry: string, repository: string, data: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const start = await fetch(`${registry}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(start.headers.get('location') ?? '', registry);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status}`);
  return digest;
}

/** nginx as a plain reverse proxy in front of `upstreamPort`, its files under `base`. */
export async function startNginx(upstreamPort: number, base: string, stops: (() => Promise<void>)[]): Promise<string> {
  const port = await freePort();
  const http = `  access_log off;
  upstream registry { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://registry;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_buffers 4 256k;
    }
  }
`;
  const d = await startPrivateNginx(base, http, port);
  stops.push(() => d.stop());
  return `http://127.0.0.1:${port}`;
}

