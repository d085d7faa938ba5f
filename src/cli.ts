#!/usr/bin/env -S node --max-semi-space-size=32 --initial-old-space-size=64
// trustgate command line: `serve`, `check`, `status`, `warm`, `trust export|import`, `healthcheck`.
// Exit status: 0 success; 1 the answer is no (not signed, not healthy, a repository failed);
// 2 the command could not be carried out (bad arguments or configuration, unreachable servers).
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError, Option } from 'commander';
import { NODE_FLAGS } from './node-flags.js';

// The V8 flags every launcher passes (node-flags.ts); this covers `node dist/cli.js` only as far as
// V8 allows once the heap exists.
setFlagsFromString(NODE_FLAGS.join(' '));

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('trustgate')
  .description('A Docker Registry v2 proxy that serves only manifests signed with Docker Content Trust')
  .version(version, '-V, --version')
  .showHelpAfterError()
  // usage errors exit 2, not commander's 1 (which `check` uses for "not signed"); set before the
  // subcommands are added, which inherit it
  .exitOverride();

program
  .command('serve')
  .description('run the proxy (embedded defaults without --config: Docker Hub, in-process cache, port 5000)')
  .option('-c, --config <file>', 'configuration file (see config/example.yaml); default: $TRUSTGATE_CONFIG')
  .action(async (opts: { config?: string }) => {
    const { runServe } = await import('./commands/serve.js'); // commands load only what they use
    await runServe({ config: opts.config ?? (process.env.TRUSTGATE_CONFIG || undefined) });
  });

program
  .command('warm')
  .description('fetch and verify trust data (and signed manifests, for name:tag) into the configured store')
  .argument('<repository...>', 'as clients name them: library/alpine, library/alpine:3.20, ghcr.io/org/app:1.0')
  .option('-c, --config <file>', 'configuration file; default: $TRUSTGATE_CONFIG')
  .action(async (refs: string[], opts: { config?: string }) => {
    const { runWarm } = await import('./commands/warm.js');
    process.exitCode = await runWarm(refs, { config: opts.config ?? (process.env.TRUSTGATE_CONFIG || undefined) }, stdio, process.stderr);
  });

const trust = program.command('trust').description('carry verified trust data across an air gap');
trust
  .command('export')
  .description('fetch and verify the complete trust data of repositories from Notary into one bundle')
  .argument('<repository...>', 'e.g. alpine, registry.example.com/team/app:1.0 (the tag matters with --images)')
  .requiredOption('-o, --out <file>', 'the bundle: a .tar file, or a directory (ending with /)')
  .option('-c, --config <file>', 'use this configuration (Notary URLs, CAs, credentials, pins); default: $TRUSTGATE_CONFIG')
  .option('--notary <url>', 'Notary server (default: from the configuration, else notary.docker.io / https://<registry>)')
  .option('--ca <file>', 'extra CA certificates (PEM) for the Notary server (and registry) TLS')
  .option('--images', 'also export the signed images of the named tags (containers dir: layout under images/<GUN>/_tags/<tag>/)')
  .option('--registry <url>', 'registry to export images from (default: from the configuration, else the registry itself)')
  .action(async (refs: string[], opts: { out: string; config?: string; notary?: string; ca?: string; images?: boolean; registry?: string }) => {
    const { runExport } = await import('./commands/trust.js');
    process.exitCode = await runExport(refs, { ...opts, config: opts.config ?? (process.env.TRUSTGATE_CONFIG || undefined) }, stdio);
  });
trust
  .command('import')
  .description('verify a bundle again and load it into the configured store (Redis, or trust.bundles)')
  .argument('<bundle>', 'a bundle file or directory made by trust export')
  .option('-c, --config <file>', 'the configuration serve uses; default: $TRUSTGATE_CONFIG')
  .action(async (bundle: string, opts: { config?: string }) => {
    const { runImport } = await import('./commands/trust.js');
    process.exitCode = await runImport(bundle, { config: opts.config ?? (process.env.TRUSTGATE_CONFIG || undefined) }, stdio);
  });

program
  .command('sigstore')
  .description('Sigstore (cosign) operations on the shared store')
  .command('accept-tag')
  .description('accept a deliberate re-tag: make --digest the tag\'s newest signed digest (or forget the tag) in the rollback memory')
  .argument('<name:tag>', 'as clients name it: library/alpine:3.20, ghcr.io/acme/app:1.0')
  .option('--digest <sha256:hex>', 'the digest the tag now deliberately points at (default: forget the tag)')
  .option('-c, --config <file>', 'the configuration serve uses (its redis); default: $TRUSTGATE_CONFIG')
  .action(async (ref: string, opts: { digest?: string; config?: string }) => {
    const { runAcceptTag } = await import('./commands/sigstore.js');
    process.exitCode = await runAcceptTag(ref, { ...opts, config: opts.config ?? (process.env.TRUSTGATE_CONFIG || undefined) }, stdio);
  });

program
  .command('healthcheck')
  .description('exit 0 if the local trustgate answers /healthz (for container HEALTHCHECKs)')
  .option('--url <url>', 'health URL (default: from $TRUSTGATE_LISTEN, else http://127.0.0.1:5000/healthz)')
  .action(async (opts: { url?: string }) => {
    const port = /:(\d+)$/.exec(process.env.TRUSTGATE_LISTEN ?? '')?.[1] ?? '5000';
    const url = opts.url ?? `http://127.0.0.1:${port}/healthz`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
      await res.body?.cancel();
      if (!res.ok) process.stderr.write(`unhealthy: ${url} answered HTTP ${res.status}\n`);
      process.exitCode = res.ok ? 0 : 1;
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      const why = cause instanceof Error ? ((cause as { code?: string }).code ?? cause.message) : String(cause);
      process.stderr.write(`unhealthy: nothing answers at ${url} (${why}): is trustgate running there? (--url or TRUSTGATE_LISTEN)\n`);
      process.exitCode = 1;
    }
  });

program
  .command('status')
  .description("what a running trustgate last decided per policy rule, and each repository's trust expiry")
  .option('-c, --config <file>', 'the configuration the server runs with (for its address); default: $TRUSTGATE_CONFIG')
  .option('--url <url>', 'the server (default: the configuration\'s listen address)')
  .option('--ca <file>', 'CA certificate (PEM) for a listener with TLS')
  .addOption(new Option('--json', 'print the server\'s answer as JSON'))
  .action(async (opts: { config?: string; url?: string; ca?: string; json?: boolean }) => {
    const { runStatus } = await import('./commands/status.js');
    process.exitCode = await runStatus({ ...opts, config: opts.config ?? (process.env.TRUSTGATE_CONFIG || undefined) }, stdio);
  });

program
  .command('check')
  .description('resolve one tag through Notary (or, with --key/--identity, its Sigstore signatures) and print the signed digest')
  .argument('<image-ref>', 'e.g. alpine:3.20 or registry.example.com/team/app:1.0')
  .option('--notary <url>', 'Notary server (default: notary.docker.io for Docker Hub, else https://<registry>)')
  .option('--ca <file>', 'extra CA certificates (PEM) for the Notary server TLS')
  .option('--pin-key <id>', 'pin a root key ID: as root.json and docker trust inspect list it, or its canonical ID (notary key list); repeatable', collect, [])
  .option('--pin-ca <file>', 'pin a CA (PEM) that must have issued the root certificate')
  .option('--user <name>', 'Notary user name (password from TRUSTGATE_NOTARY_PASSWORD)')
  .option('--key <file>', 'Sigstore: verify cosign signatures with this PEM public key instead of Notary; repeatable', collect, [])
  .option('--identity <issuer=subject>', 'Sigstore: accept keyless signatures by this certificate identity; repeatable', collect, [])
  .option('--trusted-root <file>', 'Sigstore: trusted_root.json (Fulcio CAs, Rekor keys) for --identity and tlog checks')
  .option('--tlog <required|optional>', 'Sigstore: whether a Rekor entry is required (default: required for --identity)')
  .option('--registry <url>', 'Sigstore: the registry URL (default: https://<registry>)')
  .addOption(new Option('--json', 'print the result as JSON'))
  .action(async (ref: string, opts) => {
    const io = { out: (l: string) => void process.stdout.write(l + '\n'), err: (l: string) => void process.stderr.write(l + '\n') };
    const { runSigstoreCheck, wantsSigstore } = await import('./commands/check-sigstore.js');
    if (wantsSigstore(opts)) return void (process.exitCode = await runSigstoreCheck(ref, opts, io));
    const { runCheck } = await import('./commands/check.js');
    process.exitCode = await runCheck(ref, opts, io);
  });

const stdio = {
  out: (l: string) => void process.stdout.write(l + '\n'),
  err: (l: string) => void process.stderr.write(l + '\n'),
};

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // commander has printed the usage error (or the help or version asked for)
    process.exitCode = err.exitCode === 0 ? 0 : 2;
    return;
  }
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});
