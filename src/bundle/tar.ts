// POSIX tar for trust bundles, read the way GNU tar reads it (so `tar -t` shows an operator exactly
// the members trustgate reads) and written so GNU tar, bsdtar and Go's archive/tar read it back.
//
// Reading (headers only, seeking past data): every header's checksum is checked (unsigned or signed
// sum, as GNU tar accepts); names come from a PAX `path` record, else a GNU long name (`L`), else the
// ustar prefix and name fields (the prefix only with the POSIX `ustar\0` magic: in the old GNU format
// those bytes hold times); sizes from a PAX `size` record, else the size field in octal or GNU
// base-256. PAX records are parsed by their length prefixes, so text inside one record's value is
// never taken for another record. Every header (PAX, long name, directory…) counts toward the cap.
//
// Writing: regular files only; a PAX record carries a name longer than the name field, and a size of
// 8 GiB or more (the size field then holds it in base-256 too).

import { BLOCK, checksum, OCTAL_MAX, pad } from './tar-format.js';

export { listTar, readTarFile, type TarFile, type TarMemberType } from './tar-read.js';

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** A size field: octal, or GNU base-256 (high bit set, big-endian) beyond 11 octal digits. */
function sizeField(size: number): Buffer {
  if (size <= OCTAL_MAX) return Buffer.from(octal(size, 12), 'latin1');
  const b = Buffer.alloc(12);
  let v = BigInt(size);
  for (let i = 11; i > 0; i--, v >>= 8n) b[i] = Number(v & 0xffn);
  b[0] = 0x80;
  return b;
}

function header(name: string, size: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  sizeField(size).copy(h, 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(octal(checksum(h).unsigned, 7) + ' ', 148);
  return h;
}

function paxRecord(key: string, value: string): string {
  const rec = (len: number) => `${len} ${key}=${value}\n`;
  let len = Buffer.byteLength(rec(0));
  while (Buffer.byteLength(rec(len)) !== len) len = Buffer.byteLength(rec(len));
  return rec(len);
}

/** The header blocks of one regular file (a PAX header first when the name or size needs one). */
export function tarHeader(name: string, size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`tar: invalid size ${size}`);
  if (/[\n\0]/.test(name)) throw new RangeError(`tar: invalid name ${JSON.stringify(name)}`);
  const records = [
    ...(Buffer.byteLength(name) > 100 || /[^\x20-\x7e]/.test(name) ? [paxRecord('path', name)] : []),
    ...(size > OCTAL_MAX ? [paxRecord('size', String(size))] : []),
  ];
  const parts: Buffer[] = [];
  if (records.length > 0) {
    const pax = Buffer.from(records.join(''));
    parts.push(header('PaxHeader', pax.length, 'x'), pax, pad(pax.length));
  }
  parts.push(header(name, size, '0')); // the name field holds what fits; the PAX path is the name
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
