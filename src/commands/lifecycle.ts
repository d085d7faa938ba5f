// How a serving process starts and stops: the address it reports, and shutdown on SIGINT/SIGTERM.
//
// A terminal's Ctrl-C reaches every process in the foreground group at once — `npm start`'s npm, the
// launcher and the server — and npm forwards it to its child as well, so the server sees SIGINT more
// than once. Every signal after the first is acknowledged and ignored: with Node's default action
// restored, a second SIGINT would kill the process mid-shutdown (exit 130, connections cut).

import type { AddressInfo } from 'node:net';

export interface ShutdownLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Run `stop` once, on the first SIGINT or SIGTERM; exit 0 when it completes (1 if it failed). A
 * handle left open by a dependency cannot hold the process: it exits a moment after `stop`.
 */
export function stopOnSignals(stop: (signal: string) => Promise<void>, log: ShutdownLog, lingerMs = 2_000): void {
  let stopping: string | undefined;
  const onSignal = (signal: string) => {
    if (stopping) {
      log.info({ signal, stopping }, 'already shutting down: letting in-flight requests finish');
      return;
    }
    stopping = signal;
    stop(signal).then(
      () => {
        process.exitCode = 0;
      },
      (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        process.exitCode = 1;
      },
    ).finally(() => setTimeout(() => process.exit(), lingerMs).unref());
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

/**
 * The URL the listener answers on, as bound — `http://0.0.0.0:5000`, not the loopback address
 * fastify reports first — and how to say it in the start-up line.
 */
export function listeningOn(address: AddressInfo | string | null, tls: boolean): { url: string; description: string } {
  const scheme = tls ? 'https' : 'http';
  if (address === null || typeof address === 'string') return { url: String(address), description: `socket ${String(address)}` };
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${scheme}://${host}:${address.port}`;
  const everywhere = address.address === '0.0.0.0' || address.address === '::';
  return { url, description: everywhere ? `${url} (all interfaces)` : url };
}
