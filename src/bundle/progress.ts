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
