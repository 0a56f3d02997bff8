// The kit end to end: start (or connect), a queue and HTTP tasks to a Node handler, drain, attempts, a
// retry chain under the virtual clock, faults seen by the client, reset.

import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {after, before, beforeEach, test} from 'node:test';

import {EmulatorError, NotIdleError, RecordingHandler, UnknownQueueError, VERSION, cloudTasksEmulator}
  from '../src/index.js';
import {DECLARED, PARENT, connected, handlerOptions, queueName, testOptions} from './support.js';

const UNAVAILABLE = 14;
const handler = new RecordingHandler(handlerOptions());
/** @type {import('../src/index.js').CloudTasksEmulator} */
let emu;

before(async () => {
  await handler.start();
  emu = cloudTasksEmulator(testOptions({appEngineUrl: handler.url}));
  await emu.setup();
});
beforeEach(async () => {
  await emu.reset();
  handler.clear();
});
after(async () => {
  await emu?.teardown();
  await handler.stop();
});

/** A task posting `body` to the handler's `path`. */
const httpTask = (/** @type {string} */ path, body = 'hello') =>
  ({httpRequest: {url: `${handler.url}${path}`, httpMethod: 'POST', body: Buffer.from(body)}});

test('starts with the declared queue, the kit version and clients over gRPC and REST', async () => {
  assert.equal(VERSION, JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  assert.match(emu.address, /^127\.0\.0\.1:\d+$/);
  // No parameters: Jest would take one as a done callback to wait for.
  assert.deepEqual([emu.setup.length, emu.teardown.length, emu.reset.length], [0, 0, 0]);
  assert.equal(emu.container === undefined, connected);
  assert.equal((await emu.clock()).virtual, true);
  for (const [version, transport] of [['v2', 'grpc'], ['v2', 'rest'], ['v2beta3', 'grpc'], ['v2beta2', 'rest']]) {
    const client = emu.client(/** @type {any} */ (version), {transport: /** @type {any} */ (transport)});
    const [queues] = await client.listQueues({parent: PARENT});
    assert.deepEqual(queues.map((/** @type {any} */ q) => q.name), [DECLARED], `${version} over ${transport}`);
  }
});

test('an HTTP task reaches the Node handler; drain waits for it; its attempt is read back', async () => {
  const client = emu.client();
  const [queue] = await client.createQueue({parent: PARENT, queue: {name: queueName('http')}});
  const [task] = await client.createTask({parent: queue.name, task: httpTask('/hello', 'ada')});

  await emu.drain(queue.name);

  const [received] = handler.requests('/hello');
  assert.equal(received.body, 'ada');
  assert.equal(received.headers['x-cloudtasks-taskname'], task.name.split('/').pop());
  const attempts = await emu.taskAttempts(task);
  assert.equal(attempts.length, 1);
  assert.equal(attempts[0].url, `${handler.url}/hello`);
  assert.equal(attempts[0].status, 200);
  assert.equal(attempts[0].retryCount, 0);
  assert.equal(attempts[0].responseExcerpt, 'ok');
  assert.equal(attempts[0].requestHeaders['X-CloudTasks-QueueName'], queue.name.split('/').pop());
  // The queue's ID names it as well as its full name does.
  assert.deepEqual(await emu.attempts(queue.name.split('/').pop()), attempts);
});

test('an App Engine task goes to the App Engine URL', async () => {
  const client = emu.client();
  await client.createTask({parent: DECLARED,
    task: {appEngineHttpRequest: {relativeUri: '/worker?job=1', httpMethod: 'POST', body: Buffer.from('job')}}});
  await emu.drain();
  const [received] = handler.requests('/worker');
  assert.equal(received.query, 'job=1');
  assert.equal(received.body, 'job');
  assert.ok(received.headers['x-appengine-taskname']);
});

test('a retry chain of three attempts runs under the virtual clock, no sleeping', async (t) => {
  const started = performance.now();
  const client = emu.client();
  const retryConfig = {maxAttempts: 5, minBackoff: {seconds: 10}, maxBackoff: {seconds: 10}, maxDoublings: 0};
  const [queue] = await client.createQueue({parent: PARENT, queue: {name: queueName('retry'), retryConfig}});
  // [START kit-node-retry]
  handler.script('/flaky', [500, 503]); // then 200
  const [task] = await client.createTask({parent: queue.name, task: httpTask('/flaky')});
  await emu.drain(queue.name); // attempt 1: 500
  await emu.advance(10); // the queue's backoff
  await emu.drain(queue.name); // attempt 2: 503
  await emu.advance(10);
  await emu.drain(queue.name); // attempt 3: 200
  const attempts = await emu.taskAttempts(task); // retryCount 0, 1, 2
  // [END kit-node-retry]

  assert.deepEqual(attempts.map((a) => [a.retryCount, a.status]), [[0, 500], [1, 503], [2, 200]]);
  assert.ok(attempts[1].time - attempts[0].time >= 10, 'the retry waited its backoff in virtual time');
  assert.equal(handler.requests('/flaky').length, 3);
  t.diagnostic(`retry chain of three attempts: ${Math.round(performance.now() - started)} ms of real time`);
});

test('a call fault is seen by the client, then the call works again', async () => {
  const client = emu.client();
  const fault = await emu.faults.fail('UNAVAILABLE', {rpc: 'CreateTask', times: 1, message: 'injected'});
  assert.equal(fault.times, 1);
  assert.deepEqual((await emu.faults.list()).map((f) => f.id), [fault.id]);

  await assert.rejects(client.createTask({parent: DECLARED, task: httpTask('/after-fault')}), (error) => {
    assert.equal(/** @type {any} */ (error).code, UNAVAILABLE);
    assert.match(String(error), /injected/);
    return true;
  });
  await client.createTask({parent: DECLARED, task: httpTask('/after-fault')});
  await emu.drain(DECLARED);
  assert.equal(handler.requests('/after-fault').length, 1);
});

test('a dispatch fault answers in the handler\'s place and the task is retried', async () => {
  const client = emu.client();
  const retryConfig = {minBackoff: {seconds: 5}, maxBackoff: {seconds: 5}};
  const [queue] = await client.createQueue({parent: PARENT, queue: {name: queueName('dispatch'), retryConfig}});
  const fault = await emu.faults.dispatch(`${handler.url}/pay`, 503, {times: 1});
  assert.equal(fault.urlPrefix, `${handler.url}/pay`);
  await client.createTask({parent: queue.name, task: httpTask('/pay')});

  await emu.drain(queue.name);
  assert.equal(handler.requests('/pay').length, 0);
  await emu.advance(5);
  await emu.drain(queue.name);
  assert.deepEqual((await emu.attempts(queue.name)).map((a) => a.status), [503, 200]);
  assert.equal(handler.requests('/pay').length, 1);
});

test('faults are listed, removed one by one and cleared', async () => {
  const first = await emu.faults.delay(0.01, {rpc: 'GetQueue'});
  const second = await emu.faults.dispatch('http://127.0.0.1:1/', 'refuse');
  assert.deepEqual((await emu.faults.list()).map((f) => f.id), [first.id, second.id]);
  await emu.faults.remove(first.id);
  assert.deepEqual((await emu.faults.list()).map((f) => f.id), [second.id]);
  await assert.rejects(emu.faults.remove(first.id), (error) => error instanceof EmulatorError
    && error.httpStatus === 404);
  await emu.faults.clear();
  assert.deepEqual(await emu.faults.list(), []);
  await assert.rejects(emu.faults.add({dispatch: 'sideways', urlPrefix: 'http://x/'}), EmulatorError);
});

test('reset forgets queues, tasks, attempts and faults, and brings back the declared queue', async () => {
  const client = emu.client();
  const [queue] = await client.createQueue({parent: PARENT, queue: {name: queueName('gone')}});
  await client.createTask({parent: queue.name, task: httpTask('/gone')});
  await emu.drain();
  await client.deleteQueue({name: DECLARED});
  await emu.faults.fail('INTERNAL', {rpc: 'GetQueue'});
  const before = await emu.advance(3600);

  const clock = await emu.reset();

  const [queues] = await client.listQueues({parent: PARENT});
  assert.deepEqual(queues.map((/** @type {any} */ q) => q.name), [DECLARED]);
  assert.deepEqual(await emu.attempts(), []);
  assert.deepEqual(await emu.faults.list(), []);
  assert.ok(clock.now < before.now, 'the virtual clock went back to the real now');
});

test('reset of one queue forgets it alone and keeps the clock when asked', async () => {
  const client = emu.client();
  const [queue] = await client.createQueue({parent: PARENT, queue: {name: queueName('one')}});
  const moved = await emu.advance(60);
  const clock = await emu.reset({queue: queue.name, keepClock: true});
  assert.equal(clock.now, moved.now);
  const [queues] = await client.listQueues({parent: PARENT});
  assert.deepEqual(queues.map((/** @type {any} */ q) => q.name), [DECLARED]);
  await assert.rejects(emu.reset({queue: queue.name}), UnknownQueueError);
});

test('a queue that does not exist fails drain and attempts instead of passing idle', async () => {
  const typo = `${PARENT}/queues/declard`;
  for (const call of [() => emu.drain(typo), () => emu.attempts(typo)]) {
    await assert.rejects(call(), (error) => {
      assert.ok(error instanceof UnknownQueueError, String(error));
      assert.equal(error.httpStatus, 404);
      assert.deepEqual(error.knownQueues, [DECLARED]);
      assert.match(error.message, /declared/);
      return true;
    });
  }
});

test('drain gives up with NotIdleError while a delivery is in flight', async () => {
  const client = emu.client();
  handler.script('/held', ['hold']);
  await client.createTask({parent: DECLARED, task: httpTask('/held')});
  await handler.waitFor('/held', 1);
  await assert.rejects(emu.drain(DECLARED, {timeoutSeconds: 0.2}), (error) => {
    assert.ok(error instanceof NotIdleError, String(error));
    assert.equal(error.httpStatus, 504);
    return true;
  });
  handler.release('/held');
  await emu.drain(DECLARED);
  assert.deepEqual((await emu.attempts(DECLARED)).map((a) => a.status), [200]);
});

test('the virtual clock is set forward by a Date, epoch seconds or RFC 3339, never back', async () => {
  const now = Math.ceil(await emu.now()) + 1; // whole seconds: a Date holds milliseconds only
  assert.equal((await emu.setTime(new Date((now + 60) * 1000))).now, now + 60);
  assert.equal((await emu.setTime(now + 120)).now, now + 120);
  const set = await emu.setTime(new Date((now + 180) * 1000).toISOString());
  assert.equal(set.now, now + 180);
  assert.equal(set.time, new Date((now + 180) * 1000).toISOString().replace('.000Z', 'Z'));
  await assert.rejects(emu.setTime(now), (error) => error instanceof EmulatorError
    && error.status === 'INVALID_ARGUMENT');
  await assert.rejects(emu.advance(-1), EmulatorError);
});
