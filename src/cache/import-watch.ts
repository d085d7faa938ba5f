// What `serve` listens to so that an import takes effect at once on this replica: the import
// announcements on Redis (import-notices.ts), or the `trust.bundles` index (index-watch.ts). Without
// either there is nothing an import writes to, and nothing to watch.

import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { DirectoryTrustStore } from './directory-store.js';
import { ImportListener, type ImportNoticeReason } from './import-notices.js';
import { BundleIndexWatch } from './index-watch.js';
import type { Stores } from './stores.js';

export type ImportWatchReason = ImportNoticeReason | 'index-changed';

/** Forget what this process verified of `guns`, or of every repository, and why. */
export type Forget = (reason: ImportWatchReason, guns?: readonly string[]) => void;

export async function watchImports(config: Config, stores: Stores, forget: Forget, logger?: Logger): Promise<{ close(): void }> {
  if (config.redis && stores.health) {
    return new ImportListener({ redis: config.redis, prefix: config.redisPrefix, store: stores.health.client, forget, logger });
  }
  if (config.trust.bundlesDir && stores.trustStore instanceof DirectoryTrustStore) {
    return BundleIndexWatch.start({ dir: config.trust.bundlesDir, store: stores.trustStore, forget: (guns) => forget('index-changed', guns), logger });
  }
  return { close: () => {} };
}
