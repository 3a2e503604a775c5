// The port `npm start` serves code-server on. Node builtins only.
import { createServer } from 'node:net';

export const DEFAULT_PORT = 8080;
/** How many ports after the default are tried before asking the system for any free one. */
export const PORT_SEARCH_SPAN = 20;
export const HOST = '127.0.0.1';

/** Parses a `--port` value; throws a message that names the bad value. */
export function parsePort(text) {
  const port = Number(text);
  if (text === undefined || !/^\d+$/.test(String(text)) || port < 1 || port > 65535) {
    throw new Error(`--port needs a port number from 1 to 65535, got ${text === undefined ? 'nothing' : `'${text}'`}`);
  }
  return port;
}

export function portIsFree(port, host = HOST) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

function anyFreePort(host) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * `strict` (the user named the port with --port): that port or an error, since a forwarded or bookmarked URL would
 * silently break on another one. Otherwise `preferred`, else the next free one of the following PORT_SEARCH_SPAN,
 * else any free port. `onSkip(port)` hears of each port found taken.
 */
export async function choosePort({ preferred = DEFAULT_PORT, strict = false, host = HOST, onSkip } = {}) {
  if (await portIsFree(preferred, host)) return preferred;
  if (strict) {
    throw new Error(`port ${preferred} on ${host} is in use: stop what listens there, or choose another with npm start -- --port N`);
  }
  onSkip?.(preferred);
  for (let port = preferred + 1; port <= Math.min(65535, preferred + PORT_SEARCH_SPAN); port++) {
    if (await portIsFree(port, host)) return port;
    onSkip?.(port);
  }
  return anyFreePort(host);
}
