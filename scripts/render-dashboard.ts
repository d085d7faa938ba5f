// `npm run dashboard:render`: the picture of deploy/grafana/trustgate-dashboard.json in the README,
// made from real data. A registry (behind a forwarder that can be cut) and a notary-server on
// loopback, trustgate in front, Prometheus (Debian's prometheus) scraping it every second; a few
// minutes of synthetic pulls — signed, unsigned, denied by policy, without trust data — during which
// one tag's signature is removed and the registry is cut off for a while. Then every panel's own
// queries run against that Prometheus, and scripts/dashboard/svg.ts draws the results.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLayouts, manifestOf, push, ALL_MANIFEST_TYPES } from '../test/helpers/images.js';
import { NotaryCli, startNotaryServer } from '../test/helpers/notary.js';
import { startForwarder, startRegistry, type Peer } from '../test/helpers/peers.js';
import { freePort, startDaemon, tempDir, waitFor } from '../test/helpers/process.js';
import { startProcess } from '../test/helpers/trustgate.js';
import { renderDashboard, type Panel, type Series } from './dashboard/svg.js';

const ROOT = join(import.meta.dirname, '..');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'trustgate-dashboard.json');
const OUT = join(ROOT, 'deploy', 'grafana', 'trustgate-dashboard.svg');
const RUN_SECONDS = Number(process.env.RENDER_SECONDS ?? 180);
const REPOSITORIES = ['library/demo', 'library/app', 'team/api', 'team/web'];

const dir = tempDir('dashboard');
const stops: (() => Promise<void>)[] = [];
const log = (s: string) => process.stderr.write(`${s}\n`);

async function startSite(): Promise<{ trustgate: string; prometheus: string; cut: () => Promise<void>; mend: () => Promise<void>; revoke: () => Promise<void> }> {
  const registry = await startRegistry(dir.path);
  stops.push(registry.stop);
  let forwarder: Peer = await startForwarder(dir.path, registry.port);
  const forwarderPort = forwarder.port;
  stops.push(() => forwarder.stop());
  const layouts = buildLayouts(join(dir.path, 'oci'));
  for (const repo of REPOSITORIES) for (const tag of ['v1', 'v2', 'unsigned']) await push(layouts.single, 'v1', `127.0.0.1:${registry.port}/${repo}:${tag}`, { format: 'v2s2' });
  const image = await manifestOf(registry.url, 'library/demo', 'v1');
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  stops.push(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'notary-cli'), notary);
  for (const repo of REPOSITORIES) {
    await cli.init(`docker.io/${repo}`);
    for (const tag of ['v1', 'v2']) await cli.sign(`docker.io/${repo}`, tag, image);
  }
  const tg = await startProcess(dir.path, {
    upstreams: [{ name: 'docker.io', registry: forwarder.url, notary: notary.url, ca: notary.caPath, default: true }],
    policy: [{ match: 'docker.io/blocked/*', action: 'deny' }, { match: '*', action: 'verify' }],
    trust: { refreshInterval: '5s' },
  });
  stops.push(tg.stop);
  const prometheus = await startPrometheus(tg.port);
  return {
    trustgate: tg.url,
    prometheus,
    cut: () => forwarder.stop(),
    mend: async () => {
      forwarder = await startForwarder(dir.path, registry.port, forwarderPort);
    },
    revoke: async () => void (await cli.notary('remove', 'docker.io/team/web', 'v2', '-p')),
  };
}

async function startPrometheus(trustgatePort: number): Promise<string> {
  const port = await freePort();
  const config = join(dir.path, 'prometheus.yml');
  writeFileSync(config, `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: trustgate\n    static_configs: [{targets: ['127.0.0.1:${trustgatePort}']}]\n`);
  const args = [`--config.file=${config}`, `--storage.tsdb.path=${join(dir.path, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
  const daemon = startDaemon('prometheus', 'prometheus', args, join(dir.path, 'prometheus.log'));
  stops.push(() => daemon.stop());
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus', async () => (await fetch(`${url}/-/ready`)).ok, 30_000, daemon);
  return url;
}

/** Pull manifests the way clients do, in a mix, until `until` (epoch ms). */
async function traffic(trustgate: string, until: number): Promise<void> {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)] as T;
  const loop = async () => {
    while (Date.now() < until) {
      const r = Math.random();
      const path =
        r < 0.72
          ? `${pick(REPOSITORIES)}/manifests/${pick(['v1', 'v2'])}`
          : r < 0.84
            ? `${pick(REPOSITORIES)}/manifests/unsigned`
            : r < 0.9
              ? `${pick(REPOSITORIES)}/tags/list` // asks the registry every time
              : r < 0.95
                ? 'blocked/tool/manifests/v1'
                : 'library/unknown/manifests/v1';
      await fetch(`${trustgate}/v2/${path}`, { method: r < 0.4 ? 'HEAD' : 'GET', headers: { accept: ALL_MANIFEST_TYPES.join(', ') } })
        .then((res) => res.arrayBuffer())
        .catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 40 + Math.random() * 80));
    }
  };
  await Promise.all([loop(), loop(), loop()]);
}

interface PromResult {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

async function query(prometheus: string, expr: string, start: number, end: number, instant: boolean): Promise<PromResult[]> {
  const q = expr.replaceAll('$__rate_interval', '10s').replaceAll('$job', '.*').replaceAll('$instance', '.*');
  const params: Record<string, string> = instant ? { query: q, time: String(end) } : { query: q, start: String(start), end: String(end), step: '2' };
  const res = await fetch(`${prometheus}/api/v1/${instant ? 'query' : 'query_range'}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: PromResult[] } };
  if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
  return body.data.result;
}

const legendOf = (format: string, metric: Record<string, string>) => format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => metric[k] ?? '').trim();

async function panelData(prometheus: string, panels: (Panel & { targets: { expr: string; legendFormat: string }[] })[], start: number, end: number) {
  const data = new Map<number, Series[]>();
  for (const p of panels) {
    const series: Series[] = [];
    for (const target of p.targets) {
      const instant = p.type !== 'timeseries';
      for (const r of await query(prometheus, target.expr, start, end, instant)) {
        const points = (r.values ?? (r.value ? [r.value] : [])).map(([t, v]) => [t, Number(v)] as const).filter(([, v]) => Number.isFinite(v));
        series.push({ name: legendOf(target.legendFormat, r.metric) || target.expr, points });
      }
    }
    data.set(p.id, series.sort((a, b) => a.name.localeCompare(b.name)));
  }
  return data;
}

async function main(): Promise<void> {
  log('starting a registry, notary-server, trustgate and Prometheus on loopback…');
  const site = await startSite();
  const start = Date.now() / 1000;
  const until = Date.now() + RUN_SECONDS * 1000;
  log(`pulling for ${RUN_SECONDS} s (a signature removed at 40%, the registry cut off at 60–75%)…`);
  const events = (async () => {
    await new Promise((r) => setTimeout(r, RUN_SECONDS * 400));
    await site.revoke();
    await new Promise((r) => setTimeout(r, RUN_SECONDS * 200));
    await site.cut();
    await new Promise((r) => setTimeout(r, RUN_SECONDS * 150));
    await site.mend();
  })();
  await Promise.all([traffic(site.trustgate, until), events]);
  await new Promise((r) => setTimeout(r, 3_000)); // the last scrape
  const end = Date.now() / 1000;
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { title: string; panels: (Panel & { targets: { expr: string; legendFormat: string }[] })[] };
  const data = await panelData(site.prometheus, dashboard.panels, start, end);
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const caption = [
    `Rendered by scripts/render-dashboard.ts on ${new Date().toISOString().slice(0, 10)} (not a Grafana screenshot): the panels of deploy/grafana/trustgate-dashboard.json, their own queries`,
    `run on Prometheus 2.42 scraping trustgate ${version} every second, in front of a real registry and notary-server: ${RUN_SECONDS} s of synthetic pulls (signed, unsigned, denied`,
    'by policy, no trust data); team/web:v2 unsigned at 40% of the run, the registry unreachable from 60% to 75%. No repository was under an offline grace; no Redis was configured.',
  ];
  writeFileSync(OUT, renderDashboard(dashboard.title, dashboard.panels, data, caption));
  log(`wrote ${OUT}`);
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  log(`render failed: ${err instanceof Error ? err.stack : String(err)}`);
  exitCode = 1;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  dir.remove();
}
process.exit(exitCode);
