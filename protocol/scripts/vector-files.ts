import { buildErrorsFile, buildFramesFile, buildPrefaceFile } from './frame-vectors.js';
import { formatJson } from './json-format.js';
import { buildSequencesFile } from './sequence-vectors.js';

/** The committed files of protocol/vectors/ (README.md aside), name → exact content. */
export function renderVectorFiles(): Map<string, string> {
  return new Map([
    ['preface.json', formatJson(buildPrefaceFile())],
    ['frames.json', formatJson(buildFramesFile())],
    ['errors.json', formatJson(buildErrorsFile())],
    ['sequences.json', formatJson(buildSequencesFile())],
  ]);
}
