import { describe, expect, it } from 'vitest';
import { pathBelow, Router } from '../../../proxy/src/dispatch/router.js';

describe('Router', () => {
  const router = new Router<string>([
    { path: '/', target: 'default-root' },
    { path: '/static/', target: 'default-static' },
    { path: '/static/admin/', target: 'default-static-admin' },
    { host: 'api.example.com', path: '/', target: 'api-root' },
    { host: 'api.example.com', path: '/v2/', target: 'api-v2' },
    { host: '*.example.com', path: '/', target: 'wildcard' },
    { host: '*.eu.example.com', path: '/', target: 'eu-wildcard' },
    { host: 'only-prefix.test', path: '/x/', target: 'only-x' },
  ]);

  const route = (host: string, path: string): string | null => router.match(host, path)?.target ?? null;

  it('picks the longest matching prefix', () => {
    expect(route('other.test', '/')).toBe('default-root');
    expect(route('other.test', '/static/app.css')).toBe('default-static');
    expect(route('other.test', '/static/admin/x.css')).toBe('default-static-admin');
    expect(router.match('other.test', '/static/admin/x.css')?.prefix).toBe('/static/admin/');
  });

  it('prefers an exact host, then the longest wildcard, then the host-less routes', () => {
    expect(route('api.example.com', '/v2/items')).toBe('api-v2');
    expect(route('api.example.com', '/v1/items')).toBe('api-root');
    expect(route('www.example.com', '/static/x')).toBe('wildcard');
    expect(route('a.eu.example.com', '/')).toBe('eu-wildcard');
    expect(route('example.com', '/')).toBe('default-root'); // *.example.com does not match the bare domain
  });

  it('does not fall through to other hosts when the chosen host has no matching prefix', () => {
    expect(route('only-prefix.test', '/x/1')).toBe('only-x');
    expect(route('only-prefix.test', '/y')).toBeNull();
  });

  it('matches on segment boundaries, with or without the trailing slash (nginx location /static/)', () => {
    const segments = new Router<string>([
      { path: '/', target: 'root' },
      { path: '/static/', target: 'static' },
      { path: '/api', target: 'api' },
    ]);
    const to = (path: string): string | undefined => segments.match('x', path)?.target;
    expect(to('/static/app.css')).toBe('static');
    expect(to('/static')).toBe('static');
    expect(to('/staticfoo')).toBe('root');
    expect(to('/static-old/x')).toBe('root');
    expect(to('/api')).toBe('api');
    expect(to('/api/v1')).toBe('api');
    expect(to('/apix')).toBe('root');
    expect(to('/')).toBe('root');
    const below = (path: string): string => pathBelow(segments.match('x', path)!, path);
    expect(below('/static/css/a.css')).toBe('css/a.css');
    expect(below('/static/')).toBe('');
    expect(below('/static')).toBe('');
    expect(below('/api/v1')).toBe('v1');
    expect(below('/index.html')).toBe('index.html');
  });

  it('matches the raw path byte for byte', () => {
    expect(route('other.test', '/%73tatic/app.css')).toBe('default-root');
  });
});
