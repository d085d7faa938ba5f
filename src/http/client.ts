// Outbound HTTP for every upstream (Notary, registries, token realms): undici with bounded time and
// bounded bodies. One client per upstream, so each has its own TLS trust roots and connection pool.

import { rootCertificates } from 'node:tls';
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import { TimeoutError, UnreachableError, redactUrl, type TransportError } from '../errors.js';

export interface HttpClientOptions {
  /** Extra trust roots (PEM) added to the system roots for this upstream's TLS. */
  readonly ca?: string | undefined;
  readonly connectTimeoutMs?: number;
  /** Time allowed for the response headers after the request is sent. */
  readonly headersTimeoutMs?: number;
  /** Longest silence allowed between body chunks. */
  readonly bodyIdleTimeoutMs?: number;
  /** Deadline for a whole bounded read (`getBuffered`). */
  readonly totalTimeoutMs?: number;
  /** Called with the time to response headers of every request (metrics). */
  readonly observe?: ((seconds: number, outcome: 'ok' | 'error') => void) | undefined;
}

export interface BufferedResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

export interface GetOptions {
  readonly headers?: Record<string, string | string[]>;
  /** Largest acceptable body; more is refused while reading. */
  readonly maxBytes: number;
  /** The error to throw when the body exceeds `maxBytes` (callers decide whose fault it is). */
  readonly tooLarge: (limit: number) => Error;
  readonly method?: 'GET' | 'HEAD';
}

export const DEFAULT_TIMEOUTS = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 15_000,
  bodyIdleTimeoutMs: 15_000,
  totalTimeoutMs: 30_000,
} as const;

export class HttpClient {
  readonly dispatcher: Dispatcher;
  private readonly totalTimeoutMs: number;
  private readonly observe: HttpClientOptions['observe'];

  constructor(opts: HttpClientOptions = {}) {
    const { observe: _observe, ca: _ca, ...timeouts } = opts;
    const t = { ...DEFAULT_TIMEOUTS, ...stripUndefined(timeouts) };
    this.totalTimeoutMs = t.totalTimeoutMs;
    this.observe = opts.observe;
    this.dispatcher = new Agent({
      connect: {
        timeout: t.connectTimeoutMs,
        ...(opts.ca ? { ca: [...rootCertificates, opts.ca] } : {}),
      },
      headersTimeout: t.headersTimeoutMs,
      bodyTimeout: t.bodyIdleTimeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  /** GET (or HEAD) and read the whole body, refusing more than `maxBytes`. Never follows redirects. */
  async getBuffered(url: string, opts: GetOptions): Promise<BufferedResponse> {
    const signal = AbortSignal.timeout(this.totalTimeoutMs);
    const started = performance.now();
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        dispatcher: this.dispatcher,
        signal,
      });
    } catch (err) {
      this.observe?.((performance.now() - started) / 1000, 'error');
      throw toTransportError(url, err);
    }
    this.observe?.((performance.now() - started) / 1000, res.statusCode >= 500 ? 'error' : 'ok');
    // an error answer's body is only ever a message: read a little of it, never fail on its size
    const isError = res.statusCode >= 300;
    const limit = isError ? ERROR_BODY_MAX : opts.maxBytes;
    const declared = Number(res.headers['content-length']);
    // a HEAD's Content-Length describes the resource, not a body
    if (!isError && opts.method !== 'HEAD' && Number.isFinite(declared) && declared > limit) {
      discard(res.body);
      throw opts.tooLarge(opts.maxBytes);
    }
    const { body, over } = await readUpTo(res.body, limit, url);
    if (over && !isError) throw opts.tooLarge(opts.maxBytes);
    return { status: res.statusCode, headers: res.headers, body };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

const ERROR_BODY_MAX = 64 * 1024;

/** Abandon a response body without an unhandled 'error' event from the aborted stream. */
export function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Map undici/system failures onto the transport error family. */
export function toTransportError(url: string, err: unknown): TransportError {
  const where = redactUrl(url);
  if (
    err instanceof undiciErrors.ConnectTimeoutError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
  ) {
    return new TimeoutError(url, `${where} did not answer in time`, { cause: err });
  }
  const code = err instanceof Error && 'code' in err ? String((err as { code: unknown }).code) : '';
  const detail = code || (err instanceof Error ? err.message : String(err));
  return new UnreachableError(url, `${where} is unreachable (${detail})`, { cause: err });
}

/** First value of a header that may repeat. */
export function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/** At most `limit` bytes of `body`; `over` when it had more (the rest is discarded). */
async function readUpTo(body: Dispatcher.ResponseData['body'], limit: number, url: string): Promise<{ body: Buffer; over: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      if (size + (chunk as Buffer).length > limit) {
        discard(body);
        return { body: Buffer.concat(chunks, size), over: true };
      }
      size += (chunk as Buffer).length;
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw toTransportError(url, err);
  }
  return { body: Buffer.concat(chunks, size), over: false };
}
