// No Docker engine runs here, so the container files are checked for what can be checked: the
// Dockerfile copies what exists, runs as non-root, and its entrypoint, command and health check run
// the built CLI; compose.yaml's services, config paths, ports and environment match what trustgate
// reads.

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { parseConfig } from '../src/config/config.js';
import { freePort, portOpen, run, startDaemon, tempDir, waitFor } from './helpers/process.js';

const ROOT = join(import.meta.dirname, '..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dir = tempDir('container');
t.teardown(dir.remove);

interface Instruction {
  op: string;
  args: string;
}

function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: (op as string).toUpperCase(), args: rest.join(' ') };
    });
}

const json = (args: string) => JSON.parse(args.replace(/^.*?(\[)/, '$1')) as string[];

/** Every environment variable trustgate reads (TRUSTGATE_*), found in its sources. */
function envNamesRead(): Set<string> {
  const names = new Set<string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/\b(TRUSTGATE_[A-Z_]+)\b/g)) names.add(m[1] as string);
    }
  };
  walk(join(ROOT, 'src'));
  return names;
}

t.test('Dockerfile: multi-stage, non-root, production dependencies, health check, the built CLI', async (t) => {
  const ins = instructions(dockerfile);
  const froms = ins.filter((i) => i.op === 'FROM');
  t.ok(froms.length >= 2, 'multi-stage');
  t.match(froms.at(-1)?.args ?? '', /^node:24-/, 'runs on the current Node.js LTS');
  const finalStage = ins.slice(ins.lastIndexOf(froms.at(-1) as Instruction));
  const user = finalStage.filter((i) => i.op === 'USER').at(-1)?.args;
  t.ok(user && user !== 'root' && user !== '0', `runs as ${user}`);
  t.match(dockerfile, /npm prune --omit=dev/, 'no dev dependencies in the runtime image');
  for (const c of ins.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
    const sources = c.args.split(/\s+/).slice(0, -1);
    for (const s of sources) t.ok(existsSync(join(ROOT, s)), `COPY source ${s} exists`);
  }
  const entrypoint = json(finalStage.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]');
  const cmd = json(finalStage.find((i) => i.op === 'CMD')?.args ?? '[]');
  const health = json(finalStage.find((i) => i.op === 'HEALTHCHECK')?.args ?? '[]'); // the CMD form's argv
  t.same(entrypoint.slice(-1), ['dist/cli.js']);
  t.same(cmd, ['serve']);
  const env = Object.fromEntries(
    finalStage
      .filter((i) => i.op === 'ENV')
      .flatMap((i) => i.args.split(/\s+/))
      .map((kv) => kv.split('=') as [string, string]),
  );
  const read = envNamesRead();
  for (const k of Object.keys(env).filter((k) => k.startsWith('TRUSTGATE_'))) t.ok(read.has(k), `trustgate reads ${k}`);

  // run the image's command as the image would, from the repository's built dist/
  const port = await freePort();
  const procEnv = { ...process.env, ...env, TRUSTGATE_LISTEN: `127.0.0.1:${port}`, TRUSTGATE_CONFIG: join(ROOT, 'config', 'compose', 'trustgate.yaml') };
  const [node, ...nodeArgs] = entrypoint;
  t.equal(node, 'node');
  const d = startDaemon('image-command', process.execPath, [...nodeArgs, ...cmd], join(dir.path, 'image.log'), { cwd: ROOT, env: procEnv });
  t.teardown(() => d.stop());
  await waitFor('the image command to listen', () => portOpen(port), 20_000, d);
  const hc = await run(process.execPath, health.slice(1), { cwd: ROOT, env: procEnv });
  t.equal(hc.code, 0, 'the HEALTHCHECK command passes against it');
  await d.stop();
  const down = await run(process.execPath, health.slice(1), { cwd: ROOT, env: procEnv });
  t.equal(down.code, 1, 'and fails once it is gone');
});

t.test('compose.yaml: two replicas on one Redis, demo profile, paths and environment trustgate reads', async (t) => {
  const doc = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, { image?: string; build?: string; environment?: Record<string, string>; volumes?: string[]; ports?: string[]; profiles?: string[]; depends_on?: Record<string, unknown> }>;
  };
  const services = doc.services;
  const placeholderCa = join(dir.path, 'ca.pem');
  writeFileSync(placeholderCa, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  const trustgates = Object.entries(services).filter(([, s]) => s.image === 'trustgate:latest');
  const production = trustgates.filter(([, s]) => !s.profiles);
  t.ok(production.length >= 2, 'at least two replicas');
  const read = envNamesRead();
  for (const [name, s] of trustgates) {
    const env = s.environment ?? {};
    for (const k of Object.keys(env)) t.ok(read.has(k), `${name}: trustgate reads ${k}`);
    const redis = new URL(env.TRUSTGATE_REDIS_URL ?? '');
    t.ok(services[redis.hostname], `${name}: Redis host ${redis.hostname} is a service`);
    t.ok(s.depends_on && redis.hostname in s.depends_on, `${name} waits for Redis`);
    const mounts = new Map((s.volumes ?? []).map((v) => { const [src, dst] = v.split(':'); return [dst as string, src as string]; }));
    const configSrc = mounts.get(env.TRUSTGATE_CONFIG ?? '');
    t.ok(configSrc, `${name}: TRUSTGATE_CONFIG is mounted`);
    // CA files are mounted where the config names them; locally, a placeholder stands in
    const raw = parse(readFileSync(join(ROOT, configSrc as string), 'utf8')) as { upstreams: { ca?: string }[] };
    for (const u of raw.upstreams) {
      if (!u.ca) continue;
      t.ok(mounts.has(u.ca), `${name}: the CA ${u.ca} the config names is mounted`);
      u.ca = placeholderCa;
    }
    const config = await parseConfig(raw, { env: { TRUSTGATE_REDIS_URL: env.TRUSTGATE_REDIS_URL }, baseDir: ROOT });
    t.equal(config.listen.port, 5000, `${name}: listens where the container port is published`);
    t.ok((s.ports ?? []).every((p) => p.endsWith(':5000')), `${name}: publishes container port 5000`);
    for (const u of config.upstreams) {
      for (const url of [u.registry, u.notary].filter((x): x is string => x !== undefined)) {
        const host = new URL(url).hostname;
        if (!host.includes('.')) t.ok(services[host], `${name}: upstream host ${host} is a compose service`);
      }
    }
    if (configSrc?.includes('demo')) t.ok(s.profiles?.includes('demo'), `${name} belongs to the demo profile`);
  }
  const redisService = JSON.stringify(services.redis);
  t.match(redisService, /requirepass/, 'Redis requires a password');
  t.match(redisService, /maxmemory-policy noeviction/, 'and never evicts trust keys');
  for (const [name, s] of trustgates) t.ok(s.environment?.TRUSTGATE_REDIS_PASSWORD, `${name} has the Redis password`);
  const notary = services['notary-server'];
  t.ok(notary?.profiles?.includes('demo'));
  const notaryCfg = JSON.parse(readFileSync(join(ROOT, 'config', 'compose', 'notary-server.json'), 'utf8')) as { server: { http_addr: string } };
  t.equal(notaryCfg.server.http_addr, ':4443', 'notary-server listens where trustgate-demo looks');
});
