// A second baseline for warm manifest latency: a bare fastify server (no plugins, no logger)
// answering every request with the same bytes and headers trustgate sends, launched with the V8
// flags trustgate runs with: what the leanest fastify app costs against the bare node:http floor.
// trustgate answers warm pulls in front of fastify's request listener (src/server/warm-path.ts), so
// this is not its ceiling; it is what routing every warm pull through fastify would start from.
// Usage: node bench/fastify-static.mjs <port> <manifest file> <media type> <digest>
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [port, file, mediaType, digest] = process.argv.slice(2);
const body = readFileSync(file);
const app = Fastify({ logger: false });
const answer = (_req, reply) =>
  reply
    .header('content-type', mediaType)
    .header('docker-content-digest', digest)
    .header('etag', `"${digest}"`)
    .header('docker-distribution-api-version', 'registry/2.0')
    .send(body);
app.get('/v2/*', answer); // fastify answers HEAD for every GET route, without the body
await app.listen({ port: Number(port), host: '127.0.0.1' });
