/**
 * Event builders, one per type: plain data in, an `EventInput` out (no clock, no id), so that the
 * controller says what happened and the bus alone stamps when and where. `stamp` turns an input
 * into a CloudEvent through the SDK, which checks the envelope (id, source, type, specversion).
 */
import { randomUUID } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import type {
  ChangeBlockedData,
  EventDataByType,
  EventInput,
  EventType,
  PassFailedData,
  SiteHealthData,
  SpecRejectedData,
  SyncFailedData,
  SyncStartedData,
  SyncSucceededData,
  TreePropagatedData,
} from './types.js';

/** Where receivers find the JSON Schema of the data (the `$id` of schemas/event.schema.json). */
export const EVENT_DATASCHEMA = 'https://pulpdist.dev/schemas/event.schema.json';

/** The CloudEvent every sink delivers: the SDK's class, with our data and the `severity` extension. */
export type PulpdistEvent = CloudEvent<EventDataByType[EventType]>;

/** `pulpdist://<identity>`: the controller instance that saw it happen. */
export function controllerSource(identity: string): string {
  // An identity is a hostname or a name derived from the repository: keep it a valid URI authority.
  return `pulpdist://${encodeURIComponent(identity).toLowerCase()}`;
}

const at = (mirror: string, site: string) => `${mirror}@${site}`;

export function syncStarted(data: SyncStartedData): EventInput<'org.pulpdist.sync.started'> {
  return { type: 'org.pulpdist.sync.started', severity: 'info', subject: at(data.mirror, data.site), mirror: data.mirror, site: data.site, data };
}

export function syncSucceeded(data: SyncSucceededData): EventInput<'org.pulpdist.sync.succeeded'> {
  return { type: 'org.pulpdist.sync.succeeded', severity: 'info', subject: at(data.mirror, data.site), mirror: data.mirror, site: data.site, data };
}

export function syncFailed(data: SyncFailedData): EventInput<'org.pulpdist.sync.failed'> {
  return { type: 'org.pulpdist.sync.failed', severity: 'error', subject: at(data.mirror, data.site), mirror: data.mirror, site: data.site, data };
}

/** A tree reached every site of its mirror: subject is the mirror alone, since no one site is meant. */
export function treePropagated(data: TreePropagatedData): EventInput<'org.pulpdist.tree.propagated'> {
  return { type: 'org.pulpdist.tree.propagated', severity: 'info', subject: data.mirror, mirror: data.mirror, data: { ...data, sites: [...data.sites].sort() } };
}

export function passFailed(data: PassFailedData): EventInput<'org.pulpdist.pass.failed'> {
  return { type: 'org.pulpdist.pass.failed', severity: 'error', data };
}

export function specRejected(data: SpecRejectedData): EventInput<'org.pulpdist.spec.rejected'> {
  return { type: 'org.pulpdist.spec.rejected', severity: 'error', subject: data.commit, data: { ...data, problems: data.problems.map((p) => ({ ...p })) } };
}

export function changeBlocked(data: ChangeBlockedData): EventInput<'org.pulpdist.change.blocked'> {
  const subject = data.mirror === undefined ? data.site : at(data.mirror, data.site);
  const out: EventInput<'org.pulpdist.change.blocked'> = { type: 'org.pulpdist.change.blocked', severity: 'warning', subject, site: data.site, data };
  if (data.mirror !== undefined) out.mirror = data.mirror;
  return out;
}

const HEALTH = {
  unreachable: ['org.pulpdist.site.unreachable', 'error'],
  degraded: ['org.pulpdist.site.degraded', 'warning'],
  reachable: ['org.pulpdist.site.reachable', 'info'],
} as const;

/** A site's health changed to `health`; call it on changes only, not on every observation. */
export function siteHealth(health: keyof typeof HEALTH, data: SiteHealthData): EventInput {
  const [type, severity] = HEALTH[health];
  return { type, severity, subject: data.site, site: data.site, data };
}

/** What the bus adds to an input: when, where, and a unique id. */
export interface StampOptions {
  source: string;
  now: () => Date;
  /** @default crypto.randomUUID */
  id?: () => string;
}

/** The input as a CloudEvent 1.0; throws the SDK's ValidationError only for a bug (a bad source). */
export function stamp(input: EventInput, options: StampOptions): PulpdistEvent {
  const { source, now, id = randomUUID } = options;
  const attributes: Record<string, unknown> = {
    specversion: '1.0',
    id: id(),
    source,
    type: input.type,
    time: now().toISOString(),
    datacontenttype: 'application/json',
    dataschema: EVENT_DATASCHEMA,
    severity: input.severity,
    data: input.data,
  };
  if (input.subject !== undefined) attributes.subject = input.subject;
  return new CloudEvent<EventDataByType[EventType]>(attributes as ConstructorParameters<typeof CloudEvent<EventDataByType[EventType]>>[0]);
}
