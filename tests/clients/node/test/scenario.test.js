// The issue 14 scenario with @google-cloud/tasks, once over gRPC and once over REST (fallback).
'use strict';

const assert = require('node:assert/strict');
const {after, before, describe, test} = require('node:test');
const {Status, grpc, googleAuthLibrary} = require('google-gax');
const {newClient, address} = require('../connect');
const {Handler} = require('../handler');

const parent = 'projects/node-client/locations/us-central1';
const run = Date.now().toString(36); // queue IDs unique per run: a deleted name stays blocked
const lastSegment = (name) => name.slice(name.lastIndexOf('/') + 1);
let hook;

before(async () => { hook = await new Handler().start(); });
after(() => hook.stop());

const HTTP_STATUS = {[Status.INVALID_ARGUMENT]: 400, [Status.FAILED_PRECONDITION]: 400, [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409};

/**
 * Awaits `promise` and asserts that it fails with the error this client throws for gRPC status `code`:
 * over gRPC a grpc-js ServiceError whose `code` is the status; over REST (google-gax 5) a GaxiosError
 * whose `status` is the HTTP status and whose message is the JSON error body (docs/clients.md).
 */
async function rejectsWith(transport, promise, code) {
  await assert.rejects(promise, (error) => {
    if (transport === 'grpc') {
      assert.equal(error.code, code, `want ${Status[code]}, got ${error}`);
      assert.ok(error.metadata instanceof grpc.Metadata, `not a ServiceError: ${error}`);
    } else {
      assert.ok(error instanceof googleAuthLibrary.gaxios.GaxiosError, `not a GaxiosError: ${error}`);
      assert.equal(error.status, HTTP_STATUS[code], `${error}`);
      assert.equal(JSON.parse(error.message).error.status, Status[code]);
    }
    return true;
  });
}

// Without an auth client google-gax looks for Application Default Credentials and probes the GCE
// metadata server; the README's clients must not.
const warnings = [];
process.on('warning', (warning) => warnings.push(warning));
after(() => assert.deepEqual(warnings.filter((w) => w.name === 'MetadataLookupWarning'), []));

/** Verifies an ID token against the JWKS named by the emulator's OpenID configuration. */
async function verifyIdToken(token, audience) {
  const {createRemoteJWKSet, jwtVerify} = await import('jose');
  const config = await (await fetch(`http://${address}/.well-known/openid-configuration`)).json();
  const keys = createRemoteJWKSet(new URL(config.jwks_uri));
  const {payload} = await jwtVerify(token, keys, {issuer: 'https://accounts.google.com', audience, algorithms: ['RS256']});
  return payload;
}

for (const transport of ['grpc', 'rest']) {
  describe(`over ${transport}`, () => {
    const client = newClient('v2', transport);
    const queueName = (id) => `${parent}/queues/${id}-${transport}-${run}`;
    const createQueue = async (id, extra = {}) => (await client.createQueue({parent, queue: {name: queueName(id), ...extra}}))[0];

    test('queue lifecycle: create, get, list in pages, update, pause, purge, resume, delete', async () => {
      const name = queueName('life');
      const [created] = await client.createQueue({parent, queue: {name, rateLimits: {maxDispatchesPerSecond: 50}}});
      assert.equal(created.name, name);
      assert.equal(created.state, 'RUNNING');
      await rejectsWith(transport, client.createQueue({parent, queue: {name}}), Status.ALREADY_EXISTS);
      await rejectsWith(transport, client.createQueue({parent, queue: {name: `${parent}/queues/not_valid!`}}), Status.INVALID_ARGUMENT);

      const [got] = await client.getQueue({name});
      assert.equal(got.rateLimits.maxDispatchesPerSecond, 50);

      // Three queues in pages of two: each page fetched with the previous page's token.
      await createQueue('page-a');
      await createQueue('page-b');
      const listed = [];
      let request = {parent, pageSize: 2};
      let pages = 0;
      while (request && pages < 50) {
        const [page, next] = await client.listQueues(request, {autoPaginate: false});
        assert.ok(page.length <= 2, `a page of ${page.length}`);
        listed.push(...page.map((q) => q.name).filter((n) => n.endsWith(`-${transport}-${run}`)));
        pages += 1;
        request = next;
      }
      assert.equal(listed.length, 3);
      assert.ok(pages >= 2, `${pages} pages`);

      // The mask goes out as written: proto field names over gRPC, JSON names in the REST query string.
      const path = transport === 'grpc' ? 'retry_config.max_attempts' : 'retryConfig.maxAttempts';
      const [updated] = await client.updateQueue({queue: {name, retryConfig: {maxAttempts: 7}}, updateMask: {paths: [path]}});
      assert.equal(updated.retryConfig.maxAttempts, 7);
      assert.equal(updated.rateLimits.maxDispatchesPerSecond, 50);

      assert.equal((await client.pauseQueue({name}))[0].state, 'PAUSED');
      await client.createTask({parent: name, task: {httpRequest: {url: `${hook.url}/never`}}});
      assert.equal((await client.listTasks({parent: name}))[0].length, 1);
      await client.purgeQueue({name});
      assert.equal((await client.listTasks({parent: name}))[0].length, 0);
      assert.equal((await client.resumeQueue({name}))[0].state, 'RUNNING');

      await client.deleteQueue({name});
      await rejectsWith(transport, client.getQueue({name}), Status.NOT_FOUND);
    });

    test('HTTP task with an OIDC token reaches the handler with the Cloud Tasks headers', async () => {
      const queue = await createQueue('http');
      const audience = `https://handler.example/node-${transport}`;
      const account = 'tasks@node-client.iam.gserviceaccount.com';
      const path = `/http/node-${transport}`;
      const [task] = await client.createTask({parent: queue.name, task: {httpRequest: {
        url: `${hook.url}${path}?step=1`, httpMethod: 'PUT', body: Buffer.from('{"hello":"node"}'),
        headers: {'Content-Type': 'application/json', 'X-Client': 'node'},
        oidcToken: {serviceAccountEmail: account, audience},
      }}});

      const got = await hook.next(path);
      assert.equal(got.method, 'PUT');
      assert.equal(got.query, 'step=1');
      assert.equal(got.body, '{"hello":"node"}');
      assert.equal(got.headers['x-cloudtasks-queuename'], lastSegment(queue.name));
      assert.equal(got.headers['x-cloudtasks-taskname'], lastSegment(task.name));
      assert.equal(got.headers['x-cloudtasks-taskretrycount'], '0');
      assert.equal(got.headers['x-cloudtasks-taskexecutioncount'], '0');
      assert.ok(Number(got.headers['x-cloudtasks-tasketa']) > 1e9, got.headers['x-cloudtasks-tasketa']);
      assert.equal(got.headers['user-agent'], 'Google-Cloud-Tasks');
      assert.equal(got.headers['content-type'], 'application/json');
      assert.equal(got.headers['x-client'], 'node');

      const token = got.headers.authorization.replace(/^Bearer /, '');
      const claims = await verifyIdToken(token, audience);
      assert.equal(claims.email, account);
      assert.equal(claims.email_verified, true);
      await assert.rejects(verifyIdToken(token, 'https://someone.else'));
      const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
      await assert.rejects(verifyIdToken(tampered, audience));
    });

    test('App Engine task reaches the App Engine handler', async () => {
      const queue = await createQueue('appengine');
      const path = `/appengine/node-${transport}`;
      const [task] = await client.createTask({parent: queue.name, task: {appEngineHttpRequest: {
        httpMethod: 'POST', relativeUri: `${path}?x=1`, body: Buffer.from('from node'),
      }}});
      const got = await hook.next(path);
      assert.equal(got.method, 'POST');
      assert.equal(got.query, 'x=1');
      assert.equal(got.body, 'from node');
      assert.equal(got.headers['x-appengine-queuename'], lastSegment(queue.name));
      assert.equal(got.headers['x-appengine-taskname'], lastSegment(task.name));
      assert.equal(got.headers['x-appengine-taskretrycount'], '0');
      assert.match(got.headers['user-agent'], /AppEngine-Google/);
    });

    test('task errors arrive as GoogleError with the gRPC code', async () => {
      const queue = await createQueue('errors');
      await rejectsWith(transport, client.getTask({name: `${queue.name}/tasks/missing`}), Status.NOT_FOUND);
      await rejectsWith(transport, client.createTask({parent: queue.name, task: {httpRequest: {url: 'ftp://not-http'}}}),
        Status.INVALID_ARGUMENT);
      // What the service answers for a missing queue (reference section 8).
      await rejectsWith(transport, client.createTask({parent: queueName('absent'), task: {httpRequest: {url: `${hook.url}/x`}}}),
        Status.NOT_FOUND);
    });

    test('v2beta3 sees the same state as v2', async () => {
      const beta = newClient('v2beta3', transport);
      const [queue] = await beta.createQueue({parent, queue: {name: queueName('beta3')}});
      await beta.pauseQueue({name: queue.name});
      const [task] = await beta.createTask({parent: queue.name, task: {httpRequest: {url: `${hook.url}/beta3`}}});
      assert.equal((await client.getTask({name: task.name}))[0].httpRequest.url, `${hook.url}/beta3`);
      assert.equal((await client.getQueue({name: queue.name}))[0].state, 'PAUSED');
      await beta.close();
    });

    test('v2beta2 pull queue: lease, renew, acknowledge', async () => {
      const pull = newClient('v2beta2', transport);
      const [queue] = await pull.createQueue({parent, queue: {name: queueName('pull'), pullTarget: {}}});
      await pull.createTask({parent: queue.name, task: {pullMessage: {payload: Buffer.from('work for node'), tag: 'node'}}});

      const [{tasks}] = await pull.leaseTasks({parent: queue.name, maxTasks: 10, leaseDuration: {seconds: 60},
        responseView: 'FULL', filter: 'tag=node'});
      assert.equal(tasks.length, 1);
      const [first] = tasks;
      assert.equal(Buffer.from(first.pullMessage.payload).toString(), 'work for node');
      const [renewed] = await pull.renewLease({name: first.name, scheduleTime: first.scheduleTime, leaseDuration: {seconds: 120}});
      assert.ok(Number(renewed.scheduleTime.seconds) > Number(first.scheduleTime.seconds));

      await rejectsWith(transport, pull.acknowledgeTask({name: first.name, scheduleTime: first.scheduleTime}), Status.FAILED_PRECONDITION);
      await pull.acknowledgeTask({name: first.name, scheduleTime: renewed.scheduleTime});
      await rejectsWith(transport, pull.getTask({name: first.name}), Status.NOT_FOUND);
      await pull.close();
    });

    after(() => client.close());
  });
}
