// The scale curve as an SVG: small multiples over the number of repositories (logarithmic), each
// point labelled with its value. Drawn from the benchmark's own figures, no external tools.

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
}

export interface ChartPanel {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly ChartSeries[];
}

const PANEL_W = 420;
const PANEL_H = 230;
const PAD = { left: 56, right: 18, top: 40, bottom: 42 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmt(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** The whole figure: `panels` two to a row, the x axis of each the `repositories` points. */
export function renderScaleChart(title: string, repositories: readonly number[], panels: readonly ChartPanel[], caption: string): string {
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const width = cols * PANEL_W;
  const height = 40 + rows * PANEL_H + 28;
  const body = panels.map((p, i) => renderPanel(p, repositories, (i % cols) * PANEL_W, 40 + Math.floor(i / cols) * PANEL_H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>.t{font-size:13px;font-weight:600;fill:#222}.a{font-size:10px;fill:#666}.v{font-size:10px}.lg{font-size:11px}.c{font-size:11px;fill:#666}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="26" font-size="16" font-weight="600" fill="#222">${esc(title)}</text>
${body}
<text x="10" y="${height - 10}" class="c">${esc(caption)}</text>
</svg>
`;
}

function renderPanel(p: ChartPanel, xs: readonly number[], ox: number, oy: number): string {
  const w = PANEL_W - PAD.left - PAD.right;
  const h = PANEL_H - PAD.top - PAD.bottom;
  const logs = xs.map((x) => Math.log10(Math.max(1, x)));
  const [lo, hi] = [Math.min(...logs), Math.max(...logs)];
  const px = (k: number) => ox + PAD.left + (hi === lo ? w / 2 : ((logs[k] as number) - lo) / (hi - lo) * w);
  const finite = p.series.flatMap((s) => s.values.filter(Number.isFinite));
  const top = niceCeiling(Math.max(1e-9, ...finite));
  const py = (v: number) => oy + PAD.top + h - (v / top) * h;
  const out: string[] = [`<text x="${ox + 10}" y="${oy + 18}" class="t">${esc(p.title)}</text>`];
  for (let g = 0; g <= 4; g++) {
    const v = (top * g) / 4;
    out.push(`<line x1="${ox + PAD.left}" x2="${ox + PAD.left + w}" y1="${py(v)}" y2="${py(v)}" stroke="#e6e6e6"/>`);
    out.push(`<text x="${ox + PAD.left - 6}" y="${py(v) + 3}" text-anchor="end" class="a">${fmt(v)}</text>`);
  }
  xs.forEach((x, k) => out.push(`<text x="${px(k)}" y="${oy + PAD.top + h + 14}" text-anchor="middle" class="a">${x.toLocaleString('en-US')}</text>`));
  out.push(`<text x="${ox + PAD.left + w / 2}" y="${oy + PAD.top + h + 30}" text-anchor="middle" class="a">repositories (× 10 signed tags) — ${esc(p.unit)}</text>`);
  p.series.forEach((s, si) => {
    const pts = s.values.map((v, k) => [px(k), py(v), v] as const).filter(([, , v]) => Number.isFinite(v));
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y, v] of pts) {
      out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${s.color}"/>`);
      out.push(`<text x="${x.toFixed(1)}" y="${(y - 6 - si * 11).toFixed(1)}" text-anchor="middle" class="v" fill="${s.color}">${fmt(v)}</text>`);
    }
    out.push(`<rect x="${ox + PAD.left + 8 + si * 120}" y="${oy + 26}" width="10" height="3" fill="${s.color}"/>`);
    out.push(`<text x="${ox + PAD.left + 22 + si * 120}" y="${oy + 31}" class="lg" fill="${s.color}">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

/** 1, 2 or 5 times a power of ten, at or above `v`. */
function niceCeiling(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
