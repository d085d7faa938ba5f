// The tar header format, shared by the reader and the writer (POSIX ustar and pax; GNU base-256
// numbers). See tar.ts for what trustgate writes and tar-read.ts for how it reads.

export const BLOCK = 512;
/** A PAX header or GNU long name larger than this is not a bundle's. */
export const MAX_META = 1 << 20;
/** 11 octal digits: the largest size the ustar size field holds in octal. */
export const OCTAL_MAX = 8 ** 11 - 1;

export const pad = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

export type TarMemberType = 'file' | 'directory' | 'link' | 'other';

export interface TarFile {
  readonly name: string;
  readonly size: number;
  /** Offset of the member's data in the archive. */
  readonly offset: number;
  readonly type: TarMemberType;
}

export function checksum(h: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

/** An octal field (leading spaces, ending at NUL or space), or GNU base-256. */
export function numeric(h: Buffer, at: number, width: number): number {
  const first = h[at] as number;
  if (first & 0x80) {
    if (first !== 0x80) throw new Error('tar: negative or oversized base-256 number');
    let v = 0n;
    for (let i = at + 1; i < at + width; i++) v = (v << 8n) | BigInt(h[i] as number);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('tar: number too large');
    return Number(v);
  }
  const text = h.toString('latin1', at, at + width).replace(/^ +/, '').replace(/[ \0].*$/s, '');
  if (!/^[0-7]*$/.test(text)) throw new Error('tar: malformed number');
  return text === '' ? 0 : parseInt(text, 8);
}

export const text = (h: Buffer, at: number, width: number) => {
  const end = h.indexOf(0, at);
  return h.toString('utf8', at, end === -1 || end > at + width ? at + width : end);
};

export function memberType(flag: string): TarMemberType {
  if (flag === '0' || flag === '\0' || flag === '7') return 'file';
  if (flag === '5') return 'directory';
  if (flag === '1' || flag === '2') return 'link';
  return 'other';
}
