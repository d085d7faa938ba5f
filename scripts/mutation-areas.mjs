// The areas of mutation testing: what each mutates, and the unit tests that judge its mutants — the
// lowest level that can see a bug there, as the targets mean. Test files are listed fastest first: the
// tap runner stops at a mutant's first failing file, so a killed mutant costs one or two short
// processes, and only a survivor pays for the whole list.

/** @type {Record<string, { mutate: string[]; testFiles: string[] }>} */
export const AREAS = {
  trust: {
    mutate: ['src/trust/**/*.ts'],
    testFiles: [
      // unit tests of each file's own rules first: they kill most mutants in a second or two
      'test/trust/canonical-spans.test.ts',
      'test/trust/json-parser-strictness.test.ts',
      'test/trust/key-material.test.ts',
      'test/trust/metadata-fields.test.ts',
      'test/trust/metadata-roles.test.ts',
      'test/trust/pinning-choice.test.ts',
      'test/trust/signature-rules.test.ts',
      'test/trust/trusted-set-steps.test.ts',
      'test/trust/certificate-checks.test.ts',
      'test/trust/resolve-walk.test.ts',
      'test/trust/root-validation.test.ts',
      'test/trust/pinning-wildcards.test.ts',
      'test/trust/pinning-refusals.test.ts',
      'test/trust/signed-digests-undeclared-role.test.ts',
      'test/trust/multi-megabyte-base64.test.ts',
      'test/trust/signature-sizes.test.ts',
      'test/trust/signature-verdict-keys.test.ts',
      'test/trust/spki-fast-path-bounds.test.ts',
      'test/trust/key-import-faults.test.ts',
      'test/trust/canonical-utf8-cause.test.ts',
      'test/trust/metadata-integer-guard.test.ts',
      'test/trust/trusted-set-delegation-spec.test.ts',
      'test/trust/json-parser-spans.test.ts',
      'test/trust/canonical-fast-path.test.ts',
      'test/trust/canonical-go.test.ts',
      'test/trust/canonical.test.ts',
      'test/trust/docker-cli-fixture.test.ts',
      'test/trust/verification-work.test.ts',
      'test/trust/delegation-signatures.test.ts',
      'test/trust/signed-digests.test.ts',
      'test/trust/file-hashes.test.ts',
      'test/trust/grace.test.ts',
      'test/trust/root-rotation.test.ts',
      'test/trust/signatures.test.ts',
      'test/trust/pinning-after-bootstrap.test.ts',
      'test/trust/root-certificates.test.ts',
      'test/trust/attacks.test.ts',
    ],
  },
  pull: {
    mutate: ['src/pull/**/*.ts'],
    testFiles: ['test/pull/*.test.ts', 'test/server/routes.test.ts', 'test/server/offline.test.ts'],
  },
  updater: {
    mutate: ['src/notary/updater.ts'],
    testFiles: [
      'test/notary/resolve-explained-malformed.test.ts',
      'test/notary/update-workflow.test.ts',
      'test/notary/root-chain.test.ts',
      'test/notary/simulator-smoke.test.ts',
      'test/notary/update-rotation.test.ts',
      'test/notary/source.test.ts',
      'test/notary/trust-state.test.ts',
      'test/notary/update-outages.test.ts',
      'test/trust/pinning-after-bootstrap.test.ts',
      'test/trust/attacks.test.ts',
    ],
  },
  // the stores' rollback floors: putMetadata and getVersions of each TrustStore (StoreFloorsOnly)
  floors: {
    mutate: ['src/cache/trust-store.ts', 'src/cache/directory-store.ts', 'src/cache/staging-store.ts', 'src/cache/redis.ts', 'src/cache/resilient.ts'],
    testFiles: ['test/cache/staging-root-reset.test.ts', 'test/bundle/import-key-rotation.test.ts', 'test/cache/floor-resets.test.ts', 'test/cache/floor-redis-edges.test.ts', 'test/cache/floors.test.ts', 'test/cache/contract.test.ts', 'test/cache/resilient.test.ts'],
  },
};
