// An upstream registry that sends any blob slowly: 1 MiB in 64 KiB chunks, one every 60 ms (about a
// second for the whole blob), so a signal can land while a pull is in flight. Anything else is 404.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

export const SLOW_BLOB_SIZE = 1 << 20;

/** Start it on loopback; it is closed in `t`'s teardown. Returns its URL. */
export async function startSlowBlobUpstream(t: Test): Promise<string> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const slow = createServer((req, res) => {
    if (!req.url?.includes('/blobs/')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(SLOW_BLOB_SIZE), 'content-type': 'application/octet-stream' });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(chunk);
      sent += chunk.length;
      if (sent >= SLOW_BLOB_SIZE) {
        clearInterval(timer);
        res.end();
      }
    }, 60);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => slow.close(() => r())));
  return `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
}
