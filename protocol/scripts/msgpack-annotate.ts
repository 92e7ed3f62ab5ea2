/**
 * Annotated hex of a MessagePack value for the SPEC's worked examples (§17): one line per value
 * (map and array headers on their own line, children indented), at most 16 bytes of hex per line,
 * a comment saying what the bytes mean. Written from the msgpack spec, independently of protocol/src.
 */
export interface HexLine {
  /** Indentation level. */
  depth: number;
  bytes: Buffer;
  /** Empty on continuation lines. */
  comment: string;
}

const BYTES_PER_LINE = 16;

/** Splits `bytes` into lines of at most 16, the comment on the first. */
export function hexLines(bytes: Buffer, comment: string, depth: number): HexLine[] {
  const lines: HexLine[] = [];
  for (let offset = 0; offset < bytes.length || offset === 0; offset += BYTES_PER_LINE) {
    lines.push({
      depth: offset === 0 ? depth : depth + 1,
      bytes: bytes.subarray(offset, offset + BYTES_PER_LINE),
      comment: offset === 0 ? comment : '',
    });
    if (bytes.length === 0) break;
  }
  return lines;
}

/** A str or bin shown in double quotes: printable ASCII as is, other bytes as \xNN (bin) or as text (str). */
export function quote(text: string, isBin: boolean, max = 44): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (isBin || code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `"${out.length > max ? `${out.slice(0, max - 1)}…` : out}"`;
}

/** Mostly unprintable bytes (a nonce, a proof) are better described by their length than quoted. */
function opaque(bytes: Buffer): boolean {
  let unprintable = 0;
  for (const byte of bytes) if (byte < 0x20 || byte >= 0x7f) unprintable++;
  return unprintable * 4 > bytes.length;
}

interface Node {
  start: number;
  end: number;
  /** Where the header ends (containers: the children start here). */
  headerEnd: number;
  kind: 'scalar' | 'map' | 'array';
  summary: string;
  children: Node[];
}

class Parser {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  #u(width: number): number {
    const value = this.buf.readUIntBE(this.pos, width);
    this.pos += width;
    return value;
  }

  node(): Node {
    const start = this.pos;
    const byte = this.#u(1);
    const scalar = (summary: string, skip = 0): Node => {
      this.pos += skip;
      return { start, end: this.pos, headerEnd: this.pos, kind: 'scalar', summary, children: [] };
    };
    const text = (length: number, isBin: boolean): Node => {
      const content = this.buf.toString(isBin ? 'latin1' : 'utf8', this.pos, this.pos + length);
      if (isBin && opaque(this.buf.subarray(this.pos, this.pos + length)))
        return scalar(`bin, ${length} bytes`, length);
      return scalar(`${isBin ? 'bin ' : ''}${quote(content, isBin)}`, length);
    };
    const container = (kind: 'map' | 'array', count: number): Node => {
      const headerEnd = this.pos;
      const children: Node[] = [];
      for (let i = 0; i < count * (kind === 'map' ? 2 : 1); i++) children.push(this.node());
      const noun =
        kind === 'map' ? (count === 1 ? 'entry' : 'entries') : count === 1 ? 'element' : 'elements';
      const summary = `${kind}, ${count} ${noun}`;
      return { start, end: this.pos, headerEnd, kind, summary, children };
    };
    if (byte <= 0x7f) return scalar(String(byte));
    if (byte >= 0xe0) return scalar(String(byte - 0x100));
    if (byte <= 0x8f) return container('map', byte & 0x0f);
    if (byte <= 0x9f) return container('array', byte & 0x0f);
    if (byte <= 0xbf) return text(byte & 0x1f, false);
    switch (byte) {
      case 0xc0:
        return scalar('nil');
      case 0xc2:
        return scalar('false');
      case 0xc3:
        return scalar('true');
      case 0xc4:
        return text(this.#u(1), true);
      case 0xc5:
        return text(this.#u(2), true);
      case 0xc6:
        return text(this.#u(4), true);
      case 0xcb:
        return scalar(`${this.buf.readDoubleBE(this.pos)} (float 64)`, 8);
      case 0xcc:
        return scalar(`${this.#u(1)} (uint 8)`);
      case 0xcd:
        return scalar(`${this.#u(2)} (uint 16)`);
      case 0xce:
        return scalar(`${this.#u(4)} (uint 32)`);
      case 0xcf:
        return scalar(`${this.buf.readBigUInt64BE(this.pos)} (uint 64)`, 8);
      case 0xd9:
        return text(this.#u(1), false);
      case 0xda:
        return text(this.#u(2), false);
      case 0xdc:
        return container('array', this.#u(2));
      case 0xde:
        return container('map', this.#u(2));
      default:
        throw new Error(`the annotator does not show byte 0x${byte.toString(16)}`);
    }
  }
}

/** A value short enough to stand on one line with its key: a scalar, or a small all-scalar container. */
function inline(node: Node): string | undefined {
  if (node.end - node.start > BYTES_PER_LINE) return undefined;
  if (node.kind === 'scalar') return node.summary;
  if (node.kind === 'array' && node.children.every((c) => c.kind === 'scalar'))
    return `[${node.children.map((c) => c.summary.replace(/^bin /, '')).join(', ')}]`;
  return undefined;
}

function render(buf: Buffer, node: Node, depth: number, key?: Node): HexLine[] {
  const keyText = key ? `${key.summary}: ` : '';
  const keyBytes = key ? buf.subarray(key.start, key.end) : Buffer.alloc(0);
  const short = inline(node);
  if (short !== undefined && keyBytes.length + node.end - node.start <= BYTES_PER_LINE)
    return [
      {
        depth,
        bytes: Buffer.concat([keyBytes, buf.subarray(node.start, node.end)]),
        comment: keyText + short,
      },
    ];
  const lines: HexLine[] = key ? hexLines(keyBytes, `${key.summary}:`, depth) : [];
  const inner = key ? depth + 1 : depth;
  if (node.kind === 'scalar')
    return [...lines, ...hexLines(buf.subarray(node.start, node.end), node.summary, inner)];
  const pairLike =
    node.kind === 'array' &&
    node.children.length === 2 &&
    node.children.every((c) => c.summary.startsWith('bin '));
  lines.push(
    ...hexLines(
      buf.subarray(node.start, node.headerEnd),
      pairLike ? 'array, 2 elements: a pair' : node.summary,
      inner,
    ),
  );
  if (node.kind === 'map') {
    for (let i = 0; i < node.children.length; i += 2)
      lines.push(...render(buf, node.children[i + 1], inner + 1, node.children[i]));
  } else {
    for (const child of node.children) lines.push(...render(buf, child, inner + 1));
  }
  return lines;
}

/** Annotated lines for one MessagePack value filling `bytes`. */
export function annotateMsgpack(bytes: Buffer, depth = 0): HexLine[] {
  const parser = new Parser(bytes);
  const root = parser.node();
  if (parser.pos !== bytes.length) throw new Error('bytes left over after the value');
  return render(bytes, root, depth);
}

/** Lines as text: hex (two digits, space separated) padded to a column, then the comment. */
export function formatHexLines(lines: HexLine[], commentColumn = 54): string {
  return lines
    .map((line) => {
      const hex =
        '  '.repeat(line.depth) + [...line.bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
      if (!line.comment) return hex;
      return `${hex.padEnd(commentColumn - 1)} ${line.comment}`;
    })
    .join('\n');
}
