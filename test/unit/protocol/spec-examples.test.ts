import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FRAME_TYPE_NAMES, PREFACE, decodeFrames } from '@gatewire/protocol';
import { describe, expect, it } from 'vitest';
import { frameToJson } from '../../../protocol/scripts/frame-json.js';
import { EXAMPLE_NAMES, withExamples } from '../../../protocol/scripts/spec-examples.js';
import { wireEqual, type WireJson } from '../../../protocol/scripts/wire-json.js';

const SPEC = readFileSync(fileURLToPath(new URL('../../../protocol/SPEC.md', import.meta.url)), 'utf8');
/** Hex occupies the line up to this column; the comment starts after it (spec-examples.ts). */
const HEX_COLUMN = 57;

function section17(spec: string): string {
  const start = spec.indexOf('## 17. Worked examples');
  const end = spec.indexOf('\n## 18.', start);
  expect(start).toBeGreaterThan(0);
  return spec.slice(start, end);
}

interface Block {
  lang: string;
  body: string;
}

function blocks(markdown: string): Block[] {
  return [...markdown.matchAll(/```(\w+)\n([\s\S]*?)\n```/g)].map((m) => ({ lang: m[1], body: m[2] }));
}

function hexOf(block: string): { bytes: Buffer; comments: string[] } {
  const bytes: number[] = [];
  const comments: string[] = [];
  for (const line of block.split('\n')) {
    const tokens = line.slice(0, HEX_COLUMN).trim().split(/\s+/);
    for (const token of tokens) {
      expect(token, `hex column of: ${line}`).toMatch(/^[0-9a-f]{2}$/);
      bytes.push(parseInt(token, 16));
    }
    comments.push(line.slice(HEX_COLUMN).trim());
  }
  return { bytes: Buffer.from(bytes), comments };
}

describe('SPEC §17 worked examples', () => {
  it('are what protocol/scripts/generate-spec-examples.ts produces from the codec now', () => {
    // On failure: run `npx tsx protocol/scripts/generate-spec-examples.ts` and review the diff.
    expect(withExamples(SPEC) === SPEC).toBe(true);
  });

  it.each(EXAMPLE_NAMES)('keeps the markers of %s', (name) => {
    expect(SPEC).toContain(`<!-- examples:${name} -->`);
    expect(SPEC).toContain(`<!-- /examples:${name} -->`);
  });

  it('decodes every hex block to the meaning shown after it, header comments included', () => {
    const all = blocks(section17(SPEC));
    let frames = 0;
    let prefaces = 0;
    for (let i = 0; i < all.length; i++) {
      expect(all[i].lang).toBe('text');
      const { bytes, comments } = hexOf(all[i].body);
      if (bytes.equals(PREFACE)) {
        prefaces++;
        continue;
      }
      const decoded = decodeFrames(bytes, { expectPreface: false, maxFrameSize: 16_777_215 });
      expect(decoded).toHaveLength(1);
      const [frame] = decoded;
      expect(bytes.length).toBe(10 + frame.payload.length);
      expect(comments.slice(0, 4)).toEqual([
        `length ${frame.payload.length}`,
        `type 0x${frame.type.toString(16).padStart(2, '0')} ${FRAME_TYPE_NAMES[frame.type]}`,
        `flags 0x${frame.flags.toString(16).padStart(2, '0')}${frame.flags & 1 ? ' (END_STREAM)' : ''}`,
        `stream id ${frame.streamId}`,
      ]);
      const meaning = all[++i];
      expect(meaning.lang).toBe('json');
      expect(wireEqual(frameToJson(frame), JSON.parse(meaning.body) as WireJson)).toBe(true);
      frames++;
    }
    // Handshake: 2 prefaces + 2 HELLOs; GET: 3 frames; POST: 8 frames.
    expect({ prefaces, frames }).toEqual({ prefaces: 2, frames: 13 });
  });
});
