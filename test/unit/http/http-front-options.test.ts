import { describe, expect, it } from 'vitest';
import {
  HttpFrontUsageError,
  ParseErrorStatus,
  UsageErrorCodes,
} from '../../../proxy/src/http/http-errors.js';
import {
  DEFAULT_HTTP_FRONT_OPTIONS,
  resolveHttpFrontOptions,
} from '../../../proxy/src/http/http-front-options.js';
import { nextRequestId } from '../../../proxy/src/http/request-id.js';

describe('HTTP front options', () => {
  it('has nginx-like defaults', () => {
    expect(DEFAULT_HTTP_FRONT_OPTIONS).toMatchObject({
      headerTimeoutMs: 60_000,
      bodyTimeoutMs: 60_000,
      keepAliveTimeoutMs: 75_000,
      sendTimeoutMs: 60_000,
      maxHeaderBytes: 32_768,
      maxTargetBytes: 8192,
      maxHeaderCount: 100,
      maxBodyBytes: 1_048_576,
      maxRequestsPerConnection: 1000,
    });
    expect(Object.isFrozen(DEFAULT_HTTP_FRONT_OPTIONS)).toBe(true);
  });

  it('fills defaults and freezes', () => {
    const options = resolveHttpFrontOptions({ maxBodyBytes: 0 });
    expect(options.maxBodyBytes).toBe(0);
    expect(options.headerTimeoutMs).toBe(60_000);
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('refuses unknown keys and out-of-range values with INVALID_OPTION', () => {
    const bad: unknown[] = [
      { maxBodySize: 1 },
      { headerTimeoutMs: 0 },
      { maxHeaderBytes: -1 },
      { maxTargetBytes: 1.5 },
      { sendTimeoutMs: '10' },
      { maxTargetBytes: 40_000 },
    ];
    for (const input of bad) {
      let error: unknown;
      try {
        resolveHttpFrontOptions(input as never);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(input)).toBeInstanceOf(HttpFrontUsageError);
      expect((error as HttpFrontUsageError).code).toBe('INVALID_OPTION');
    }
  });
});

describe('error codes and request ids', () => {
  it('maps every parse error code to a 4xx/5xx status and keeps usage codes unique', () => {
    for (const status of Object.values(ParseErrorStatus))
      expect([400, 408, 413, 414, 417, 431, 501, 505]).toContain(status);
    expect(new Set(UsageErrorCodes).size).toBe(UsageErrorCodes.length);
  });

  it('gives fresh ids with a per-process prefix', () => {
    const a = nextRequestId();
    const b = nextRequestId();
    expect(a).not.toBe(b);
    expect(a.split('-')[0]).toBe(b.split('-')[0]);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
  });
});
