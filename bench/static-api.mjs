// A static Notary read API and registry manifest API for the scale benchmark: serves the pre-signed
// files of the shards bench/scale-data.ts wrote, from memory, by exact path (GET and HEAD; anything
// else is 404). Usage: node static-api.mjs <port> <shard>...

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, ...shards] = process.argv.slice(2);
const files = new Map();
for (const shard of shards) {
  const data = readFileSync(`${shard}.data`);
  for (const e of JSON.parse(readFileSync(`${shard}.json`, 'utf8'))) {
    const headers = { 'content-type': e.type, 'content-length': String(e.length) };
    if (e.digest) headers['docker-content-digest'] = e.digest;
    files.set(e.path, { body: data.subarray(e.offset, e.offset + e.length), headers });
  }
}

const NOT_FOUND = JSON.stringify({ errors: [{ code: 'NOT_FOUND', message: 'no such file', detail: {} }] });
createServer((req, res) => {
  const f = files.get(req.url);
  if (!f) {
    res.writeHead(404, { 'content-type': 'application/json' }).end(NOT_FOUND);
    return;
  }
  res.writeHead(200, f.headers).end(req.method === 'HEAD' ? undefined : f.body);
})
  .listen(Number(port), '127.0.0.1', () => console.log(`serving ${files.size} files`));
