// Listing and reading a tar archive the way GNU tar does (list.c, xheader.c): headers only, seeking
// past member data, every header checked and counted. See tar.ts for the rules in one place.

import { open, type FileHandle } from 'node:fs/promises';
import { BLOCK, checksum, MAX_META, memberType, numeric, pad, text, type TarFile } from './tar-format.js';

export type { TarFile, TarMemberType } from './tar-format.js';

/** Name and size that extended headers (PAX `x`, GNU `L`) set for the next member. */
interface Pending {
  path?: string;
  longName?: string;
  size?: number;
}

async function readAt(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(b, done, length - done, position + done);
    if (bytesRead === 0) throw new Error('tar: truncated archive');
    done += bytesRead;
  }
  return b;
}

function checkHeader(h: Buffer): void {
  const stored = numeric(h, 148, 8);
  const sum = checksum(h);
  if (stored !== sum.unsigned && stored !== sum.signed) throw new Error('tar: header checksum mismatch (not a tar archive, or damaged)');
}

/** POSIX ustar: prefix "/" name; the old GNU format keeps other data where the prefix would be. */
function headerName(h: Buffer): string {
  const name = text(h, 0, 100);
  const posix = h.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = posix ? text(h, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function applyPax(records: Map<string, string>, pending: Pending): void {
  const path = records.get('path');
  if (path !== undefined) pending.path = path;
  const size = records.get('size');
  if (size !== undefined) {
    if (!/^\d+$/.test(size) || !Number.isSafeInteger(Number(size))) throw new Error('tar: malformed PAX size');
    pending.size = Number(size);
  }
}

/** Every member of a tar archive, in order (reading headers only). */
export async function listTar(path: string, maxEntries = 100_000): Promise<TarFile[]> {
  const fh = await open(path, 'r');
  try {
    const { size: total } = await fh.stat();
    const members: TarFile[] = [];
    let offset = 0;
    let headers = 0;
    let pending: Pending = {};
    while (offset + BLOCK <= total) {
      const h = await readAt(fh, BLOCK, offset);
      if (h.every((b) => b === 0)) break;
      if (++headers > maxEntries) throw new Error(`tar: more than ${maxEntries} entries`);
      checkHeader(h);
      const flag = String.fromCharCode(h[156] as number);
      const headerSize = numeric(h, 124, 12);
      const data = offset + BLOCK;
      if (flag === 'x' || flag === 'L' || flag === 'K' || flag === 'g') {
        if (flag === 'g') throw new Error('tar: global PAX headers are not supported');
        if (headerSize > MAX_META || data + headerSize > total) throw new Error('tar: malformed extended header');
        const meta = await readAt(fh, headerSize, data);
        if (flag === 'x') applyPax(parsePax(meta), pending);
        if (flag === 'L') pending.longName = text(meta, 0, meta.length);
        offset = data + headerSize + pad(headerSize).length;
        continue;
      }
      const size = pending.size ?? headerSize;
      const name = pending.path ?? pending.longName ?? headerName(h);
      pending = {};
      if (data + size > total) throw new Error('tar: truncated archive');
      const type = memberType(flag);
      members.push({ name, size, offset: data, type: type === 'file' && name.endsWith('/') ? 'directory' : type });
      offset = data + size + pad(size).length;
    }
    return members;
  } finally {
    await fh.close();
  }
}

/** Read one regular file's bytes from the archive. */
export async function readTarFile(path: string, f: TarFile): Promise<Buffer> {
  if (f.type !== 'file') throw new Error(`tar: ${f.name} is not a regular file`);
  const fh = await open(path, 'r');
  try {
    return await readAt(fh, f.size, f.offset);
  } finally {
    await fh.close();
  }
}

/** PAX records, each `<length> <key>=<value>\n`, walked by their lengths (POSIX pax). */
export function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const digits = space > pos ? data.toString('latin1', pos, space) : '';
    const len = /^\d+$/.test(digits) ? Number(digits) : NaN;
    if (!Number.isSafeInteger(len) || len <= space - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new Error('tar: malformed PAX record');
    }
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new Error('tar: malformed PAX record');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}
