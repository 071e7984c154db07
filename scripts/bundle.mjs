#!/usr/bin/env node
// Bundles `pulpdist manifest` (dist/cli/manifest-main.js and what it imports) into one file,
// dist/manifest/bundle.js, which bin/pulpdist.js runs for that command: Node loads one module
// ~20 ms faster than the ~25 the command is made of, a fifteenth of an unchanged rescan
// (docs/manifest.md, Performance). Run by `npm run build` after tsc.
//
// The bundle sits in dist/manifest/ because the hash pool starts its threads from
// `new URL('./hash-worker.js', import.meta.url)`: from there that is the compiled worker.
// usage: node scripts/bundle.mjs
import { build } from 'esbuild';
import path from 'node:path';

const root = path.resolve(new URL('..', import.meta.url).pathname);
try {
  await build({
    entryPoints: [path.join(root, 'dist/cli/manifest-main.js')],
    outfile: path.join(root, 'dist/manifest/bundle.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
} catch (err) {
  // esbuild has printed the errors with their positions.
  console.error(`error: bundling dist/cli/manifest-main.js failed${err?.errors ? '' : `: ${err?.message ?? err}`}`);
  process.exit(1);
}
