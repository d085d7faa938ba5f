// A minimal POSIX tar (ustar, with PAX records for long names) for trust bundles: enough to write
// regular files and directories and to read them back with bounded sizes. No links, no devices.

import { open } from 'node:fs/promises';

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, type: '0' | '5' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal(type === '5' ? 0o755 : 0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

function pad(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header blocks of one regular file (a PAX record first when the name does not fit). */
export function tarHeader(name: string, size: number): Buffer {
  const parts: Buffer[] = [];
  if (Buffer.byteLength(name) > 100) {
    const record = (len: number) => `${len} path=${name}\n`;
    let len = Buffer.byteLength(record(0));
    while (Buffer.byteLength(record(len)) !== len) len = Buffer.byteLength(record(len));
    const pax = Buffer.from(record(len));
    parts.push(header('PaxHeader', pax.length, 'x'), pax, pad(pax.length));
  }
  parts.push(header(name, size, '0'));
  return Buffer.concat(parts);
}

/** Zero bytes that complete a file's last block. */
export function tarPad(size: number): Buffer {
  return pad(size);
}

/** One tar entry, whole. */
export function tarEntry(name: string, data: Buffer): Buffer {
  return Buffer.concat([tarHeader(name, data.length), data, pad(data.length)]);
}

export function tarEnd(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}

export interface TarFile {
  readonly name: string;
  readonly size: number;
  /** Offset of the file's data in the archive. */
  readonly offset: number;
}

/** List the regular files of a tar archive (reading headers only). */
export async function listTar(path: string, maxEntries = 100_000): Promise<TarFile[]> {
  const fh = await open(path, 'r');
  try {
    const { size: total } = await fh.stat();
    const files: TarFile[] = [];
    let offset = 0;
    let longName: string | undefined;
    const h = Buffer.alloc(BLOCK);
    while (offset + BLOCK <= total) {
      await fh.read(h, 0, BLOCK, offset);
      if (h.every((b) => b === 0)) break;
      const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
      const type = String.fromCharCode(h[156] ?? 0x30);
      if (!Number.isSafeInteger(size) || size < 0 || offset + BLOCK + size > total) throw new Error('truncated or malformed tar archive');
      if (files.length >= maxEntries) throw new Error('too many entries in tar archive');
      const dataOffset = offset + BLOCK;
      if (type === 'x') {
        const rec = Buffer.alloc(Math.min(size, 64 * 1024));
        await fh.read(rec, 0, rec.length, dataOffset);
        longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(rec.toString('utf8'))?.[1];
      } else if (type === '0' || type === '\0') {
        const name = longName ?? h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
        files.push({ name, size, offset: dataOffset });
        longName = undefined;
      } else {
        longName = undefined;
      }
      offset = dataOffset + size + ((BLOCK - (size % BLOCK)) % BLOCK);
    }
    return files;
  } finally {
    await fh.close();
  }
}

/** Read one file's bytes from the archive. */
export async function readTarFile(path: string, f: TarFile): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(f.size);
    await fh.read(b, 0, f.size, f.offset);
    return b;
  } finally {
    await fh.close();
  }
}
