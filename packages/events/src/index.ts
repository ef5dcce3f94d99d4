export {
  createEventConsumer,
  type EventConsumer,
  type EventConsumerOptions,
  type PartitionLag,
} from './consumer.ts';
export {
  assertEventEnvelope,
  createEvent,
  EVENT_TYPE_PATTERN,
  type EventEnvelope,
  EventEnvelopeSchema,
  InvalidEventError,
  type NewEvent,
  parseEvent,
  serializeEvent,
} from './envelope.ts';
export type { EventsLogger } from './events-logger.ts';
export { keepConsumerRunning } from './keep-running.ts';
export { appendToOutbox } from './outbox.ts';
export * from './payloads.ts';
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions, type RelayTenant } from './relay.ts';
export { outbox, processedEvents } from './schema.ts';
