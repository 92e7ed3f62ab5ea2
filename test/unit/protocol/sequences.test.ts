import { FRAME_TYPE_NAMES, FrameType, PREFACE, decodeFrames, type DecodedFrame } from '@gatewire/protocol';
import { describe, expect, it } from 'vitest';
import { frameToJson, helloFromJson, type FrameJson } from '../../../protocol/scripts/frame-json.js';
import { decodeJson } from '../../../protocol/scripts/msgpack-json.js';
import type { ExpectStep, Sequence, Step } from '../../../protocol/scripts/sequence-vectors.js';
import {
  binBytes,
  fromHex,
  isWireMap,
  wireEqual,
  type WireJson,
} from '../../../protocol/scripts/wire-json.js';
import { ReferencePeer } from './reference-peer.js';
import { sequencesFile } from './vector-files.js';

type Item = 'PREFACE' | 'CLOSE' | DecodedFrame;

/** What the subject wrote, as the script sees it: its preface, its frames, then CLOSE if it closed. */
function itemsOf(peer: ReferencePeer): Item[] {
  const all = Buffer.concat(peer.output);
  expect(all.subarray(0, 8).equals(PREFACE)).toBe(true);
  const frames = decodeFrames(all.subarray(8), { expectPreface: false, maxFrameSize: 16_777_215 });
  return ['PREFACE', ...frames, ...(peer.closed ? (['CLOSE'] as const) : [])];
}

function patternMatches(pattern: WireJson | undefined, value: WireJson): boolean {
  if (pattern === undefined) return true;
  if (isWireMap(pattern) && isWireMap(value))
    return Object.entries(pattern).every(([key, item]) => key in value && patternMatches(item, value[key]));
  return wireEqual(pattern, value);
}

function describeItem(item: Item | undefined): string {
  if (item === undefined) return 'nothing';
  if (typeof item === 'string') return item;
  return JSON.stringify(frameToJson(item));
}

function matches(expectation: ExpectStep['expect'], item: Item | undefined): boolean {
  if (item === undefined) return false;
  if (typeof item === 'string') return item === expectation.type;
  const frame = frameToJson(item);
  return (
    frame.type === expectation.type &&
    (expectation.flags === undefined || frame.flags === expectation.flags) &&
    (expectation.stream_id === undefined || frame.stream_id === expectation.stream_id) &&
    patternMatches(expectation.payload, frame.payload)
  );
}

/** The generic meaning of a frame's bytes (no semantic validation: illegal frames are sent on purpose). */
function rawMeaning(frame: DecodedFrame): FrameJson['payload'] {
  switch (frame.type) {
    case FrameType.DATA:
    case FrameType.PING:
    case FrameType.PONG:
      return { $bin: frame.payload.toString('latin1') };
    case FrameType.WINDOW:
      return { increment: frame.payload.readUInt32BE(0) };
    case FrameType.RECALL:
      return null;
    default:
      return decodeJson(frame.payload);
  }
}

function play(sequence: Sequence): void {
  const secret = binBytes(sequencesFile.secret);
  const peer = new ReferencePeer(sequence.subject, helloFromJson(sequence.subject_hello), secret);
  const skippable = new Set<string>(sequencesFile.skippable);
  let pending: Buffer[] = [];
  let cursor = 0;
  const flush = () => {
    if (pending.length > 0) peer.push(Buffer.concat(pending));
    pending = [];
  };
  sequence.steps.forEach((step: Step, index) => {
    if ('send' in step) {
      pending.push(fromHex(step.hex));
      return;
    }
    flush();
    const items = itemsOf(peer);
    for (;;) {
      const item = items[cursor];
      if (typeof item !== 'object') break;
      const type = FRAME_TYPE_NAMES[item.type] ?? '';
      if (!skippable.has(type) || type === step.expect.type) break;
      cursor++;
    }
    expect(
      matches(step.expect, items[cursor]),
      `step ${index}: expected ${JSON.stringify(step.expect)}, subject sent ${describeItem(items[cursor])}`,
    ).toBe(true);
    cursor++;
  });
  flush();
  const rest = itemsOf(peer).slice(cursor);
  expect(rest.map(describeItem), 'the subject sent more than the sequence expects').toEqual([]);
}

describe('sequences: played against a reference peer written from the SPEC', () => {
  const { sequences } = sequencesFile;

  it('has unique names and both subjects', () => {
    expect(new Set(sequences.map((s) => s.name)).size).toBe(sequences.length);
    expect(new Set(sequences.map((s) => s.subject))).toEqual(new Set(['worker', 'proxy']));
  });

  it.each(sequences.map((s) => [s.name, s] as const))('%s', (_, sequence) => play(sequence));

  it.each(sequences.map((s) => [s.name, s] as const))('%s: every step describes its bytes', (_, sequence) => {
    for (const step of sequence.steps) {
      if ('send' in step) {
        const bytes = fromHex(step.hex);
        if (step.send.type === 'PREFACE') expect(bytes.equals(PREFACE)).toBe(true);
        if (step.send.type === 'PREFACE' || step.send.type === 'RAW') continue;
        const send = step.send as FrameJson;
        const [frame, ...more] = decodeFrames(bytes, { expectPreface: false, maxFrameSize: 16_777_215 });
        expect(more).toEqual([]);
        expect(frame.type).toBe(FrameType[send.type]);
        expect(frame.flags).toBe(send.flags);
        expect(frame.streamId).toBe(send.stream_id);
        expect(JSON.stringify(rawMeaning(frame))).toBe(JSON.stringify(send.payload));
      } else if (step.example !== undefined) {
        const [frame] = decodeFrames(fromHex(step.example), {
          expectPreface: false,
          maxFrameSize: 16_777_215,
        });
        expect(matches(step.expect, frame)).toBe(true);
      }
    }
  });

  it('fails a sequence whose expectation the subject does not meet', () => {
    const original = sequences.find((s) => s.name === 'data-beyond-window')!;
    const wrongCode = structuredClone(original);
    const goaway = wrongCode.steps.find((s) => 'expect' in s && s.expect.type === 'GOAWAY') as ExpectStep;
    goaway.expect.payload = { code: 1 };
    expect(() => play(wrongCode)).toThrow(/step \d+: expected/);
    const missingClose = structuredClone(original);
    missingClose.steps.pop();
    expect(() => play(missingClose)).toThrow(/more than the sequence expects/);
  });

  it('ends every sequence with CLOSE or with a PONG that proves the connection alive', () => {
    for (const sequence of sequences) {
      const last = sequence.steps.at(-1) as ExpectStep;
      expect(['CLOSE', 'PONG'], sequence.name).toContain(last.expect.type);
    }
  });
});
