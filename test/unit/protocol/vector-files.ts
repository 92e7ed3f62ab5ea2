import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SequenceFile } from '../../../protocol/scripts/sequence-vectors.js';
import type {
  ErrorVector,
  PrefaceVector,
  ValidVector,
  VectorFile,
} from '../../../protocol/scripts/vector-types.js';

/** The committed vector files, read as any other implementation would read them. */
export const VECTORS_DIR = fileURLToPath(new URL('../../../protocol/vectors/', import.meta.url));

function load<T>(name: string): T {
  return JSON.parse(readFileSync(VECTORS_DIR + name, 'utf8')) as T;
}

export const framesFile = load<VectorFile<ValidVector>>('frames.json');
export const errorsFile = load<VectorFile<ErrorVector>>('errors.json');
export const prefaceFile = load<VectorFile<PrefaceVector>>('preface.json');
export const sequencesFile = load<SequenceFile>('sequences.json');
