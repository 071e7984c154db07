/**
 * The spec model: what validated `Site` and `Mirror` documents become. Everything downstream
 * (desired state, plan, status) reads these types, never raw YAML.
 */

import type { EventSinkSpec } from './event-sink.js';

/** Where a document came from, for messages that point back into Git. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export interface SiteAuth {
  username: string;
  /** Name of the environment variable holding the password. */
  passwordEnv?: string;
  /** Path of a file holding the password (e.g. a mounted secret). */
  passwordFile?: string;
}

export interface SiteSpec {
  name: string;
  labels: Record<string, string>;
  pulp: {
    /** API origin, e.g. `https://pulp.bne.example.com` (no path). */
    url: string;
    /** @default '/pulp/api/v3/' */
    apiRoot: string;
    /** Origin of the content app. @default url */
    contentOrigin: string;
    auth?: SiteAuth;
    /** @default true */
    tlsValidation: boolean;
  };
  /** The site this one pulls from; undefined = pulls from each mirror's origin. */
  upstream?: string;
  limits: {
    /** @default 2 */
    concurrentSyncs: number;
    /** @default 10 */
    downloadConcurrency: number;
    /** Inbound cap in bytes per second shared by this site's syncs; undefined = none. */
    bandwidth?: number;
  };
  position: SourcePosition;
}

export type MirrorSource = { kind: 'path'; path: string } | { kind: 'manifest'; url: string };

export type MirrorSchedule = { intervalMs: number } | { cron: string };

export interface MirrorSpec {
  name: string;
  labels: Record<string, string>;
  source: MirrorSource;
  origin: string;
  sites: string[];
  /** @default name */
  basePath: string;
  schedule?: MirrorSchedule;
  /** @default 3 */
  retainVersions: number;
  /** @default false */
  suspend: boolean;
  position: SourcePosition;
}

/** A complete, valid set of specs (one Git commit's worth). */
export interface SpecSet {
  sites: SiteSpec[];
  mirrors: MirrorSpec[];
  /** Where events go (docs/events.md); set only when the commit has EventSink documents. */
  eventSinks?: EventSinkSpec[];
}

export type Severity = 'error' | 'warning';

/** One finding of `validate`, positioned at the offending YAML node. */
export interface Problem {
  file: string;
  line: number;
  column: number;
  severity: Severity;
  message: string;
  /** Stable rule id, e.g. `schema`, `yaml-syntax`, `unknown-site`, `upstream-cycle`. */
  rule: string;
}

/** One YAML document that was read, for reports that list documents (JUnit: one testcase each). */
export interface DocumentRef {
  file: string;
  /** 1-based index of the document in its file. */
  index: number;
  /** First and last line of the document, to attribute problems to it. */
  line: number;
  endLine: number;
  /** Set when the document says which kind and name it is (even if it is otherwise invalid). */
  kind?: string;
  name?: string;
}

/** What loading a spec tree gives: the specs (when valid) and every problem found. */
export interface LoadResult {
  specs: SpecSet;
  problems: Problem[];
  files: number;
  documents: number;
  /** Every document read, in file and position order (set by spec/load.ts). */
  documentRefs?: DocumentRef[];
  /** Every file read, in order (set by spec/load.ts). */
  fileNames?: string[];
}
