/**
 * A sink's filter (spec.events), compiled once: globs with picomatch, severity by rank. An event
 * that names no mirror (pass.failed, spec.rejected) passes a mirrors list, and one that names no
 * site passes a sites list: they concern every mirror and site, and the types list can exclude them.
 */
import picomatch from 'picomatch';
import type { EventFilterSpec } from '../spec/event-sink.js';
import { SEVERITIES } from './types.js';
import type { EventInput } from './types.js';

export type EventFilter = (event: EventInput) => boolean;

function anyOf(globs: string[] | undefined): ((name: string) => boolean) | undefined {
  if (!globs) return undefined;
  const matchers = globs.map((g) => picomatch(g, { dot: true }));
  return (name) => matchers.some((m) => m(name));
}

export function compileFilter(spec: EventFilterSpec): EventFilter {
  const type = anyOf(spec.types);
  const mirror = anyOf(spec.mirrors);
  const site = anyOf(spec.sites);
  const min = SEVERITIES.indexOf(spec.minSeverity);
  return (event) =>
    SEVERITIES.indexOf(event.severity) >= min &&
    (!type || type(event.type)) &&
    (!mirror || event.mirror === undefined || mirror(event.mirror)) &&
    (!site || event.site === undefined || site(event.site));
}
