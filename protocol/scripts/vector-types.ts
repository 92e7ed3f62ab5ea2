import type { ErrorCodeName } from '../src/index.js';
import type { FrameJson } from './frame-json.js';

/** The JSON files in protocol/vectors/ (their format is described in vectors/README.md). */

export interface DecoderContext {
  /** Whether the input starts with the 8-byte preface (SPEC §3). */
  expect_preface: boolean;
  /** The max_frame_size the decoding side advertised (SPEC §4.1). */
  max_frame_size: number;
}

export interface ValidVector {
  name: string;
  section: string;
  note?: string;
  hex: string;
  valid: true;
  /** False when `hex` is not the canonical encoding of `frame` (decode-only vector). */
  canonical: boolean;
  frame: FrameJson;
}

export interface ErrorVector {
  name: string;
  section: string;
  note: string;
  hex: string;
  error: ErrorCodeName;
}

export interface PrefaceVector {
  name: string;
  section: string;
  note: string;
  hex: string;
  valid?: true;
  error?: ErrorCodeName;
}

export interface VectorFile<T> {
  description: string;
  decoder: DecoderContext;
  vectors: T[];
}
