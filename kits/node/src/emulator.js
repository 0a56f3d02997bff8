// CloudTasksEmulator: start (a container) or connect (CLOUD_TASKS_EMULATOR_HOST), then the admin API as
// methods with the Python harness's semantics (cloudtasks_emu.testing), and clients wired for it.

import {adminCall, toAttempt, toFault} from './admin.js';
import {newClient, clientOptions, splitAddress} from './clients.js';
import {startContainer} from './container.js';
import {EmulatorError} from './errors.js';

// Drain's default wait, as in the Python harness; the emulator allows up to 600 s.
const DRAIN_TIMEOUT_S = 20;
// What a drain request may take beyond its own timeout before the kit gives up on the answer.
const DRAIN_GRACE_MS = 30_000;
const ALREADY_EXISTS = 409;

/** The emulator for a test suite: `setup()` starts or connects, `teardown()` undoes it. */
export class CloudTasksEmulator {
  /** @type {string} */
  #address = '';
  /** @type {import('testcontainers').StartedTestContainer | undefined} */
  #container;
  /** @type {any[]} clients handed out, closed by teardown */
  #clients = [];
  /** @type {import('./index.js').EmulatorOptions} */
  #options;

  /** @param {import('./index.js').EmulatorOptions} [options] */
  constructor(options = {}) {
    this.#options = {...options};
    /** Faults on demand (/_emu/faults). */
    this.faults = new Faults(this);
  }

  /**
   * Starts a container of the image, or connects to the emulator at `address` or
   * $CLOUD_TASKS_EMULATOR_HOST (mode 'auto' connects when either is set). Fit for before/beforeAll.
   * @returns {Promise<CloudTasksEmulator>}
   */
  setup = async () => {
    if (this.#address) return this;
    const options = this.#options;
    const address = options.address ?? process.env.CLOUD_TASKS_EMULATOR_HOST;
    const mode = options.mode ?? 'auto';
    if (mode === 'connect' || (mode === 'auto' && address)) {
      if (!address) throw new Error('mode "connect" needs the address option or CLOUD_TASKS_EMULATOR_HOST');
      splitAddress(address); // a malformed address fails here, not in the first client call
      this.#address = address.replace(/^https?:\/\//, '');
      await this.#checkServing();
      await this.#ensureQueues();
    } else if (mode === 'container' || mode === 'auto') {
      const {address: started, container} = await startContainer(options);
      this.#container = container;
      this.#address = started;
    } else {
      throw new TypeError(`mode must be 'auto', 'container' or 'connect', not ${JSON.stringify(mode)}`);
    }
    return this;
  };

  /** Closes the clients it handed out and stops the container it started. Fit for after/afterAll. */
  teardown = async () => {
    const clients = this.#clients.splice(0);
    await Promise.allSettled(clients.map((client) => client.close()));
    const container = this.#container;
    this.#container = undefined;
    this.#address = '';
    if (container) await container.stop();
  };

  /** 'host:port' for every client (gRPC and REST): the value for CLOUD_TASKS_EMULATOR_HOST. */
  get address() {
    if (!this.#address) throw new Error('the emulator is not set up: await setup() first (in before/beforeAll)');
    return this.#address;
  }

  /** 'http://host:port': REST, the admin API (/_emu/...) and /healthz. */
  get url() {
    return `http://${this.address}`;
  }

  /** The container it started (testcontainers' StartedTestContainer), or undefined when connected. */
  get container() {
    return this.#container;
  }

  /**
   * An official CloudTasksClient for this emulator, closed by teardown.
   * @param {'v2' | 'v2beta3' | 'v2beta2'} [version]
   * @param {{transport?: 'grpc' | 'rest'}} [options]
   */
  client(version = 'v2', options = {}) {
    const client = newClient(this.address, version, options);
    this.#clients.push(client);
    return client;
  }

  /**
   * Options for a CloudTasksClient your own code builds: `new CloudTasksClient(emulator.clientOptions())`.
   * @param {{transport?: 'grpc' | 'rest'}} [options]
   */
  clientOptions(options = {}) {
    return clientOptions(this.address, options);
  }

  /**
   * One admin API call (docs/admin-api.md); answers with the JSON body, throws on an error answer.
   * @param {string} method
   * @param {string} path
   * @param {Record<string, unknown>} [body]
   */
  call(method, path, body) {
    return adminCall(this.url, method, path, {body});
  }

  /** @returns {Promise<import('./index.js').Clock>} the emulator's clock */
  clock() {
    return this.call('GET', '/_emu/clock');
  }

  /** The emulator's now in epoch seconds: compute schedule times from it, not from Date.now(). */
  async now() {
    return (await this.clock()).now;
  }

  /**
   * Moves the virtual clock forward: every task, retry and deadline that falls due fires at once
   * (drain afterwards to wait for the deliveries).
   * @param {number} seconds
   * @returns {Promise<import('./index.js').Clock>}
   */
  advance(seconds) {
    return this.call('POST', '/_emu/clock:advance', {seconds});
  }

  /**
   * Moves the virtual clock forward to `time`: a Date, epoch seconds or an RFC 3339 string.
   * @param {Date | number | string} time
   * @returns {Promise<import('./index.js').Clock>}
   */
  setTime(time) {
    if (time instanceof Date) return this.call('POST', '/_emu/clock:set', {now: time.getTime() / 1000});
    return this.call('POST', '/_emu/clock:set', typeof time === 'number' ? {now: time} : {time});
  }

  /**
   * Waits until nothing due remains undelivered, in one queue (full name or ID) or in all. Throws
   * UnknownQueueError for a queue that does not exist, NotIdleError if still busy after the timeout.
   * @param {string} [queue]
   * @param {{timeoutSeconds?: number}} [options]
   */
  async drain(queue = '', {timeoutSeconds = DRAIN_TIMEOUT_S} = {}) {
    /** @type {Record<string, unknown>} */
    const body = {timeout: timeoutSeconds};
    if (queue) body.queue = queue;
    const timeoutMs = timeoutSeconds * 1000 + DRAIN_GRACE_MS;
    await adminCall(this.url, 'POST', '/_emu/drain', {body, timeoutMs, queueNamed: Boolean(queue)});
  }

  /**
   * Back to the start-up state (the queues declared at start come back as declared; every other
   * queue, task, attempt and fault is forgotten), or forgets one queue. A virtual clock moves to the
   * real now (forward only for one queue) unless `keepClock`. Fit for beforeEach: `() => emu.reset()`.
   * @param {{queue?: string, keepClock?: boolean}} [options]
   */
  async reset({queue = '', keepClock = false} = {}) {
    /** @type {Record<string, unknown>} */
    const body = {};
    if (queue) body.queue = queue;
    if (keepClock) body.keep_clock = true;
    const clock = await adminCall(this.url, 'POST', '/_emu/reset', {body, queueNamed: Boolean(queue)});
    if (!queue) await this.#ensureQueues();
    return clock;
  }

  /**
   * Recent push attempts, oldest first, of one queue (full name or ID) or of all. Throws
   * UnknownQueueError for a queue that does not exist.
   * @param {string} [queue]
   * @returns {Promise<import('./index.js').Attempt[]>}
   */
  async attempts(queue = '') {
    const suffix = queue ? `?queue=${encodeURIComponent(queue)}` : '';
    const answer = await adminCall(this.url, 'GET', `/_emu/attempts${suffix}`, {queueNamed: Boolean(queue)});
    return answer.attempts.map(toAttempt);
  }

  /**
   * The attempts of one task (its full name, or the Task the client returned), oldest first.
   * @param {string | {name?: string | null}} task
   * @returns {Promise<import('./index.js').Attempt[]>}
   */
  async taskAttempts(task) {
    const name = typeof task === 'string' ? task : task?.name ?? '';
    const at = name.indexOf('/tasks/');
    if (at < 0) throw new TypeError(`want a task's full name (projects/.../tasks/ID), not ${JSON.stringify(name)}`);
    return (await this.attempts(name.slice(0, at))).filter((attempt) => attempt.task === name);
  }

  /** Fails fast, and says why, when nothing answers at the address. */
  async #checkServing() {
    try {
      await adminCall(this.url, 'GET', '/healthz', {timeoutMs: 5000});
    } catch (error) {
      throw new EmulatorError(`no emulator answers at ${this.#address}: ${/** @type {Error} */ (error).message}`);
    }
  }

  /**
   * A connected emulator was not started with the `queues` option, so they are created here (and
   * again after each reset of everything), as a started one declares them.
   */
  async #ensureQueues() {
    if (this.#container) return;
    for (const name of this.#options.queues ?? []) {
      const at = name.indexOf('/queues/');
      if (at < 0) throw new TypeError(`want a queue's full name (projects/P/locations/L/queues/Q), not ${name}`);
      const response = await fetch(`${this.url}/v2/${name.slice(0, at)}/queues`, {
        method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name}),
        signal: AbortSignal.timeout(60_000),
      });
      if (!response.ok && response.status !== ALREADY_EXISTS) {
        throw new EmulatorError(`creating queue ${name}: HTTP ${response.status} ${await response.text()}`,
          {httpStatus: response.status});
      }
      await response.body?.cancel();
    }
  }
}

/** Faults on demand through /_emu/faults; each method answers with the fault as the emulator lists it. */
export class Faults {
  #emulator;

  /** @param {CloudTasksEmulator} emulator */
  constructor(emulator) {
    this.#emulator = emulator;
  }

  /**
   * Adds a fault of any kind (docs/admin-api.md, "Faults"): fields in camelCase or as the API spells them.
   * @param {import('./index.js').FaultSpec} fields
   * @returns {Promise<import('./index.js').Fault>}
   */
  async add(fields) {
    const {urlPrefix, ...rest} = fields;
    /** @type {Record<string, unknown>} */
    const body = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
    if (urlPrefix !== undefined) body.url_prefix = urlPrefix;
    return toFault((await this.#emulator.call('POST', '/_emu/faults', body)).fault);
  }

  /**
   * Makes matching API calls (every call, or those of `rpc` and/or `queue`) fail with `code`
   * (a gRPC code by name, 'UNAVAILABLE', or number, 14).
   * @param {string | number} code
   * @param {{message?: string, rpc?: string, queue?: string, times?: number}} [options]
   */
  fail(code, {message, rpc, queue, times} = {}) {
    return this.add({code, message, rpc, queue, times});
  }

  /**
   * Makes matching API calls answer after `seconds` of real time, then fail with `code` if given.
   * @param {number} seconds
   * @param {{code?: string | number, rpc?: string, queue?: string, times?: number}} [options]
   */
  delay(seconds, {code, rpc, queue, times} = {}) {
    return this.add({delay: seconds, code, rpc, queue, times});
  }

  /**
   * Makes push attempts to URLs under `urlPrefix` 'refuse', 'timeout' or answer an HTTP status,
   * without reaching the handler; the attempt is journalled and retried like a real one.
   * @param {string} urlPrefix
   * @param {'refuse' | 'timeout' | number} action
   * @param {{times?: number}} [options]
   */
  dispatch(urlPrefix, action, {times} = {}) {
    return this.add({urlPrefix, dispatch: action, times});
  }

  /** @returns {Promise<import('./index.js').Fault[]>} the faults in force, in the order added */
  async list() {
    return (await this.#emulator.call('GET', '/_emu/faults')).faults.map(toFault);
  }

  /** @param {string} id a fault's id; an unknown one throws */
  async remove(id) {
    await this.#emulator.call('DELETE', `/_emu/faults/${encodeURIComponent(id)}`);
  }

  /** Clears every fault. */
  async clear() {
    await this.#emulator.call('DELETE', '/_emu/faults');
  }
}

/**
 * An emulator for a test file, not started yet: `before(emu.setup)`, `after(emu.teardown)` (Jest and
 * Vitest: beforeAll/afterAll), `beforeEach(() => emu.reset())`.
 * @param {import('./index.js').EmulatorOptions} [options]
 */
export function cloudTasksEmulator(options) {
  return new CloudTasksEmulator(options);
}

/**
 * Starts (or connects to) an emulator at once.
 * @param {import('./index.js').EmulatorOptions} [options]
 */
export function startEmulator(options) {
  return new CloudTasksEmulator(options).setup();
}
