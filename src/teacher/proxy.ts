/**
 * Which proxy a request of the CLI (and of the training worker it or the editor starts) goes through, read from the
 * environment as curl reads it: https_proxy / HTTPS_PROXY for an https:// URL, http_proxy / HTTP_PROXY for http://,
 * all_proxy / ALL_PROXY for either where those are unset, the lower-case spelling first; no_proxy / NO_PROXY exempts
 * hosts (url.ts exemptFromProxy). No SDK and no undici here: the editor's bundle reads the errors below, and only
 * proxyFetch.ts (CLI and worker) sends requests. The editor's own requests keep VS Code's fetch, which follows its
 * http.proxy setting.
 */
import { errorChainWithTried } from './redact';
import { exemptFromProxy, isLoopbackHost, withoutCredentials } from './url';

/** The variables curl reads, per scheme, in the order it reads them. */
const PROXY_VARIABLES: Readonly<Record<'http:' | 'https:', readonly string[]>> = {
  'https:': ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'],
  'http:': ['http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'],
};

/** The proxy a request goes through: where it came from, the address without credentials, and the credentials. */
export interface ProxyRoute {
  /** The variable that named it (`HTTPS_PROXY`), for messages. */
  variable: string;
  /** The proxy's origin, `http://proxy.corp:3128`: never the user name or password. */
  origin: string;
  /** The proxy as messages show it: its origin, with `***@` where the variable holds a user name or password. */
  shown: string;
  /** `Basic …` for the Proxy-Authorization header when the variable holds a user name; sent to the proxy only. */
  authorization?: string;
}

/** A proxy variable that holds no http:// or https:// proxy: every request it covers would fail, so nothing is sent. */
export class ProxySettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxySettingError';
  }
}

/**
 * The proxy could not be reached, or refused the request (HTTP 407, a tunnel refused): said with the proxy's name,
 * not the endpoint's, since the endpoint was never asked. `fatal` where every further request meets the same answer
 * (a refusal); an unreachable proxy is a lost connection like any other, which the caller may retry.
 */
export class ProxyError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProxyError';
  }
}

/** Whether any proxy variable is set (the lower- or upper-case spelling, not blank). */
export function anyProxyVariable(env: NodeJS.ProcessEnv): boolean {
  return [...PROXY_VARIABLES['http:'], ...PROXY_VARIABLES['https:']].some((name) => env[name]?.trim());
}

/** The first of the spellings that is set and not blank, with its name. */
function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

/**
 * The editor's environment for the training worker, with VS Code's `http.proxy` (and `http.noProxy`, a list of hosts)
 * as proxy variables: the worker's requests (the endpoint encoder) do not pass through VS Code, which applies that
 * setting to the editor's own. Where the editor's environment sets a proxy variable already, it is left as it is (VS
 * Code itself follows those where `http.proxy` is empty); with `http.proxySupport` "off", the setting is not applied.
 */
export function withEditorProxySetting(env: NodeJS.ProcessEnv, http: { proxy?: unknown; noProxy?: unknown; proxySupport?: unknown }): NodeJS.ProcessEnv {
  const proxy = typeof http.proxy === 'string' ? http.proxy.trim() : '';
  if (proxy === '' || http.proxySupport === 'off' || anyProxyVariable(env)) return env;
  const out: NodeJS.ProcessEnv = { ...env, HTTPS_PROXY: proxy, HTTP_PROXY: proxy };
  const hosts = Array.isArray(http.noProxy) ? http.noProxy.filter((host): host is string => typeof host === 'string' && host.trim() !== '') : [];
  if (hosts.length > 0 && firstSet(env, ['no_proxy', 'NO_PROXY']) === undefined) out.NO_PROXY = hosts.join(',');
  return out;
}

/**
 * The proxy a request to `target` goes through, or undefined where it goes directly (no variable for its scheme, or
 * no_proxy / NO_PROXY names its host). Throws ProxySettingError where the variable is not a proxy address this client
 * speaks to (socks5://, a typo): said, not ignored, since going directly is what failed behind a proxy.
 */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): ProxyRoute | undefined {
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return undefined;
  const set = firstSet(env, PROXY_VARIABLES[target.protocol]);
  if (set === undefined) return undefined;
  if (exemptFromProxy(target, firstSet(env, ['no_proxy', 'NO_PROXY'])?.value ?? '')) return undefined;
  return parseProxy(set.name, set.value);
}

/** A proxy variable's value as curl reads it: `host:port` without a scheme is an http:// proxy. */
function parseProxy(variable: string, value: string): ProxyRoute {
  const written = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    throw new ProxySettingError(`$${variable} '${withoutCredentials(value)}' is not a proxy address (expected e.g. http://proxy.example.com:3128)`);
  }
  const shown = `${url.protocol}//${url.username || url.password ? '***@' : ''}${url.host}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProxySettingError(`$${variable} names the proxy ${shown}, but PeerKD speaks to http:// and https:// proxies only (not ${url.protocol.replace(/:$/, '')})`);
  }
  if (url.hostname === '') throw new ProxySettingError(`$${variable} '${withoutCredentials(value)}' names no proxy host`);
  const route: ProxyRoute = { variable, origin: url.origin, shown };
  if (url.username || url.password) {
    let user: string;
    let password: string;
    try {
      user = decodeURIComponent(url.username);
      password = decodeURIComponent(url.password);
    } catch {
      throw new ProxySettingError(`$${variable} (the proxy ${shown}) holds a user name or password that is not valid percent-encoding`);
    }
    route.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  return route;
}

/**
 * The one line said before a run: which proxy requests to `baseUrl` go through (masked), or undefined where they go
 * directly. Throws ProxySettingError as proxyFor does.
 */
export function proxyNote(baseUrl: string, env: NodeJS.ProcessEnv): string | undefined {
  const url = new URL(baseUrl);
  const route = proxyFor(url, env);
  if (route === undefined) return undefined;
  // As curl, this machine is no exception: a server on it (Ollama) is then asked for through the proxy, which reaches
  // its own localhost, not this one's; said on the same line, since the failure would read as the server's.
  const loopback = isLoopbackHost(url.hostname) ? `; a proxy does not reach this machine's own servers: name ${url.hostname} in NO_PROXY to go directly` : '';
  return `requests to ${url.host} go through the proxy ${route.shown} ($${route.variable})${loopback}`;
}

/** Codes of a connection to the proxy that could not be made (refused, no such host, no route, timed out). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The ProxyError for a request through `route` that failed with `error`, or undefined where the failure is not the
 * proxy's. Through a proxy the only connection made is to the proxy (a forwarded request, or the tunnel's CONNECT), so
 * a connection that could not be made is the proxy's; a tunnel the proxy refused says its status.
 */
export function proxyFailure(error: unknown, route: ProxyRoute, target: URL): ProxyError | undefined {
  const causes = errorChainWithTried(error);
  const code = causes.map((cause) => (cause as { code?: unknown } | null)?.code).find((each): each is string => typeof each === 'string' && UNREACHABLE_CODES.has(each));
  if (code !== undefined) {
    return new ProxyError(
      `the proxy ${route.shown} ($${route.variable}) could not be reached (${code}), so nothing was sent to ${target.host}: ` +
        `check $${route.variable}, or name ${target.hostname} in NO_PROXY if it is reached without the proxy`,
      false,
      { cause: error },
    );
  }
  // undici's words for a tunnel the proxy refused, and for a 407 to a forwarded request.
  const refusal = causes
    .map((cause) => /Proxy response \((\d+)\) !== 200|Proxy Authentication Required \((407)\)/.exec(cause instanceof Error ? cause.message : ''))
    .find((match) => match !== null);
  if (refusal) return refusedBy(route, target, Number(refusal[1] ?? refusal[2]), error);
  return undefined;
}

/** The proxy answered `status` instead of forwarding the request (or opening the tunnel) to `target`. */
export function refusedBy(route: ProxyRoute, target: URL, status: number, cause?: unknown): ProxyError {
  const hint =
    status === 407
      ? route.authorization
        ? `: it did not accept the user name and password in $${route.variable}`
        : `: it asks for a user name and password; give them in $${route.variable} as http://USER:PASSWORD@${route.origin.replace(/^[a-z]+:\/\//, '')}`
      : status === 403
        ? `: it does not let requests to ${target.host} through`
        : '';
  // 407 and 403 meet every request alike; a 502 or 503 (the proxy could not reach the endpoint) may pass.
  return new ProxyError(`the proxy ${route.shown} ($${route.variable}) refused the request to ${target.host} with HTTP ${status}${hint}`, status === 407 || status === 403, { cause });
}
