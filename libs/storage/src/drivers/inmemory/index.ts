// Registers the "inmemory" driver. Parameters: `name` (optional) — drivers created with the same
// name in one process share one tree (tests use this to simulate a restart); without it every
// driver gets a fresh, private tree.
import { registerDriver, param, type DriverParameters } from '../../factory.js';
import { InMemoryDriver, INMEMORY } from './driver.js';
import { memoryStore } from './store.js';

export { InMemoryDriver } from './driver.js';

registerDriver({
  name: INMEMORY,
  shareable: false,
  validate(params: DriverParameters) {
    param.onlyKnown(INMEMORY, params, ['name']);
    param.optionalString(INMEMORY, params, 'name');
  },
  create(params: DriverParameters) {
    param.onlyKnown(INMEMORY, params, ['name']);
    return new InMemoryDriver(memoryStore(param.optionalString(INMEMORY, params, 'name')));
  },
  // Every failure the driver raises is already a StorageError; there is no SDK to translate.
  hooks: { mapError: () => undefined },
});
