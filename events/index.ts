/**
 * The events API the controller uses (docs/events.md): make a bus from a commit's EventSinks,
 * emit what the builders make, read the counters, close with a deadline.
 */
export { createEventBus } from './bus.js';
export type { EventBus, EventBusOptions } from './bus.js';
export { changeBlocked, controllerSource, passFailed, siteHealth, specRejected, syncFailed, syncStarted, syncSucceeded, treePropagated } from './build.js';
export type { PulpdistEvent } from './build.js';
export type { SinkCloseReport, SinkStats } from './sink.js';
export type { DropCounts } from './queue.js';
export { EVENT_TYPES, SEVERITIES } from './types.js';
export type { EventInput, EventSeverity, EventType } from './types.js';
export { PropagationTracker, siteHealthChange } from './transitions.js';
export type { SiteHealth, SitePublication } from './transitions.js';
