import { describe, expect, it } from 'vitest';
import { extractText } from 'src/modules/rag/extraction/extract-text';
import { ExtractionError, RagErrorCode } from 'src/modules/rag/rag.exception';
import { makeDocx, makePdf, makeZip } from 'test/support/rag-documents';

const utf8 = (text: string) => Buffer.from(text, 'utf8');

async function extractionFailure(promise: Promise<unknown>): Promise<ExtractionError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ExtractionError);
  return error as ExtractionError;
}

describe('extractText: PDF', () => {
  it('keeps one section per page with 1-based page numbers', async () => {
    const bytes = await makePdf([
      { heading: 'Annual Report', paragraphs: ['Revenue grew in the northern region.'] },
      { paragraphs: ['Page two discusses the harbour expansion.'] },
      { paragraphs: ['Page three lists the board members.'] },
    ]);
    const doc = await extractText({ bytes, format: 'pdf' });
    expect(doc.format).toBe('pdf');
    expect(doc.pageCount).toBe(3);
    expect(doc.sections.map((section) => section.page)).toEqual([1, 2, 3]);
    expect(doc.sections[0].text).toContain('Annual Report');
    expect(doc.sections[0].text).toContain('Revenue grew in the northern region.');
    expect(doc.sections[1].text).toBe('Page two discusses the harbour expansion.');
    expect(doc.sections[2].text).toBe('Page three lists the board members.');
    expect(doc.sections.every((section) => section.headings.length === 0)).toBe(true);
  });

  it('skips pages without text but keeps the numbering of the others', async () => {
    const bytes = await makePdf([{ paragraphs: ['First.'] }, { paragraphs: [] }, { paragraphs: ['Third.'] }]);
    const doc = await extractText({ bytes, format: 'pdf' });
    expect(doc.pageCount).toBe(3);
    expect(doc.sections.map((section) => [section.page, section.text])).toEqual([
      [1, 'First.'],
      [3, 'Third.'],
    ]);
  });

  it('refuses a PDF with more pages than the limit', async () => {
    const bytes = await makePdf([{ paragraphs: ['a'] }, { paragraphs: ['b'] }, { paragraphs: ['c'] }]);
    const error = await extractionFailure(extractText({ bytes, format: 'pdf', limits: { maxPdfPages: 2 } }));
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.status).toBe(413);
    expect(error.message).toContain('3 pages');
  });

  it('fails a corrupt PDF with EXTRACTION_FAILED and a reason', async () => {
    const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from('this is not a pdf body '.repeat(50))]);
    const error = await extractionFailure(extractText({ bytes, format: 'pdf' }));
    expect(error.code).toBe(RagErrorCode.ExtractionFailed);
    expect(error.status).toBe(422);
    expect(error.message).toMatch(/PDF could not be opened: .+/);
  });

  it('fails a password-protected PDF with EXTRACTION_FAILED saying so', async () => {
    const bytes = await makePdf([{ paragraphs: ['Secret minutes.'] }], { userPassword: 'hunter2' });
    const error = await extractionFailure(extractText({ bytes, format: 'pdf' }));
    expect(error.code).toBe(RagErrorCode.ExtractionFailed);
    expect(error.message).toBe('The PDF could not be opened: it is encrypted with a password');
  });

  it('fails a truncated PDF with EXTRACTION_FAILED', async () => {
    const whole = await makePdf([{ paragraphs: ['Some text that will be cut off.'] }]);
    const error = await extractionFailure(extractText({ bytes: whole.subarray(0, 200), format: 'pdf' }));
    expect(error.code).toBe(RagErrorCode.ExtractionFailed);
  });
});

describe('extractText: DOCX', () => {
  it('gives each part the path of its headings', async () => {
    const bytes = await makeDocx([
      { text: 'Preface before any heading.' },
      { heading: 1, text: 'Installation' },
      { text: 'Download the installer.' },
      { heading: 2, text: 'Linux' },
      { text: 'Use the tarball on Linux.' },
      { heading: 2, text: 'Windows' },
      { text: 'Run the MSI on Windows.' },
      { heading: 1, text: 'Usage' },
      { text: 'Start the service.' },
    ]);
    const doc = await extractText({ bytes, format: 'docx' });
    expect(doc.pageCount).toBeNull();
    expect(doc.sections).toEqual([
      { text: 'Preface before any heading.', page: null, headings: [] },
      { text: 'Installation\n\nDownload the installer.', page: null, headings: ['Installation'] },
      { text: 'Linux\n\nUse the tarball on Linux.', page: null, headings: ['Installation', 'Linux'] },
      { text: 'Windows\n\nRun the MSI on Windows.', page: null, headings: ['Installation', 'Windows'] },
      { text: 'Usage\n\nStart the service.', page: null, headings: ['Usage'] },
    ]);
  });

  it('returns text, never markup, even when the document text looks like HTML', async () => {
    const bytes = await makeDocx([{ text: '<script>alert(1)</script> & <b>not bold</b>' }]);
    const doc = await extractText({ bytes, format: 'docx' });
    expect(doc.sections[0].text).toBe('<script>alert(1)</script> & <b>not bold</b>');
  });

  it('fails a zip that is not a Word document as unsupported', async () => {
    const bytes = makeZip([{ name: 'readme.txt', data: utf8('hello') }]);
    const error = await extractionFailure(extractText({ bytes, format: 'docx' }));
    expect(error.code).toBe(RagErrorCode.UnsupportedFormat);
    expect(error.status).toBe(415);
  });

  it('fails bytes that are not a zip at all with EXTRACTION_FAILED', async () => {
    const error = await extractionFailure(extractText({ bytes: utf8('PK but not really a zip file'), format: 'docx' }));
    expect(error.code).toBe(RagErrorCode.ExtractionFailed);
  });
});

describe('extractText: HTML', () => {
  const page = `<!doctype html><html><head><title>Ignored title</title>
    <style>body { color: red } .secret { display: none }</style>
    <script>var stolen = "SCRIPT_PAYLOAD"; document.write('<h1>fake</h1>')</script></head>
    <body><nav>Home</nav>
    <h1>Guide</h1><p>Welcome to the <a href="https://example.com/x">guide</a>.</p>
    <noscript>NOSCRIPT_TEXT</noscript>
    <h2>Setup</h2><p>Install &amp; configure.</p><script type="module">import "SCRIPT_MODULE"</script>
    <h3>Ports</h3><table><tr><th>Port</th><th>Use</th></tr><tr><td>80</td><td>HTTP</td></tr></table>
    <h2>Usage</h2><ul><li>Run it</li><li>Stop it</li></ul><img src="x.png" alt="diagram">
    </body></html>`;

  it('keeps headings as paths and drops scripts, styles and markup', async () => {
    const doc = await extractText({ bytes: utf8(page), format: 'html' });
    const all = doc.sections.map((section) => section.text).join('\n');
    for (const absent of ['SCRIPT_PAYLOAD', 'SCRIPT_MODULE', 'NOSCRIPT_TEXT', 'color: red', 'Ignored title', '<', 'https://example.com']) {
      expect(all).not.toContain(absent);
    }
    expect(doc.sections.map((section) => section.headings)).toEqual([
      [],
      ['Guide'],
      ['Guide', 'Setup'],
      ['Guide', 'Setup', 'Ports'],
      ['Guide', 'Usage'],
    ]);
    expect(doc.sections[1].text).toBe('Guide\n\nWelcome to the guide.');
    expect(doc.sections[2].text).toBe('Setup\n\nInstall & configure.');
    expect(doc.sections[3].text).toContain('Port | Use |\n80 | HTTP |');
    expect(doc.sections[4].text).toContain('Run it');
  });

  it('finds headings inside lists, blockquotes and tables without leaking their markers', async () => {
    const html =
      '<p>a</p><ul><li><h2>In list</h2>list body</li></ul><blockquote><h2>Quoted</h2><p>q body</p></blockquote><table><tr><td><h3>In cell</h3>cell body</td></tr></table>';
    const doc = await extractText({ bytes: utf8(html), format: 'html' });
    expect(doc.sections.map((section) => section.headings)).toEqual([[], ['In list'], ['Quoted'], ['Quoted', 'In cell']]);
    expect(doc.sections[1].text.startsWith('In list')).toBe(true);
    expect(doc.sections.map((section) => section.text).join('\n')).not.toMatch(/[0-9a-f]{16}:\d\|/);
  });

  it('cannot forge a heading marker from document content', async () => {
    const doc = await extractText({ bytes: utf8('<p>\u00011|Not a heading</p><p>&#1;2|Nor this</p>'), format: 'html' });
    expect(doc.sections).toHaveLength(1);
    expect(doc.sections[0].headings).toEqual([]);
  });

  it('refuses pathologically deep nesting before parsing it', async () => {
    const deep = '<div>'.repeat(50_000) + 'buried' + '</div>'.repeat(50_000);
    const started = performance.now();
    const error = await extractionFailure(extractText({ bytes: utf8(deep), format: 'html' }));
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.message).toContain('deeper than 256 levels');
    // The parser alone takes seconds on this input.
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('reads ordinary nesting, sloppy unclosed paragraphs and stray close tags', async () => {
    const nested = '<div>'.repeat(200) + '<p>deep but fine' + '</div>'.repeat(200);
    const sloppy = '<p>one<p>two'.repeat(2000) + '</span></em>'.repeat(1000) + '<p>end';
    const doc = await extractText({ bytes: utf8(nested + sloppy), format: 'html' });
    const all = doc.sections.map((section) => section.text).join('\n');
    expect(all).toContain('deep but fine');
    expect(all.endsWith('end')).toBe(true);
  });
});

describe('extractText: Markdown', () => {
  it('builds heading paths from ATX headings, never from code fences', async () => {
    const markdown = [
      'Intro line.',
      '# Title',
      'Top text.',
      '## Install ##',
      '```bash',
      '# this is a shell comment, not a heading',
      'make install',
      '```',
      '~~~',
      '## nor this',
      '~~~',
      '### Linux',
      'Linux text.',
      '## Usage',
      '    # indented code is not a heading either',
      '#hashtag is not a heading',
      'Setext heading',
      '==============',
    ].join('\r\n');
    const doc = await extractText({ bytes: utf8(markdown), format: 'markdown' });
    expect(doc.sections.map((section) => section.headings)).toEqual([
      [],
      ['Title'],
      ['Title', 'Install'],
      ['Title', 'Install', 'Linux'],
      ['Title', 'Usage'],
    ]);
    expect(doc.sections[2].text).toBe(
      '## Install ##\n```bash\n# this is a shell comment, not a heading\nmake install\n```\n~~~\n## nor this\n~~~',
    );
    expect(doc.sections[4].text).toContain('#hashtag is not a heading');
  });

  it('treats an unclosed fence as running to the end', async () => {
    const doc = await extractText({ bytes: utf8('# A\ntext\n```\n# inside\n'), format: 'markdown' });
    expect(doc.sections).toHaveLength(1);
    expect(doc.sections[0].headings).toEqual(['A']);
  });
});

describe('extractText: CSV', () => {
  it('renders rows as column: value lines in sections of 20 rows', async () => {
    const rows = Array.from({ length: 45 }, (_, index) => `item-${index + 1},"${index + 1},00 EUR",`);
    const csv = '\ufeffname,price,notes\n' + rows.join('\n');
    const doc = await extractText({ bytes: utf8(csv), format: 'csv' });
    expect(doc.sections.map((section) => section.headings)).toEqual([['Rows 1-20'], ['Rows 21-40'], ['Rows 41-45']]);
    expect(doc.sections[0].text.startsWith('Row 1\nname: item-1\nprice: 1,00 EUR\n\nRow 2\nname: item-2')).toBe(true);
    expect(doc.sections[2].text.split('\n\n')).toHaveLength(5);
    expect(doc.sections[0].text).not.toContain('notes:');
  });

  it('detects semicolon and tab delimiters', async () => {
    const semicolons = await extractText({ bytes: utf8('a;b\n1;2'), format: 'csv' });
    expect(semicolons.sections[0].text).toBe('Row 1\na: 1\nb: 2');
    const tabs = await extractText({ bytes: utf8('a\tb\n1\t2'), format: 'csv' });
    expect(tabs.sections[0].text).toBe('Row 1\na: 1\nb: 2');
  });

  it('refuses too many rows or columns', async () => {
    const rows = await extractionFailure(extractText({ bytes: utf8('a\n1\n2\n3\n4'), format: 'csv', limits: { maxCsvRows: 3 } }));
    expect(rows.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(rows.message).toContain('more than 3 rows');
    const wide = Array.from({ length: 10 }, (_, index) => `c${index}`).join(',');
    const columns = await extractionFailure(extractText({ bytes: utf8(`${wide}\n1`), format: 'csv', limits: { maxCsvColumns: 5 } }));
    expect(columns.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(columns.message).toContain('more than 5 columns');
  });
});

describe('extractText: JSON', () => {
  it('renders one path: value line per leaf', async () => {
    const json = JSON.stringify({ a: { b: [{ c: 'value' }, 2] }, 'odd key': true, empty: {}, list: [], nothing: null });
    const doc = await extractText({ bytes: utf8(json), format: 'json' });
    expect(doc.sections).toEqual([
      { text: 'a.b[0].c: value\na.b[1]: 2\n["odd key"]: true\nempty: {}\nlist: []\nnothing: null', page: null, headings: [] },
    ]);
  });

  it('fails invalid JSON with a clear reason', async () => {
    const error = await extractionFailure(extractText({ bytes: utf8('{"a": [1, 2'), format: 'json' }));
    expect(error.code).toBe(RagErrorCode.ExtractionFailed);
    expect(error.message).toMatch(/not valid JSON: .+/);
  });

  it('refuses nesting deeper than the limit', async () => {
    const deep = '['.repeat(100) + '1' + ']'.repeat(100);
    const error = await extractionFailure(extractText({ bytes: utf8(deep), format: 'json' }));
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.message).toContain('deeper than 64');
  });
});

describe('extractText: plain text and shared rules', () => {
  it('normalizes line ends, control characters, trailing and runaway whitespace', async () => {
    const text = 'line one  \r\nline\u0000 two\r\n\r\n\r\n\r\nafter' + ' '.repeat(100) + 'gap\fnext page';
    const doc = await extractText({ bytes: utf8(text), format: 'text' });
    expect(doc.sections).toEqual([{ text: 'line one\nline two\n\nafter gap\nnext page', page: null, headings: [] }]);
  });

  it('decodes UTF-16 with a byte-order mark', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('héllo wörld', 'utf16le')]);
    const doc = await extractText({ bytes, format: 'text' });
    expect(doc.sections[0].text).toBe('héllo wörld');
  });

  it('refuses a document whose text exceeds the character limit', async () => {
    const error = await extractionFailure(extractText({ bytes: utf8('x'.repeat(1001)), format: 'text', limits: { maxChars: 1000 } }));
    expect(error.code).toBe(RagErrorCode.DocumentTooLarge);
    expect(error.status).toBe(413);
    const pdf = await makePdf([{ paragraphs: ['y'.repeat(600)] }, { paragraphs: ['z'.repeat(600)] }]);
    const pdfError = await extractionFailure(extractText({ bytes: pdf, format: 'pdf', limits: { maxChars: 1000 } }));
    expect(pdfError.code).toBe(RagErrorCode.DocumentTooLarge);
  });

  it('fails a document without text as DOCUMENT_EMPTY', async () => {
    for (const [bytes, format] of [
      [utf8(' \n\t\n'), 'text'],
      [utf8('<html><body><script>only()</script></body></html>'), 'html'],
      [utf8(''), 'markdown'],
    ] as const) {
      const error = await extractionFailure(extractText({ bytes, format }));
      expect(error.code).toBe(RagErrorCode.DocumentEmpty);
      expect(error.status).toBe(422);
    }
    const blank = await makePdf([{ paragraphs: [] }]);
    const pdfError = await extractionFailure(extractText({ bytes: blank, format: 'pdf' }));
    expect(pdfError.code).toBe(RagErrorCode.DocumentEmpty);
    expect(pdfError.message).toContain('OCR');
  });

  it('refuses a format it does not know', async () => {
    const error = await extractionFailure(extractText({ bytes: utf8('x'), format: 'rtf' as never }));
    expect(error.code).toBe(RagErrorCode.UnsupportedFormat);
  });
});
