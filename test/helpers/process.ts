// Child processes and ports for real-peer tests: free ports from the OS, processes that are always
// stopped (SIGTERM, then SIGKILL), commands with bounded run time.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `trustgate-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion (bounded by `timeoutMs`), capturing its output. */
export function run(cmd: string, args: string[], opts: SpawnOptions & { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // a command that exits without reading its input closes the pipe first: not an error
    child.stdin?.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** Run and insist on exit 0. */
export async function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export class Daemon {
  private exited: Promise<void>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const live = new Set<ChildProcess>();
let reaperInstalled = false;
let signalsHandledElsewhere = false;

/**
 * For a program that stops its children itself on SIGINT, SIGTERM and SIGHUP (the demo: stop them,
 * then remove its files): the reaper leaves those signals to it instead of exiting at once, and only
 * kills what is still running when the process exits.
 */
export function handleSignalsElsewhere(): void {
  signalsHandledElsewhere = true;
}

/** Children die with the test process, even when it is stopped by a signal or a timeout. */
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  const reap = () => {
    for (const c of live) c.kill('SIGKILL');
  };
  process.on('exit', reap);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      if (signalsHandledElsewhere) return;
      reap();
      process.exit(128 + ({ SIGTERM: 15, SIGINT: 2, SIGHUP: 1 } as const)[sig]);
    });
  }
}

/** Start a long-running process with its output in `logPath`. */
export function startDaemon(name: string, cmd: string, args: string[], logPath: string, opts: SpawnOptions = {}): Daemon {
  installReaper();
  const log = createWriteStream(logPath);
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return new Daemon(name, child, logPath);
}

/** Poll `probe` until it resolves true or the deadline passes. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000, daemon?: Daemon): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (daemon && !daemon.running) throw new Error(`${daemon.name} exited while waiting for ${what}${logTail(daemon)}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!daemon) throw new Error(`timed out waiting for ${what}`);
  // the caller throws before it can register the daemon for teardown: stop it here
  const tail = logTail(daemon);
  await daemon.stop();
  throw new Error(`timed out waiting for ${what}${tail}`);
}

/** The last lines a daemon wrote: the temp dir is gone by the time anyone reads the failure. */
function logTail(daemon: Daemon): string {
  let text = '';
  try {
    text = readFileSync(daemon.logPath, 'utf8');
  } catch {
    return ` (log: ${daemon.logPath}, unreadable)`;
  }
  return ` (log: ${daemon.logPath}, last lines:\n${text.split('\n').slice(-15).join('\n')})`;
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
