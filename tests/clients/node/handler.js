// A real HTTP server on the address of APP_ENGINE_EMULATOR_HOST, where the emulator sends App Engine
// tasks; HTTP tasks are pointed at it too. It answers 200 and hands each request to whoever waits for its path.
'use strict';

const http = require('node:http');

class Handler {
  constructor() {
    this.waiting = new Map(); // path -> {requests: [], wakers: []}
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url, 'http://handler');
        const entry = this.entry(url.pathname);
        entry.requests.push({method: req.method, path: url.pathname, query: url.search.slice(1),
          headers: req.headers, body: Buffer.concat(chunks).toString()});
        entry.wakers.splice(0).forEach((wake) => wake());
        res.writeHead(200).end();
      });
    });
  }

  entry(path) {
    if (!this.waiting.has(path)) this.waiting.set(path, {requests: [], wakers: []});
    return this.waiting.get(path);
  }

  async start() {
    const base = process.env.APP_ENGINE_EMULATOR_HOST;
    if (!base) throw new Error('set APP_ENGINE_EMULATOR_HOST to host:port for the handler');
    this.url = base.includes('://') ? base : `http://${base}`;
    const {hostname, port} = new URL(this.url);
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(Number(port), hostname, resolve);
    });
    return this;
  }

  stop() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }

  /** The next request to `path`, waiting at most 20 s. */
  async next(path) {
    const entry = this.entry(path);
    const deadline = Date.now() + 20000;
    while (entry.requests.length === 0) {
      if (Date.now() > deadline) throw new Error(`no request reached ${path} within 20 s`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 1000);
        entry.wakers.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return entry.requests.shift();
  }
}

module.exports = {Handler};
