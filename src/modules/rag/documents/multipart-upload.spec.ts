import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { displayName, storageKeyOf } from 'src/modules/rag/documents/documents.service';
import { peek } from 'src/modules/rag/documents/multipart-upload';

const collect = async (stream: Readable) => {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts).toString();
};

describe('peek', () => {
  it('returns the head and a stream of the whole, across chunk boundaries', async () => {
    const { head, body } = await peek(Readable.from([Buffer.from('abc'), Buffer.from('defg'), Buffer.from('hij')]), 5);
    expect(head.toString()).toBe('abcde');
    expect(await collect(body)).toBe('abcdefghij');
  });

  it('handles a stream shorter than the head', async () => {
    const { head, body } = await peek(Readable.from([Buffer.from('ab')]), 5);
    expect(head.toString()).toBe('ab');
    expect(await collect(body)).toBe('ab');
  });

  it("reports the source's errors as the client's malformed body", async () => {
    const source = new Readable({
      read() {
        this.destroy(new Error('Unexpected end of form'));
      },
    });
    await expect(peek(source, 5)).rejects.toMatchObject({ status: 400, code: 'MALFORMED_BODY' });
  });
});

describe('displayName', () => {
  it('keeps the name as sent, minus control and direction-override characters', () => {
    expect(displayName('../../etc/passwd')).toBe('../../etc/passwd');
    expect(displayName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(displayName('a\u0000b\nc')).toBe('abc');
    expect(displayName(' \u200B ')).toBe('untitled');
    expect(displayName('x'.repeat(400))).toHaveLength(255);
  });
});

describe('storageKeyOf', () => {
  it('builds keys from ids only', () => {
    expect(storageKeyOf('w', 'k', 'd')).toBe('workspaces/w/kb/k/d');
  });
});
