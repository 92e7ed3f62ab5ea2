/**
 * The hostile-input corpus: raw bytes sent over plain TCP to the real proxy, with a recording
 * worker behind it. Each case states the outcome RFC 9112/9110 (and nginx) call for; where
 * gatewire uses a choice the RFCs leave open or departs from nginx, `note` says how and why.
 *
 * Smuggling shapes carry a canary: a complete second request `GET /canary-<n>` placed where a
 * parser that got the framing wrong would find a request. The worker must never receive it, and
 * a rejected request must close the connection so that nothing after it is processed.
 *
 * The unit corpus (test/unit/http/refusal-corpus.ts) holds the parser to its error codes; this
 * one holds the whole stack to what the client and the worker see.
 */

export interface HostileCase {
  name: string;
  /** The bytes, as latin1 text (or parts written with a pause between them). */
  send: string | string[];
  /** Status codes of the responses, in order (1xx included). */
  statuses: number[];
  /** The proxy must close the connection after them (every refusal does). */
  closes: boolean;
  /** Targets (env.target) the worker must have received from this case, in order. */
  reaches?: string[];
  /** The Host the worker saw for the (single) request that reached it. */
  host?: string;
  /** The body length the worker saw for the (single) request that reached it. */
  bodyLength?: number;
  /** Text the response bytes must contain (case-insensitive). */
  responseIncludes?: string;
  /** Where the RFCs leave a choice, or gatewire departs from nginx: what it does and why. */
  note?: string;
  /** The error code the proxy logs for the refusal (checked against the log line). */
  code?: string;
}

export const HOST = 'Host: hostile.test\r\n';

/** A complete request the worker must never see; `n` makes it unique to the case. */
export function canary(n: number): string {
  return `GET /canary-${n} HTTP/1.1\r\n${HOST}\r\n`;
}

/** Every canary target starts with this. */
export const CANARY_PREFIX = '/canary-';

let n = 0;
const next = (): number => ++n;

/** A smuggling shape: `head` then `body`, then a canary; refused with `status` and closed. */
function smuggle(
  name: string,
  head: string,
  body: string,
  status: number,
  code: string,
  note?: string,
): HostileCase {
  return {
    name,
    send: `${head}\r\n${body}${canary(next())}`,
    statuses: [status],
    closes: true,
    code,
    note,
  };
}

function refused(name: string, send: string, status: number, code: string, note?: string): HostileCase {
  return { name, send: `${send}${canary(next())}`, statuses: [status], closes: true, code, note };
}

const POST = `POST /smuggle HTTP/1.1\r\n${HOST}`;
const GET = (target = '/') => `GET ${target} HTTP/1.1\r\n${HOST}`;
const LONG = 'a'.repeat(40_000);

export const CASES: HostileCase[] = [
  // ── request smuggling: CL.TE, TE.CL, TE obfuscation ──
  smuggle(
    'CL.TE: Content-Length then Transfer-Encoding',
    `${POST}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n`,
    '0\r\n\r\n',
    400,
    'CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
  ),
  smuggle(
    'TE.CL: Transfer-Encoding then Content-Length',
    `${POST}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n`,
    '5c\r\n',
    400,
    'CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
    'RFC 9112 §6.1 lets a server either refuse or go by chunked alone; gatewire refuses (400), as nginx ≥ 1.21.1 does: a request with both is a smuggling attempt',
  ),
  smuggle(
    'TE chunked with Content-Length: 0 (CL.0 + TE)',
    `${POST}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n`,
    '0\r\n\r\n',
    400,
    'CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
  ),
  smuggle(
    'TE: xchunked',
    `${POST}Transfer-Encoding: xchunked\r\n`,
    '0\r\n\r\n',
    400,
    'INVALID_TRANSFER_ENCODING',
    'nginx answers 501 for an unknown coding; gatewire 400: "xchunked" is an obfuscation, not a coding anyone implements',
  ),
  smuggle(
    'TE: chunkedx',
    `${POST}Transfer-Encoding: chunkedx\r\n`,
    '0\r\n\r\n',
    400,
    'INVALID_TRANSFER_ENCODING',
  ),
  smuggle(
    'TE: "chunked" (quoted)',
    `${POST}Transfer-Encoding: "chunked"\r\n`,
    '0\r\n\r\n',
    400,
    'INVALID_TRANSFER_ENCODING',
  ),
  smuggle(
    'TE: chunked, identity',
    `${POST}Transfer-Encoding: chunked, identity\r\n`,
    '0\r\n\r\n',
    400,
    'INVALID_TRANSFER_ENCODING',
  ),
  smuggle(
    'TE: chunked, chunked',
    `${POST}Transfer-Encoding: chunked, chunked\r\n`,
    '0\r\n\r\n',
    400,
    'INVALID_TRANSFER_ENCODING',
  ),
  smuggle(
    'TE in two fields',
    `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n`,
    '0\r\n\r\n',
    400,
    'INVALID_TRANSFER_ENCODING',
  ),
  smuggle('TE: identity', `${POST}Transfer-Encoding: identity\r\n`, '', 400, 'INVALID_TRANSFER_ENCODING'),
  smuggle(
    'TE with a space before the colon',
    `${POST}Transfer-Encoding : chunked\r\n`,
    '0\r\n\r\n',
    400,
    'WHITESPACE_BEFORE_COLON',
  ),
  smuggle(
    'TE value with a vertical tab',
    `${POST}Transfer-Encoding: chunked\x0b\r\n`,
    '0\r\n\r\n',
    400,
    'INVALID_HEADER_VALUE',
  ),
  smuggle(
    'TE value with a NBSP',
    `${POST}Transfer-Encoding: \xa0chunked\r\n`,
    '0\r\n\r\n',
    400,
    'INVALID_TRANSFER_ENCODING',
  ),
  smuggle('TE by obs-fold', `${POST}Transfer-Encoding:\r\n chunked\r\n`, '0\r\n\r\n', 400, 'OBS_FOLD'),
  smuggle(
    'TE name with a trailing HTAB before the colon',
    `${POST}Transfer-Encoding\t: chunked\r\n`,
    '0\r\n\r\n',
    400,
    'WHITESPACE_BEFORE_COLON',
  ),
  smuggle(
    'TE: gzip, chunked (a real coding, not implemented)',
    `${POST}Transfer-Encoding: gzip, chunked\r\n`,
    '0\r\n\r\n',
    501,
    'UNSUPPORTED_TRANSFER_ENCODING',
  ),
  smuggle(
    'TE chunked in HTTP/1.0',
    `POST /smuggle HTTP/1.0\r\n${HOST}Transfer-Encoding: chunked\r\n`,
    '0\r\n\r\n',
    400,
    'TRANSFER_ENCODING_IN_HTTP10',
  ),
  smuggle(
    'TE name with an underscore (Transfer_Encoding) and a CL',
    `${POST}Content-Length: 0\r\nTransfer_Encoding: chunked\r\nX: \x00\r\n`,
    '',
    400,
    'INVALID_HEADER_VALUE',
  ),

  // ── Content-Length games ──
  smuggle(
    'two differing Content-Length',
    `${POST}Content-Length: 0\r\nContent-Length: 38\r\n`,
    '',
    400,
    'DUPLICATE_CONTENT_LENGTH',
  ),
  smuggle(
    'two identical Content-Length',
    `${POST}Content-Length: 0\r\nContent-Length: 0\r\n`,
    '',
    400,
    'DUPLICATE_CONTENT_LENGTH',
    'RFC 9110 §8.6 allows accepting identical values; gatewire refuses like nginx does',
  ),
  smuggle(
    'Content-Length list "0, 0"',
    `${POST}Content-Length: 0, 0\r\n`,
    '',
    400,
    'DUPLICATE_CONTENT_LENGTH',
  ),
  smuggle('Content-Length +0', `${POST}Content-Length: +0\r\n`, '', 400, 'INVALID_CONTENT_LENGTH'),
  smuggle('Content-Length -1', `${POST}Content-Length: -1\r\n`, '', 400, 'INVALID_CONTENT_LENGTH'),
  smuggle('Content-Length 0x0', `${POST}Content-Length: 0x0\r\n`, '', 400, 'INVALID_CONTENT_LENGTH'),
  smuggle(
    'Content-Length with an inner space',
    `${POST}Content-Length: 1 0\r\n`,
    '',
    400,
    'INVALID_CONTENT_LENGTH',
  ),
  smuggle('Content-Length empty', `${POST}Content-Length: \r\n`, '', 400, 'INVALID_CONTENT_LENGTH'),
  smuggle(
    'Content-Length 2^64 + 1',
    `${POST}Content-Length: 18446744073709551617\r\n`,
    '',
    413,
    'BODY_TOO_LARGE',
    'nginx answers 400 for a length that overflows; gatewire reads any digit string and refuses it as over client_max_body_size',
  ),
  {
    name: 'CL.0: a GET with Content-Length whose body is a request: it stays body',
    send: `${GET('/cl0')}Content-Length: ${canary(100).length}\r\n\r\n${canary(100)}`,
    statuses: [200],
    closes: false,
    reaches: ['/cl0'],
    bodyLength: canary(100).length,
  },
  {
    name: 'a chunked GET whose chunk is a request: it stays body',
    send: `${GET('/chunked-get')}Transfer-Encoding: chunked\r\n\r\n${canary(101).length.toString(16)}\r\n${canary(101)}\r\n0\r\n\r\n`,
    statuses: [200],
    closes: false,
    reaches: ['/chunked-get'],
    bodyLength: canary(101).length,
  },

  // ── chunked framing ──
  smuggle(
    'chunk size overflow (17 hex digits)',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '10000000000000000\r\n',
    400,
    'CHUNK_SIZE_TOO_LONG',
  ),
  smuggle(
    'chunk size 2^60 (over the body limit)',
    `${POST}Transfer-Encoding: chunked\r\n`,
    'fffffffffffffff\r\n',
    413,
    'BODY_TOO_LARGE',
  ),
  smuggle(
    'chunk size with 0x',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '0x5\r\nhello\r\n0\r\n\r\n',
    400,
    'INVALID_CHUNK_SIZE',
  ),
  smuggle(
    'chunk size negative',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '-5\r\nhello\r\n0\r\n\r\n',
    400,
    'INVALID_CHUNK_SIZE',
  ),
  smuggle(
    'chunk size empty',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '\r\nhello\r\n0\r\n\r\n',
    400,
    'INVALID_CHUNK_SIZE',
  ),
  smuggle(
    'chunk size ended by a bare LF',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '5\nhello\r\n0\r\n\r\n',
    400,
    'BARE_LF',
  ),
  smuggle(
    'chunk data longer than its size',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '3\r\nhello\r\n0\r\n\r\n',
    400,
    'MISSING_CHUNK_CRLF',
  ),
  smuggle(
    'chunk data ended by LF only',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '5\r\nhello\n0\r\n\r\n',
    400,
    'MISSING_CHUNK_CRLF',
  ),
  smuggle(
    'chunk extension after whitespace',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '5 ;a=b\r\nhello\r\n0\r\n\r\n',
    400,
    'INVALID_CHUNK_EXTENSION',
  ),
  smuggle(
    'chunk extension with an unterminated quote',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '5;a="b\r\nhello\r\n0\r\n\r\n',
    400,
    'INVALID_CHUNK_EXTENSION',
  ),
  smuggle(
    'chunk extension with a control byte',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '5;a=\x01\r\nhello\r\n0\r\n\r\n',
    400,
    'INVALID_CHUNK_EXTENSION',
  ),
  smuggle(
    'chunk extension value without a name',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '5;=b\r\nhello\r\n0\r\n\r\n',
    400,
    'INVALID_CHUNK_EXTENSION',
  ),
  smuggle(
    'trailer with obs-fold',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '0\r\nX-T: a\r\n b\r\n\r\n',
    400,
    'INVALID_TRAILER',
  ),
  smuggle(
    'trailer with a NUL',
    `${POST}Transfer-Encoding: chunked\r\n`,
    '0\r\nX-T: a\x00\r\n\r\n',
    400,
    'INVALID_TRAILER',
  ),
  {
    name: 'a valid chunk extension is ignored; the body reaches the worker',
    send: `${POST.replace('/smuggle', '/chunk-ext')}Transfer-Encoding: chunked\r\n\r\n5;name="v";x=y\r\nhello\r\n0\r\n\r\n`,
    statuses: [200],
    closes: false,
    reaches: ['/chunk-ext'],
    bodyLength: 5,
  },

  // ── header syntax: obs-fold, bare CR/LF, NUL, invalid names ──
  refused(
    'obs-fold in an ordinary field',
    `${GET()}X-A: a\r\n b\r\n\r\n`,
    400,
    'OBS_FOLD',
    'RFC 9112 §5.2 lets a server either refuse obs-fold or replace it with spaces; gatewire refuses: a folded line read differently by a front and a back is a smuggling vector',
  ),
  refused('bare CR inside a value', `${GET()}X-A: a\rb\r\n\r\n`, 400, 'BARE_CR'),
  refused('bare CR ending a line', `${GET()}X-A: a\r\r\n\r\n`, 400, 'BARE_CR'),
  refused(
    'bare LF line endings',
    `GET / HTTP/1.1\n${HOST.replace('\r\n', '\n')}\n`,
    400,
    'BARE_LF',
    'RFC 9112 §2.2 lets a recipient accept a bare LF and nginx does; gatewire refuses it: a front and a back that disagree on line ends is how requests get smuggled',
  ),
  refused('bare LF inside a value', `${GET()}X-A: a\nb\r\n\r\n`, 400, 'BARE_LF'),
  refused('NUL in a value', `${GET()}X-A: a\x00b\r\n\r\n`, 400, 'INVALID_HEADER_VALUE'),
  refused('DEL in a value', `${GET()}X-A: a\x7fb\r\n\r\n`, 400, 'INVALID_HEADER_VALUE'),
  refused('ESC in a value', `${GET()}X-A: \x1b[31m\r\n\r\n`, 400, 'INVALID_HEADER_VALUE'),
  refused(
    'field name with @',
    `${GET()}X@A: 1\r\n\r\n`,
    400,
    'INVALID_HEADER_NAME',
    'nginx with ignore_invalid_headers drops such a field and serves the request; gatewire refuses it',
  ),
  refused('field name with a non-ASCII byte', `${GET()}X-\xe9: 1\r\n\r\n`, 400, 'INVALID_HEADER_NAME'),
  refused('empty field name', `${GET()}: 1\r\n\r\n`, 400, 'INVALID_HEADER_NAME'),
  refused('field line without a colon', `${GET()}X-A 1\r\n\r\n`, 400, 'WHITESPACE_BEFORE_COLON'),
  refused('whitespace before the first field', `GET / HTTP/1.1\r\n ${HOST}\r\n`, 400, 'OBS_FOLD'),

  // ── request line ──
  refused('NUL in the target', `GET /a\x00b HTTP/1.1\r\n${HOST}\r\n`, 400, 'INVALID_TARGET'),
  refused('raw space inside the target', `GET /a b HTTP/1.1\r\n${HOST}\r\n`, 400, 'INVALID_VERSION'),
  refused('fragment in the target', `GET /a#b HTTP/1.1\r\n${HOST}\r\n`, 400, 'INVALID_TARGET'),
  refused('two spaces after the method', `GET  / HTTP/1.1\r\n${HOST}\r\n`, 400, 'INVALID_REQUEST_LINE'),
  refused('lowercase method', `get / HTTP/1.1\r\n${HOST}\r\n`, 501, 'UNKNOWN_METHOD'),
  refused('method with @', `G@T / HTTP/1.1\r\n${HOST}\r\n`, 400, 'INVALID_METHOD'),
  refused('CONNECT', `CONNECT hostile.test:443 HTTP/1.1\r\n${HOST}\r\n`, 501, 'CONNECT_NOT_SUPPORTED'),
  refused('HTTP/1.2', `GET / HTTP/1.2\r\n${HOST}\r\n`, 505, 'UNSUPPORTED_VERSION'),
  refused('HTTP/2.0 in an HTTP/1 request line', `GET / HTTP/2.0\r\n${HOST}\r\n`, 505, 'UNSUPPORTED_VERSION'),
  refused('lowercase version', `GET / http/1.1\r\n${HOST}\r\n`, 400, 'INVALID_VERSION'),
  refused(
    'HTTP/0.9 request line',
    'GET /\r\n',
    505,
    'UNSUPPORTED_VERSION',
    'nginx serves HTTP/0.9 for GET; gatewire does not speak it',
  ),
  refused(
    'TLS ClientHello on the plain port',
    '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03',
    400,
    'INVALID_METHOD',
  ),

  // ── oversize ──
  refused(
    'request target over maxTargetBytes',
    `GET /${'t'.repeat(9000)} HTTP/1.1\r\n${HOST}\r\n`,
    414,
    'TARGET_TOO_LONG',
  ),
  refused(
    'one field over maxHeaderBytes',
    `${GET()}X-Long: ${LONG}\r\n\r\n`,
    431,
    'HEADER_TOO_LARGE',
    'nginx answers 400 "Request Header Or Cookie Too Large"; RFC 6585 §5 has 431 for it',
  ),
  refused(
    '101 fields (over maxHeaderCount)',
    `${GET()}${'X-F: 1\r\n'.repeat(101)}\r\n`,
    431,
    'TOO_MANY_HEADERS',
  ),
  smuggle(
    'Content-Length over maxBodyBytes',
    `${POST}Content-Length: 2000000\r\n`,
    '',
    413,
    'BODY_TOO_LARGE',
  ),
  smuggle(
    'chunked body over maxBodyBytes',
    `${POST}Transfer-Encoding: chunked\r\n`,
    `${(1_100_000).toString(16)}\r\n`,
    413,
    'BODY_TOO_LARGE',
  ),

  // ── Host ──
  refused('no Host in HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400, 'MISSING_HOST'),
  refused('two Host fields', `GET / HTTP/1.1\r\n${HOST}Host: other.test\r\n\r\n`, 400, 'DUPLICATE_HOST'),
  refused('Host with a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400, 'INVALID_HOST'),
  refused('Host with a slash', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', 400, 'INVALID_HOST'),
  refused('Host with userinfo', 'GET / HTTP/1.1\r\nHost: user@a\r\n\r\n', 400, 'INVALID_HOST'),
  refused('Host port over 65535', 'GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n', 400, 'INVALID_HOST'),
  refused('Host with an unclosed IPv6 literal', 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n', 400, 'INVALID_HOST'),

  // ── absolute-form and other target forms ──
  {
    name: 'absolute-form: the target authority wins over Host (RFC 9112 §3.2.2)',
    send: `GET http://absolute.test/abs?q=1 HTTP/1.1\r\nHost: other.test\r\n\r\n`,
    statuses: [200],
    closes: false,
    reaches: ['http://absolute.test/abs?q=1'],
    host: 'absolute.test',
  },
  refused(
    'absolute-form with another scheme',
    `GET ftp://hostile.test/ HTTP/1.1\r\n${HOST}\r\n`,
    400,
    'INVALID_TARGET',
  ),
  refused(
    'absolute-form with userinfo',
    `GET http://u@hostile.test/ HTTP/1.1\r\n${HOST}\r\n`,
    400,
    'INVALID_TARGET',
  ),
  refused('absolute-form without a host', `GET http:/// HTTP/1.1\r\n${HOST}\r\n`, 400, 'INVALID_TARGET'),
  refused(
    'authority-form without CONNECT',
    `GET hostile.test:80 HTTP/1.1\r\n${HOST}\r\n`,
    400,
    'INVALID_TARGET',
  ),
  refused('asterisk-form without OPTIONS', `GET * HTTP/1.1\r\n${HOST}\r\n`, 400, 'INVALID_TARGET'),

  // ── Expect ──
  {
    name: 'Expect: 100-continue with a body: 100, then the answer',
    send: [
      `${POST.replace('/smuggle', '/expect')}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n`,
      'hello',
    ],
    statuses: [100, 200],
    closes: false,
    reaches: ['/expect'],
    bodyLength: 5,
  },
  refused('Expect: something-else', `${GET()}Expect: something-else\r\n\r\n`, 417, 'UNSUPPORTED_EXPECTATION'),
  refused(
    'Expect: 100-continue, foo (a list)',
    `${GET()}Expect: 100-continue, foo\r\n\r\n`,
    417,
    'UNSUPPORTED_EXPECTATION',
  ),
  smuggle(
    'Expect: 100-continue over maxBodyBytes: 413, no 100, the body never read',
    `${POST}Content-Length: 5000000\r\nExpect: 100-continue\r\n`,
    '',
    413,
    'BODY_TOO_LARGE',
  ),

  // ── what a worker answers ──
  {
    name: 'a 426 from the worker keeps its Upgrade field (RFC 9110 §15.5.22)',
    send: `${GET('/upgrade-required')}\r\n`,
    statuses: [426],
    closes: false,
    reaches: ['/upgrade-required'],
    responseIncludes: '\r\nupgrade: h2c\r\n',
  },

  // ── pipelining after a rejection ──
  {
    name: 'pipelined: good, then a refused request, then a canary',
    send: `${GET('/pipe-1')}\r\n${GET('/pipe-bad')}X-A: \x00\r\n\r\n${canary(next())}`,
    statuses: [200, 400],
    closes: true,
    reaches: ['/pipe-1'],
    code: 'INVALID_HEADER_VALUE',
  },
  {
    name: 'pipelined: a refused smuggling shape with keep-alive asked, then a canary',
    send: `${POST}Connection: keep-alive\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n${canary(next())}`,
    statuses: [400],
    closes: true,
    code: 'DUPLICATE_CONTENT_LENGTH',
  },
  {
    name: 'pipelined: two good requests, both answered in order, connection kept',
    send: `${GET('/pipe-a')}\r\n${GET('/pipe-b')}\r\n`,
    statuses: [200, 200],
    closes: false,
    reaches: ['/pipe-a', '/pipe-b'],
  },
  {
    name: 'pipelined: a body-too-large request, then a canary inside its would-be body',
    send: `${POST}Content-Length: 1048577\r\n\r\n${canary(next())}`,
    statuses: [413],
    closes: true,
    code: 'BODY_TOO_LARGE',
  },
  {
    name: 'pipelined: a bad chunk in the second request; the first is served, nothing after',
    send: `${GET('/pipe-c')}\r\n${POST}Transfer-Encoding: chunked\r\n\r\nzz\r\n${canary(next())}`,
    statuses: [200, 400],
    closes: true,
    reaches: ['/pipe-c'],
    code: 'INVALID_CHUNK_SIZE',
  },
];
