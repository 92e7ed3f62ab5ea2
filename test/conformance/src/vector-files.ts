import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shapes of protocol/vectors/*.json (see its README.md). */
export interface VectorFrame {
  type: string;
  flags: number;
  stream_id: number;
  payload?: unknown;
  note?: string;
}

export interface FrameVector {
  name: string;
  section: string;
  note?: string;
  hex: string;
  valid?: boolean;
  canonical?: boolean;
  frame: VectorFrame;
}

export interface ErrorVector {
  name: string;
  section: string;
  note?: string;
  hex: string;
  error: string;
}

export interface PrefaceVector {
  name: string;
  section: string;
  note?: string;
  hex: string;
  valid?: boolean;
  error?: string;
}

export interface SequenceStep {
  send?: VectorFrame;
  hex?: string;
  proof?: { role: 'proxy' | 'worker'; secret: string };
  expect?: Partial<VectorFrame> & { type: string };
  example?: string;
}

export interface Sequence {
  name: string;
  section: string;
  note?: string;
  subject: 'worker' | 'proxy';
  subject_hello: Record<string, unknown>;
  requires?: string;
  steps: SequenceStep[];
}

export interface SequenceFile {
  secret: { $bin: string };
  wrong_secret: { $bin: string };
  skippable: string[];
  sequences: Sequence[];
}

export interface VectorFiles {
  dir: string;
  frames: FrameVector[];
  errors: ErrorVector[];
  preface: PrefaceVector[];
  sequences: SequenceFile;
}

/** Where protocol/vectors is: shipped in @gatewire/protocol (its `files`), or beside this repo's test/. */
function vectorDir(): string | undefined {
  const candidates: string[] = [];
  try {
    const main = createRequire(import.meta.url).resolve('@gatewire/protocol');
    candidates.push(join(dirname(main), '..', 'vectors'));
  } catch {
    // Not resolvable from here; try the repository layout.
  }
  candidates.push(fileURLToPath(new URL('../../../protocol/vectors', import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'sequences.json')));
}

let cached: VectorFiles | { error: string } | undefined;

/** Loads the vector files once; an error message when they cannot be found or read. */
export function loadVectors(): VectorFiles | { error: string } {
  if (cached) return cached;
  const dir = vectorDir();
  if (!dir) {
    cached = {
      error:
        'protocol/vectors (sequences.json, errors.json, frames.json, preface.json) not found next to @gatewire/protocol',
    };
    return cached;
  }
  try {
    const read = <T>(name: string): T => JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;
    cached = {
      dir,
      frames: read<{ vectors: FrameVector[] }>('frames.json').vectors,
      errors: read<{ vectors: ErrorVector[] }>('errors.json').vectors,
      preface: read<{ vectors: PrefaceVector[] }>('preface.json').vectors,
      sequences: read<SequenceFile>('sequences.json'),
    };
  } catch (error) {
    cached = { error: `cannot read the vectors in ${dir}: ${(error as Error).message}` };
  }
  return cached;
}

export function binOf(value: unknown): Buffer {
  if (
    value &&
    typeof value === 'object' &&
    '$bin' in value &&
    typeof (value as { $bin: unknown }).$bin === 'string'
  ) {
    return Buffer.from((value as { $bin: string }).$bin, 'latin1');
  }
  throw new Error(`expected {"$bin": …}, got ${JSON.stringify(value)}`);
}
