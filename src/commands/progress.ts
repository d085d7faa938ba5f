// One progress line for long commands (`trust export --images`, `trust import`): repositories,
// blobs or files, bytes and rate, redrawn in place on stderr. Only when both stdout and stderr are
// terminals: in scripts, pipes and logs the commands print their result lines and nothing else.

import type { Progress } from '../bundle/progress.js';

export interface ProgressLine extends Progress {
  /** Take the line off the screen (before a result line is printed, and at the end). */
  clear(): void;
}

export interface Terminal {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** What one item is: "blobs", "files". */
  readonly items: string;
  readonly stderr?: Terminal;
  readonly stdout?: { readonly isTTY?: boolean };
  /** Monotonic milliseconds. */
  readonly clock?: () => number;
  /** Least time between redraws. */
  readonly intervalMs?: number;
}

const CLEAR = '\r\x1b[2K';

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

interface State {
  gun: string;
  index: number;
  total: number;
  items: number;
  bytes: number;
  /** When the first bytes moved (-1: not yet). */
  started: number;
}

function describe(s: State, items: string, now: number): string {
  const seconds = s.started < 0 ? 0 : (now - s.started) / 1000;
  const rate = seconds > 0 ? `${mib(s.bytes / seconds)}/s` : '–';
  return `${s.index}/${s.total} repositories · ${s.items} ${items} · ${mib(s.bytes)} · ${rate} · ${s.gun}`;
}

/** A progress line on the terminal, or one that draws nothing when the output is not a terminal. */
export function progressLine(opts: ProgressOptions): ProgressLine {
  const err = opts.stderr ?? process.stderr;
  const out = opts.stdout ?? process.stdout;
  const quiet = !err.isTTY || !out.isTTY || process.env.TERM === 'dumb';
  const clock = opts.clock ?? (() => performance.now());
  const interval = opts.intervalMs ?? 100;
  const state = { gun: '', index: 0, total: 0, items: 0, bytes: 0, started: -1, drawnAt: -Infinity, shown: false };

  const draw = (force: boolean) => {
    if (quiet) return;
    const now = clock();
    if (!force && now - state.drawnAt < interval) return;
    state.drawnAt = now;
    const width = err.columns || 80; // a pseudo-terminal may report 0 columns
    err.write(CLEAR + describe(state, opts.items, now).slice(0, Math.max(10, width - 1)));
    state.shown = true;
  };
  return {
    repository(gun, index, total) {
      Object.assign(state, { gun, index, total, started: state.started < 0 ? clock() : state.started });
      draw(true);
    },
    bytes(n) {
      state.bytes += n;
      draw(false);
    },
    item() {
      state.items++;
      draw(false);
    },
    clear() {
      if (!state.shown) return;
      err.write(CLEAR);
      state.shown = false;
      state.drawnAt = -Infinity;
    },
  };
}
