import { ExtractionError, RagErrorCode } from 'src/modules/rag/rag.exception';

/** Elements the parser never leaves open: void elements, and those closed by their next sibling. */
const NEVER_NEST = new Set(
  [
    'area base br col embed hr img input keygen link meta param source track wbr',
    'p li dt dd tr td th option optgroup rb rt rp rtc thead tbody tfoot caption colgroup html head body',
  ]
    .join(' ')
    .split(' '),
);

/** Comments and raw-text elements are skipped whole; anything else that looks like a tag is one. */
// `[^<>]` rather than `[^>]`: a '<' without a '>' must not send every later '<' scanning to the end.
const TAGS =
  /<!--[\s\S]*?(?:-->|$)|<(script|style|textarea|title)\b[^<>]*>[\s\S]*?(?:<\/\1\s*>|$)|<(\/?)([a-zA-Z][^\s/<>]*)[^<>]*?(\/?)>/gi;

/**
 * htmlparser2 keeps its open elements in an array it shifts and unshifts, so parsing is
 * quadratic in nesting depth (50,000 nested divs take seconds); html-to-text then walks the tree
 * recursively. This scan follows the same open/close rules closely enough to bound the depth the
 * parser will reach, in one linear pass, before the parser runs.
 */
export function assertHtmlNestingWithin(html: string, maxDepth: number): void {
  const open: string[] = [];
  // How many of each name are open: a close tag for a name that is not open costs nothing.
  const openCount = new Map<string, number>();
  TAGS.lastIndex = 0;
  for (let match = TAGS.exec(html); match !== null; match = TAGS.exec(html)) {
    const name = match[3]?.toLowerCase();
    if (!name || NEVER_NEST.has(name)) continue;
    if (match[2] === '/') {
      if (!openCount.get(name)) continue;
      for (let closed = open.pop(); closed !== undefined; closed = open.pop()) {
        openCount.set(closed, openCount.get(closed)! - 1);
        if (closed === name) break;
      }
    } else if (match[4] !== '/') {
      open.push(name);
      openCount.set(name, (openCount.get(name) ?? 0) + 1);
      if (open.length > maxDepth) {
        throw new ExtractionError(RagErrorCode.DocumentTooLarge, `The HTML nests elements deeper than ${maxDepth} levels`);
      }
    }
  }
}
