/**
 * Just enough of a browser for redirect-based logins: it never follows redirects on its
 * own (tests look at every hop), keeps cookies per origin and path, and can play a reverse
 * proxy: requests to a public origin are sent to the app's real address, so the app is
 * reached through its PUBLIC_URL exactly as behind a load balancer.
 */
export class TestBrowser {
  private readonly jar = new Map<string, Map<string, { value: string; path: string }>>();

  constructor(private readonly proxies: Record<string, string> = {}) {}

  get(url: string): Promise<Response> {
    return this.request(url, { method: 'GET' });
  }

  postForm(url: string, form: Record<string, string>): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  }

  cookie(origin: string, name: string): string | undefined {
    return this.jar.get(new URL(origin).origin)?.get(name)?.value;
  }

  setCookie(origin: string, name: string, value: string, path = '/'): void {
    const origin_ = new URL(origin).origin;
    if (!this.jar.has(origin_)) this.jar.set(origin_, new Map());
    this.jar.get(origin_)!.set(name, { value, path });
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    const target = new URL(url);
    const upstream = this.proxies[target.origin];
    const actual = upstream ? new URL(`${target.pathname}${target.search}`, upstream) : target;
    const headers = new Headers(init.headers);
    const cookies = [...(this.jar.get(target.origin)?.entries() ?? [])]
      .filter(([, cookie]) => target.pathname.startsWith(cookie.path))
      .map(([name, cookie]) => `${name}=${cookie.value}`);
    if (cookies.length > 0) headers.set('cookie', cookies.join('; '));
    const response = await fetch(actual, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) this.store(target, line);
    return response;
  }

  private store(target: URL, line: string): void {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const separator = pair.indexOf('=');
    const name = pair.slice(0, separator);
    const value = pair.slice(separator + 1);
    const attribute = (key: string) =>
      attributes.find((item) => item.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1) ?? undefined;
    const expires = attribute('expires');
    const expired = attribute('max-age') === '0' || (expires !== undefined && Date.parse(expires) <= Date.now());
    if (expired) {
      this.jar.get(target.origin)?.delete(name);
      return;
    }
    this.setCookie(target.origin, name, value, attribute('path') ?? '/');
  }
}
