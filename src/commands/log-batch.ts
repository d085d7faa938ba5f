// Log lines gathered for one turn of the event loop and handed to the destination as one string.
// sonic-boom appends each line to its pending buffer with `+=` and measures that buffer's UTF-8
// length on every write; with a write to stdout in flight (most of the time under load) the buffer
// grows to 16 KiB, and measuring it again for each ~400-byte audit line cost about 4 µs per warm
// pull. Per turn, that cost is paid once for all the lines of the turn. Nothing is held longer than
// the turn: the lines reach the destination on the next `setImmediate`, or on `flush`; a process
// that exits within the turn writes them synchronously after what the destination holds.

/** What the lines are handed to (pino's sonic-boom destination). */
export interface LineSink {
  write(data: string): boolean;
  flush(): void;
  flushSync(): void;
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
    if (data !== undefined) this.sink.write(data);
  };

  private take(): string | undefined {
    if (this.lines.length === 0) return undefined;
    const data = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join('');
    this.lines = [];
    return data;
  }
}
