// Log lines gathered for one turn of the event loop and handed to the destination as one buffer.
// The destination is pino's sonic-boom in buffer mode, writing once 64 KiB are pending (logDestination).
// Measured per audit line (~400 bytes, 2–8 lines a turn), CPU of the whole process:
// - sonic-boom in its default string mode appends each line to its pending string with `+=`,
//   measures that string's UTF-8 length again on every write, and writes as soon as 4 KiB are
//   pending: 7.5–10 µs per line, most of it the writes and the re-measuring;
// - one buffer per turn into sonic-boom's buffer mode (lengths are counted, never measured), written
//   64 KiB at a time: 3.6–3.8 µs per line, of which pino's serialisation is 2.7.
// Nothing is held longer than the turn here: the lines reach the destination on the next
// `setImmediate`, or on `flush`; a process that exits within the turn writes them synchronously
// after what the destination holds.

import { pino } from 'pino';

/** What the lines are handed to (pino's sonic-boom destination). */
export interface LineSink {
  write(data: Buffer): boolean;
  flush(): void;
  flushSync(): void;
}

/** The log's destination as `serve` writes it: a write(2) per 64 KiB of lines, from libuv's thread pool. */
export function logDestination(fd: number): LineSink {
  const boom = pino.destination({ dest: fd, sync: false, contentMode: 'buffer', minLength: 64 * 1024, maxWrite: 256 * 1024 });
  return {
    // sonic-boom's types know only its string mode; in buffer mode it takes buffers
    write: (data) => boom.write(data as unknown as string),
    flush: () => boom.flush(),
    flushSync: () => boom.flushSync(),
  };
}

export class LineBatch {
  private lines: string[] = [];
  private scheduled = false;

  constructor(
    private readonly sink: LineSink,
    /** A synchronous write of the same output, for the lines pending at exit. */
    private readonly writeNow: (data: string) => void,
  ) {}

  /** pino's stream interface: one serialised line. */
  write(line: string): boolean {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
    return true;
  }

  /** Hand the pending lines on and start writing what the sink holds. */
  flush(): void {
    this.drain();
    this.sink.flush();
  }

  /**
   * Write everything now (shutdown, exit): what the sink holds, then the pending lines — written
   * directly, since handed to the sink they could start an asynchronous write an exit would cut.
   */
  flushSync(): void {
    this.sink.flushSync();
    const data = this.take();
    if (data !== undefined) this.writeNow(data);
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const data = this.take();
    if (data !== undefined) this.sink.write(Buffer.from(data));
  };

  private take(): string | undefined {
    if (this.lines.length === 0) return undefined;
    const data = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join('');
    this.lines = [];
    return data;
  }
}
