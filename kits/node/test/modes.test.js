// What differs between the two ways in: a container the kit starts (its options), and connecting.

import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {chmodSync, mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, test} from 'node:test';

import {EmulatorError, cloudTasksEmulator, startEmulator} from '../src/index.js';
import {PARENT, connected, queueName, testOptions} from './support.js';

/** Whether docker still knows the container `id`. */
const exists = (/** @type {string} */ id) =>
  execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `id=${id}`], {encoding: 'utf8', timeout: 30_000})
    .trim() !== '';

describe('a container the kit starts', {skip: connected && 'this run connects to a running emulator'}, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloudtasks-emu-kit-'));
  chmodSync(dataDir, 0o777); // the image runs as uid 10001
  after(() => rmSync(dataDir, {recursive: true, force: true}));

  test('keeps its state in dataDir across containers, runs a real clock by default, and goes away', async () => {
    const name = queueName('kept');
    const first = await startEmulator({hostNetwork: true, dataDir});
    let id = '';
    try {
      id = first.container?.getId() ?? '';
      assert.equal((await first.clock()).virtual, false);
      await first.client().createQueue({parent: PARENT, queue: {name}});
    } finally {
      await first.teardown();
    }
    assert.equal(exists(id), false, 'teardown removed the container');
    assert.ok(readdirSync(dataDir).length > 0, 'the state is in the host directory');

    const second = await startEmulator({hostNetwork: true, dataDir, args: ['--log-level', 'DEBUG']});
    try {
      assert.notEqual(second.container?.getId(), id);
      const [queues] = await second.client().listQueues({parent: PARENT});
      assert.deepEqual(queues.map((/** @type {any} */ q) => q.name), [name]);
    } finally {
      await second.teardown();
    }
  });

  test('a container that never gets ready fails setup with its reason', async () => {
    const emu = cloudTasksEmulator({hostNetwork: true, args: ['--no-such-flag'], startupTimeoutMs: 20_000});
    await assert.rejects(emu.setup(), (error) => error instanceof EmulatorError
      && /unrecognized arguments: --no-such-flag/.test(error.message));
    assert.throws(() => emu.address, /not set up/);
  });
});

describe('connecting to a running emulator', {skip: !connected && 'this run starts containers'}, () => {
  test('uses CLOUD_TASKS_EMULATOR_HOST, starts nothing, and leaves the emulator running', async () => {
    const emu = await startEmulator(testOptions());
    assert.equal(emu.address, process.env.CLOUD_TASKS_EMULATOR_HOST);
    assert.equal(emu.container, undefined);
    await emu.teardown();
    const again = await startEmulator(testOptions());
    assert.equal((await again.clock()).virtual, true);
    await again.teardown();
  });

  test('fails at once, saying so, when nothing listens at the address', async () => {
    const emu = cloudTasksEmulator({address: '127.0.0.1:1'});
    await assert.rejects(emu.setup(), (error) => error instanceof EmulatorError && /no emulator answers/.test(error.message));
  });
});
