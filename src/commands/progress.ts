// Progress of long commands on a terminal: one line, redrawn in place at most ten times a second —
// items done of the total, bytes and rate, what is being worked on. Nothing at all when the stream
// is not a terminal, so scripts and logs see only the command's own output.

export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface Progress {
  /** `done` items of `total` finished; `current` is being worked on; `bytes` so far, if counted. */
  update(state: { done: number; current?: string; bytes?: number }): void;
  /** Print a line of the command's own output without tearing the progress line. */
  line(write: () => void): void;
  /** Remove the progress line. */
  finish(): void;
}

const QUIET: Progress = { update: () => {}, line: (write) => write(), finish: () => {} };
const REDRAW_MS = 100;

/** A progress line for `total` `unit` on `stream` when it is a terminal; otherwise silent. */
export function progressOn(stream: ProgressStream | undefined, unit: string, total: number, clock: () => number = Date.now): Progress {
  if (!stream?.isTTY) return QUIET;
  const started = clock();
  let shown = false;
  let lastDraw = -Infinity;
  let last: { done: number; current?: string; bytes?: number } = { done: 0 };
  const draw = () => {
    const seconds = Math.max((clock() - started) / 1000, 0.001);
    const parts = [`${last.done}/${total} ${unit}`];
    if (last.bytes !== undefined) parts.push(`${formatBytes(last.bytes)}, ${formatBytes(last.bytes / seconds)}/s`);
    else parts.push(`${(last.done / seconds).toFixed(1)}/s`);
    if (last.current) parts.push(last.current);
    const text = parts.join(' · ').slice(0, Math.max((stream.columns || 80) - 1, 20));
    stream.write(`\r${text}\x1b[K`);
    shown = true;
    lastDraw = clock();
  };
  const clear = () => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  return {
    update(state) {
      last = { ...last, ...state };
      if (clock() - lastDraw >= REDRAW_MS || last.done === total) draw();
    },
    line(write) {
      clear();
      write();
      if (last.done < total) draw();
    },
    finish: clear,
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}
