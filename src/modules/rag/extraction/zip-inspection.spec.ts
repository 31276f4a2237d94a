import { describe, expect, it } from 'vitest';
import { extractText } from 'src/modules/rag/extraction/extract-text';
import { detectFormat } from 'src/modules/rag/extraction/format-detection';
import { DEFAULT_EXTRACTION_LIMITS } from 'src/modules/rag/extraction/extraction-limits';
import { readZipEntries } from 'src/modules/rag/extraction/zip-inspection';
import { ExtractionError, RagErrorCode } from 'src/modules/rag/rag.exception';
import { makeDocx, makeZip, wordDocumentXml, wordPackageParts } from 'test/support/rag-documents';

async function refusal(bytes: Buffer, limits = {}): Promise<ExtractionError> {
  const error = await extractText({ bytes, format: 'docx', limits }).then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ExtractionError);
  return error as ExtractionError;
}

/** 0xFF bytes are an invalid deflate block type: inflating them fails at once, so a size refusal proves nothing was inflated. */
const notDeflate = (length: number) => Buffer.alloc(length, 0xff);

describe('DOCX decompression-bomb guard', () => {
  it('reads a hand-built Word package (the control case for the tests below)', async () => {
    const bytes = makeZip(wordPackageParts(wordDocumentXml(['Hand built paragraph.'])));
    expect(detectFormat({ fileName: 'a.docx', contentType: null, head: bytes })).toBe('docx');
    const doc = await extractText({ bytes, format: 'docx' });
    expect(doc.sections).toEqual([{ text: 'Hand built paragraph.', page: null, headings: [] }]);
  });

  it('refuses an entry that expands more than 100:1', async () => {
    // 40 MB of one repeated paragraph deflates to about 60 kB.
    const documentXml = wordDocumentXml(
      Array.from({ length: 400_000 }, () => 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
    );
    const bytes = makeZip(wordPackageParts(documentXml));
    expect(bytes.length).toBeLessThan(documentXml.length / 100);
    const error = await refusal(bytes);
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.status).toBe(413);
    expect(error.message).toMatch(/decompression bomb: entry "word\/document.xml" expands \d+:1/);
  });

  it('refuses from the declared sizes alone, without inflating anything', async () => {
    const parts = wordPackageParts(wordDocumentXml(['x']));
    // Declares 3 GB behind 64 kB of bytes that are not deflate data: any attempt to inflate would fail differently.
    parts[2] = { name: 'word/document.xml', data: Buffer.alloc(0), rawData: notDeflate(64 * 1024), declaredSize: 3_000_000_000 };
    const error = await refusal(makeZip(parts));
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.message).toContain('expands');
  });

  it('reads zip64 sizes and refuses a 5 GB entry', async () => {
    const parts = wordPackageParts(wordDocumentXml(['x']));
    parts[2] = {
      name: 'word/document.xml',
      data: Buffer.alloc(0),
      rawData: notDeflate(8 * 1024 * 1024),
      declaredSize: 5 * 1024 ** 3,
      zip64: true,
    };
    const bytes = makeZip(parts);
    expect(readZipEntries(bytes, 100).find((entry) => entry.name === 'word/document.xml')?.uncompressedSize).toBe(5 * 1024 ** 3);
    // A ratio limit high enough that the total-size limit is the one that trips.
    const error = await refusal(bytes, { maxZipCompressionRatio: 1000 });
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.message).toMatch(/it expands to 53687\d{5} bytes \(limit 134217728\)/);
  });

  it('stops inflating an entry at its declared size when the zip lies about it', async () => {
    const parts = wordPackageParts(wordDocumentXml(['x']));
    const real = Buffer.alloc(5 * 1024 * 1024, 'a');
    // Declares 10 kB; the data inflates to 5 MB. Ratios from the declared sizes look harmless.
    parts[2] = { name: 'word/document.xml', data: real, declaredSize: 10_000 };
    const error = await refusal(makeZip(parts));
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.message).toContain('inflates past its declared 10000 bytes');
  });

  it('refuses a document over the total uncompressed limit', async () => {
    const bytes = await makeDocx([{ heading: 1, text: 'Title' }, { text: 'Body.' }]);
    const error = await refusal(bytes, { maxZipUncompressedBytes: 1000 });
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.message).toContain('limit 1000');
  });

  it('refuses a zip with too many entries', async () => {
    const many = Array.from({ length: 20 }, (_, index) => ({ name: `word/part${index}.xml`, data: Buffer.from('<a/>') }));
    const error = await refusal(makeZip([...wordPackageParts(wordDocumentXml(['x'])), ...many]), { maxZipEntries: 10 });
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.message).toContain('23 entries');
  });

  it('fails an entry with corrupt data or an unknown compression method as EXTRACTION_FAILED', async () => {
    const parts = wordPackageParts(wordDocumentXml(['x']));
    parts[2] = { name: 'word/document.xml', data: Buffer.alloc(0), rawData: notDeflate(100), declaredSize: 200 };
    const corrupt = await refusal(makeZip(parts));
    expect(corrupt.code).toBe(RagErrorCode.ExtractionFailed);
    expect(corrupt.message).toContain('does not inflate');

    const truncated = await refusal(makeZip(wordPackageParts(wordDocumentXml(['x']))).subarray(0, 100));
    expect(truncated.code).toBe(RagErrorCode.ExtractionFailed);
  });

  it('accepts a real DOCX with the default limits', async () => {
    const bytes = await makeDocx(Array.from({ length: 200 }, (_, index) => ({ text: `Paragraph ${index} of ordinary prose.` })));
    const entries = readZipEntries(bytes, DEFAULT_EXTRACTION_LIMITS.maxZipEntries);
    expect(entries.map((entry) => entry.name)).toContain('word/document.xml');
    const doc = await extractText({ bytes, format: 'docx' });
    expect(doc.sections[0].text).toContain('Paragraph 199 of ordinary prose.');
  });
});
