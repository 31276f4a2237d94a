import type { Readable } from 'node:stream';

/**
 * The whole of `stream` in memory, refusing it as soon as it passes `maxBytes`: the stream is
 * destroyed and `tooLarge()` thrown, so an oversized body never fills memory first.
 */
export async function readCapped(stream: Readable, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      stream.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
