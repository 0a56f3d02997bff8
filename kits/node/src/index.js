// @cloudtasks-emu/testkit: the Cloud Tasks emulator in a Node test suite.

import {readFileSync} from 'node:fs';

export {CloudTasksEmulator, Faults, cloudTasksEmulator, startEmulator} from './emulator.js';
export {RecordingHandler} from './handler.js';
export {EmulatorError, NotIdleError, UnknownQueueError} from './errors.js';
export {VERSIONS, clientOptions, newClient} from './clients.js';
export {CONTAINER_PORT, DEFAULT_IMAGE, ENV_IMAGE} from './container.js';

/** This kit's version: the emulator's (the Python package's) version it was made with. */
export const VERSION = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
