/**
 * Load generators that keep every request's own latency (autocannon's histogram rounds to
 * whole milliseconds, too coarse for a 1 ms target), and a streaming client that times each
 * token. All of them speak the OpenAI chat-completions API.
 */
import autocannon from 'autocannon';
import { Agent, request } from 'node:http';

/** One thing to send chat completions to: the stand-in itself, or a gateway in front of it. */
export interface ChatTarget {
  name: string;
  /** Full URL of the chat-completions endpoint. */
  url: string;
  headers: Record<string, string>;
  /** Model that answers at once, and model that streams its tokens paced. */
  instantModel: string;
  pacedModel: string;
}

export interface LatencyRun {
  /** Per successful request, ms. */
  latencies: number[];
  requestsPerSecond: number;
  /** Non-2xx answers and transport errors. */
  failures: number;
  firstFailure?: string;
}

/** Milliseconds on a clock shared by processes on this machine (the stand-in stamps tokens with it). */
export const clockMs = () => performance.timeOrigin + performance.now();

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const jsonHeaders = (target: ChatTarget) => ({ ...target.headers, 'content-type': 'application/json' });

/** A fresh prompt each time, so no cache anywhere can answer. */
function chatBody(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    stream,
    messages: [{ role: 'user', content: `benchmark request ${Math.random().toString(36).slice(2)}` }],
  });
}

/**
 * Closed loop: `connections` workers, each sending its next request as soon as the previous
 * answer is in, for `seconds`. Latency under this load is mostly queueing (Little's law).
 */
export function closedLoop(target: ChatTarget, connections: number, seconds: number): Promise<LatencyRun> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: 'POST',
        headers: jsonHeaders(target),
        // autocannon puts a unique id in place of [<id>] on every request: no two prompts alike.
        body: JSON.stringify({ model: target.instantModel, messages: [{ role: 'user', content: 'benchmark request [<id>]' }] }),
        idReplacement: true,
        connections,
        duration: seconds,
      },
      (error, result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        failures += result.errors;
        if (result.errors > 0) firstFailure ??= `${result.errors} transport errors`;
        resolve({ latencies, requestsPerSecond: latencies.length / seconds, failures, firstFailure });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) latencies.push(ms);
      else {
        failures++;
        firstFailure ??= `HTTP ${status}`;
      }
    });
  });
}

interface Answer {
  status: number;
  body: string;
}

function post(agent: Agent, target: ChatTarget, body: string, onData?: (chunk: Buffer, at: number) => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(target.url, { method: 'POST', agent, headers: jsonHeaders(target) }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        onData?.(chunk, clockMs());
        parts.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Open loop: requests start on a fixed schedule (`rate` a second) whether or not earlier
 * ones have answered, and latency counts from the scheduled start, so a slow server cannot
 * hide its backlog (no coordinated omission).
 */
export async function openLoop(target: ChatTarget, rate: number, seconds: number, maxSockets: number): Promise<LatencyRun> {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1);
      for (; sent < due; sent++) {
        const scheduled = started + sent * interval;
        inFlight.push(
          post(agent, target, chatBody(target.instantModel, false)).then(
            (answer) => {
              if (answer.status === 200) latencies.push(performance.now() - scheduled);
              else {
                failures++;
                firstFailure ??= `HTTP ${answer.status}: ${answer.body.slice(0, 200)}`;
              }
            },
            (error: Error) => {
              failures++;
              firstFailure ??= error.message;
            },
          ),
        );
      }
      if (sent < total) setTimeout(tick, Math.max(0, started + sent * interval - performance.now()));
      else done();
    };
    tick();
  });
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { latencies, requestsPerSecond: latencies.length / elapsed, failures, firstFailure };
}

/** One streamed token as the client saw it. */
export interface SeenToken {
  /** When the upstream stand-in wrote it (its `<t=…>` stamp). */
  sentAt: number;
  arrivedAt: number;
}

export interface StreamRun {
  /** Request sent → first content token read, ms. */
  ttft: number[];
  /** Per stream, its tokens in order. */
  streams: SeenToken[][];
  failures: number;
  firstFailure?: string;
}

const STAMP = /<t=([\d.]+)>/g;

/** Reads OpenAI server-sent events as they arrive and stamps each content token with its arrival. */
async function streamOnce(agent: Agent, target: ChatTarget): Promise<{ ttft: number; tokens: SeenToken[] }> {
  const tokens: SeenToken[] = [];
  let pending = '';
  let failure: string | undefined;
  const started = clockMs();
  const answer = await post(agent, target, chatBody(target.pacedModel, true), (chunk, at) => {
    pending += chunk.toString('utf8');
    let end: number;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') continue;
        const parsed = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; error?: unknown };
        if (parsed.error) failure ??= JSON.stringify(parsed.error).slice(0, 200);
        for (const match of (parsed.choices?.[0]?.delta?.content ?? '').matchAll(STAMP))
          tokens.push({ sentAt: Number(match[1]), arrivedAt: at });
      }
    }
  });
  if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
  if (failure) throw new Error(`error event: ${failure}`);
  if (tokens.length === 0) throw new Error(`no tokens in ${answer.body.slice(0, 200)}`);
  return { ttft: tokens[0].arrivedAt - started, tokens };
}

/** `requests` streamed completions of the paced model, `concurrency` at a time. */
export async function streaming(target: ChatTarget, concurrency: number, requests: number): Promise<StreamRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const run: StreamRun = { ttft: [], streams: [], failures: 0 };
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      next++;
      try {
        const { ttft, tokens } = await streamOnce(agent, target);
        run.ttft.push(ttft);
        run.streams.push(tokens);
      } catch (error) {
        run.failures++;
        run.firstFailure ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return run;
}
