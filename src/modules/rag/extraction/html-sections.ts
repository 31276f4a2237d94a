import { randomBytes } from 'node:crypto';
import type { FormatCallback, HtmlToTextOptions } from 'html-to-text';
import type { ExtractedSection } from 'src/modules/rag/rag.contracts';
import { HeadingTrail } from 'src/modules/rag/extraction/heading-trail';
import { assertHtmlNestingWithin } from 'src/modules/rag/extraction/html-nesting';

/**
 * Heading lines are tagged in html-to-text's output with a marker no document can contain
 * (a control character, which normalization strips from input text, plus a random nonce), so
 * the heading path survives conversion to text without a second HTML parse.
 */
const MARKER = `\u0001${randomBytes(8).toString('hex')}:`;
/** Anywhere in the line: inside a list item or blockquote the line starts with its bullet or `>`. */
const MARKED_HEADING = new RegExp(`${MARKER}([1-6])\\|(.*)$`);

const markHeading: FormatCallback = (elem, walk, builder, formatOptions) => {
  builder.openBlock({ leadingLineBreaks: 2 });
  builder.addLiteral(`${MARKER}${(formatOptions as { level: number }).level}|`);
  walk(elem.children, builder);
  builder.closeBlock({ trailingLineBreaks: 2 });
};

/** Content that is not text a reader sees. */
const SKIPPED = ['script', 'style', 'noscript', 'template', 'iframe', 'object', 'embed', 'svg', 'canvas', 'img', 'video', 'audio'];
const CELL = { format: 'inlineSurround', options: { suffix: ' | ' } };

/** html-to-text (~10 MB resident) is loaded with the first HTML or Word document, not at boot. */
let converter: Promise<(html: string) => string> | undefined;
const loadConverter = () => (converter ??= import('html-to-text').then(({ compile }) => compile(CONVERSION)));

const CONVERSION: HtmlToTextOptions = {
  wordwrap: false,
  formatters: { markHeading },
  selectors: [
    ...[1, 2, 3, 4, 5, 6].map((level) => ({ selector: `h${level}`, format: 'markHeading', options: { level } })),
    ...SKIPPED.map((selector) => ({ selector, format: 'skip' })),
    { selector: 'a', options: { ignoreHref: true } },
    // Layout-friendly rows: "cell | cell |" per line, rather than cells run together.
    { selector: 'tr', format: 'block', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: 'td', ...CELL },
    { selector: 'th', ...CELL },
  ],
  // The walk is recursive. assertHtmlNestingWithin keeps real documents far shallower; this is the backstop.
  limits: { maxDepth: 1024, ellipsis: '', maxInputLength: undefined },
};

/**
 * Plain text of an HTML document (text only: no markup, scripts or styles survive), split into
 * sections at each h1-h6 with the path of enclosing headings. Each section's text starts with
 * its own heading line, so the words of a heading are searchable with its content.
 */
export async function htmlToSections(html: string, maxDepth: number): Promise<ExtractedSection[]> {
  assertHtmlNestingWithin(html, maxDepth);
  const convertHtml = await loadConverter();
  const text = convertHtml(html.replaceAll('\u0001', ''));
  const sections: ExtractedSection[] = [];
  const trail = new HeadingTrail();
  let lines: string[] = [];
  const flush = () => {
    const sectionText = lines.join('\n').trim();
    if (sectionText) sections.push({ text: sectionText, page: null, headings: trail.path() });
    lines = [];
  };
  for (const line of text.split('\n')) {
    const heading = MARKED_HEADING.exec(line);
    if (!heading) {
      lines.push(line);
      continue;
    }
    const headingText = heading[2].trim();
    if (!headingText) continue;
    flush();
    trail.enter(Number(heading[1]), headingText);
    lines.push(headingText);
  }
  flush();
  return sections;
}
