import { HttpStatus } from '@nestjs/common';
import { lookup } from 'node:dns/promises';
import http, { IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, LookupFunction } from 'node:net';
import { AppException } from 'src/common/errors/app.exception';
import { nonPublicReason } from 'src/common/http/public-address';
import { readCapped } from 'src/common/streams/read-capped';

/**
 * Fetches a URL a user supplied, without letting it reach this host or its private networks
 * (SSRF). Every hop is vetted: the scheme, then every address the host resolves to, and the
 * connection goes to the address that was vetted, so a DNS answer that changes between the
 * check and the connect (rebinding) cannot redirect it. Redirects are followed by hand and
 * vetted the same way; the body is capped while it streams and the whole exchange is timed.
 */

export enum UrlFetchErrorCode {
  NotAllowed = 'URL_NOT_ALLOWED',
  FetchFailed = 'URL_FETCH_FAILED',
  TooLarge = 'URL_TOO_LARGE',
  Timeout = 'URL_TIMEOUT',
}

const STATUS: Record<UrlFetchErrorCode, HttpStatus> = {
  [UrlFetchErrorCode.NotAllowed]: HttpStatus.BAD_REQUEST,
  [UrlFetchErrorCode.FetchFailed]: HttpStatus.BAD_GATEWAY,
  [UrlFetchErrorCode.TooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [UrlFetchErrorCode.Timeout]: HttpStatus.GATEWAY_TIMEOUT,
};

export class UrlFetchException extends AppException {
  constructor(
    override readonly code: UrlFetchErrorCode,
    message: string,
  ) {
    super(code, STATUS[code], message);
    this.name = 'UrlFetchException';
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface SafeFetchOptions {
  maxBytes: number;
  /** For the whole exchange: every lookup, connection, redirect and the body. */
  timeoutMs: number;
  maxRedirects?: number;
  /**
   * Exact `host:port` pairs (as `normalizeHostPort` writes them) whose addresses may be
   * private: intranet sources an operator trusts. Scheme and credential rules still apply.
   */
  allowedHosts?: readonly string[];
  /** Every address a name resolves to; replaceable so tests can play DNS. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

export interface FetchedResource {
  /** After redirects. */
  finalUrl: string;
  contentType: string | null;
  body: Buffer;
}

const DEFAULT_MAX_REDIRECTS = 5;
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

const notAllowed = (message: string) => new UrlFetchException(UrlFetchErrorCode.NotAllowed, message);
const fetchFailed = (message: string) => new UrlFetchException(UrlFetchErrorCode.FetchFailed, message);

/** `host:port` as a URL's own parser spells it (lower case, IPv6 in brackets, numeric IPv4 tricks undone). */
export function normalizeHostPort(value: string): string | null {
  if (!/:\d+$/.test(value)) return null;
  try {
    const url = new URL(`http://${value}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return null;
    return `${url.hostname}:${url.port || DEFAULT_PORTS[url.protocol]}`;
  } catch {
    return null;
  }
}

/** Only absolute http(s) URLs without credentials; anything else is the client's mistake. */
export function parseFetchableUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw notAllowed('The URL is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw notAllowed(`Only http and https URLs can be fetched, not ${url.protocol}`);
  if (url.username || url.password) throw notAllowed('The URL must not contain credentials');
  return url;
}

export async function safeFetch(input: string, options: SafeFetchOptions): Promise<FetchedResource> {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  try {
    let url = parseFetchableUrl(input);
    for (let redirects = 0; ; redirects++) {
      const address = await raceAbort(vet(url, options), controller.signal);
      const response = await send(url, address, controller.signal);
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && status !== 304) {
        response.destroy();
        const location = response.headers.location;
        if (!location) throw fetchFailed(`${url.host} answered ${status} without a Location`);
        if (redirects >= maxRedirects) throw fetchFailed(`More than ${maxRedirects} redirects`);
        url = parseFetchableUrl(new URL(location, url).href);
        continue;
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        throw fetchFailed(`${url.host} answered ${status}`);
      }
      const body = await readBody(response, options.maxBytes);
      return { finalUrl: url.href, contentType: response.headers['content-type'] ?? null, body };
    }
  } catch (error) {
    if (error instanceof UrlFetchException) throw error;
    if (controller.signal.aborted)
      throw new UrlFetchException(UrlFetchErrorCode.Timeout, `No complete answer within ${options.timeoutMs} ms`);
    const code = (error as NodeJS.ErrnoException)?.code;
    throw fetchFailed(`The URL could not be fetched${code ? ` (${code})` : ''}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The address to connect to, once every address of the host has been found acceptable. */
async function vet(url: URL, options: SafeFetchOptions): Promise<ResolvedAddress> {
  // `localhost.` is `localhost`: the root dot changes nothing for the resolver.
  const hostname = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  const hostPort = `${url.hostname}:${url.port || DEFAULT_PORTS[url.protocol]}`;
  const trusted = options.allowedHosts?.includes(hostPort) ?? false;
  // RFC 6761: these names are this machine, whatever a resolver says.
  if (!trusted && (hostname === 'localhost' || hostname.endsWith('.localhost'))) {
    throw notAllowed(`${url.host} is this machine, which URL fetches may not reach`);
  }
  const version = isIP(hostname);
  let addresses: ResolvedAddress[];
  if (version !== 0) {
    addresses = [{ address: hostname, family: version as 4 | 6 }];
  } else {
    addresses = await (options.resolve ?? resolveAll)(hostname).catch(() => {
      throw fetchFailed(`${hostname} could not be resolved`);
    });
    if (addresses.length === 0) throw fetchFailed(`${hostname} could not be resolved`);
  }
  if (!trusted) {
    for (const { address } of addresses) {
      const reason = nonPublicReason(address);
      // Any one bad address refuses the host: the connection could land on any of them.
      if (reason !== null) throw notAllowed(`${url.host} resolves to a ${reason} address, which URL fetches may not reach`);
    }
  }
  return addresses[0];
}

async function resolveAll(hostname: string): Promise<ResolvedAddress[]> {
  return (await lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family as 4 | 6 }));
}

/** Makes the socket connect to `pinned` whatever name it was asked for: no second lookup. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  }) as LookupFunction;
}

function send(url: URL, address: ResolvedAddress, signal: AbortSignal): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: 'GET',
      // Compressed bodies would slip past the size cap; ask for none and decode none.
      headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': 'GremlinsAI-fetch' },
      lookup: pinnedLookup(address),
      agent: false,
      signal,
    });
    request.once('response', resolve);
    request.once('error', reject);
    request.end();
  });
}

/** Refused before reading when the declared length is already too large, else while reading. */
async function readBody(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new UrlFetchException(UrlFetchErrorCode.TooLarge, `The resource is larger than ${maxBytes} bytes`);
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    throw tooLarge();
  }
  return readCapped(response, maxBytes, tooLarge);
}

/** DNS lookups cannot be cancelled; stop waiting for one when time is up (safeFetch turns the abort into URL_TIMEOUT). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = () => new Error('aborted');
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
