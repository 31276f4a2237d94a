import type { ExtractedSection } from 'src/modules/rag/rag.contracts';
import { ExtractionError, RagErrorCode } from 'src/modules/rag/rag.exception';
import type { ExtractionLimits } from 'src/modules/rag/extraction/extraction-limits';
import { htmlToSections } from 'src/modules/rag/extraction/html-sections';
import { assertZipWithinLimits, readZipEntries } from 'src/modules/rag/extraction/zip-inspection';

/**
 * Word's heading styles become h1-h6 in mammoth's HTML, and so heading paths in the sections.
 * The zip is checked for decompression bombs before mammoth (JSZip) inflates any of it.
 */
export async function docxToSections(bytes: Buffer, limits: ExtractionLimits): Promise<ExtractedSection[]> {
  const entries = readZipEntries(bytes, limits.maxZipEntries);
  if (!entries.some((entry) => entry.name === 'word/document.xml')) {
    throw new ExtractionError(RagErrorCode.UnsupportedFormat, 'The zip is not a Word document (no word/document.xml)');
  }
  assertZipWithinLimits(bytes, entries, limits);

  // Loaded on the first Word document rather than at boot (~14 MB resident).
  const { default: mammoth } = await import('mammoth');
  /** Images are never read (nor inflated): the text is all that is indexed. */
  const skipImages = mammoth.images.imgElement(() => Promise.resolve({ src: '' }));
  let html: string;
  try {
    ({ value: html } = await mammoth.convertToHtml({ buffer: bytes }, { convertImage: skipImages, ignoreEmptyParagraphs: true }));
  } catch (error) {
    throw new ExtractionError(RagErrorCode.ExtractionFailed, `The Word document could not be read: ${(error as Error).message}`);
  }
  return htmlToSections(html, limits.maxHtmlDepth);
}
