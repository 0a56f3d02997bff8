// Clients for the emulator, made exactly as the README tells Node users to.
'use strict';

const tasks = require('@google-cloud/tasks');

// [START readme-node-connect]
// Node, @google-cloud/tasks over gRPC. google-gax is a direct dependency at the version the client
// uses (npm then installs one copy): the plaintext credentials must come from the grpc it loaded, and
// an auth client that adds nothing keeps it from looking for Application Default Credentials.
const {v2} = require('@google-cloud/tasks');
const {grpc, googleAuthLibrary} = require('google-gax');
const [host, port] = (process.env.CLOUD_TASKS_EMULATOR_HOST || '127.0.0.1:8123').split(':');
const client = new v2.CloudTasksClient({servicePath: host, port: Number(port),
  sslCreds: grpc.credentials.createInsecure(), authClient: new googleAuthLibrary.PassThroughClient()});
// [END readme-node-connect]

// [START readme-node-rest]
// Node over REST (HTTP/1.1 + JSON) at the same address: fallback, plain http, the same auth client
const restClient = new v2.CloudTasksClient({fallback: true, protocol: 'http', servicePath: host, port: Number(port),
  authClient: new googleAuthLibrary.PassThroughClient()});
// [END readme-node-rest]

/** A client of API `version` ('v2', 'v2beta3', 'v2beta2') over `transport` ('grpc' or 'rest'). */
function newClient(version, transport) {
  if (version === 'v2') {
    return transport === 'grpc' ? client : restClient;
  }
  const authClient = new googleAuthLibrary.PassThroughClient();
  const options = transport === 'grpc'
    ? {servicePath: host, port: Number(port), sslCreds: grpc.credentials.createInsecure(), authClient}
    : {fallback: true, protocol: 'http', servicePath: host, port: Number(port), authClient};
  return new tasks[version].CloudTasksClient(options);
}

module.exports = {newClient, address: `${host}:${port}`};
