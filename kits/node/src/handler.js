// A real HTTP server that records what it receives and answers from a script: the handler end of a
// test, as the Python harness's RecordingHandler.

import http from 'node:http';

const WAIT_TIMEOUT_MS = 10_000;

/**
 * Records every request and answers it from the script of its path, one action per request, then 200
 * once the script is used up: an HTTP status, or 'hold' (no answer until `release(path)`, then 200: a
 * delivery in flight, on demand). `url` + a path is an HTTP task's target.
 */
export class RecordingHandler {
  /** @type {import('./index.js').ReceivedRequest[]} */
  received = [];
  /** @type {Map<string, Array<number | 'hold'>>} */
  #scripts = new Map();
  /** @type {Map<string, Array<() => void>>} answers held back, by path */
  #held = new Map();
  /** @type {Set<() => void>} */
  #waiters = new Set();
  #server;
  #host;
  url = '';

  /** @param {{host?: string, port?: number}} [options] where to listen (127.0.0.1 on a free port) */
  constructor({host = '127.0.0.1', port = 0} = {}) {
    this.#host = host;
    this.port = port;
    this.#server = http.createServer((request, response) => {
      const chunks = /** @type {Buffer[]} */ ([]);
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => {
        const url = new URL(request.url ?? '/', 'http://handler');
        const script = this.#scripts.get(url.pathname);
        const action = script?.shift() ?? 200;
        this.received.push({method: request.method ?? '', path: url.pathname, query: url.search.slice(1),
          headers: request.headers, body: Buffer.concat(chunks).toString(), at: Date.now()});
        const answer = (/** @type {number} */ status) =>
          response.writeHead(status, {'Content-Type': 'text/plain'}).end(status < 300 ? 'ok' : 'scripted failure');
        if (action === 'hold') {
          const held = this.#held.get(url.pathname) ?? [];
          this.#held.set(url.pathname, [...held, () => answer(200)]);
        } else {
          answer(action);
        }
        for (const wake of this.#waiters) wake();
      });
    });
  }

  /** Listens; answers with itself. */
  async start() {
    await new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.port, this.#host, () => resolve(undefined));
    });
    const address = /** @type {import('node:net').AddressInfo} */ (this.#server.address());
    this.port = address.port;
    this.url = `http://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${address.port}`;
    return this;
  }

  /** Stops listening and drops open connections (held ones too). */
  async stop() {
    this.#held.clear();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(() => resolve(undefined)));
  }

  /**
   * The next requests to `path` are answered by these actions, one each, then 200.
   * @param {string} path
   * @param {Array<number | 'hold'>} actions an HTTP status, or 'hold'
   */
  script(path, actions) {
    this.#scripts.set(path, [...actions]);
  }

  /**
   * Answers 200 to the requests to `path` held so far.
   * @param {string} path
   */
  release(path) {
    const held = this.#held.get(path) ?? [];
    this.#held.delete(path);
    for (const answer of held) answer();
  }

  /**
   * What reached `path` (or every path), oldest first.
   * @param {string} [path]
   */
  requests(path) {
    return path === undefined ? [...this.received] : this.received.filter((request) => request.path === path);
  }

  /**
   * Waits (bounded) until `path` got `count` requests; answers with them.
   * @param {string} path
   * @param {number} [count]
   * @param {{timeoutMs?: number}} [options]
   */
  async waitFor(path, count = 1, {timeoutMs = WAIT_TIMEOUT_MS} = {}) {
    const deadline = Date.now() + timeoutMs;
    while (this.requests(path).length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${path}: expected ${count} requests, got ${this.requests(path).length}`);
      await new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve(undefined);
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
    return this.requests(path);
  }

  /** Forgets what was received and scripted (held requests stay held). */
  clear() {
    this.received.length = 0;
    this.#scripts.clear();
  }
}
