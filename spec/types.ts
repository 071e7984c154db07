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
    /** Origin of the `pulpdist shaper` this site's remotes download through (`proxy_url`); undefined = none. */
    shaper?: string;
  };
  /** spec.orphanCleanup, defaults filled in (normalize.ts always sets it; absent only in hand-built specs). */
  orphanCleanup?: { enabled: boolean; intervalMs: number; protectionMs: number };
  /** spec.storage: `freeSpaceWarning` as a share of the disk, 0.1 = 10% (normalize.ts always sets it). */
  storage?: { freeSpaceWarning: number };
  position: SourcePosition;
}

/** What to do with symlinks in a tree (docs/specs.md, docs/manifest.md "Symlinks"). */
export type SymlinkPolicy = 'follow' | 'strict' | 'skip';

/**
 * Where a mirror's files come from, with how to read them: the mirror's `exclude` and `symlinks`
 * travel with its source, so that mirrors sharing a tree but reading it differently are read
 * apart (reconcilers/source.ts keys reads on the whole source).
 */
export type MirrorSource =
  | {
      kind: 'path';
      path: string;
      /** spec.exclude; absent when the mirror excludes nothing. */
      exclude?: string[];
      /** spec.symlinks; absent means the default, `follow`. */
      symlinks?: SymlinkPolicy;
      /** spec.source.settle in ms: the tree must be unchanged this long before it is published. */
      settleMs?: number;
      /** spec.source.inProgressMarker: while a file matching this glob exists, the tree is not published. */
      inProgressMarker?: string;
      /**
       * spec.source.readOnly: nothing is written into the tree; its PULP_MANIFEST and links to it
       * live in the controller's state directory (sources/view.ts). Absent = false.
       */
      readOnly?: true;
    }
  | { kind: 'manifest'; url: string };

/**
 * When a mirror syncs besides source changes. `cron` is a window: a source change waits for the
 * next cron time, unless `syncOnChange` (then cron only adds syncs, as `interval` does).
 */
export type MirrorSchedule = { intervalMs: number } | { cron: string; syncOnChange?: boolean };

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
  /** spec.rollout: progressive delivery of each new tree (docs/rollouts.md); absent = every site at once. */
  rollout?: RolloutSpec;
  /** spec.pin: a tree digest, a prefix of ≥ 12 hex digits, or `vN` (the origin's version); absent = the latest. */
  pin?: string;
  /** spec.pins: per site, the same forms (`vN` is that site's version); absent = none. */
  pins?: Record<string, string>;
  position: SourcePosition;
}

/** An HTTP probe of a rollout stage: `path` under the mirror's base path must answer 200 (with `sha256`). */
export interface RolloutProbe {
  path: string;
  sha256?: string;
}

/** One stage of spec.rollout, as written: which sites, then what must hold before the next stage. */
export interface RolloutStageSpec {
  /** @default `stage-N` (1-based) */
  name: string;
  /** Site names; `*` (last stage only) = every site of the mirror in no other stage. */
  sites: string[];
  /** Every site of the mirror whose labels hold all of these; absent = none by label. */
  matchLabels?: Record<string, string>;
  /** @default 0 */
  soakMs: number;
  verify: RolloutProbe[];
  /** True: the stage begins only once `approved` is a prefix of the tree's digest. */
  approval: boolean;
  approved?: string;
}

export interface RolloutSpec {
  stages: RolloutStageSpec[];
  /** @default false */
  rollbackOnFailure: boolean;
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
