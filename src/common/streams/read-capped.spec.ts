import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readCapped } from 'src/common/streams/read-capped';

const tooLarge = () => new Error('too large');

describe('readCapped', () => {
  it('returns every byte of a stream within the limit', async () => {
    const bytes = await readCapped(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 4, tooLarge);
    expect(bytes.toString()).toBe('abcd');
  });

  it('stops and destroys the stream once it passes the limit', async () => {
    let pulled = 0;
    const stream = Readable.from(
      (function* () {
        for (;;) {
          pulled += 1;
          yield Buffer.alloc(1024);
        }
      })(),
    );
    await expect(readCapped(stream, 4096, tooLarge)).rejects.toThrow('too large');
    expect(stream.destroyed).toBe(true);
    expect(pulled).toBeLessThan(10);
  });
});
