// What every test file shares: how this run reaches an emulator, and names.
//
// Run by tests/container/test_kit_node.py twice: once with CLOUDTASKS_EMU_IMAGE (the image CI built; the
// kit starts containers of it on the host network) and once with CLOUD_TASKS_EMULATOR_HOST (an emulator
// already running; the kit connects). APP_ENGINE_EMULATOR_HOST, when set, is where that running
// emulator delivers App Engine tasks, so the handler listens there.

export const connected = Boolean(process.env.CLOUD_TASKS_EMULATOR_HOST);
export const PARENT = 'projects/node-kit/locations/us-central1';
export const DECLARED = `${PARENT}/queues/declared`;
const run = Date.now().toString(36);

/** A queue's full name, unique to this run (a deleted name stays blocked for a while). */
export const queueName = (/** @type {string} */ id) => `${PARENT}/queues/${id}-${run}`;

/**
 * The kit's options for this run: loopback only (host network), virtual clock, one declared queue.
 * @param {import('../src/index.js').EmulatorOptions} [extra]
 */
export function testOptions(extra = {}) {
  return {hostNetwork: true, virtualClock: true, queues: [DECLARED], ...extra};
}

/** Where the handler listens: APP_ENGINE_EMULATOR_HOST's port when a running emulator names it. */
export function handlerOptions() {
  const appEngine = process.env.APP_ENGINE_EMULATOR_HOST;
  return appEngine ? {port: Number(new URL(`http://${appEngine}`).port)} : {};
}
