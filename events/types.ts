/**
 * The events pulpdist announces (CloudEvents 1.0, docs/events.md): their types, severities and
 * data. schemas/event.schema.json describes the same shapes for receivers; a test checks that
 * every event the builders make validates against it.
 */

/** Every event type, `org.pulpdist.` + what happened. */
export const EVENT_TYPES = [
  'org.pulpdist.sync.started',
  'org.pulpdist.sync.succeeded',
  'org.pulpdist.sync.failed',
  'org.pulpdist.tree.propagated',
  'org.pulpdist.pass.failed',
  'org.pulpdist.spec.rejected',
  'org.pulpdist.change.blocked',
  'org.pulpdist.site.unreachable',
  'org.pulpdist.site.degraded',
  'org.pulpdist.site.reachable',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** How urgent an event is; sinks can ask for a minimum. Ranked: info < warning < error. */
export const SEVERITIES = ['info', 'warning', 'error'] as const;
export type EventSeverity = (typeof SEVERITIES)[number];

export interface SyncStartedData {
  mirror: string;
  site: string;
  /** Why the sync runs (e.g. "upstream published a new tree"). */
  reason?: string;
  /** Pulp task href, when known. */
  task?: string;
}

export interface SyncSucceededData {
  mirror: string;
  site: string;
  /** sha256 of the canonical PULP_MANIFEST now published at the site. */
  treeDigest: string;
  /** Bytes and files downloaded by this sync (not the size of the tree). */
  bytes: number;
  files: number;
  durationMs: number;
  task?: string;
}

export interface SyncFailedData {
  mirror: string;
  site: string;
  /** One actionable reason, already redacted. */
  reason: string;
  durationMs?: number;
  task?: string;
  /** True when a later pass may succeed without anyone acting. */
  retryable?: boolean;
}

export interface TreePropagatedData {
  mirror: string;
  treeDigest: string;
  /** Every site of the mirror, all of which now publish `treeDigest`. */
  sites: string[];
  /** From the tree's first publication (at the origin) to its last site, in milliseconds. */
  propagationMs: number;
  /** ISO 8601 times of the first and the last publication. */
  firstPublishedAt: string;
  completedAt: string;
}

export interface PassFailedData {
  reason: string;
  /** Spec commit the pass ran on. */
  commit?: string;
  durationMs?: number;
}

export interface SpecProblemData {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  rule: string;
  message: string;
}

export interface SpecRejectedData {
  commit: string;
  /** The commit's errors (and warnings), each positioned `file:line:column`. */
  problems: SpecProblemData[];
  /** The commit still in force. */
  appliedCommit?: string;
}

export interface ChangeBlockedData {
  site: string;
  mirror?: string;
  /** The safety rule that holds the change, e.g. `mass-delete`. */
  rule: string;
  reason: string;
  commit?: string;
}

export interface SiteHealthData {
  site: string;
  /** Health before this change. */
  previous?: 'reachable' | 'degraded' | 'unreachable';
  reason?: string;
  pulpVersion?: string;
}

/** The data of each event type. */
export interface EventDataByType {
  'org.pulpdist.sync.started': SyncStartedData;
  'org.pulpdist.sync.succeeded': SyncSucceededData;
  'org.pulpdist.sync.failed': SyncFailedData;
  'org.pulpdist.tree.propagated': TreePropagatedData;
  'org.pulpdist.pass.failed': PassFailedData;
  'org.pulpdist.spec.rejected': SpecRejectedData;
  'org.pulpdist.change.blocked': ChangeBlockedData;
  'org.pulpdist.site.unreachable': SiteHealthData;
  'org.pulpdist.site.degraded': SiteHealthData;
  'org.pulpdist.site.reachable': SiteHealthData;
}

/**
 * An event before the bus stamps it (id, time, source): what the builders return and `emit` takes.
 * `mirror` and `site` are repeated outside `data` so that filters never parse data.
 */
export interface EventInput<T extends EventType = EventType> {
  type: T;
  severity: EventSeverity;
  /** `mirror@site`, `mirror`, `site` or undefined (the controller as a whole). */
  subject?: string;
  mirror?: string;
  site?: string;
  data: EventDataByType[T];
}

/** A stamped event, as JSON (the CloudEvents structured form); what sinks deliver. */
export interface PulpdistCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: EventType;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  dataschema: string;
  /** CloudEvents extension attribute (lowercase letters only, as the spec requires). */
  severity: EventSeverity;
  data: EventDataByType[EventType];
}
