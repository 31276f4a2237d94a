import { ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * A child Node process that runs one program (a source string run with `node -e`) and answers
 * requests over IPC, one at a time, each under a deadline, with a small V8 heap and none of the
 * app's environment. Work that runs away (a CPU-bound expression, a memory bomb) costs the
 * child, which is killed and replaced on the next call, never the app. A process rather than a
 * worker thread: V8 turns one large allocation past a worker's heap limit into a fatal error of
 * the whole process.
 *
 * The program is a string so it needs no TypeScript loader in tests and no extra file in the
 * build (as the sentence encoder's worker); packages it needs are resolved here and passed in
 * by absolute path. It must answer `{ ready: true }` once loaded, then `{ id, ok: true, value }`
 * or `{ id, ok: false, error, refused? }` for each `{ id, ...request }`.
 */

export type SandboxFailureKind = 'timeout' | 'memory' | 'crashed' | 'cancelled' | 'start';

/** The sandbox could not answer: it ran out of time or memory, died, or the caller gave up. */
export class SandboxFailure extends Error {
  constructor(
    readonly kind: SandboxFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxFailure';
  }
}

/** The program answered with an error; `refused` marks the program's own checks (their message is for the user). */
export class SandboxReplyError extends Error {
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
    this.name = 'SandboxReplyError';
  }
}

export interface ProcessSandboxOptions {
  /** The program, run with `node -e`. */
  source: string;
  /** Its `process.argv[1..]`. */
  args: readonly string[];
  /** Deadline of one request, from the moment it is sent. */
  timeoutMs: number;
  maxHeapMb: number;
  /** Loading the program's packages in a fresh process; generous, since a loaded machine is slow. */
  startupTimeoutMs?: number;
}

type Reply = { ready: true } | { id: number; ok: true; value: unknown } | { id: number; ok: false; refused?: boolean; error: string };

interface Child {
  process: ChildProcess;
  stderr: string;
}

const DEFAULT_STARTUP_TIMEOUT_MS = 30_000;
/** Enough of the child's stderr to recognise V8's out-of-memory report. */
const STDERR_TAIL_CHARS = 4_096;

/** The absolute entry of a package, as this file's `require` resolves it. */
export function resolvePackage(name: string): string {
  // Under the test runner modules are ES modules without __filename; the repository root is the cwd there.
  const from = typeof __filename === 'string' ? __filename : join(process.cwd(), 'package.json');
  return createRequire(from).resolve(name);
}

export class ProcessSandbox<Request extends object, Value> {
  private current: Child | null = null;
  private starting: Promise<Child> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 0;

  constructor(private readonly options: ProcessSandboxOptions) {}

  call(request: Request, signal?: AbortSignal): Promise<Value> {
    const turn = this.queue.then(() => this.dispatch(request, signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  async close(): Promise<void> {
    const child = this.current ?? (await this.starting?.catch(() => null));
    this.current = null;
    if (child) this.discard(child);
  }

  private acquire(): Promise<Child> {
    if (this.current) return Promise.resolve(this.current);
    this.starting ??= this.start().finally(() => (this.starting = null));
    return this.starting;
  }

  private async dispatch(request: Request, signal: AbortSignal | undefined): Promise<Value> {
    if (signal?.aborted) throw new SandboxFailure('cancelled', 'cancelled');
    const child = await this.acquire();
    const { process: proc } = child;
    const id = this.nextId++;
    return new Promise<Value>((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
        idle(proc);
        outcome();
      };
      const fail = (error: SandboxFailure) =>
        settle(() => {
          this.discard(child);
          reject(error);
        });
      const onMessage = (reply: Reply) => {
        if (!('id' in reply) || reply.id !== id) return;
        settle(() => (reply.ok ? resolve(reply.value as Value) : reject(new SandboxReplyError(reply.error, reply.refused === true))));
      };
      const onExit = () =>
        fail(
          /heap out of memory/i.test(child.stderr)
            ? new SandboxFailure('memory', 'out of memory')
            : new SandboxFailure('crashed', 'the sandbox process stopped'),
        );
      const onAbort = () => fail(new SandboxFailure('cancelled', 'cancelled'));
      const timer = setTimeout(
        () => fail(new SandboxFailure('timeout', `no answer within ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
      proc.on('message', onMessage);
      proc.once('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
      busy(proc);
      try {
        proc.send({ ...request, id });
      } catch {
        // The child died between calls and its exit is not yet reported.
        fail(new SandboxFailure('crashed', 'the sandbox process stopped'));
      }
    });
  }

  private start(): Promise<Child> {
    const proc = spawn(
      process.execPath,
      [`--max-old-space-size=${this.options.maxHeapMb}`, '-e', this.options.source, ...this.options.args],
      {
        // Nothing of the app's environment (secrets included) is handed to the sandbox.
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        env: {},
        serialization: 'json',
      },
    );
    const child: Child = { process: proc, stderr: '' };
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (text: string) => (child.stderr = (child.stderr + text).slice(-STDERR_TAIL_CHARS)));
    // A child that dies while idle (it should not) is replaced on the next call.
    const forget = () => this.current === child && (this.current = null);
    proc.on('exit', forget);
    proc.on('error', forget);
    return new Promise<Child>((resolve, reject) => {
      const detach = () => {
        clearTimeout(timer);
        proc.off('error', failed);
        proc.off('exit', exited);
        proc.off('message', started);
      };
      const failed = (error: Error) => {
        detach();
        proc.kill('SIGKILL');
        reject(new SandboxFailure('start', error.message));
      };
      const exited = (code: number | null) => failed(new Error(`its process exited with code ${code}: ${child.stderr.slice(-300)}`));
      const started = () => {
        detach();
        idle(proc);
        this.current = child;
        resolve(child);
      };
      const timer = setTimeout(
        () => failed(new Error('it did not start in time')),
        this.options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
      );
      proc.on('error', failed);
      proc.on('exit', exited);
      proc.on('message', started);
    });
  }

  private discard(child: Child): void {
    if (this.current === child) this.current = null;
    child.process.kill('SIGKILL');
  }
}

/** Only a request in progress keeps the app's event loop alive; an idle sandbox never does. */
function busy(proc: ChildProcess): void {
  proc.ref();
  proc.channel?.ref();
}

function idle(proc: ChildProcess): void {
  proc.unref();
  proc.channel?.unref();
}
