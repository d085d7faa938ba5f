// The bundle tar reader and writer agree with GNU tar: every archive here is listed by GNU `tar -t`
// and by trustgate, and the two lists must be the same (PAX records, ustar prefixes, GNU long names,
// sizes past 8 and 64 GiB), so an operator auditing a bundle with `tar -t` sees what trustgate reads.

import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { listTar, tarEnd, tarEntry, tarHeader, tarPad } from '../../src/bundle/tar.js';
import { execFileSync } from 'node:child_process';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('tar');
t.teardown(dir.remove);
let n = 0;
const fresh = (name: string) => join(dir.path, `${name}-${++n}`);

interface RawHeader {
  name: string;
  size?: number;
  type?: string;
  prefix?: string;
  magic?: 'posix' | 'gnu';
  mode?: number;
  uid?: number;
}

/** One header block written field by field, as an attacker (or another tar) would. */
function raw(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  b.write((h.mode ?? 0o644).toString(8).padStart(7, '0') + '\0', 100);
  b.write((h.uid ?? 0).toString(8).padStart(7, '0') + '\0', 108);
  b.write('0000000\0', 116);
  b.write((h.size ?? 0).toString(8).padStart(11, '0') + '\0', 124);
  b.write('00000000000\0', 136);
  b.write('        ', 148);
  b.write(h.type ?? '0', 156);
  if (h.magic === 'gnu') b.write('ustar  \0', 257);
  else b.write('ustar\u000000', 257);
  if (h.prefix) b.write(h.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return b;
}

/** A PAX extended header block and its records (each `<len> key=value\n`). */
function pax(records: [string, string][], type = 'x'): Buffer {
  const body = Buffer.concat(
    records.map(([k, v]) => {
      const rec = (len: number) => `${len} ${k}=${v}\n`;
      let len = Buffer.byteLength(rec(0));
      while (Buffer.byteLength(rec(len)) !== len) len = Buffer.byteLength(rec(len));
      return Buffer.from(rec(len));
    }),
  );
  return Buffer.concat([raw({ name: 'PaxHeaders/x', size: body.length, type }), body, tarPad(body.length)]);
}

const file = (h: RawHeader, data: Buffer) => Buffer.concat([raw({ ...h, size: data.length }), data, tarPad(data.length)]);

/** GNU tar, run to completion (its stdin closed: nothing to write to it). */
const gnuTar = (args: string[], cwd?: string) => execFileSync('tar', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd });

async function gnuList(path: string): Promise<string[]> {
  return gnuTar(['-tf', path]).split('\n').filter((l) => l !== '');
}

async function compare(t: Test, name: string, archive: Buffer | string): Promise<void> {
  let path = archive as string;
  if (Buffer.isBuffer(archive)) writeFileSync((path = fresh('archive') + '.tar'), archive);
  const ours = (await listTar(path)).map((e) => e.name);
  t.same(ours, await gnuList(path), `${name}: trustgate lists what GNU tar lists`);
}

t.test('a path= inside another PAX record is no path', async (t) => {
  const smuggled = `x\n60 path=trust/docker.io/library/app/_tuf/targets.json`;
  const archive = Buffer.concat([pax([['comment', smuggled]]), file({ name: 'innocent.txt' }, Buffer.from('hello')), tarEnd()]);
  await compare(t, 'smuggled path', archive);
  t.same(
    (await listTar(writeTo(archive))).map((e) => e.name),
    ['innocent.txt'],
  );
});

t.test('a PAX path record applies to the next member only', async (t) => {
  const archive = Buffer.concat([
    pax([['path', 'trust/docker.io/library/app/_tuf/' + 'a'.repeat(120) + '.json']]),
    file({ name: 'short1' }, Buffer.from('one')),
    file({ name: 'short2' }, Buffer.from('two')),
    tarEnd(),
  ]);
  await compare(t, 'pax path', archive);
});

t.test('the ustar prefix field is part of the name', async (t) => {
  const archive = Buffer.concat([file({ name: 'targets.json', prefix: 'trust/docker.io/library/app/_tuf' }, Buffer.from('{}')), tarEnd()]);
  await compare(t, 'ustar prefix', archive);
  t.same((await listTar(writeTo(archive))).map((e) => e.name), ['trust/docker.io/library/app/_tuf/targets.json']);
});

t.test('GNU long names, as GNU tar writes them', async (t) => {
  const src = fresh('gnu-src');
  const long = join('trust', 'docker.io', 'a'.repeat(60), 'b'.repeat(60), '_tuf');
  mkdirSync(join(src, long), { recursive: true });
  writeFileSync(join(src, long, 'targets.json'), '{"signed":{}}');
  for (const format of ['gnu', 'posix', 'ustar', 'oldgnu']) {
    const out = fresh(`gnu-${format}`) + '.tar';
    gnuTar([`--format=${format}`, '-C', src, '-cf', out, 'trust']);
    await compare(t, `GNU tar --format=${format}`, out);
  }
});

t.test("trustgate's own bundles, long names included", async (t) => {
  const name = `trust/docker.io/${'x'.repeat(80)}/${'y'.repeat(80)}/_tuf/targets/releases.json`;
  await compare(t, 'writer', Buffer.concat([tarEntry('bundle.json', Buffer.from('{}')), tarEntry(name, Buffer.from('[]')), tarEnd()]));
});

t.test("sizes beyond 8 and 64 GiB survive the writer's size field", async (t) => {
  for (const size of [8 * 2 ** 30 + 1, 70 * 2 ** 30]) {
    const path = fresh('huge') + '.tar';
    const header = tarHeader('images/docker.io/library/app/big', size);
    const fd = openSync(path, 'w');
    writeSync(fd, header);
    // sparse: the data is never written
    writeSync(fd, Buffer.concat([tarPad(size), tarEnd()]), 0, undefined, header.length + size);
    closeSync(fd);
    const verbose = gnuTar(['-tvf', path]);
    t.match(verbose, new RegExp(`\\s${size}\\s`), `GNU tar reads ${size}`);
    const ours = await listTar(path);
    t.same(ours.map((e) => [e.name, e.size]), [['images/docker.io/library/app/big', size]], `trustgate reads ${size}`);
  }
});

t.test('the entry cap counts every entry, not only regular files', async (t) => {
  const blocks: Buffer[] = [];
  for (let i = 0; i < 30; i++) blocks.push(raw({ name: `d${i}/`, type: '5' }));
  blocks.push(file({ name: 'bundle.json' }, Buffer.from('{}')), tarEnd());
  await t.rejects(listTar(writeTo(Buffer.concat(blocks)), 10));
});

t.test('a header whose checksum does not match is refused, as GNU tar refuses it', async (t) => {
  const archive = Buffer.concat([file({ name: 'bundle.json' }, Buffer.from('{}')), tarEnd()]);
  archive[10] = 0x41; // inside the name, after the checksum was computed
  await t.rejects(listTar(writeTo(archive)));
});

t.test("the README's extraction step keeps neither the archive's owners nor its modes", async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Air-gapped sites'));
  const line = /^tar -xf (\S+) (.*)$/m.exec(section);
  t.ok(line, 'the README has a tar -xf step');
  const [, archiveName, rest] = line as RegExpExecArray;
  const archive = Buffer.concat([
    raw({ name: 'images/docker.io/library/app/', type: '5', mode: 0o777, uid: 12345 }),
    file({ name: 'images/docker.io/library/app/manifest.json', mode: 0o777, uid: 12345 }, Buffer.from('{}')),
    tarEnd(),
  ]);
  const where = fresh('extract');
  mkdirSync(where);
  writeFileSync(join(where, archiveName as string), archive);
  execFileSync('sh', ['-c', `umask 022 && tar -xf ${archiveName} ${rest}`], { cwd: where, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const p of ['images/docker.io/library/app', 'images/docker.io/library/app/manifest.json']) {
    const s = lstatSync(join(where, p));
    t.equal(s.uid, process.getuid?.(), `${p}: owned by whoever extracted it`);
    t.equal(s.mode & 0o022, 0, `${p}: not group/world-writable (${(s.mode & 0o777).toString(8)})`);
  }
});

function writeTo(archive: Buffer): string {
  const p = fresh('archive') + '.tar';
  writeFileSync(p, archive);
  return p;
}
