/**
 * Field names whose values are credentials. Matching is on the name, case-insensitive and
 * ignoring `-` and `_`, so `refresh_token`, `refreshToken` and `Refresh-Token` all match.
 */
const SECRET_NAMES = new Set([
  'password',
  'passwordhash',
  'currentpassword',
  'newpassword',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'apikey',
  'xapikey',
  'key',
  'secret',
  'secrethash',
  'clientsecret',
  'privatekey',
  'authorization',
  'cookie',
  'setcookie',
]);

/** Suffixes that mark a credential whatever comes before (`smtpPassword`, `webhookSecret`, `csrfToken`). */
const SECRET_SUFFIXES = ['password', 'secret', 'token', 'apikey', 'privatekey'];

/** Query parameters that carry credentials or one-time codes (OIDC `code` and `state`). */
const SECRET_QUERY_NAMES = new Set([...SECRET_NAMES, 'code', 'state', 'accesstoken', 'apikey']);

export const REDACTED = '[Redacted]';

const normalise = (name: string): string => name.toLowerCase().replace(/[-_]/g, '');

/** Field names repeat from log line to log line; remembering the verdict keeps the hot path cheap. */
const verdicts = new Map<string, boolean>();
const MAX_REMEMBERED = 2_000;

export function isSecretName(name: string): boolean {
  const known = verdicts.get(name);
  if (known !== undefined) return known;
  const normalised = normalise(name);
  const secret = SECRET_NAMES.has(normalised) || SECRET_SUFFIXES.some((suffix) => normalised.endsWith(suffix));
  if (verdicts.size < MAX_REMEMBERED) verdicts.set(name, secret);
  return secret;
}

/**
 * pino `redact` paths: the credential fields at the top of a log record. Top level only:
 * nested and wildcard paths make pino clone the record (wildcards cost about 10 µs a line,
 * measured), so deeper fields, headers included, are masked by `scrubSecrets` in the log
 * formatter instead. The request and response serializers already leave headers and bodies
 * out; this is the second line of defence.
 */
export function logRedactPaths(): string[] {
  return [
    'password',
    'currentPassword',
    'newPassword',
    'passwordHash',
    'token',
    'accessToken',
    'refreshToken',
    'idToken',
    'apiKey',
    'key',
    'secret',
    'secretHash',
    'clientSecret',
    'authorization',
    'cookie',
  ];
}

const isPlainObject = (value: object): boolean => {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
};

/**
 * `value` with every credential-named field replaced by `[Redacted]`, at any depth of plain
 * objects and arrays (class instances, errors and dates are left as they are). The input is
 * never modified; when nothing needs masking the same object comes back, without a copy.
 */
export function scrubSecrets<T>(value: T, depth = 0): T {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, index) => {
      const scrubbed = scrubSecrets(item, depth + 1);
      if (scrubbed !== item) (copy ??= [...(value as unknown[])])[index] = scrubbed;
    });
    return (copy ?? value) as T;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [name, field] of Object.entries(value as Record<string, unknown>)) {
    const scrubbed = isSecretName(name) ? REDACTED : scrubSecrets(field, depth + 1);
    if (scrubbed !== field) (copy ??= { ...(value as Record<string, unknown>) })[name] = scrubbed;
  }
  return (copy ?? value) as T;
}

/** The URL with the values of credential-carrying query parameters replaced. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const pairs = url
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals === -1 ? pair : pair.slice(0, equals);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // A malformed escape is logged as sent.
      }
      return equals !== -1 && (SECRET_QUERY_NAMES.has(normalise(decoded)) || isSecretName(decoded)) ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, queryStart)}?${pairs.join('&')}`;
}
