#!/usr/bin/env -S node --max-semi-space-size=32
// The `trustgate` command (`npx trustgate …` in a clone): install and build when needed, then run
// the command line in this process. --max-semi-space-size: see src/cli.ts.
import { prepare } from './prepare.mjs';

prepare();
await import('../dist/cli.js');
