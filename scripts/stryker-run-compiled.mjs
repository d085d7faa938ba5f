// Stryker's tap runner starts `node <this> test/x/y.test.ts`: run the JavaScript the sandbox build
// compiled from that file (scripts/stryker-build.sh). Stryker keeps knowing the test by its source
// path, so incremental runs can tell which tests changed.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const source = process.argv[2];
if (!source?.endsWith('.ts')) throw new Error(`expected a TypeScript test file, got ${source}`);
await import(pathToFileURL(resolve('.stryker-build', source.replace(/\.ts$/, '.js'))).href);
