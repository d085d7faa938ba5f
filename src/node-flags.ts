// A proxy streaming 64 KiB chunks churns the young generation; a larger semi-space lets V8 scavenge
// far less often (measured: blob throughput ~1.8x). Every streamed byte is a young external buffer,
// and V8 counts external bytes allocated since the last full collection against the old generation's
// limit: with a small heap that limit sits near the live size, so streaming alone started a
// mark-compact every ~32 MiB (30-50 per GiB, each 8-20 ms) that freed nothing. A floor of 64 MiB
// under the old generation's limit leaves the scavenges to free the buffers (README "Blob streaming
// and the Node.js floor"). The launchers (bin shebang, npm start, the container, the test harness)
// pass them on the command line; test/ops/node-flags.test.ts keeps every launcher in step.
export const NODE_FLAGS = ['--max-semi-space-size=32', '--initial-old-space-size=64'] as const;
