// The official @google-cloud/tasks client wired for the emulator: plain-text gRPC or HTTP/1.1 REST, no
// credentials. These are the lines every user gets wrong, so they live in one place.

import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);

/** The API versions the emulator serves, as @google-cloud/tasks names them. */
export const VERSIONS = Object.freeze(['v2', 'v2beta3', 'v2beta2']);

/**
 * @google-cloud/tasks and the google-gax copy it loaded: the insecure credentials must come from that
 * copy's grpc-js (another copy's are refused), and its pass-through auth client keeps the client from
 * looking for Application Default Credentials (and probing the GCE metadata server).
 * @returns {{tasks: any, gax: any}}
 */
function load() {
  let tasksPath;
  try {
    tasksPath = require.resolve('@google-cloud/tasks');
  } catch {
    throw new Error('@google-cloud/tasks is not installed: npm install --save-dev @google-cloud/tasks');
  }
  return {tasks: require(tasksPath), gax: createRequire(tasksPath)('google-gax')};
}

/**
 * Options for `new CloudTasksClient(...)` that reach the emulator at `address` ('host:port').
 * @param {string} address
 * @param {{transport?: 'grpc' | 'rest'}} [options]
 * @returns {Record<string, unknown>}
 */
export function clientOptions(address, {transport = 'grpc'} = {}) {
  const {gax} = load();
  const {host, port} = splitAddress(address);
  const authClient = new gax.googleAuthLibrary.PassThroughClient();
  if (transport === 'grpc') {
    return {servicePath: host, port, sslCreds: gax.grpc.credentials.createInsecure(), authClient};
  }
  if (transport === 'rest') {
    return {fallback: true, protocol: 'http', servicePath: host, port, authClient};
  }
  throw new TypeError(`transport must be 'grpc' or 'rest', not ${JSON.stringify(transport)}`);
}

/**
 * A CloudTasksClient of API `version` for the emulator at `address`.
 * @param {string} address
 * @param {string} [version]
 * @param {{transport?: 'grpc' | 'rest'}} [options]
 * @returns {any}
 */
export function newClient(address, version = 'v2', options = {}) {
  if (!VERSIONS.includes(version)) {
    throw new TypeError(`version must be one of ${VERSIONS.join(', ')}, not ${JSON.stringify(version)}`);
  }
  const {tasks} = load();
  return new tasks[version].CloudTasksClient(clientOptions(address, options));
}

/**
 * 'host:port' (or 'http://host:port', '[::1]:port') as its parts.
 * @param {string} address
 * @returns {{host: string, port: number}}
 */
export function splitAddress(address) {
  const {hostname, port} = new URL(address.includes('://') ? address : `http://${address}`);
  if (!port) throw new TypeError(`${JSON.stringify(address)} names no port: want host:port`);
  return {host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port)};
}
