/**
 * Real documents for RAG tests and benches: PDFs from pdfkit, DOCX from the docx package, and
 * hand-built zips (a zip writer small enough to lie about sizes, for decompression-bomb tests).
 */
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { crc32, deflateRawSync } from 'node:zlib';
import PDFDocument from 'pdfkit';

export interface PdfPage {
  heading?: string;
  paragraphs: string[];
}

/** One PDF page per entry (text that overflows a page flows onto new pages); encrypted when given a user password. */
export function makePdf(pages: PdfPage[], options: { userPassword?: string } = {}): Promise<Buffer> {
  const encryption = options.userPassword ? { userPassword: options.userPassword, pdfVersion: '1.7' as const } : {};
  const pdf = new PDFDocument({ autoFirstPage: false, compress: true, ...encryption });
  const parts: Buffer[] = [];
  pdf.on('data', (part: Buffer) => parts.push(part));
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('end', () => resolve(Buffer.concat(parts)));
    pdf.on('error', reject);
  });
  for (const page of pages) {
    pdf.addPage();
    if (page.heading) pdf.font('Helvetica-Bold').fontSize(20).text(page.heading).moveDown();
    pdf.font('Helvetica').fontSize(11);
    for (const paragraph of page.paragraphs) pdf.text(paragraph).moveDown();
  }
  pdf.end();
  return done;
}

export type DocxBlock = { heading: 1 | 2 | 3; text: string } | { text: string };

const HEADING_LEVELS = { 1: HeadingLevel.HEADING_1, 2: HeadingLevel.HEADING_2, 3: HeadingLevel.HEADING_3 } as const;

export function makeDocx(blocks: DocxBlock[]): Promise<Buffer> {
  const children = blocks.map((block) =>
    'heading' in block ? new Paragraph({ text: block.text, heading: HEADING_LEVELS[block.heading] }) : new Paragraph({ text: block.text }),
  );
  return Packer.toBuffer(new Document({ sections: [{ children }] }));
}

export interface ZipEntrySpec {
  name: string;
  data: Buffer;
  /** Store instead of deflate. */
  stored?: boolean;
  /** Written in place of the true uncompressed size (a lying zip). */
  declaredSize?: number;
  /** Written in place of the real compressed bytes (which are then never valid deflate data). */
  rawData?: Buffer;
  /** Record the sizes in a zip64 extra field. */
  zip64?: boolean;
}

const U32_MAX = 0xffffffff;

/** A zip file with the given entries, written by hand so that tests control every size field. */
export function makeZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = entry.rawData ?? (entry.stored ? entry.data : deflateRawSync(entry.data, { level: 9 }));
    const size = entry.declaredSize ?? entry.data.length;
    const zip64Extra = entry.zip64 ? Buffer.alloc(20) : Buffer.alloc(0);
    if (entry.zip64) {
      zip64Extra.writeUInt16LE(0x0001, 0);
      zip64Extra.writeUInt16LE(16, 2);
      zip64Extra.writeBigUInt64LE(BigInt(size), 4);
      zip64Extra.writeBigUInt64LE(BigInt(compressed.length), 12);
    }
    const sizeField = entry.zip64 ? U32_MAX : size;
    const compressedField = entry.zip64 ? U32_MAX : compressed.length;
    const method = entry.stored ? 0 : 8;
    const crc = crc32(entry.data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(entry.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressedField, 18);
    local.writeUInt32LE(sizeField, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(zip64Extra.length, 28);
    locals.push(local, name, zip64Extra, compressed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(entry.zip64 ? 45 : 20, 4);
    central.writeUInt16LE(entry.zip64 ? 45 : 20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressedField, 20);
    central.writeUInt32LE(sizeField, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(zip64Extra.length, 30);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name, zip64Extra);
    offset += 30 + name.length + zip64Extra.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The minimum parts mammoth needs to read a zip as a Word document. */
export function wordPackageParts(documentXml: Buffer): ZipEntrySpec[] {
  const contentTypes =
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>';
  const rels =
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>';
  return [
    { name: '[Content_Types].xml', data: Buffer.from(contentTypes) },
    { name: '_rels/.rels', data: Buffer.from(rels) },
    { name: 'word/document.xml', data: documentXml },
  ];
}

/** A word/document.xml with one paragraph per string. */
export function wordDocumentXml(paragraphs: string[]): Buffer {
  const body = paragraphs.map((text) => `<w:p><w:r><w:t xml:space="preserve">${text}</w:t></w:r></w:p>`).join('');
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`,
  );
}
