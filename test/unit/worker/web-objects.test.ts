/**
 * The lightweight Request and the fast Response must behave like undici's: instanceof, every
 * member, body rules, errors. Tested against the real classes side by side.
 */
import { describe, expect, it } from 'vitest';
import type { Environ } from '@gatewire/protocol';
import { GatewayRequest, requestUrl } from '../../../worker-runtime/src/gateway-request.js';
import { LightResponse } from '../../../worker-runtime/src/light-response.js';
import { NativeRequest, NativeResponse } from '../../../worker-runtime/src/native-web-classes.js';
import { RequestBody } from '../../../worker-runtime/src/request-body.js';
import { installWebGlobals } from '../../../worker-runtime/src/web-globals.js';

installWebGlobals();

function environ(overrides: Partial<Environ> = {}): Environ {
  return {
    method: 'POST',
    target: '/p/q?x=1',
    path: '/p/q',
    query: 'x=1',
    httpVersion: 'HTTP/1.1',
    headers: [
      ['host', 'example.org'],
      ['content-type', 'application/json'],
      ['x-multi', 'a'],
      ['x-multi', 'b'],
    ],
    scheme: 'https',
    clientAddr: '10.0.0.1',
    clientPort: 5555,
    serverAddr: '10.0.0.2',
    serverPort: 443,
    serverName: 'example.org',
    requestId: 'r1',
    bodyLength: null,
    scriptName: '',
    upgrade: '',
    ...overrides,
  };
}

class Source {
  readonly environ: Environ;
  readonly body: RequestBody | null;
  readonly controller = new AbortController();
  credit = 0;
  constructor(env: Environ, chunks: string[] | null) {
    this.environ = env;
    this.body = chunks === null ? null : new RequestBody({ consumed: (bytes) => (this.credit += bytes) });
    if (this.body !== null && chunks !== null) {
      for (const chunk of chunks) this.body.push(Buffer.from(chunk));
      this.body.end(null);
    }
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
}

function lightRequest(env = environ(), chunks: string[] | null = ['{"a":', '1}']): Request {
  return new GatewayRequest(new Source(env, chunks)) as unknown as Request;
}

describe('GatewayRequest', () => {
  it('is a Request and answers the common members without building one', () => {
    const request = lightRequest();
    expect(request instanceof Request).toBe(true);
    expect(request instanceof NativeRequest).toBe(true);
    expect(request.method).toBe('POST');
    expect(request.url).toBe('https://example.org/p/q?x=1');
    expect(request.headers.get('x-multi')).toBe('a, b');
    expect(request.headers.get('content-type')).toBe('application/json');
    expect(request.signal.aborted).toBe(false);
    expect(Object.prototype.toString.call(request)).toBe('[object Request]');
  });

  it('reads the body with json(), text(), arrayBuffer(), bytes(), blob() and marks it used', async () => {
    expect(await lightRequest().json()).toEqual({ a: 1 });
    expect(await lightRequest().text()).toBe('{"a":1}');
    expect(new Uint8Array(await lightRequest().arrayBuffer())).toEqual(
      new Uint8Array(Buffer.from('{"a":1}')),
    );
    expect(await lightRequest().bytes()).toEqual(new Uint8Array(Buffer.from('{"a":1}')));
    const blob = await lightRequest().blob();
    expect(blob.type).toBe('application/json');
    expect(await blob.text()).toBe('{"a":1}');
    const request = lightRequest();
    await request.text();
    expect(request.bodyUsed).toBe(true);
    await expect(request.text()).rejects.toThrow(TypeError);
  });

  it('exposes the body as a ReadableStream, and every other member through a real Request', async () => {
    const request = lightRequest();
    expect(request.cache).toBe('default');
    expect(request.redirect).toBe('follow');
    const copy = request.clone();
    expect(copy instanceof Request).toBe(true);
    expect(await copy.text()).toBe('{"a":1}');
    expect(await new Response(request.body).text()).toBe('{"a":1}');
    expect(request.bodyUsed).toBe(true);
  });

  it('reads form data', async () => {
    const env = environ({ headers: [['content-type', 'application/x-www-form-urlencoded']] });
    const form = await lightRequest(env, ['a=1&b=two']).formData();
    expect(form.get('b')).toBe('two');
  });

  it('has a null body when the REQUEST carried END_STREAM', async () => {
    const request = lightRequest(environ({ method: 'GET' }), null);
    expect(request.body).toBeNull();
    expect(await request.text()).toBe('');
  });

  it('keeps instanceof exact for subclasses of the global Request', () => {
    class Tagged extends Request {}
    expect(new Tagged('http://x/') instanceof Request).toBe(true);
    expect(new Tagged('http://x/') instanceof Tagged).toBe(true);
    expect(lightRequest() instanceof Tagged).toBe(false);
  });

  it('works as input to new Request() and keeps its body', async () => {
    const request = lightRequest();
    const copy = new Request(request, { headers: { 'x-new': '1' } });
    expect(copy.url).toBe('https://example.org/p/q?x=1');
    expect(copy.headers.get('x-new')).toBe('1');
    expect(await copy.json()).toEqual({ a: 1 });
  });

  it('normalizes the standard methods like undici', () => {
    expect(lightRequest(environ({ method: 'delete' })).method).toBe('DELETE');
    expect(lightRequest(environ({ method: 'patch' })).method).toBe('patch');
  });
});

describe('requestUrl', () => {
  it('escapes bytes a URL cannot hold and resolves dot segments like the URL parser', () => {
    expect(requestUrl(environ({ path: '/caf\xe9 x', query: 'q=#' }))).toBe(
      'https://example.org/caf%E9%20x?q=%23',
    );
    expect(requestUrl(environ({ path: '/a/../b/./c', query: '' }))).toBe('https://example.org/b/c');
  });

  it('falls back to server_name and port when Host is missing or not a plain authority', () => {
    expect(requestUrl(environ({ headers: [], scheme: 'http', serverPort: 8080 }))).toBe(
      'http://example.org:8080/p/q?x=1',
    );
    expect(
      requestUrl(environ({ headers: [['host', 'evil.com/x@y']], scheme: 'https', serverPort: 443 })),
    ).toBe('https://example.org/p/q?x=1');
  });

  it('always yields a URL that new URL() accepts', () => {
    for (const path of ['*', '', '//double', '/%zz', '/\\back', '/ü']) {
      expect(() => new URL(requestUrl(environ({ path, query: 'a b' })))).not.toThrow();
    }
  });
});

describe('LightResponse (the global Response in a worker)', () => {
  it('is the global Response and instanceof holds for light and undici responses', () => {
    expect(Response).toBe(LightResponse);
    const light = new Response('x');
    expect(light instanceof Response).toBe(true);
    expect(light instanceof NativeResponse).toBe(true);
    expect(new NativeResponse('y') instanceof Response).toBe(true);
    expect(Object.prototype.toString.call(light)).toBe('[object Response]');
  });

  it('behaves like undici for status, headers, body readers and clone', async () => {
    const light = new Response('héllo', { status: 201, headers: { 'x-a': '1' } });
    const native = new NativeResponse('héllo', { status: 201, headers: { 'x-a': '1' } });
    expect(light.status).toBe(native.status);
    expect(light.ok).toBe(native.ok);
    expect([...light.headers]).toEqual([...native.headers]);
    expect(light.bodyUsed).toBe(false);
    const copy = light.clone();
    expect(await light.text()).toBe('héllo');
    expect(light.bodyUsed).toBe(true);
    expect(await copy.arrayBuffer()).toEqual(await native.arrayBuffer());
  });

  it('reports the same errors as undici for invalid arguments', () => {
    expect(() => new Response('x', { status: 99 })).toThrow(RangeError);
    expect(() => new Response('x', { status: 204 })).toThrow(TypeError);
    expect(() => new Response('x', { statusText: 'bad\n' })).toThrow(TypeError);
  });

  it('has json(), redirect() and error()', async () => {
    const json = Response.json({ a: 1 }, { status: 202 });
    expect(json.status).toBe(202);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual({ a: 1 });
    expect(Response.redirect('https://example.org/', 302).headers.get('location')).toBe(
      'https://example.org/',
    );
    expect(Response.error().type).toBe('error');
  });

  it('keeps Blob, FormData and URLSearchParams bodies exactly as undici does', async () => {
    const params = new Response(new URLSearchParams({ a: 'b' }));
    expect(params.headers.get('content-type')).toBe('application/x-www-form-urlencoded;charset=UTF-8');
    expect(await params.text()).toBe('a=b');
    expect(await new Response(new Blob(['blob'])).text()).toBe('blob');
  });

  it('can be subclassed', async () => {
    class JsonResponse extends Response {
      constructor(value: unknown) {
        super(JSON.stringify(value), { headers: { 'content-type': 'application/json' } });
      }
    }
    const response = new JsonResponse([1]);
    expect(response instanceof Response).toBe(true);
    expect(response instanceof JsonResponse).toBe(true);
    expect(new Response('plain') instanceof JsonResponse).toBe(false);
    expect(await response.json()).toEqual([1]);
  });
});

describe('RequestBody flow-control credit', () => {
  it('grants credit only as the app reads', async () => {
    const source = new Source(environ(), null);
    let credit = 0;
    const body = new RequestBody({ consumed: (bytes) => (credit += bytes) });
    void source;
    body.push(Buffer.alloc(100));
    body.push(Buffer.alloc(50));
    expect(credit).toBe(0);
    const reader = body.stream().getReader();
    await reader.read();
    expect(credit).toBe(100);
    await reader.read();
    expect(credit).toBe(150);
    body.end(null);
    expect((await reader.read()).done).toBe(true);
  });
});
