// The root of every trustgate error (see ../errors.ts for the families).

export abstract class TrustgateError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
