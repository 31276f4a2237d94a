import type { ExtractedSection } from 'src/modules/rag/rag.contracts';
import { HeadingTrail } from 'src/modules/rag/extraction/heading-trail';

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/**
 * Markdown kept as written (its markup is mostly readable text), split into sections at ATX
 * headings (`#` to `######`). Lines inside fenced code blocks are never headings, so a shell
 * comment in a code sample does not start a section. Setext (underlined) headings are body text.
 */
export function markdownToSections(markdown: string): ExtractedSection[] {
  const sections: ExtractedSection[] = [];
  const trail = new HeadingTrail();
  let lines: string[] = [];
  let fence: { char: string; length: number } | null = null;
  const flush = () => {
    const text = lines.join('\n').trim();
    if (text) sections.push({ text, page: null, headings: trail.path() });
    lines = [];
  };

  for (const line of markdown.split('\n')) {
    if (fence) {
      if (closesFence(line, fence)) fence = null;
      lines.push(line);
      continue;
    }
    const opening = FENCE_OPEN.exec(line);
    // A backtick fence's info string may not contain backticks (CommonMark), else it is inline code.
    if (opening && !(opening[1][0] === '`' && opening[2].includes('`'))) {
      fence = { char: opening[1][0], length: opening[1].length };
      lines.push(line);
      continue;
    }
    const heading = ATX_HEADING.exec(line);
    if (heading) {
      flush();
      const text = (heading[2] ?? '').trim();
      if (text) trail.enter(heading[1].length, text);
    }
    lines.push(line);
  }
  flush();
  return sections;
}

function closesFence(line: string, fence: { char: string; length: number }): boolean {
  const match = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
  return match !== null && match[1][0] === fence.char && match[1].length >= fence.length;
}
