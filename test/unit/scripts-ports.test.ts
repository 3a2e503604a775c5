// scripts/lib/ports.mjs: the port `npm start` serves code-server on (README: 8080, the next free port if taken).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port that is free, with the next one free too. */
async function freePair(): Promise<number> {
  const { portIsFree } = await import('../../scripts/lib/ports.mjs');
  for (;;) {
    const probe = await listen(0);
    const address = probe.address();
    await close(probe);
    const port = typeof address === 'object' && address ? address.port : 0;
    if (port < 65535 && (await portIsFree(port)) && (await portIsFree(port + 1))) return port;
  }
}

describe('choosePort (scripts/lib/ports.mjs)', () => {
  it('takes the preferred port when it is free', async () => {
    const { choosePort } = await import('../../scripts/lib/ports.mjs');
    const port = await freePair();
    assert.equal(await choosePort({ preferred: port }), port);
    assert.equal(await choosePort({ preferred: port, strict: true }), port);
  });

  it('takes the next free port when the preferred one is taken, and says which it skipped', async () => {
    const { choosePort } = await import('../../scripts/lib/ports.mjs');
    const port = await freePair();
    const blocker = await listen(port);
    try {
      const skipped: number[] = [];
      assert.equal(await choosePort({ preferred: port, onSkip: (p) => skipped.push(p) }), port + 1);
      assert.deepEqual(skipped, [port]);
    } finally {
      await close(blocker);
    }
  });

  it('fails naming the port when the user asked for that port (--port) and it is taken', async () => {
    const { choosePort } = await import('../../scripts/lib/ports.mjs');
    const port = await freePair();
    const blocker = await listen(port);
    try {
      await assert.rejects(choosePort({ preferred: port, strict: true }), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use.*--port`));
    } finally {
      await close(blocker);
    }
  });
});

describe('parsePort (scripts/lib/ports.mjs)', () => {
  it('accepts 1 to 65535 and names any other value', async () => {
    const { parsePort } = await import('../../scripts/lib/ports.mjs');
    assert.equal(parsePort('8080'), 8080);
    assert.equal(parsePort('1'), 1);
    assert.equal(parsePort('65535'), 65535);
    assert.throws(() => parsePort(undefined), /--port needs a port number from 1 to 65535, got nothing/);
    for (const bad of ['0', '65536', 'abc', '80.5', '-1', '', '--code-server']) {
      assert.throws(() => parsePort(bad), new RegExp(`got '${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`), bad);
    }
  });
});
