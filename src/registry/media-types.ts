// Manifest media types trustgate asks upstreams for, so a registry returns the exact stored bytes
// of a digest instead of converting them (distribution: no Accept → schema1; OCI without an OCI
// Accept → 404; a manifest list asked for as v2 → the amd64 child).

export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST_V1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';

export const MANIFEST_TYPES = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST_V2, DOCKER_MANIFEST_V1_SIGNED, DOCKER_MANIFEST_V1] as const;
export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];

/** Every Accept value a client sent (dockerd sends six separate headers), then ours, without repeats. */
export function acceptList(clientAccept: string | string[] | undefined): string[] {
  const client = (Array.isArray(clientAccept) ? clientAccept : clientAccept ? [clientAccept] : [])
    .flatMap((h) => h.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const v of [...client, ...MANIFEST_TYPES]) {
    const type = v.split(';')[0]?.trim().toLowerCase() ?? '';
    if (!seen.has(type)) {
      seen.add(type);
      out.push(v);
    }
  }
  return out;
}

/** Child manifest digests of an index / manifest list (empty for anything else). */
export function childDigests(manifest: Buffer): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(manifest.toString('utf8'));
  } catch {
    return []; // verified bytes that are not JSON have no children
  }
  const list = (doc as { manifests?: unknown }).manifests;
  if (!Array.isArray(list)) return [];
  return list
    .map((m) => (m as { digest?: unknown }).digest)
    .filter((d): d is string => typeof d === 'string' && /^sha256:[0-9a-f]{64}$/.test(d));
}

/** The media type a manifest declares in its own bytes, if any. */
export function declaredMediaType(manifest: Buffer): string | undefined {
  try {
    const t = (JSON.parse(manifest.toString('utf8')) as { mediaType?: unknown }).mediaType;
    return typeof t === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}
