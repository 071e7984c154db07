/**
 * `pulpdist manifest` on its own, the entry of the one-file bundle that bin/pulpdist.js runs for
 * that command (scripts/bundle.mjs writes it to dist/manifest/bundle.js). An unchanged rescan
 * must finish, Node's start-up included, within 0.3 s, and this Node loads one module ~20 ms
 * faster than the ~25 the command is made of (docs/manifest.md, Performance).
 */
import { command } from './commands/manifest.js';
import { runMain } from './dispatch.js';

runMain([{ name: command.name, summary: command.summary, load: async () => command }]);
