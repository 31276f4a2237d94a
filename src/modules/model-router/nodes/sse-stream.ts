import type { FastifyReply } from 'fastify';
import { PassThrough } from 'node:stream';

/** A comment line this often keeps proxies from closing a stream that is quiet (Ollama verifying a digest). */
const HEARTBEAT_MS = 15_000;

/**
 * A Server-Sent Events response on a Fastify reply. Sent as a stream through `reply.send`,
 * so Fastify's own hooks and headers still apply. `signal` aborts when the client goes away.
 */
export class SseStream {
  private readonly body = new PassThrough();
  private readonly controller = new AbortController();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(reply: FastifyReply) {
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) this.controller.abort(new Error('client closed the event stream'));
    });
    this.heartbeat = setInterval(() => this.body.write(': keep-alive\n\n'), HEARTBEAT_MS);
    this.heartbeat.unref();
    void reply
      .status(200)
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      // Tells nginx not to buffer the stream.
      .header('x-accel-buffering', 'no')
      .send(this.body);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  send(event: string, data: unknown): void {
    if (this.body.writableEnded) return;
    this.body.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    clearInterval(this.heartbeat);
    this.body.end();
  }
}

export function wantsEventStream(accept: string | undefined): boolean {
  return accept?.split(',').some((type) => type.trim().toLowerCase().startsWith('text/event-stream')) ?? false;
}
