// The kit's README snippet, as a test: tests/container/test_kit_node.py checks that the README quotes
// the marked region exactly.

// [START kit-node-readme]
import assert from 'node:assert/strict';
import {after, before, beforeEach, test} from 'node:test';
import {RecordingHandler, cloudTasksEmulator} from '@cloudtasks-emu/testkit';

const queue = 'projects/shop/locations/us-central1/queues/emails';
const emu = cloudTasksEmulator({queues: [queue], virtualClock: true, hostNetwork: true});
const handler = await new RecordingHandler().start(); // stands in for your service's handler
before(emu.setup); beforeEach(() => emu.reset()); after(emu.teardown); after(() => handler.stop());

test('signing up sends a welcome email', async () => {
  await signUp(emu.client(), queue, `${handler.url}/welcome`, 'ada@example.com'); // your code
  await emu.drain(queue);
  assert.equal(handler.requests('/welcome')[0].body, 'ada@example.com');
});
// [END kit-node-readme]

/**
 * The code under test: it queues a welcome email for a new user through the client it is given.
 * @param {any} client @param {string} parent @param {string} url @param {string} email
 */
async function signUp(client, parent, url, email) {
  await client.createTask({parent, task: {httpRequest: {url, httpMethod: 'POST', body: Buffer.from(email)}}});
}
