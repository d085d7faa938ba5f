// Render the panels of a Grafana dashboard (its JSON: gridPos, type, unit, thresholds) as one SVG,
// from query results: time series as lines or stacked bars, bar gauges and stats by their last
// value. Not Grafana: a faithful sketch of what its panels show, for the README.

export interface Series {
  readonly name: string;
  /** [unix seconds, value] */
  readonly points: readonly (readonly [number, number])[];
}

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps: { color: string; value: number | null }[] }; custom?: { drawStyle?: string; stacking?: { mode?: string } } } };
}

const COL = 50;
const ROW = 30;
const HEADER = 44;
const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9', '#fade2a', '#ff9830', '#96d98d'];
const COLORS: Record<string, string> = { green: '#73bf69', yellow: '#fade2a', orange: '#ff9830', red: '#f2495c' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A value in the panel's unit, as Grafana would print it (approximately). */
export function formatValue(v: number, unit = 'none'): string {
  const num = (x: number) => (Math.abs(x) >= 100 || x === Math.round(x) ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
  if (unit === 'percentunit') return `${num(v * 100)}%`;
  if (unit === 'reqps') return `${num(v)} req/s`;
  if (unit === 'ops') return `${num(v)} ops/s`;
  if (unit === 's') {
    const a = Math.abs(v);
    if (a < 1) return `${num(v * 1000)} ms`;
    if (a < 120) return `${num(v)} s`;
    if (a < 7200) return `${num(v / 60)} min`;
    if (a < 172_800) return `${num(v / 3600)} hour`;
    return `${num(v / 86_400)} day`;
  }
  return num(v);
}

function thresholdColor(panel: Panel, v: number): string {
  let color = 'green';
  for (const step of panel.fieldConfig?.defaults?.thresholds?.steps ?? []) if (step.value === null || v >= step.value) color = step.color;
  return COLORS[color] ?? color;
}

/** The whole dashboard: a title bar, every panel where its gridPos puts it, and a caption. */
export function renderDashboard(title: string, panels: readonly Panel[], data: ReadonlyMap<number, readonly Series[]>, caption: readonly string[]): string {
  const width = 24 * COL;
  const rows = Math.max(...panels.map((p) => p.gridPos.y + p.gridPos.h));
  const height = HEADER + rows * ROW + 16 + caption.length * 16;
  const body = panels.map((p) => renderPanel(p, data.get(p.id) ?? [])).join('\n');
  const captionLines = caption.map((line, i) => `<text x="8" y="${HEADER + rows * ROW + 20 + i * 16}" class="caption">${esc(line)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Inter, Helvetica, Arial, sans-serif">
<style>.t{fill:#d8d9da;font-size:13px;font-weight:600}.l{fill:#ccccdc;font-size:11px}.a{fill:#8e8e9e;font-size:10px}.caption{fill:#8e8e9e;font-size:11px}.nd{fill:#8e8e9e;font-size:13px}</style>
<rect width="100%" height="100%" fill="#111217"/>
<text x="8" y="28" fill="#d8d9da" font-size="18" font-weight="600">${esc(title)}</text>
${body}
${captionLines}
</svg>
`;
}

function renderPanel(p: Panel, series: readonly Series[]): string {
  const x = p.gridPos.x * COL + 4;
  const y = HEADER + p.gridPos.y * ROW + 4;
  const w = p.gridPos.w * COL - 8;
  const h = p.gridPos.h * ROW - 8;
  const frame = `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="3" fill="#181b1f" stroke="#2c3235"/><text x="${x + 10}" y="${y + 20}" class="t">${esc(p.title)}</text>`;
  const box = { x: x + 10, y: y + 30, w: w - 20, h: h - 38 };
  const nonEmpty = series.filter((s) => s.points.length > 0);
  if (nonEmpty.length === 0) return `<g>${frame}<text x="${x + w / 2}" y="${y + h / 2}" text-anchor="middle" class="nd">No data</text></g>`;
  const content = p.type === 'timeseries' ? timeSeries(p, nonEmpty, box) : p.type === 'bargauge' ? barGauge(p, nonEmpty, box) : stat(p, nonEmpty, box);
  return `<g>${frame}${content}</g>`;
}

type Box = { x: number; y: number; w: number; h: number };

function timeSeries(p: Panel, series: readonly Series[], box: Box): string {
  const unit = p.fieldConfig?.defaults?.unit;
  const stacked = p.fieldConfig?.defaults?.custom?.stacking?.mode === 'normal';
  const bars = p.fieldConfig?.defaults?.custom?.drawStyle === 'bars';
  const legendRows = Math.ceil(series.length / Math.max(1, Math.floor(box.w / 190)));
  const plot = { x: box.x + 58, y: box.y, w: box.w - 58, h: box.h - 18 - legendRows * 15 };
  const times = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const t0 = times[0] as number;
  const t1 = Math.max(times.at(-1) as number, t0 + 1);
  const valueAt = (s: Series, t: number) => s.points.find(([pt]) => pt === t)?.[1] ?? 0;
  const tops = stacked ? times.map((t) => series.reduce((sum, s) => sum + valueAt(s, t), 0)) : series.flatMap((s) => s.points.map(([, v]) => v));
  const max = niceMax(Math.max(...tops.filter(Number.isFinite), 0));
  const px = (t: number) => plot.x + ((t - t0) / (t1 - t0)) * plot.w;
  const py = (v: number) => plot.y + plot.h - (Math.min(v, max) / max) * plot.h;
  const out: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${py(v)}" y2="${py(v)}" stroke="#2c3235"/>`);
    out.push(`<text x="${plot.x - 6}" y="${py(v) + 3}" text-anchor="end" class="a">${esc(formatValue(v, unit))}</text>`);
  }
  for (const [t, anchor] of [[t0, 'start'], [(t0 + t1) / 2, 'middle'], [t1, 'end']] as const) {
    const label = new Date(t * 1000).toISOString().slice(11, 19);
    out.push(`<text x="${px(t)}" y="${plot.y + plot.h + 13}" text-anchor="${anchor}" class="a">${label}</text>`);
  }
  const barWidth = Math.max(1, (plot.w / times.length) * 0.8);
  const base = new Map<number, number>();
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    if (bars) {
      for (const t of times) {
        const v = valueAt(s, t);
        const under = stacked ? (base.get(t) ?? 0) : 0;
        if (v > 0) out.push(`<rect x="${(px(t) - barWidth / 2).toFixed(1)}" y="${py(under + v).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(py(under) - py(under + v)).toFixed(1)}" fill="${color}" fill-opacity="0.8"/>`);
        if (stacked) base.set(t, under + v);
      }
    } else {
      const points = s.points.filter(([, v]) => Number.isFinite(v)).map(([t, v]) => `${px(t).toFixed(1)},${py(v).toFixed(1)}`);
      out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
  });
  out.push(legend(series, { x: box.x, y: plot.y + plot.h + 30, w: box.w }));
  return out.join('');
}

function legend(series: readonly Series[], at: { x: number; y: number; w: number }): string {
  const perRow = Math.max(1, Math.floor(at.w / 190));
  return series
    .map((s, i) => {
      const x = at.x + (i % perRow) * 190;
      const y = at.y + Math.floor(i / perRow) * 15;
      const name = s.name.length > 28 ? `${s.name.slice(0, 27)}…` : s.name;
      return `<rect x="${x}" y="${y - 8}" width="10" height="3" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 14}" y="${y - 3}" class="l">${esc(name)}</text>`;
    })
    .join('');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}

const last = (s: Series) => (s.points.at(-1) as readonly [number, number])[1];

function barGauge(p: Panel, series: readonly Series[], box: Box): string {
  const unit = p.fieldConfig?.defaults?.unit;
  const sorted = [...series].sort((a, b) => last(a) - last(b));
  const max = niceMax(Math.max(...sorted.map(last)));
  const rowHeight = Math.min(26, box.h / sorted.length);
  const labelWidth = Math.min(230, box.w * 0.4);
  return sorted
    .map((s, i) => {
      const y = box.y + i * rowHeight;
      const v = last(s);
      const barWidth = Math.max(2, ((box.w - labelWidth - 90) * Math.max(v, 0)) / max);
      return `<text x="${box.x}" y="${y + rowHeight * 0.65}" class="l">${esc(s.name)}</text>` +
        `<rect x="${box.x + labelWidth}" y="${y + 3}" width="${box.w - labelWidth - 90}" height="${rowHeight - 6}" fill="#22252b"/>` +
        `<rect x="${box.x + labelWidth}" y="${y + 3}" width="${barWidth.toFixed(1)}" height="${rowHeight - 6}" fill="${thresholdColor(p, v)}"/>` +
        `<text x="${box.x + box.w}" y="${y + rowHeight * 0.65}" text-anchor="end" fill="${thresholdColor(p, v)}" font-size="12">${esc(formatValue(v, unit))}</text>`;
    })
    .join('');
}

function stat(p: Panel, series: readonly Series[], box: Box): string {
  const unit = p.fieldConfig?.defaults?.unit;
  const cell = box.w / series.length;
  return series
    .map((s, i) => {
      const v = last(s);
      const cx = box.x + cell * i + cell / 2;
      return `<text x="${cx}" y="${box.y + box.h / 2}" text-anchor="middle" fill="${thresholdColor(p, v)}" font-size="34" font-weight="600">${esc(formatValue(v, unit))}</text>` +
        `<text x="${cx}" y="${box.y + box.h / 2 + 22}" text-anchor="middle" class="l">${esc(s.name)}</text>`;
    })
    .join('');
}
