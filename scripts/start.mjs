#!/usr/bin/env node
// `npm start [-- --config FILE]`: install and build when needed (scripts/prepare.mjs), then run
// `trustgate serve` in this very process. npm runs this script with `exec`, so a terminal's Ctrl-C
// and a SIGTERM to npm (which npm forwards) reach the server itself: it finishes in-flight pulls,
// logs "stopped" and exits 0, and npm exits with its status. No process in between to orphan.
import { prepare } from './prepare.mjs';

prepare();
process.argv.splice(2, 0, 'serve');
await import('../dist/cli.js');
