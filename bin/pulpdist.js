#!/usr/bin/env node
// The installed command: a thin shim so that `npx pulpdist` always runs the compiled CLI,
// which `npm ci` / `npm install` build through the `prepare` script. `pulpdist manifest` runs
// from its one-file bundle (scripts/bundle.mjs): an unchanged rescan must finish within 0.3 s,
// and loading the ~25 modules it is made of one by one costs ~20 ms of that.
const command = process.argv.slice(2).find((a) => a !== '--debug');
const entry = command === 'manifest' ? '../dist/manifest/bundle.js' : '../dist/cli/main.js';
import(entry).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(entry.slice(3))) {
    console.error('error: pulpdist is not built\nreason: run `npm ci` (or `npm run build`) in the project first');
    process.exit(2);
  }
  throw err;
});
