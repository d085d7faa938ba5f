// A registry with the OCI referrers API, simulated in front of a real distribution 2.8 (which has
// none): GET /v2/<repo>/referrers/<digest> answers the referrers the real registry lists under the
// tag-schema tag `sha256-<hex>`, and that tag itself is hidden — so a client that finds the bundles
// found them through the API. Everything else is passed to the real registry unchanged.

import { createServer, request, type Server } from 'node:http';

const REFERRERS = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})(\?.*)?$/;
const TAG_SCHEMA = /^\/v2\/.+\/manifests\/sha256-[0-9a-f]{64}$/;

export interface ReferrersRegistry {
  readonly url: string;
  /** Requests to the referrers API seen so far. */
  readonly referrerRequests: string[];
  close(): Promise<void>;
}

export async function startReferrersRegistry(registryUrl: string): Promise<ReferrersRegistry> {
  const target = new URL(registryUrl);
  const referrerRequests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const m = REFERRERS.exec(path);
    if (m) {
      referrerRequests.push(path);
      const artifactType = new URL(path, 'http://x').searchParams.get('artifactType');
      void fetch(`${registryUrl}/v2/${m[1]}/manifests/${(m[2] as string).replace(':', '-')}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } }).then(async (r) => {
        const listed = r.ok ? ((await r.json()) as { manifests: { artifactType?: string }[] }).manifests : [];
        const manifests = artifactType ? listed.filter((d) => d.artifactType === artifactType) : listed;
        const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', ...(artifactType ? { 'oci-filters-applied': 'artifactType' } : {}) }).end(body);
      }, () => res.writeHead(502).end());
      return;
    }
    if (TAG_SCHEMA.test(path)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
      return;
    }
    const up = request({ host: target.hostname, port: target.port, method: req.method, path, headers: { ...req.headers, host: target.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    referrerRequests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
