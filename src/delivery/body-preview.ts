/**
 * A printable preview of a receiver's response body, safe for any bytes: a GIF, a gzip stream, UTF-16,
 * half a multi-byte character at the cut. Valid UTF-8 text reads as itself; NUL, other control bytes
 * (newline, carriage return and tab excepted) and bytes that are not valid UTF-8 become `\xNN`. The result
 * holds no NUL and no lone surrogate, so PostgreSQL's `text` takes it.
 */
export function printablePreview(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += isPrintableAscii(b) ? String.fromCharCode(b) : hex(b);
      i++;
      continue;
    }
    const length = sequenceLength(bytes, i);
    if (length === 0) {
      out += hex(b);
      i++;
      continue;
    }
    out += Buffer.from(bytes.buffer, bytes.byteOffset + i, length).toString('utf8');
    i += length;
  }
  return out;
}

function isPrintableAscii(b: number): boolean {
  return (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09;
}

function hex(b: number): string {
  return `\\x${b.toString(16).padStart(2, '0')}`;
}

/**
 * The length of the well-formed UTF-8 sequence starting at `i` (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 if there is none.
 */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  let length: number;
  let min = 0x80;
  let max = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) length = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    length = 3;
    if (b === 0xe0) min = 0xa0;
    if (b === 0xed) max = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    length = 4;
    if (b === 0xf0) min = 0x90;
    if (b === 0xf4) max = 0x8f;
  } else return 0;
  if (i + length > bytes.length) return 0;
  // Only the second byte has the narrowed range; the rest are plain continuation bytes.
  const second = bytes[i + 1]!;
  if (second < min || second > max) return 0;
  for (let k = 2; k < length; k++) {
    const c = bytes[i + k]!;
    if (c < 0x80 || c > 0xbf) return 0;
  }
  // C1 control characters (U+0080..U+009F) are escaped like the C0 ones.
  if (b === 0xc2 && second < 0xa0) return 0;
  return length;
}
