import { describe, expect, it } from 'vitest';
import { detectFormat } from 'src/modules/rag/extraction/format-detection';
import { makeDocx, makePdf, makeZip } from 'test/support/rag-documents';

const text = (value: string) => Buffer.from(value, 'utf8');

describe('detectFormat', () => {
  it('trusts magic bytes over a lying name and content type', async () => {
    const pdf = await makePdf([{ paragraphs: ['hello'] }]);
    expect(detectFormat({ fileName: 'notes.txt', contentType: 'text/plain', head: pdf.subarray(0, 1024) })).toBe('pdf');
    const docx = await makeDocx([{ text: 'hello' }]);
    expect(detectFormat({ fileName: 'data.csv', contentType: 'text/csv', head: docx.subarray(0, 64 * 1024) })).toBe('docx');
  });

  it('refuses a text file that claims to be a PDF or DOCX', () => {
    expect(detectFormat({ fileName: 'report.pdf', contentType: null, head: text('just some words') })).toBeNull();
    expect(detectFormat({ fileName: 'report.txt', contentType: 'application/pdf', head: text('just some words') })).toBeNull();
    expect(detectFormat({ fileName: 'letter.docx', contentType: 'text/plain', head: text('just some words') })).toBeNull();
  });

  it('refuses zips that are not Word documents, and other binaries', () => {
    const zip = makeZip([{ name: 'xl/workbook.xml', data: text('<workbook/>') }]);
    expect(detectFormat({ fileName: 'book.docx', contentType: null, head: zip })).toBeNull();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
    expect(detectFormat({ fileName: 'image.txt', contentType: 'text/plain', head: png })).toBeNull();
  });

  it('finds the word/ entry behind other entries and behind streamed (size-deferred) entries', () => {
    const zip = makeZip([
      { name: '[Content_Types].xml', data: text('<Types/>') },
      { name: 'docProps/app.xml', data: text('<Properties/>'.repeat(100)) },
      { name: 'word/document.xml', data: text('<w:document/>') },
    ]);
    expect(detectFormat({ fileName: null, contentType: null, head: zip })).toBe('docx');
    // Bit 3 set and sizes zero in the local header, as streaming zip writers do.
    const streamed = Buffer.from(zip);
    streamed.writeUInt16LE(0x08, 6);
    streamed.writeUInt32LE(0, 18);
    expect(detectFormat({ fileName: null, contentType: null, head: streamed })).toBe('docx');
  });

  it('keeps text that mentions %PDF- as text', () => {
    expect(detectFormat({ fileName: 'pdf.md', contentType: null, head: text('# PDF\nFiles start with %PDF-1.7') })).toBe('markdown');
  });

  it('uses the content type, then the extension, for text formats', () => {
    const head = text('a,b\n1,2');
    expect(detectFormat({ fileName: 'x.json', contentType: 'text/csv; charset=utf-8', head })).toBe('csv');
    expect(detectFormat({ fileName: 'x.csv', contentType: 'application/octet-stream', head })).toBe('csv');
    expect(detectFormat({ fileName: 'x.csv', contentType: 'text/plain', head })).toBe('csv');
    expect(detectFormat({ fileName: 'x.MD', contentType: null, head })).toBe('markdown');
    expect(detectFormat({ fileName: 'page.htm', contentType: null, head })).toBe('html');
    expect(detectFormat({ fileName: 'x', contentType: 'application/ld+json', head })).toBe('json');
    expect(detectFormat({ fileName: 'x.tsv', contentType: null, head })).toBe('csv');
    expect(detectFormat({ fileName: 'notes', contentType: 'text/plain', head })).toBe('text');
    expect(detectFormat({ fileName: 'README.txt', contentType: null, head })).toBe('text');
  });

  it('refuses what it cannot place', () => {
    const head = text('hello');
    expect(detectFormat({ fileName: 'program.exe', contentType: 'application/octet-stream', head })).toBeNull();
    expect(detectFormat({ fileName: 'sheet.xlsx', contentType: null, head })).toBeNull();
    expect(detectFormat({ fileName: null, contentType: 'image/png', head })).toBeNull();
    expect(detectFormat({ fileName: null, contentType: null, head })).toBeNull();
  });

  it('accepts UTF-16 text despite its NUL bytes', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hello', 'utf16le')]);
    expect(detectFormat({ fileName: 'a.txt', contentType: null, head: utf16 })).toBe('text');
  });
});
