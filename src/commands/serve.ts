// `trustgate serve [--config FILE]`: the proxy. Embedded defaults without a file; Redis when
// configured, the in-process cache otherwise. SIGINT/SIGTERM: stop accepting, finish in-flight pulls,
// close upstream and Redis connections. SIGHUP: forget every verified answer, re-read the TLS
// certificate and client credentials.

import { unwatchFile, watchFile, writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { watchImports } from '../cache/import-watch.js';
import { openStores } from '../cache/stores.js';
import { loadConfig } from '../config/config.js';
import { buildApp } from '../server/app.js';
import { buildServices } from '../server/services.js';
import { listeningOn, stopOnSignals } from './lifecycle.js';
import { LineBatch, logDestination } from './log-batch.js';

/**
 * JSON lines, buffered (an audit line per pull must not cost a write(2) per pull; log-batch.ts); human-readable
 * lines when run in a terminal (TRUSTGATE_LOG_FORMAT=json|pretty overrides).
 */
function makeLogger(level: string): { logger: Logger; flush: () => void } {
  const format = process.env.TRUSTGATE_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const base = { level, base: { service: 'trustgate' } };
  if (format === 'pretty') {
    return { logger: pino({ ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' } } }), flush: () => {} };
  }
  const lines = new LineBatch(logDestination(1), (data) => writeSync(1, data));
  setInterval(() => lines.flush(), 1000).unref();
  // before the destination's own exit hook, so the lines of the last turn are not lost
  process.prependListener('exit', () => lines.flushSync());
  return { logger: pino(base, lines), flush: () => lines.flushSync() };
}

export async function runServe(opts: { config?: string }): Promise<void> {
  const config = await loadConfig(opts.config);
  const { logger, flush } = makeLogger(config.log.level);
  for (const notice of config.notices ?? []) logger.warn(notice);
  const stores = await openStores(config, logger);
  const tg = await buildApp(buildServices(config, { stores, logger }));
  // an import takes effect at once, on every replica (Redis announcements, or the trust.bundles index)
  const imports = await watchImports(config, stores, (reason, guns) => tg.services.invalidate(reason, guns), logger);
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // keep-alive connections that go idle after their last in-flight response must not hold the
    // shutdown for the keep-alive timeout: close them as they become idle
    const reaper = setInterval(() => tg.app.server.closeIdleConnections(), 200);
    await tg.app.close();
    clearInterval(reaper);
    for (const file of tg.watchedFiles) unwatchFile(file);
    imports.close();
    await tg.close();
    await stores.close();
    logger.info('stopped');
    flush();
  };
  stopOnSignals(shutdown, logger);
  // a renewed certificate or changed htpasswd takes effect without a restart
  const reload = (why: string) =>
    void tg.reload().catch((err: unknown) => logger.error({ why, err: err instanceof Error ? err.message : String(err) }, 'reload failed: keeping the previous certificate and credentials'));
  process.on('SIGHUP', () => reload('SIGHUP'));
  for (const file of tg.watchedFiles) watchFile(file, { interval: 2_000, persistent: false }, () => reload(`${file} changed`));
  await tg.app.listen({ host: config.listen.host, port: config.listen.port });
  const { url: address, description } = listeningOn(tg.app.server.address(), Boolean(config.tls));
  logger.info(
    { address, tls: Boolean(config.tls), clientAuth: Boolean(config.auth), upstreams: config.upstreams.map((u) => u.name), cache: config.redis ? 'redis' : 'memory' },
    `trustgate listening on ${description}`,
  );
}
