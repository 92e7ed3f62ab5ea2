import { authProof, type Environ, type Hello, type ResponseHead } from '../src/index.js';

/**
 * Fixed inputs of the vectors and SPEC examples. Nonces and the secret are fixed so that every
 * HMAC proof is deterministic (SPEC §5.4); real connections use fresh random nonces.
 */

/** 32 bytes 0x00…0x1f. */
export const PROXY_NONCE = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
/** 32 bytes 0xe0…0xff. */
export const WORKER_NONCE = Buffer.from(Array.from({ length: 32 }, (_, i) => 0xe0 + i));
/** The shared secret S of the auth vectors (GATEWIRE_SECRET, UTF-8). */
export const SECRET = Buffer.from('gatewire-vectors-secret', 'utf8');
export const WRONG_SECRET = Buffer.from('not-the-secret', 'utf8');

export const PROXY_PROOF = authProof(SECRET, 'proxy', PROXY_NONCE, WORKER_NONCE);
export const WORKER_PROOF = authProof(SECRET, 'worker', PROXY_NONCE, WORKER_NONCE);

export const PROXY_HELLO: Hello = {
  version: 1,
  role: 'proxy',
  maxFrameSize: 262_144,
  initialWindow: 262_144,
  maxStreams: 0,
  features: ['trailers', 'upgrade', 'health'],
  nonce: PROXY_NONCE,
  server: 'gatewire-proxy/0.1.0',
  pid: 4242,
};

export const WORKER_HELLO: Hello = {
  version: 1,
  role: 'worker',
  maxFrameSize: 262_144,
  initialWindow: 262_144,
  maxStreams: 64,
  features: ['trailers', 'health'],
  nonce: WORKER_NONCE,
  server: 'gatewire-wsgi/0.1.0',
  pid: 4243,
  name: 'shop',
};

/** A browser request with a duplicate field, raw UTF-8, ISO-8859-1 and non-UTF-8 bytes in values. */
export const GET_ENVIRON: Environ = {
  method: 'GET',
  target: '/search?q=caf%C3%A9&lang=de',
  path: '/search',
  query: 'q=caf%C3%A9&lang=de',
  httpVersion: 'HTTP/1.1',
  headers: [
    ['host', 'www.example.com'],
    ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0'],
    ['accept', 'text/html,application/xhtml+xml'],
    ['accept-language', 'de-CH,de;q=0.9'],
    ['accept-encoding', 'gzip, br'],
    ['cookie', 'session=abc123; pref=\xff\xfe'],
    ['cookie', 'theme=dark'],
    ['referer', 'https://www.example.com/caf\xc3\xa9'],
    ['x-city', 'Z\xfcrich'],
    ['if-none-match', '"v1"'],
    ['x-forwarded-for', '198.51.100.7'],
    ['x-request-id', 'req-7f3a'],
  ],
  scheme: 'https',
  clientAddr: '198.51.100.7',
  clientPort: 52344,
  serverAddr: '10.0.0.2',
  serverPort: 443,
  serverName: 'www.example.com',
  requestId: 'req-7f3a',
  bodyLength: 0,
  scriptName: '',
  upgrade: '',
};

export const POST_ENVIRON: Environ = {
  method: 'POST',
  target: '/api/items',
  path: '/api/items',
  query: '',
  httpVersion: 'HTTP/1.1',
  headers: [
    ['host', 'api.example.com'],
    ['content-type', 'application/json'],
    ['content-length', '11'],
  ],
  scheme: 'http',
  clientAddr: '192.0.2.10',
  clientPort: 40000,
  serverAddr: '192.0.2.1',
  serverPort: 80,
  serverName: 'api.example.com',
  requestId: 'req-0002',
  bodyLength: 11,
  scriptName: '',
  upgrade: '',
};

/** Every key present (16: a map 16), mounted under /chat, asking for a WebSocket tunnel. */
export const UPGRADE_ENVIRON: Environ = {
  method: 'GET',
  target: '/chat/socket',
  path: '/chat/socket',
  query: '',
  httpVersion: 'HTTP/1.1',
  headers: [
    ['host', 'chat.example.com'],
    ['connection', 'Upgrade'],
    ['upgrade', 'websocket'],
    ['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ=='],
    ['sec-websocket-version', '13'],
  ],
  scheme: 'https',
  clientAddr: '2001:db8::1',
  clientPort: 61000,
  serverAddr: '2001:db8::2',
  serverPort: 443,
  serverName: 'chat.example.com',
  requestId: 'req-0003',
  bodyLength: 0,
  scriptName: '/chat',
  upgrade: 'websocket',
};

/** `OPTIONS * HTTP/1.0` from a client that is not on IP: no headers, empty address, port 0. */
export const OPTIONS_ENVIRON: Environ = {
  method: 'OPTIONS',
  target: '*',
  path: '*',
  query: '',
  httpVersion: 'HTTP/1.0',
  headers: [],
  scheme: 'http',
  clientAddr: '',
  clientPort: 0,
  serverAddr: '127.0.0.1',
  serverPort: 8080,
  serverName: 'localhost',
  requestId: '1',
  bodyLength: 0,
  scriptName: '',
  upgrade: '',
};

/** Absolute-form target, percent-encoded slash kept, lowercase method kept as received. */
export const ABSOLUTE_FORM_ENVIRON: Environ = {
  ...OPTIONS_ENVIRON,
  method: 'get',
  target: 'http://example.com:8080/a/b%2Fc?x=1',
  path: '/a/b%2Fc',
  query: 'x=1',
  httpVersion: 'HTTP/1.1',
  headers: [['host', 'example.com:8080']],
  serverName: 'example.com',
  requestId: '2',
};

/**
 * Larger forms: 20 header pairs (array 16), a 300-byte cookie (bin 16), a 40-character request id
 * (str 8), ports in uint 16 and uint 8, a body length above 2^32 (uint 64), chunked-free.
 */
export const BIG_ENVIRON: Environ = {
  method: 'PUT',
  target: '/blobs/7',
  path: '/blobs/7',
  query: '',
  httpVersion: 'HTTP/1.1',
  headers: [
    ['host', 'blobs.example.com'],
    ['cookie', `big=${'c'.repeat(296)}`],
    ...Array.from({ length: 18 }, (_, i): [string, string] => [`x-h${i}`, `v${i}`]),
  ],
  scheme: 'https',
  clientAddr: '203.0.113.9',
  clientPort: 65535,
  serverAddr: '203.0.113.1',
  serverPort: 200,
  serverName: 'blobs.example.com',
  requestId: '0123456789abcdef0123456789abcdef01234567',
  bodyLength: 5_000_000_000,
  scriptName: '',
  upgrade: '',
};

export const CHUNKED_ENVIRON: Environ = {
  ...POST_ENVIRON,
  target: '/api/upload',
  path: '/api/upload',
  headers: [
    ['host', 'api.example.com'],
    ['content-type', 'text/plain'],
  ],
  requestId: 'req-0004',
  bodyLength: null,
};

export const OK_RESPONSE: ResponseHead = {
  status: 200,
  headers: [
    ['content-type', 'text/html; charset=utf-8'],
    ['content-length', '13'],
    ['set-cookie', 'a=1; Path=/'],
    ['set-cookie', 'b=2; Path=/'],
    ['x-raw', 'caf\xe9 \xff'],
  ],
  reason: '',
};
