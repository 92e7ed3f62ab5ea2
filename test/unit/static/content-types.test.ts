import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTENT_TYPE, contentTypeFor } from '../../../proxy/src/static/content-types.js';

describe('contentTypeFor', () => {
  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['page.htm', 'text/html; charset=utf-8'],
    ['site.css', 'text/css; charset=utf-8'],
    ['app.js', 'text/javascript; charset=utf-8'],
    ['module.mjs', 'text/javascript; charset=utf-8'],
    ['data.json', 'application/json'],
    ['app.js.map', 'application/json'],
    ['notes.txt', 'text/plain; charset=utf-8'],
    ['feed.xml', 'application/xml'],
    ['logo.svg', 'image/svg+xml'],
    ['a.png', 'image/png'],
    ['a.jpg', 'image/jpeg'],
    ['a.jpeg', 'image/jpeg'],
    ['a.gif', 'image/gif'],
    ['a.webp', 'image/webp'],
    ['a.avif', 'image/avif'],
    ['favicon.ico', 'image/x-icon'],
    ['f.woff', 'font/woff'],
    ['f.woff2', 'font/woff2'],
    ['f.ttf', 'font/ttf'],
    ['f.otf', 'font/otf'],
    ['doc.pdf', 'application/pdf'],
    ['m.wasm', 'application/wasm'],
    ['v.mp4', 'video/mp4'],
    ['v.webm', 'video/webm'],
    ['s.mp3', 'audio/mpeg'],
    ['s.ogg', 'audio/ogg'],
    ['a.zip', 'application/zip'],
    ['app.js.gz', 'application/gzip'],
    ['t.csv', 'text/csv; charset=utf-8'],
    ['README.md', 'text/markdown; charset=utf-8'],
    ['LOGO.PNG', 'image/png'],
    ['Site.Css', 'text/css; charset=utf-8'],
    ['café.html', 'text/html; charset=utf-8'],
  ])('%s → %s', (name, type) => {
    expect(contentTypeFor(name)).toBe(type);
  });

  it.each(['Makefile', 'archive.unknownext', 'trailingdot.', '.htaccess', '.css', 'a.js.bak', ''])(
    '%j → the default',
    (name) => {
      expect(contentTypeFor(name)).toBe(DEFAULT_CONTENT_TYPE);
    },
  );

  it('is application/octet-stream by default', () => {
    expect(DEFAULT_CONTENT_TYPE).toBe('application/octet-stream');
  });
});
