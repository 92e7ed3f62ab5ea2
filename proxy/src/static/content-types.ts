/**
 * Content-Type by file extension, for the handful of types a static prefix serves in practice. A
 * compact table rather than a dependency: the full IANA registry is thousands of entries, almost
 * none of which ever appear under /static/.
 */

/** Served when the extension is unknown: browsers then download rather than render or sniff. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

// text/* types carry charset=utf-8 because a text type without one defaults to US-ASCII or to
// browser guessing (RFC 6838 §4.2.1); the other types define their encoding themselves (JSON is
// UTF-8 by RFC 8259, XML and SVG declare theirs) or are binary.
const TEXT = '; charset=utf-8';

const BY_EXTENSION: ReadonlyMap<string, string> = new Map([
  // documents and code
  ['html', `text/html${TEXT}`],
  ['htm', `text/html${TEXT}`],
  ['css', `text/css${TEXT}`],
  // RFC 9239: text/javascript is the one registered type for JavaScript, modules included.
  ['js', `text/javascript${TEXT}`],
  ['mjs', `text/javascript${TEXT}`],
  ['cjs', `text/javascript${TEXT}`],
  ['json', 'application/json'],
  ['map', 'application/json'],
  ['webmanifest', 'application/manifest+json'],
  ['jsonld', 'application/ld+json'],
  ['txt', `text/plain${TEXT}`],
  ['md', `text/markdown${TEXT}`],
  ['csv', `text/csv${TEXT}`],
  ['vtt', `text/vtt${TEXT}`],
  ['ics', `text/calendar${TEXT}`],
  ['xml', 'application/xml'],
  ['xhtml', 'application/xhtml+xml'],
  ['rss', 'application/rss+xml'],
  ['atom', 'application/atom+xml'],
  ['pdf', 'application/pdf'],
  ['wasm', 'application/wasm'],
  // images
  ['svg', 'image/svg+xml'],
  ['png', 'image/png'],
  ['apng', 'image/apng'],
  ['jpg', 'image/jpeg'],
  ['jpeg', 'image/jpeg'],
  ['gif', 'image/gif'],
  ['webp', 'image/webp'],
  ['avif', 'image/avif'],
  // image/x-icon rather than the registered image/vnd.microsoft.icon: every browser accepts it.
  ['ico', 'image/x-icon'],
  ['bmp', 'image/bmp'],
  // fonts (RFC 8081)
  ['woff', 'font/woff'],
  ['woff2', 'font/woff2'],
  ['ttf', 'font/ttf'],
  ['otf', 'font/otf'],
  ['eot', 'application/vnd.ms-fontobject'],
  // audio and video
  ['mp4', 'video/mp4'],
  ['m4v', 'video/mp4'],
  ['webm', 'video/webm'],
  ['ogv', 'video/ogg'],
  ['mp3', 'audio/mpeg'],
  ['m4a', 'audio/mp4'],
  ['ogg', 'audio/ogg'],
  ['oga', 'audio/ogg'],
  ['opus', 'audio/ogg'],
  ['wav', 'audio/wav'],
  ['flac', 'audio/flac'],
  // archives: the type of the file itself, never a Content-Encoding (a .gz is served as a .gz)
  ['zip', 'application/zip'],
  ['gz', 'application/gzip'],
  ['tgz', 'application/gzip'],
  ['tar', 'application/x-tar'],
  ['zst', 'application/zstd'],
]);

/** The Content-Type for a file name (the last path segment), by its extension, case-insensitively. */
export function contentTypeFor(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  // No dot, or only a leading one (".profile" has no extension, it is a dotfile).
  if (dot <= 0) return DEFAULT_CONTENT_TYPE;
  return BY_EXTENSION.get(fileName.slice(dot + 1).toLowerCase()) ?? DEFAULT_CONTENT_TYPE;
}
