// What long air-gap work reports as it goes (a terminal shows it; scripts ignore it).

export interface Progress {
  /** Work on repository `index` (1-based) of `total` begins. */
  repository(gun: string, index: number, total: number): void;
  /** Bytes moved: image data as it streams, trust files as they are read. */
  bytes(n: number): void;
  /** One blob (export) or trust file (import) is done. */
  item(): void;
}

export const NO_PROGRESS: Progress = {
  repository() {},
  bytes() {},
  item() {},
};

/** What a use case is given besides its request: where reports and progress go, and the clock. */
export interface Hooks<R> {
  readonly report?: (r: R) => void;
  readonly progress?: Progress;
  /** The reference clock (epoch ms) for trust decisions. */
  readonly clock?: () => number;
}
