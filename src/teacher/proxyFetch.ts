/**
 * The fetch of the CLI and of the training worker: every request goes through the proxy the environment names for its
 * URL (proxy.ts proxyFor, as curl reads the variables), or directly. Node's own fetch ignores the variables (before
 * NODE_USE_ENV_PROXY, Node 22.21), so behind a proxy that alone reaches the endpoint every request failed.
 *
 * undici's fetch with its own dispatcher per request, the same version on both sides: an undici ProxyAgent handed to
 * Node's built-in fetch (another undici inside Node) is not guaranteed to work. The dispatcher is always given, so
 * Node's global one (an EnvHttpProxyAgent under NODE_USE_ENV_PROXY=1) is never used as well: one proxy, never two, and
 * the NO_PROXY reading is url.ts's whatever Node's version. Without any proxy variable this is Node's fetch, as before.
 *
 * Imported only by the CLI and the worker: the editor's requests keep VS Code's fetch (its http.proxy setting).
 */
import { Agent, fetch as undiciFetch, ProxyAgent, type Dispatcher } from 'undici';
import { anyProxyVariable, ProxyError, proxyFailure, proxyFor, refusedBy, type ProxyRoute } from './proxy';

type Fetch = typeof fetch;

function urlOf(input: Parameters<Fetch>[0]): URL {
  if (input instanceof URL) return new URL(input.href);
  if (typeof input === 'string') return new URL(input);
  return new URL(input.url);
}

/** A fetch that follows the proxy variables of `env`; Node's fetch itself where none is set. */
export function proxyAwareFetch(env: NodeJS.ProcessEnv): Fetch {
  if (!anyProxyVariable(env)) return globalThis.fetch;
  const proxies = new Map<string, Dispatcher>();
  let direct: Dispatcher | undefined;
  const dispatcherFor = (route: ProxyRoute | undefined): Dispatcher => {
    if (route === undefined) return (direct ??= new Agent());
    const key = `${route.origin} ${route.authorization ?? ''}`;
    let agent = proxies.get(key);
    if (agent === undefined) {
      // The credentials go in the Proxy-Authorization header, to the proxy only; the address given to undici holds
      // none, so no error of undici's can show them. An http:// endpoint through an http:// proxy is forwarded as curl
      // forwards it (an absolute-URI request), not tunnelled: many proxies allow CONNECT to port 443 only.
      agent = new ProxyAgent({ uri: route.origin, ...(route.authorization ? { token: route.authorization } : {}), proxyTunnel: false });
      proxies.set(key, agent);
    }
    return agent;
  };
  return async (input, init) => {
    const target = urlOf(input);
    const route = proxyFor(target, env);
    try {
      const response = await undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: dispatcherFor(route) });
      if (route !== undefined && response.status === 407) {
        // Only a proxy answers 407: the request never reached the endpoint.
        await response.body?.cancel().catch(() => undefined);
        throw refusedBy(route, target, 407);
      }
      return response as unknown as Response;
    } catch (error) {
      if (route === undefined || init?.signal?.aborted || error instanceof ProxyError) throw error;
      throw proxyFailure(error, route, target) ?? error;
    }
  };
}
