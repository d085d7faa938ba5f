// Operations endpoints, outside the registry API: liveness, readiness and Prometheus metrics.

import type { FastifyInstance } from 'fastify';
import type { RegistryUpstream } from '../registry/upstream.js';
import { httpCheck, ReadinessProbe } from './health.js';
import type { Services } from './services.js';

export function registerOpsRoutes(app: FastifyInstance, s: Services, readinessCacheMs?: number): void {
  const readiness = new ReadinessProbe(
    [
      ...(s.stores.check ? [{ name: 'redis', check: s.stores.check }] : []),
      ...s.config.upstreams.flatMap((u) => {
        const notary = s.notary.remotes.get(u.name);
        return [
          httpCheck(`${u.name} registry`, `${u.registry}/v2/`, (s.upstreams.get(u.name) as RegistryUpstream).http.dispatcher),
          ...(notary ? [httpCheck(`${u.name} notary`, `${u.notary}/v2/`, notary.dispatcher)] : []),
        ];
      }),
    ],
    readinessCacheMs,
  );
  app.get('/healthz', async (_req, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = await readiness.evaluate();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  // behind client authentication (app.ts): it names repositories and digests
  app.get('/status', async (_req, reply) => {
    const { config } = s;
    const rules = s.decisions.status(config.policy, s.policy, config.trust.tofu, s.expiries());
    return reply.send({ upstreams: config.upstreams.map((u) => ({ name: u.name, registry: u.registry, notary: u.notary, default: u.default })), rules });
  });
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await s.metrics.render();
    return reply.type(contentType).send(body);
  });
}
