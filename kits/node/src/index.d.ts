// Types of @cloudtasks-emu/testkit (the code is plain JavaScript: no build step).

import type {GenericContainer, StartedTestContainer} from 'testcontainers';
import type {IncomingHttpHeaders} from 'node:http';

export type ApiVersion = 'v2' | 'v2beta3' | 'v2beta2';
export type Transport = 'grpc' | 'rest';

export interface EmulatorOptions {
  /** 'auto' (default): connect when `address` or $CLOUD_TASKS_EMULATOR_HOST is set, else start a container. */
  mode?: 'auto' | 'container' | 'connect';
  /** Connect here ('host:port'); default $CLOUD_TASKS_EMULATOR_HOST. */
  address?: string;
  /** Image name and tag; default $CLOUDTASKS_EMU_IMAGE, else 'cloudtasks-emu'. */
  image?: string;
  /** Start with --virtual-clock: time moves only when told to (advance, setTime, reset); default false. */
  virtualClock?: boolean;
  /** Push queues (full names) created at start, and re-created by every reset of everything. */
  queues?: string[];
  /** Where App Engine tasks are delivered (plus each task's relative URI). */
  appEngineUrl?: string;
  /** A host directory (writable by uid 10001, the image's user) mounted as the emulator's SQLite state, so
   * that it outlives the container; default: state in memory, gone with the container. */
  dataDir?: string;
  /** Share the host's network: binds 127.0.0.1 on a free port, handlers reached on loopback (Linux). */
  hostNetwork?: boolean;
  /** Further `cloudtasks-emu start` flags. */
  args?: string[];
  /** Further environment of the container (CLOUDTASKS_EMU_<FLAG> variables). */
  env?: Record<string, string>;
  /** How long the container may take to print its ready line; default 60000. */
  startupTimeoutMs?: number;
  /** Last word on the container before it starts (bind mounts, a network, a log consumer...). */
  configure?: (container: GenericContainer) => GenericContainer | void;
}

export interface Clock {
  /** Epoch seconds of the emulator's clock. */
  now: number;
  /** The same, RFC 3339 in UTC. */
  time: string;
  virtual: boolean;
}

export interface Attempt {
  queue: string;
  task: string;
  /** Where the request went, as sent. */
  url: string;
  /** The headers sent, as sent. */
  requestHeaders: Record<string, string>;
  /** The handler's HTTP status; null when no answer came. */
  status: number | null;
  /** 'timeout', a connection error, or '' when an answer came. */
  error: string;
  /** The first KiB of the answer's body. */
  responseExcerpt: string;
  latencyMs: number;
  /** When it was made, epoch seconds of the emulator's clock. */
  time: number;
  /** 0 for a task's first attempt, then 1, 2, ... */
  retryCount: number;
}

export interface FaultSpec {
  rpc?: string;
  queue?: string;
  code?: string | number;
  message?: string;
  delay?: number;
  urlPrefix?: string;
  dispatch?: 'refuse' | 'timeout' | number;
  times?: number;
}

export interface Fault extends FaultSpec {
  id: string;
  times: number | null;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() when it arrived. */
  at: number;
}

export declare class EmulatorError extends Error {
  httpStatus: number;
  status: string;
  body: unknown;
}
export declare class UnknownQueueError extends EmulatorError {
  knownQueues: string[];
  matchingQueues: string[];
}
export declare class NotIdleError extends EmulatorError {}

export declare class Faults {
  add(fields: FaultSpec): Promise<Fault>;
  fail(code: string | number, options?: {message?: string; rpc?: string; queue?: string; times?: number}): Promise<Fault>;
  delay(seconds: number, options?: {code?: string | number; rpc?: string; queue?: string; times?: number}): Promise<Fault>;
  dispatch(urlPrefix: string, action: 'refuse' | 'timeout' | number, options?: {times?: number}): Promise<Fault>;
  list(): Promise<Fault[]>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
}

export declare class CloudTasksEmulator {
  constructor(options?: EmulatorOptions);
  readonly faults: Faults;
  /** Start or connect; bound, so `before(emu.setup)` works. */
  setup: () => Promise<CloudTasksEmulator>;
  /** Close the clients handed out, stop the container started; bound. */
  teardown: () => Promise<void>;
  readonly address: string;
  readonly url: string;
  readonly container: StartedTestContainer | undefined;
  client(version?: ApiVersion, options?: {transport?: Transport}): any;
  clientOptions(options?: {transport?: Transport}): Record<string, unknown>;
  call(method: string, path: string, body?: Record<string, unknown>): Promise<any>;
  clock(): Promise<Clock>;
  now(): Promise<number>;
  advance(seconds: number): Promise<Clock>;
  setTime(time: Date | number | string): Promise<Clock>;
  drain(queue?: string, options?: {timeoutSeconds?: number}): Promise<void>;
  reset(options?: {queue?: string; keepClock?: boolean}): Promise<Clock>;
  attempts(queue?: string): Promise<Attempt[]>;
  taskAttempts(task: string | {name?: string | null}): Promise<Attempt[]>;
}

export declare function cloudTasksEmulator(options?: EmulatorOptions): CloudTasksEmulator;
export declare function startEmulator(options?: EmulatorOptions): Promise<CloudTasksEmulator>;

export declare class RecordingHandler {
  constructor(options?: {host?: string; port?: number});
  url: string;
  port: number;
  received: ReceivedRequest[];
  start(): Promise<RecordingHandler>;
  stop(): Promise<void>;
  script(path: string, actions: Array<number | 'hold'>): void;
  release(path: string): void;
  requests(path?: string): ReceivedRequest[];
  waitFor(path: string, count?: number, options?: {timeoutMs?: number}): Promise<ReceivedRequest[]>;
  clear(): void;
}

export declare const VERSIONS: readonly ApiVersion[];
export declare function clientOptions(address: string, options?: {transport?: Transport}): Record<string, unknown>;
export declare function newClient(address: string, version?: ApiVersion, options?: {transport?: Transport}): any;
export declare const CONTAINER_PORT: number;
export declare const DEFAULT_IMAGE: string;
export declare const ENV_IMAGE: string;
export declare const VERSION: string;
