// One error module for the whole project (python-tuf exceptions.py, sigstore error.ts).
// Every error carries a stable literal `code`; tests assert class + code, never messages.
// Families:
//   RepositoryError  — trust data from a repository failed verification (untrusted input)
//   NotSignedError   — trust data verified, but it does not sign what was asked for
//   SigstoreError    — Sigstore (cosign) signatures missing, or failing verification (untrusted input)
//   TransportError   — a server could not be reached or answered outside the protocol
//   ConfigError      — the operator's configuration or command line is wrong
//
// The classes live in errors/ by family; everything is imported from here.

export * from './errors/base.js';
export * from './errors/trust.js';
export * from './errors/service.js';
