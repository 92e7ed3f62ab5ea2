/**
 * Deterministic JSON layout for the committed vector files: a value that fits on its line (within
 * `width` columns) stays on one line, anything larger is expanded, 2 spaces per level.
 */
export function formatJson(value: unknown, width = 110): string {
  return `${layout(value, 0, 0, width)}\n`;
}

/** `indent`: the line's indentation; `used`: columns already taken on the first line (a key). */
function layout(value: unknown, indent: number, used: number, width: number): string {
  const flat = JSON.stringify(value);
  if (flat === undefined) throw new TypeError('value has no JSON form');
  if (typeof value !== 'object' || value === null || indent + used + flat.length <= width) return flat;
  const pad = ' '.repeat(indent + 2);
  const end = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => pad + layout(item, indent + 2, 0, width)).join(',\n')}\n${end}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  const lines = entries.map(([key, item]) => {
    const prefix = `${JSON.stringify(key)}: `;
    return pad + prefix + layout(item, indent + 2, prefix.length, width);
  });
  return `{\n${lines.join(',\n')}\n${end}}`;
}
