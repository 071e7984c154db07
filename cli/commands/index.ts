/** Every command of DESIGN.md's table, loaded lazily. */
import type { CommandEntry } from '../command.js';

export const COMMANDS: CommandEntry[] = [
  { name: 'validate', summary: 'validate spec files (for merge-request CI)', load: async () => (await import('./validate.js')).command },
  { name: 'plan', summary: 'show what apply would change at every site, with transfer estimates', load: async () => (await import('./plan.js')).command },
  { name: 'apply', summary: 'run one reconcile pass and wait for the syncs', load: async () => (await import('./apply.js')).command },
  { name: 'run', summary: 'the controller: watch the Git repository and reconcile continuously', load: async () => (await import('./run.js')).command },
  { name: 'site', summary: 'an embedded Pulp-compatible site (for demos, tests and small deployments)', load: async () => (await import('./site.js')).command },
  { name: 'shaper', summary: 'a forward proxy that caps one site\'s downloads in bytes per second (the byte cap for real Pulp)', load: async () => (await import('./shaper.js')).command },
  { name: 'manifest', summary: 'content-address a tree: write its PULP_MANIFEST', load: async () => (await import('./manifest.js')).command },
  { name: 'cleanup', summary: 'remove orphaned content and artifacts at the sites now (what the controller does daily)', load: async () => (await import('./cleanup.js')).command },
  { name: 'history', summary: 'the trees a mirror has published at each site, and which one each serves now', load: async () => (await import('./history.js')).command },
  { name: 'status', summary: 'the network overview in a terminal, from a running controller', load: async () => (await import('./status.js')).command },
  { name: 'demo', summary: 'embedded sites + controller on the bundled mirrors/ (what `npm start` runs)', load: async () => (await import('./demo.js')).command },
];
