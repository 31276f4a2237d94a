const UTF8_BOM = [0xef, 0xbb, 0xbf];

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, index) => bytes[index] === byte);
}

/** UTF-8 unless a UTF-16 byte-order mark says otherwise; invalid sequences become U+FFFD rather than failing. */
export function decodeText(bytes: Uint8Array): string {
  if (startsWith(bytes, [0xff, 0xfe])) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (startsWith(bytes, [0xfe, 0xff])) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  return new TextDecoder('utf-8').decode(startsWith(bytes, UTF8_BOM) ? bytes.subarray(3) : bytes);
}

/** Whether the first bytes look like text rather than a binary format (NUL bytes never occur in UTF-8 text). */
export function looksLikeText(head: Uint8Array): boolean {
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff])) return true;
  return !head.includes(0);
}

/**
 * One shape of text for every format, so chunk offsets and token counts mean the same everywhere:
 * LF line ends; no control characters (PostgreSQL text refuses NUL); no trailing spaces;
 * at most one blank line in a row; and no run of blanks long enough to make a chunk of few
 * tokens but many characters.
 */
export function normalizeText(text: string): string {
  return (
    text
      .replace(/\r\n?|\f|\v|\u2028|\u2029/g, '\n')
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      .replace(/[\u0000-\u0008\u000e-\u001f\u007f]/g, '')
      .replace(/[^\S\n]+$/gm, '')
      .replace(/[^\S\n]{33,}/g, ' ')
      .replace(/\n{3,}/g, '\n\n')
  );
}
