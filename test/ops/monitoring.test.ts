// The operator files in deploy/: Prometheus alert rules checked and unit-tested with the real
// promtool (Debian's prometheus package); the Grafana dashboard's queries valid PromQL (promtool
// parses them as recording rules) over metrics trustgate exposes; the rendered picture in step with
// the dashboard.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { renderDashboard, formatValue, type Panel } from '../../scripts/dashboard/svg.js';
import { run, tempDir } from '../helpers/process.js';
import { startInProcess } from '../helpers/trustgate.js';

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy');
const RULES = join(DEPLOY, 'prometheus', 'trustgate-alerts.yml');
const DASHBOARD = join(DEPLOY, 'grafana', 'trustgate-dashboard.json');
const dir = tempDir('monitoring');
t.teardown(dir.remove);

interface DashboardPanel extends Panel {
  targets: { expr: string; legendFormat: string }[];
}
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { title: string; panels: DashboardPanel[] };

/** Metrics announced by work in progress elsewhere: the rules may reference them before a build exposes them. */
const ANNOUNCED = ['trustgate_store_data_loss_total', 'trustgate_root_certificate_expiry_seconds', 'trustgate_redis_up'];

t.test('promtool: the alert rules are valid and pass their unit tests', async (t) => {
  const check = await run('promtool', ['check', 'rules', RULES]);
  t.equal(check.code, 0, check.stdout + check.stderr);
  const unit = await run('promtool', ['test', 'rules', 'trustgate-alerts.test.yml'], { cwd: join(DEPLOY, 'prometheus') });
  t.equal(unit.code, 0, unit.stdout + unit.stderr);
});

t.test('the alerts cover what an operator must hear about', async (t) => {
  const alerts = [...readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  for (const name of ['TrustgateTrustExpiringSoon', 'TrustgateOfflineGraceRunningOut', 'TrustgateRefusalSpike', 'TrustgateStoreDegraded', 'TrustgateStoreDataLoss', 'TrustgateUpstreamUnreachable', 'TrustgateRootCertificateExpiring']) {
    t.ok(alerts.includes(name), name);
  }
  const tested = readFileSync(join(DEPLOY, 'prometheus', 'trustgate-alerts.test.yml'), 'utf8');
  for (const name of alerts) t.match(tested, `alertname: ${name}`, `${name} has a unit test`);
});

t.test('promtool: every dashboard query is valid PromQL', async (t) => {
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr));
  t.ok(exprs.length >= 10);
  // Grafana's variables as a scrape would resolve them
  const rules = exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr: expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$instance', '.*') }));
  const file = join(dir.path, 'dashboard-queries.yml');
  writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
  const check = await run('promtool', ['check', 'rules', file]);
  t.equal(check.code, 0, check.stdout + check.stderr);
});

t.test('the dashboard has the panels the README promises', async (t) => {
  const titles = dashboard.panels.map((p) => p.title);
  for (const title of ['Manifest decisions by reason', 'Upstream latency (p50, p99)', 'Cache hit rate', 'Trust expiry per repository', 'Offline grace remaining']) t.ok(titles.includes(title), title);
  for (const p of dashboard.panels) {
    const { x, y, w, h } = p.gridPos;
    t.ok(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, `${p.title} fits the 24-column grid`);
  }
});

t.test('rules and dashboard name only metrics trustgate exposes (or announced ones)', async (t) => {
  const tg = await startInProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: 'http://127.0.0.1:9', notary: 'http://127.0.0.1:9', default: true }] });
  t.teardown(tg.stop);
  const exposed = new Set([...(await (await fetch(`${tg.url}/metrics`)).text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
  t.ok(exposed.has('trustgate_manifest_decisions_total'));
  const known = (name: string) => exposed.has(name) || exposed.has(name.replace(/_(bucket|count|sum)$/, '')) || ANNOUNCED.includes(name);
  const used = new Set(
    [readFileSync(RULES, 'utf8'), ...dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr))].flatMap((text) => [...text.matchAll(/\btrustgate_[a-z_]+\b/g)].map((m) => m[0])),
  );
  for (const name of used) t.ok(known(name), name);
});

t.test('the rendered picture shows every panel of the dashboard', async (t) => {
  const svg = readFileSync(join(DEPLOY, 'grafana', 'trustgate-dashboard.svg'), 'utf8');
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const p of dashboard.panels) t.match(svg, `>${p.title.replace(/&/g, '&amp;')}</text>`, p.title);
  t.match(svg, 'Rendered by scripts/render-dashboard.ts', 'it says how it was made');
});

t.test('the renderer: series drawn, no data said, values in the panel unit', async (t) => {
  const panels = dashboard.panels.filter((p) => [1, 8, 9].includes(p.id));
  const data = new Map([
    [1, [{ name: 'served', points: [[0, 1], [10, 3]] as [number, number][] }]],
    [8, [{ name: 'docker.io/library/app', points: [[10, 2 * 86_400]] as [number, number][] }]],
  ]);
  const svg = renderDashboard('trustgate', panels, data, ['caption']);
  t.match(svg, '<polyline', 'a line for the time series');
  t.match(svg, '>docker.io/library/app</text>');
  t.match(svg, '#ff9830', 'two days left: orange, as the thresholds say');
  t.match(svg, '>No data</text>', 'the empty panel says so');
  t.equal(formatValue(0.25, 'percentunit'), '25%');
  t.equal(formatValue(0.0123, 's'), '12.3 ms');
  t.equal(formatValue(14 * 86_400, 's'), '14 day');
});
