// Baseline for blob streaming: the least a Node.js HTTP proxy can do — node:http in, node:http out,
// body piped, nothing else — so trustgate's streaming figure can be read against what Node itself
// allows on this machine. Usage: node <src/node-flags.ts NODE_FLAGS> bench/node-pipe.mjs <port> <upstream>
import http from 'node:http';

const [port, upstream] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true });
http
  .createServer((req, res) => {
    http
      .get(upstream + req.url, { agent }, (up) => {
        res.writeHead(up.statusCode ?? 502, { 'content-length': up.headers['content-length'] ?? '0' });
        up.pipe(res);
      })
      .on('error', () => res.destroy());
  })
  .listen(Number(port), '127.0.0.1');
