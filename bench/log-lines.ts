// CPU per audit line, whole process (main thread, libuv's thread pool, the kernel's write path):
// a pino child logger writing trustgate's warm-pull audit line through the log batch
// (src/commands/log-batch.ts) into serve's destination (logDestination), against sonic-boom in its
// default string mode with a 4 KiB minimum write (how `serve` wrote before), and against a sink that
// drops every line (pino's serialisation and the batch alone). K lines per event-loop turn, as a warm
// pull load hands over 2–8 a turn. Run: npm run bench:log
// LOG_LINES (400000) lines per run, LOG_ROUNDS (3) alternating rounds per sink.

import { openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { LineBatch, logDestination, type LineSink } from '../src/commands/log-batch.js';
import { tempDir } from '../test/helpers/process.js';

const LINES = Number(process.env.LOG_LINES ?? 400_000);
const ROUNDS = Number(process.env.LOG_ROUNDS ?? 3);
const dir = tempDir('log-lines');

type SinkKind = 'buffer mode, 64 KiB writes (serve)' | 'string mode, 4 KiB writes' | 'no output (serialisation only)';

function sinkFor(kind: SinkKind, fd: number): LineSink {
  if (kind === 'no output (serialisation only)') return { write: () => true, flush: () => {}, flushSync: () => {} };
  if (kind === 'string mode, 4 KiB writes') {
    const boom = pino.destination({ dest: fd, sync: false, minLength: 4096 });
    return { write: (data) => boom.write(data.toString('utf8')), flush: () => boom.flush(), flushSync: () => boom.flushSync() };
  }
  return logDestination(fd);
}

/** µs of process CPU per line for `perTurn` lines a turn. */
async function run(kind: SinkKind, perTurn: number): Promise<number> {
  const fd = openSync(join(dir.path, 'out.log'), 'w');
  const lines = new LineBatch(sinkFor(kind, fd), (data) => writeSync(fd, data));
  const log = pino({ level: 'info', base: { service: 'trustgate' } }, lines).child({
    audit: 'manifest',
    upstream: 'docker.io',
    repository: 'library/alpine',
    reference: 'latest',
    policy: 'docker.io/library/**',
    decision: 'served',
    digest: `sha256:${'ab'.repeat(32)}`,
    role: 'targets/releases',
    system: 'notary',
  });
  const started = process.cpuUsage();
  let n = 0;
  await new Promise<void>((done) => {
    const turn = () => {
      for (let i = 0; i < perTurn; i++) log.info({ method: 'GET', client: '127.0.0.1', cache: 'hot' }, 'manifest served');
      n += perTurn;
      if (n >= LINES) done();
      else setImmediate(turn);
    };
    turn();
  });
  lines.flush();
  await new Promise((r) => setTimeout(r, 100));
  lines.flushSync();
  const used = process.cpuUsage(started);
  closeSync(fd);
  return (used.user + used.system) / n;
}

async function main() {
  const kinds: SinkKind[] = ['buffer mode, 64 KiB writes (serve)', 'string mode, 4 KiB writes', 'no output (serialisation only)'];
  console.log(`audit lines: µs of process CPU per line (median of ${ROUNDS} alternating rounds of ${LINES} lines), node ${process.version}`);
  console.log('| lines per turn | ' + kinds.join(' | ') + ' |');
  console.log('|---|' + kinds.map(() => '---|').join(''));
  for (const perTurn of [2, 8]) {
    const results = new Map<SinkKind, number[]>(kinds.map((k) => [k, []]));
    for (let r = 0; r < ROUNDS; r++) for (const k of kinds) results.get(k)?.push(await run(k, perTurn));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    console.log(`| ${perTurn} | ` + kinds.map((k) => `${median(results.get(k) ?? []).toFixed(2)} µs`).join(' | ') + ' |');
  }
}

try {
  await main();
} finally {
  dir.remove();
}
