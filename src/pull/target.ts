// What one registry request is for, decided once by the route: the upstream, the repository, its GUN
// and the policy's decision. Use cases receive it and never look at the request again.

import type { Decision } from '../policy/policy.js';
import type { RegistryUpstream } from '../registry/upstream.js';

export interface PullTarget {
  readonly upstream: RegistryUpstream;
  readonly repository: string;
  /** `<upstream name>/<repository>`: the GUN Notary files trust data under, and the policy's subject. */
  readonly gun: string;
  readonly decision: Decision;
  /** The client's Accept header(s), passed on when fetching manifests. */
  readonly accept: string | string[] | undefined;
}
