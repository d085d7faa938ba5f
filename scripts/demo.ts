// The demo: a local registry and notary-server on loopback, one signed and one unsigned image,
// trustgate in front — the signed pull is served, the unsigned one refused with the reason.
// Ctrl-C (or SIGTERM, or closing the terminal) stops everything and removes the demo's files.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildLayouts, manifestOf, push } from '../test/helpers/images.js';
import { NotaryCli, startNotaryServer } from '../test/helpers/notary.js';
import { startRegistry } from '../test/helpers/peers.js';
import { freePort, handleSignalsElsewhere, run, tempDir, waitFor } from '../test/helpers/process.js';
import { configDoc, startWithConfig, type TrustgateSpec } from '../test/helpers/trustgate.js';

const tty = process.stdout.isTTY;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const green = (s: string) => (tty ? `\x1b[32m${s}\x1b[0m` : s);
const red = (s: string) => (tty ? `\x1b[31m${s}\x1b[0m` : s);
const stops: (() => Promise<void>)[] = [];
const dir = tempDir('demo');

/** Run a slow step with a progress line (a spinner in a terminal). */
async function step<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const timer = tty ? setInterval(() => process.stdout.write(`\r${frames[i++ % frames.length]} ${label}…`), 100) : undefined;
  if (!tty) process.stdout.write(`… ${label}\n`);
  try {
    const r = await fn();
    const s = `✓ ${label} (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
    process.stdout.write(tty ? `\r${s}\x1b[K\n` : `${s}\n`);
    return r;
  } finally {
    if (timer) clearInterval(timer);
  }
}

async function cleanup(): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  dir.remove();
}

async function main(): Promise<void> {
  console.log(bold('\ntrustgate demo: only signed images get through\n'));
  const registry = await step('starting a registry (docker-registry) on loopback', () => startRegistry(dir.path));
  stops.push(registry.stop);
  const host = registry.url.replace('http://', '');
  const images = await step('pushing two images with skopeo: demo:signed and demo:unsigned', async () => {
    const layouts = buildLayouts(join(dir.path, 'oci'));
    await push(layouts.single, 'v1', `${host}/library/demo:signed`, { format: 'v2s2' });
    await push(layouts.single2, 'v2', `${host}/library/demo:unsigned`, { format: 'v2s2' });
    return { signed: await manifestOf(registry.url, 'library/demo', 'signed') };
  });
  const notary = await step('starting notary-server (TLS, test CA) on loopback', () => startNotaryServer({ dir: join(dir.path, 'notary') }));
  stops.push(notary.stop);
  await step('signing demo:signed with the notary CLI (as docker trust sign would)', async () => {
    const cli = new NotaryCli(join(dir.path, 'notary-cli'), notary);
    await cli.init('docker.io/library/demo');
    await cli.sign('docker.io/library/demo', 'signed', images.signed);
  });
  const spec: TrustgateSpec = { upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true }] };
  const configPath = join(dir.path, 'trustgate.yaml');
  const tg = await step('starting trustgate in front of them', async () => {
    const port = await freePort();
    // log level info: one audit line per manifest decision
    writeFileSync(configPath, stringify({ ...configDoc(spec, port), log: { level: 'info' } }));
    return startWithConfig(dir.path, configPath, port, { ...process.env, TRUSTGATE_LOG_FORMAT: 'json' });
  });
  stops.push(tg.stop);
  const at = tg.url.replace('http://', '');

  console.log(bold('\n1. pulling the signed image through trustgate'));
  console.log(`   $ skopeo inspect --tls-verify=false docker://${at}/library/demo:signed`);
  const ok = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${at}/library/demo:signed`]);
  if (ok.code !== 0) throw new Error(`the signed pull failed: ${ok.stderr}`);
  console.log(green(`   served: ${JSON.parse(ok.stdout).Digest}`) + ` (the digest Notary signs for demo:signed)`);

  console.log(bold('\n2. pulling the unsigned image through trustgate'));
  console.log(`   $ skopeo inspect --tls-verify=false docker://${at}/library/demo:unsigned`);
  const refused = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${at}/library/demo:unsigned`]);
  if (refused.code === 0) throw new Error('the unsigned pull was served');
  const reason = /denied: ([^"\n]*)/.exec(refused.stderr)?.[1] ?? refused.stderr.trim();
  console.log(red(`   refused: ${reason}`));
  const envelope = await (await fetch(`${tg.url}/v2/library/demo/manifests/unsigned`)).text();
  console.log(`   the registry error trustgate returned: ${envelope}`);

  console.log(bold('\n3. the audit lines trustgate logged for these decisions'));
  for (const line of await auditLines(tg.daemon.logPath, 3)) console.log(`   ${line}`);

  console.log(bold('\nTry next (while this runs):'));
  console.log(`   curl -s http://${at}/v2/library/demo/tags/list                 # only signed tags are listed`);
  console.log(`   curl -s http://${at}/metrics | grep trustgate_manifest          # decisions by reason`);
  console.log(`   npx trustgate check docker.io/library/demo:signed --notary ${notary.url} --ca ${notary.caPath}`);
  console.log(`   config used: ${configPath}`);
  console.log(`   logs (one audit line per decision): ${tg.daemon.logPath}`);
}

/** The audit lines in trustgate's log (written in batches: wait until `count` are there). */
async function auditLines(logPath: string, count: number): Promise<string[]> {
  const read = () =>
    readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"audit":"manifest"'))
      .map((l) => {
        const a = JSON.parse(l) as Record<string, string | undefined>;
        return [a.decision, `${a.repository}:${a.reference}`, a.digest ?? '', a.reason ?? ''].filter(Boolean).join('  ');
      });
  await waitFor('audit lines', async () => read().length >= count, 5_000).catch(() => undefined);
  return read();
}

// The demo stops its children and removes its files itself; the helpers' reaper would exit first.
handleSignalsElsewhere();
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return; // Ctrl-C reaches this process more than once (terminal, npm)
  stopping = true;
  await cleanup();
  if (code === 0) console.log(`demo stopped; ${dir.path} removed`);
  process.exit(code);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (!stopping) console.log('\nstopping the demo and removing its files…');
    void stop(0);
  });
}

try {
  await main();
  console.log(bold('\nThe demo keeps running; press Ctrl-C to stop it and clean up.'));
} catch (err) {
  console.error(red(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`));
  await stop(1);
}
