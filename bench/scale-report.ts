// The scale benchmark's record: markdown tables, the targets met or not, and the chart.

import { manifestFor, TAGS } from './scale-data.js';
import type { Generation, ScalePoint } from './scale.js';
import { renderScaleChart } from './scale-chart.js';

/** The in-process bounds trustgate runs with (src/notary/source.ts maxMemo, src/pull/manifests.ts maxHot, limits.memoryCacheMaxBytes). */
const LIMITS = { trustMemo: 10_000, hotAnswers: 10_000, memoryCacheBytes: 256 << 20 };

const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');
const rate = (r: { pulls: number; seconds: number }, per = 1) => r.pulls / per / r.seconds;
const rssPerRepositoryKiB = (p: ScalePoint) => ((p.rss.warmMiB - p.rss.startMiB) * 1024) / p.repositories;

/** The record (bench/results/scale.md), the part of it the README shows, and the chart. */
export function scaleReport(points: readonly ScalePoint[], gen: Generation, o: { seconds: number; concurrency: number }): { markdown: string; readme: string; svg: string } {
  const title = `${new Date().toISOString()}, node ${process.version}, Redis, ${o.seconds}s warm runs with wrk -t1 -c32, fills ${o.concurrency} pulls at a time`;
  const body = [
    `${f(gen.repositories)} repositories × ${TAGS} tags signed with the project's repository simulator in ${f(gen.seconds, 1)} s (${gen.processes} processes), served by a static Notary API; every pull of the fills checked against its signed digest.`,
    '',
    `| repositories × ${TAGS} tags | cold fill: repositories/s | tag fill: pulls/s | warm req/s (random mix) | warm p50 | warm p99 | warm answers from the hot cache | replica fill (up to 2,000 repositories): repositories/s | errors |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...points.map(
      (p) =>
        `| ${f(p.repositories)} | ${f(rate(p.cold))} | ${f(rate(p.tagFill))} | ${f(p.warm.rps)} | ${f(p.warm.p50, 2)} ms | ${f(p.warm.p99, 2)} ms | ${f(p.hotFraction * 100)}% | ${f(rate(p.replica))} | ${p.cold.errors + p.tagFill.errors + p.warm.errors + p.replica.errors} |`,
    ),
    '',
    '| repositories | Redis commands per pull: cold | tag fill | warm | replica | Redis memory per repository | Redis keys per repository | RSS after start-up | RSS after the warm run | RSS per cached repository | trust data held | /metrics size |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...points.map(
      (p) =>
        `| ${f(p.repositories)} | ${f(p.commands.cold, 1)} | ${f(p.commands.tagFill, 1)} | ${f(p.commands.warm, 3)} | ${f(p.commands.replica, 1)} | ${f(p.redis.bytesPerRepository / 1024, 1)} KiB | ${f(p.redis.keysPerRepository, 1)} | ${f(p.rss.startMiB)} MiB | ${f(p.rss.warmMiB)} MiB | ${p.repositories >= 100 ? `${f(rssPerRepositoryKiB(p), 1)} KiB` : '–'} | ${f(p.trustHeld)} | ${f(p.metricsBytes / 1024)} KiB |`,
    ),
    '',
    ...commandLines(points),
    '',
    targets(points),
  ];
  return {
    markdown: [`# trustgate scale benchmark (${title})`, '', ...body].join('\n'),
    readme: [`**Scale** (\`bench/scale.ts\`; ${title}):`, '', ...body].join('\n'),
    svg: chart(points),
  };
}

/** `readme` with the text between the scale markers replaced by `block` (unchanged without markers). */
export function withScaleBlock(readme: string, block: string): string {
  const begin = '<!-- scale:begin -->';
  const end = '<!-- scale:end -->';
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) return readme;
  return `${readme.slice(0, a + begin.length)}\n${block}\n${readme.slice(b)}`;
}

/** Which Redis commands a pull costs, per phase, at the largest point. */
function commandLines(points: readonly ScalePoint[]): string[] {
  const top = points.reduce((a, b) => (b.repositories > a.repositories ? b : a));
  const mix = top.commandMix;
  return [
    `Redis commands per pull at ${f(top.repositories)} repositories, by command:`,
    '',
    `- cold: ${mix.cold || 'none'}`,
    `- tag fill: ${mix.tagFill || 'none'}`,
    `- warm: ${mix.warm || 'none'}`,
    `- replica: ${mix.replica || 'none'}`,
  ];
}

function targets(points: readonly ScalePoint[]): string {
  const top = points.reduce((a, b) => (b.repositories > a.repositories ? b : a));
  const tags = top.repositories * TAGS;
  const manifestBytes = tags * manifestFor(0, 0).length;
  // LRU under a uniform mix: a bound of B answers over T tags serves at most about B/T from the cache
  const hotBound = Math.min(1, LIMITS.hotAnswers / tags);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const errors = points.reduce((n, p) => n + p.cold.errors + p.tagFill.errors + p.warm.errors + p.replica.errors, 0);
  const maxWarmCommands = Math.max(...points.map((p) => p.commands.warm));
  return [
    `targets at ${f(top.repositories)} repositories: `,
    `trust memo ≤ ${f(LIMITS.trustMemo)} repositories: ${verdict(top.trustHeld <= LIMITS.trustMemo)} (${f(top.trustHeld)} held); `,
    `hot cache ≤ ${f(LIMITS.hotAnswers)} answers: ${verdict(top.hotFraction <= hotBound * 1.25 + 0.01)} (${f(top.hotFraction * 100, 1)}% of warm pulls over ${f(tags)} tags answered from it, ${f(hotBound * 100, 1)}% for a full ${f(LIMITS.hotAnswers)}-entry LRU); `,
    `memory result cache ≤ ${f(LIMITS.memoryCacheBytes / 2 ** 20)} MiB: ${verdict(manifestBytes <= LIMITS.memoryCacheBytes)} (${f(tags)} manifests, ${f(manifestBytes / 2 ** 20, 1)} MiB); `,
    `warm pulls stay off Redis (< 0.01 commands per pull at every point): ${verdict(maxWarmCommands < 0.01)} (at most ${f(maxWarmCommands, 3)}); `,
    `every answer the signed digest: ${verdict(errors === 0)} (${errors} errors)`,
  ].join('');
}

function chart(points: readonly ScalePoint[]): string {
  const xs = points.map((p) => p.repositories);
  const of = (fn: (p: ScalePoint) => number) => points.map(fn);
  return renderScaleChart(
    'trustgate at scale (Redis; 10 signed tags per repository)',
    xs,
    [
      { title: 'Warm manifest GET, random mix of every tag', unit: 'req/s', series: [{ name: 'req/s', color: '#1f77b4', values: of((p) => p.warm.rps) }] },
      {
        title: 'Warm latency',
        unit: 'ms',
        series: [
          { name: 'p50', color: '#2ca02c', values: of((p) => p.warm.p50) },
          { name: 'p99', color: '#d62728', values: of((p) => p.warm.p99) },
        ],
      },
      {
        title: 'Filling: repositories verified per second',
        unit: 'repositories/s',
        series: [
          { name: 'cold (from Notary)', color: '#1f77b4', values: of((p) => rate(p.cold)) },
          { name: 'replica (from Redis)', color: '#ff7f0e', values: of((p) => rate(p.replica)) },
        ],
      },
      {
        title: 'Memory per repository',
        unit: 'KiB',
        series: [
          { name: 'trustgate RSS', color: '#9467bd', values: of((p) => (p.repositories >= 100 ? rssPerRepositoryKiB(p) : NaN)) },
          { name: 'Redis', color: '#8c564b', values: of((p) => p.redis.bytesPerRepository / 1024) },
        ],
      },
      {
        title: 'Redis commands per pull',
        unit: 'commands',
        series: [
          { name: 'cold', color: '#1f77b4', values: of((p) => p.commands.cold) },
          { name: 'replica', color: '#ff7f0e', values: of((p) => p.commands.replica) },
          { name: 'warm', color: '#2ca02c', values: of((p) => p.commands.warm) },
        ],
      },
      { title: 'Warm pulls answered from the hot cache', unit: '%', series: [{ name: 'hot', color: '#17becf', values: of((p) => p.hotFraction * 100) }] },
    ],
    `Drawn by bench/scale.ts from its own run (${new Date().toISOString().slice(0, 10)}); tables in bench/results/scale.md.`,
  );
}
