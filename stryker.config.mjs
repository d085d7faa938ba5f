// Mutation testing, one Stryker run per area (scripts/mutation-areas.mjs); npm run mutate
// (scripts/mutate.mjs) runs every area and merges their reports. One area alone:
//
//   MUTATION_AREA=trust npx stryker run

import { AREAS } from './scripts/mutation-areas.mjs';

const area = process.env.MUTATION_AREA ?? '';
if (!(area in AREAS)) throw new Error(`MUTATION_AREA must be one of ${Object.keys(AREAS).join(', ')} (npm run mutate runs them all)`);

export default {
  $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
  testRunner: 'tap',
  tap: {
    testFiles: AREAS[area].testFiles,
    // scripts/stryker-run-compiled.mjs runs the JavaScript scripts/stryker-build.sh compiled once per sandbox
    nodeArgs: ['-r', '{{hookFile}}', 'scripts/stryker-run-compiled.mjs', '{{testFile}}'],
    forceBail: true,
  },
  buildCommand: 'bash scripts/stryker-build.sh',
  ignorePatterns: ['bench', 'dist', 'coverage', '.tap', 'reports', 'build-check', '.stryker-build', '.peers'],
  mutate: AREAS[area].mutate,
  plugins: ['@stryker-mutator/tap-runner', './scripts/stryker-ignorers.mjs'],
  ignorers: ['ErrorMessages', 'StoreFloorsOnly'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // the previous run's results are reused for every mutant whose code and tests did not change
  incremental: true,
  incrementalFile: `reports/mutation/areas/${area}.json`,
  // the incremental file is the area's full report; scripts/mutate.mjs merges them into one HTML report
  reporters: ['clear-text', 'progress'],
  thresholds: { high: 90, low: 85, break: null },
  timeoutMS: 20000,
  tempDirName: '.stryker-tmp',
};
