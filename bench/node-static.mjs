// Baseline for warm manifest latency: a bare node:http server answering every request with the same
// bytes and headers trustgate sends — the floor any Node.js server has on this machine under the
// same load. Usage: node bench/node-static.mjs <port> <manifest file> <media type> <digest>
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [port, file, mediaType, digest] = process.argv.slice(2);
const body = readFileSync(file);
const headers = {
  'content-type': mediaType,
  'content-length': String(body.length),
  'docker-content-digest': digest,
  etag: `"${digest}"`,
  'docker-distribution-api-version': 'registry/2.0',
};
http.createServer((req, res) => res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body)).listen(Number(port), '127.0.0.1');
