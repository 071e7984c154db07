#!/usr/bin/env node
// The installed command: a thin shim so that `npx pulpdist` always runs the compiled CLI,
// which `npm ci` / `npm install` build through the `prepare` script.
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('error: pulpdist is not built\nreason: run `npm ci` (or `npm run build`) in the project first');
    process.exit(2);
  }
  throw err;
});
