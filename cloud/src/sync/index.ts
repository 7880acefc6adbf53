// Desired-state sync and remote commands (issue 5), the cloud side.
export { COMMAND_TTL_MS, type CommandRequest, type CommandView, issueCommand, readCommand } from './commands.js';
export {
  type Change,
  CONFIG_DEFAULTS,
  type ConfigPatch,
  type DesiredStateApi,
  desiredState,
  type Item,
  type PutResult,
  type SyncDocument,
} from './desired-state.js';
export { type SyncHandlerOptions, type SyncHandlers, syncHandlers } from './handlers.js';
export { EMPTY_SECTION_HASH, itemDigest, sectionHash } from './hash.js';
export {
  type PrunedSection,
  pruneDesiredTombstones,
  scheduleTombstonePruning,
} from './prune.js';
export {
  attachSyncLink,
  type SyncLink,
  type SyncPublisher,
  type SyncPublisherOptions,
  startSyncPublisher,
  syncLinkOf,
} from './publisher.js';
export { keyOf, liveKeys, pruneTombstones } from './store.js';
