/** Small spec texts for the spec tests, and a one-line rendering of problems to compare against. */
import { loadSpecFiles } from '../../spec/load.js';
import type { SpecFile } from '../../spec/load.js';
import type { LoadResult } from '../../spec/types.js';

/** Two valid sites: `origin` (lines 1-4) and `hub` with upstream origin (lines 6-9). */
export const SITES = `apiVersion: pulpdist/v1
kind: Site
metadata: {name: origin}
spec: {pulp: {url: https://pulp.origin.example.com}}
---
apiVersion: pulpdist/v1
kind: Site
metadata: {name: hub}
spec: {pulp: {url: https://pulp.hub.example.com}, upstream: origin}
`;

/** A Mirror document whose `spec:` key is on line 4 and whose spec body starts on line 5. */
export function mirror(body: string, name = 'm1'): string {
  return `apiVersion: pulpdist/v1\nkind: Mirror\nmetadata: {name: ${name}}\nspec:\n${body}`;
}

/** The body of a valid mirror spec (lines 5-7 of `mirror()`). */
export const MIRROR_BODY = `  source: {path: /srv/m1}
  origin: origin
  sites: [origin, hub]
`;

export function load(files: Record<string, string | Uint8Array>): LoadResult {
  const list: SpecFile[] = Object.entries(files).map(([path, content]) => ({ path, content }));
  return loadSpecFiles(list);
}

/** `FILE:LINE:COLUMN severity rule` per problem: what the rule tests compare exactly. */
export function where(result: LoadResult): string[] {
  return result.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.severity} ${p.rule}`);
}
