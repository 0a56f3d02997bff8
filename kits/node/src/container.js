// The emulator's image as a throw-away container, through the testcontainers npm package.

import {EmulatorError} from './errors.js';

/** The image name docs/container.md builds (`docker build -t cloudtasks-emu .`). */
export const DEFAULT_IMAGE = 'cloudtasks-emu';
/** The variable that names another image when the `image` option does not, so CI picks the one it built. */
export const ENV_IMAGE = 'CLOUDTASKS_EMU_IMAGE';
// Where a host directory given as `dataDir` is mounted: the image's own state directory.
const DATA_MOUNT = '/data';
/** The one port inside the container: gRPC, REST, the admin API and /healthz. */
export const CONTAINER_PORT = 8123;
// The ready line on stdout, printed once every listener is bound (the same moment /healthz answers).
const READY_LINE = /^\{"ready": true/;
const READY_LINE_TIMEOUT_MS = 10_000;
const LOG_TAIL_CHARS = 2000;

/**
 * Starts a container of the image and waits for its ready line.
 * @param {import('./index.js').EmulatorOptions} options
 * @returns {Promise<{address: string, container: import('testcontainers').StartedTestContainer}>}
 */
export async function startContainer(options) {
  // Loaded here, so that connecting to a running emulator never needs Docker's client libraries.
  const {GenericContainer, Wait} = await import('testcontainers');
  const hostNetwork = options.hostNetwork ?? false;
  /** @type {Record<string, string>} */
  const env = {CLOUDTASKS_EMU_DATA_DIR: options.dataDir ? DATA_MOUNT : ''}; // no dataDir: memory
  if (options.appEngineUrl) env.CLOUDTASKS_EMU_APP_ENGINE_URL = options.appEngineUrl;
  let container = new GenericContainer(options.image || process.env[ENV_IMAGE] || DEFAULT_IMAGE)
    .withCommand(['start', ...startFlags(options)])
    .withWaitStrategy(Wait.forLogMessage(READY_LINE))
    .withStartupTimeout(options.startupTimeoutMs ?? 60_000);
  if (hostNetwork) {
    // The host's own ports: bind loopback only, on a free port read from the ready line, and leave
    // the second HTTP port (8124 in the image) closed, since it would need a free host port too.
    Object.assign(env, {CLOUDTASKS_EMU_HOST: '127.0.0.1', CLOUDTASKS_EMU_PORT: '0', CLOUDTASKS_EMU_NO_HTTP_PORT: '1'});
    container = container.withNetworkMode('host');
  } else {
    // A published port is reached from the bridge's gateway, not loopback: reset needs this. Handlers
    // on this machine are reached at host.docker.internal.
    env.CLOUDTASKS_EMU_ALLOW_REMOTE_ADMIN = '1';
    container = container.withExposedPorts(CONTAINER_PORT)
      .withExtraHosts([{host: 'host.docker.internal', ipAddress: 'host-gateway'}]);
  }
  if (options.dataDir) container = container.withBindMounts([{source: options.dataDir, target: DATA_MOUNT}]);
  container = container.withEnvironment({...env, ...options.env});
  // The log's end, for the error when the container never gets ready (a bad flag, a missing image).
  let log = '';
  container = container.withLogConsumer((stream) => stream.on('data', (chunk) => {
    log = (log + chunk).slice(-LOG_TAIL_CHARS);
  }));
  if (options.configure) container = options.configure(container) ?? container;
  let started;
  try {
    started = await container.start();
  } catch (error) {
    const tail = log.trim() ? `; its log ends:\n${log.trim()}` : '';
    throw new EmulatorError(`the emulator's container did not get ready: ${/** @type {Error} */ (error).message}${tail}`);
  }
  try {
    if (!hostNetwork) {
      return {address: `${started.getHost()}:${started.getMappedPort(CONTAINER_PORT)}`, container: started};
    }
    const ready = await readyLine(started);
    return {address: `127.0.0.1:${ready.port}`, container: started};
  } catch (error) {
    await started.stop();
    throw error;
  }
}

/**
 * The emulator's flags for the options (environment variables would do too; flags show in `docker ps`).
 * @param {import('./index.js').EmulatorOptions} options
 * @returns {string[]}
 */
function startFlags(options) {
  const flags = [];
  if (options.virtualClock) flags.push('--virtual-clock');
  for (const queue of options.queues ?? []) flags.push('--queue', queue);
  return [...flags, ...(options.args ?? [])];
}

/**
 * The ready JSON line from the container's log, which the wait strategy has already seen.
 * @param {import('testcontainers').StartedTestContainer} started
 * @returns {Promise<{port: number}>}
 */
async function readyLine(started) {
  const stream = await started.logs();
  let seen = '';
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line in the container's log within ${
        READY_LINE_TIMEOUT_MS} ms: ${seen.slice(0, 500)}`)), READY_LINE_TIMEOUT_MS);
      stream.on('data', (chunk) => {
        seen += chunk;
        const line = seen.split('\n').slice(0, -1).find((text) => READY_LINE.test(text)); // whole lines
        if (line) {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        }
      });
      stream.on('end', () => {
        clearTimeout(timer);
        reject(new Error(`the container stopped before its ready line: ${seen.slice(0, 500)}`));
      });
    });
  } finally {
    stream.destroy();
  }
}
