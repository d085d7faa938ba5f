#!/usr/bin/env -S node --max-semi-space-size=32 --initial-old-space-size=64
// The `trustgate` command (`npx trustgate …` in a clone): install and build when needed, then run
// the command line in this process. The V8 flags: see src/cli.ts NODE_FLAGS.
import { prepare } from './prepare.mjs';

prepare();
await import('../dist/cli.js');
