import type { getDocumentProxy as GetDocumentProxy } from 'unpdf';
import type { ExtractedSection } from 'src/modules/rag/rag.contracts';
import { ExtractionError, RagErrorCode } from 'src/modules/rag/rag.exception';
import type { ExtractionLimits } from 'src/modules/rag/extraction/extraction-limits';

type PdfDocument = Awaited<ReturnType<typeof GetDocumentProxy>>;

export interface PdfText {
  sections: ExtractedSection[];
  pageCount: number;
}

/**
 * Pages read at once. unpdf's `extractText` reads every page concurrently and holds all their
 * text; in batches, a document past the character limit is stopped early, and each page's
 * parsed resources are released as soon as its text is out.
 */
const PAGES_PER_BATCH = 16;

/**
 * One section per page with text, `page` 1-based as printed by viewers. PDFs carry no reliable
 * heading structure (only font sizes), so PDF sections have no heading path. The page count is
 * checked from the document's catalogue before any page is read.
 */
export async function pdfToSections(bytes: Buffer, limits: ExtractionLimits): Promise<PdfText> {
  // pdf.js takes ownership of (and may detach) the array it is given: hand it a copy.
  // Verbosity 0: its warnings about damaged files would otherwise go to the console.
  // pdf.js is loaded on the first PDF rather than at boot.
  const { getDocumentProxy } = await import('unpdf');
  const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 }).catch((error: unknown) => {
    throw new ExtractionError(RagErrorCode.ExtractionFailed, `The PDF could not be opened: ${describePdfError(error)}`);
  });
  try {
    if (pdf.numPages > limits.maxPdfPages) {
      throw new ExtractionError(RagErrorCode.DocumentTooLarge, `The PDF has ${pdf.numPages} pages (limit ${limits.maxPdfPages})`);
    }
    const sections: ExtractedSection[] = [];
    let chars = 0;
    for (let first = 1; first <= pdf.numPages; first += PAGES_PER_BATCH) {
      const pageNumbers = Array.from({ length: Math.min(PAGES_PER_BATCH, pdf.numPages - first + 1) }, (_, offset) => first + offset);
      const texts = await Promise.all(pageNumbers.map((pageNumber) => pageText(pdf, pageNumber)));
      texts.forEach((text, offset) => {
        chars += text.length;
        if (text.trim()) sections.push({ text, page: pageNumbers[offset], headings: [] });
      });
      if (chars > limits.maxChars) {
        throw new ExtractionError(RagErrorCode.DocumentTooLarge, `The extracted text exceeds ${limits.maxChars} characters`);
      }
    }
    return { sections, pageCount: pdf.numPages };
  } finally {
    await pdf.destroy();
  }
}

/** The page's text items joined as unpdf's `extractText` joins them (a line break where pdf.js marks an end of line). */
async function pageText(pdf: PdfDocument, pageNumber: number): Promise<string> {
  try {
    const page = await pdf.getPage(pageNumber);
    const content = await page.getTextContent();
    page.cleanup();
    let text = '';
    for (const item of content.items) {
      if ('str' in item) text += item.hasEOL ? `${item.str}\n` : item.str;
    }
    return text;
  } catch (error) {
    throw new ExtractionError(RagErrorCode.ExtractionFailed, `Page ${pageNumber} of the PDF could not be read: ${describePdfError(error)}`);
  }
}

function describePdfError(error: unknown): string {
  const name = (error as { name?: string }).name;
  if (name === 'PasswordException') return 'it is encrypted with a password';
  if (name === 'InvalidPDFException') return 'it is not a valid PDF (corrupt or truncated)';
  return (error as Error).message ?? String(error);
}
