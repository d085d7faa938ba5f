// `trustgate sigstore accept-tag <name:tag> [--digest D] [--config FILE]`: an operator accepts a
// deliberate re-tag. cosign signatures sign digests, not tags, so trustgate remembers each tag's newest
// signed digest and refuses an older one (TAG_ROLLBACK); after a deliberate move back to an older
// image, this makes `--digest` the tag's newest (or, without it, forgets the tag: the next pull is
// trusted as a first sight). The memory is shared in Redis; an in-process one lives in the serving
// process and is forgotten when it restarts.

import { loadConfig, type Config } from '../config/config.js';
import { openRedis } from '../cache/redis.js';
import { ConfigError, TrustgateError } from '../errors.js';
import { RedisTagHistory } from '../sigstore/tag-history-redis.js';
import type { Output } from './check.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** `<upstream>/<repository>` and the tag of a reference as clients name it (`library/alpine:3.20`, `ghcr.io/acme/app:1`). */
export function tagTarget(config: Config, ref: string): { gun: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  if (colon < 0 || ref.slice(colon).includes('/')) throw new ConfigError(`${ref}: name a tag (name:tag)`);
  const name = ref.slice(0, colon);
  const tag = ref.slice(colon + 1);
  const first = name.split('/')[0] ?? '';
  const named = config.upstreams.find((u) => u.name === first);
  const upstream = named ?? config.upstreams.find((u) => u.default);
  if (!upstream) throw new ConfigError(`${ref}: names no configured upstream, and none is the default`);
  let repository = named ? name.slice(first.length + 1) : name;
  if (upstream.name === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  return { gun: `${upstream.name}/${repository}`, tag };
}

export async function runAcceptTag(ref: string, opts: { config?: string | undefined; digest?: string | undefined }, io: Output): Promise<number> {
  try {
    const config = await loadConfig(opts.config);
    if (opts.digest !== undefined && !DIGEST.test(opts.digest)) throw new ConfigError(`--digest ${opts.digest} is not a sha256 digest`);
    if (!config.redis) {
      throw new ConfigError('no redis configured: the rollback memory lives in the serving process; restarting it forgets every tag');
    }
    const { gun, tag } = tagTarget(config, ref);
    const redis = await openRedis(config.redis);
    try {
      await new RedisTagHistory(redis, config.redisPrefix).reset(gun, tag, opts.digest);
    } finally {
      await redis.quit().catch(() => redis.disconnect());
    }
    io.out(opts.digest ? `${gun}:${tag}: ${opts.digest} accepted as the newest signed digest` : `${gun}:${tag}: forgotten; the next signed digest pulled is accepted`);
    return 0;
  } catch (err) {
    if (!(err instanceof TrustgateError)) throw err;
    io.err(`error: ${err.message} [${err.code}]`);
    return 2;
  }
}
