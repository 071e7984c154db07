/**
 * `pulpdist plan`: what `apply` would change at every site, with transfer estimates.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from '../command.js';
import { checkoutStatus, removedSiteLine, removedSites } from '../../status/removed-sites.js';
import { UsageError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { preparePlan } from '../../reconcilers/pass.js';
import { planDocument } from '../../reconcilers/plan-document.js';
import { renderMarkdown, renderText } from '../reporters/plan.js';
import { massDeleteOptions } from '../mass-delete.js';
import { controllerIdOption, requestTimeoutOption, selectedSites } from '../options.js';
import { cacheFileFor, clientsFor, interruptSignal, sourceReaderFor, controllerIdHelp, stateDirHelp, loadMemory, loadValidSpecs, saveMemory } from '../pass-setup.js';
import { contentProber } from '../../pulp/content-probe.js';

const FORMATS = ['text', 'json', 'markdown'] as const;
type PlanFormat = (typeof FORMATS)[number];

export const command: Command = {
  name: 'plan',
  summary: 'show what apply would change at every site, with transfer estimates',
  usage: 'pulpdist plan [--specs PATH] [--format text|json|markdown] [--json] [--site NAME]… [--allow-mass-delete] [--controller-id ID] [--state-dir DIR]',
  options: {
    specs: { type: 'string', default: '.' },
    format: { type: 'string', short: 'f', default: 'text' },
    json: { type: 'boolean', default: false },
    site: { type: 'string', multiple: true },
    'no-cache': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    'request-timeout': { type: 'string' },
    'allow-mass-delete': { type: 'boolean', default: false },
    'controller-id': { type: 'string' },
    'state-dir': { type: 'string' },
  },
  help: `
Loads the specs, observes every site (managed objects only, a few paginated calls per site and
kind) and every mirror's source, and prints what \`pulpdist apply\` would do: per site, objects to
create (+), update (~, with each field's old → new value) and delete (-, with what stops being
published), and syncs (>) with their reason and transfer estimate: the files and bytes the target
does not already hold (content-addressed: a renamed file costs nothing). Changes nothing.

options:
  --specs PATH          spec file or directory (default: .)
  -f, --format FORMAT   text (default), json (schemas/plan.schema.json) or markdown (for a
                        merge-request note: a summary table, then one collapsible section per site)
  --json                short for --format json
  --site NAME           only this site (repeatable); the plan still follows the whole topology
  --no-cache            read every published manifest again instead of trusting the cache of
                        the last run (kept under $XDG_CACHE_HOME/pulpdist/)
  --log-level LEVEL     debug, info, warn (default) or error, on stderr
  --request-timeout D   time allowed for one request to a site (default 30s)
  --allow-mass-delete   plan as apply --allow-mass-delete would: deletes of more than half of
                        the managed placements are approved, not held. Without it, a trailer
                        "Pulpdist-Allow-Mass-Delete: yes" on the HEAD commit of the checkout that
                        holds the specs approves them, as it does for the controller
${controllerIdHelp(24)}
${stateDirHelp(24)}

Site passwords come from the environment variables the Site specs name (auth.passwordEnv).

examples:
  pulpdist plan --specs mirrors
  pulpdist plan --specs mirrors --site leaf
  pulpdist plan --specs mirrors --format markdown > plan.md

exit codes:
  0  no changes
  2  changes present
  1  error: invalid specs, an unreachable site, an unreadable source, a mirror whose objects
     belong to another controller, or a pin nothing can serve (the plan is still printed)
`,
  async run({ values }) {
    const format = values.json ? 'json' : String(values.format ?? 'text');
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`unknown format "${format}" (use one of: ${FORMATS.join(', ')})`);
    const level = String(values['log-level'] ?? 'warn');
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`unknown log level "${level}" (use debug, info, warn or error)`);
    const log = createLogger({ level: level as 'warn' });
    // A bad --controller-id is a usage error before anything is loaded.
    const controllerId = await controllerIdOption(values['controller-id'], String(values.specs ?? '.'));
    const specs = await loadValidSpecs(String(values.specs ?? '.'));
    const sites = selectedSites(values.site, specs);
    const cacheFile = values['no-cache'] ? null : cacheFileFor(specs);
    const memory = await loadMemory(cacheFile);
    const { signal, dispose } = interruptSignal();
    try {
      const prepared = await preparePlan(specs, { clients: clientsFor(specs, log, process.env, requestTimeoutOption(values['request-timeout'])), log, now: () => new Date(), memory, sources: sourceReaderFor(values['state-dir']), probe: contentProber(specs.sites) }, {
        signal, dryRun: true, controllerId, ...(sites ? { sites } : {}), ...massDeleteOptions(String(values.specs ?? '.'), !!values['allow-mass-delete']),
      });
      await saveMemory(cacheFile, memory, log);
      const p = prepared.plan;
      // A Site removed from the specs keeps serving what it had: said from the checkout's last status.
      const last = await checkoutStatus(fs, path.resolve(String(values.specs ?? '.'))).catch(() => null);
      if (last) p.warnings.push(...removedSites(specs.sites.map((s) => s.name), last).map(removedSiteLine));
      const out = format === 'json' ? JSON.stringify(planDocument(p), null, 2) + '\n' : format === 'markdown' ? renderMarkdown(p) : renderText(p);
      process.stdout.write(out);
      const broken = p.sites.some((s) => !s.reachable) ||
        [...prepared.observed.sources.entries()].some(([m, t]) => 'error' in t && (!sites || prepared.desired.mirrors.get(m)?.placements.some((x) => sites.includes(x.site))));
      // A name another controller holds is a conflict to resolve, like an unreachable site.
      // A pin nothing can serve (pruned, ambiguous) is an error in the specs' intent, said per placement.
      if (broken || p.conflicts.length > 0 || (p.errors?.length ?? 0) > 0) return 1;
      return planDocument(p).changes ? 2 : 0;
    } finally {
      dispose();
    }
  },
};

export type { PlanFormat };
