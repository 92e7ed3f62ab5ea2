import { describe, expect, it } from 'vitest';
import { applyOverrides, parseCommandLine } from '../../../proxy/src/config/config-sources.js';
import { validateConfig } from '../../../proxy/src/config/config-validation.js';

describe('command line and environment', () => {
  it('parses flags with separate or inline values, and repeatable --upstream', () => {
    const commandLine = parseCommandLine([
      '--config',
      'g.json',
      '--port=9000',
      '--upstream',
      'tcp://w:1',
      '--upstream',
      '/run/a.sock',
      '--check',
    ]);
    expect(commandLine.configPath).toBe('g.json');
    expect(commandLine.flags.port).toBe('9000');
    expect(commandLine.upstreams).toEqual(['tcp://w:1', '/run/a.sock']);
    expect(commandLine.check).toBe(true);
  });

  it('refuses unknown flags and missing values', () => {
    expect(() => parseCommandLine(['--prot', '1'])).toThrow(/unknown flag --prot/);
    expect(() => parseCommandLine(['--port'])).toThrow(/--port needs a value/);
    expect(() => parseCommandLine(['serve'])).toThrow(/unexpected argument "serve"/);
  });

  it('layers defaults < file < env < flags', () => {
    const file = {
      listen: { port: 1000 },
      log: { level: 'warn' },
      upstreams: { app: { sockets: ['/a.sock'] } },
    };
    const env = { GATEWIRE_PORT: '2000', GATEWIRE_LOG_LEVEL: 'debug', GATEWIRE_HOST: '127.0.0.1' };
    const raw = applyOverrides(file, env, parseCommandLine(['--port', '3000']), '/work');
    const config = validateConfig(raw);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(config.log.level).toBe('debug');
    expect(file.listen.port).toBe(1000); // the file's object is not modified
  });

  it('--socket-dir and --upstream make an upstream "default"; GATEWIRE_SECRET fills missing secrets', () => {
    const raw = applyOverrides(
      {},
      { GATEWIRE_SECRET: 'env-secret' },
      parseCommandLine(['--socket-dir', 'sockets', '--upstream', 'tcp://w:9000']),
      '/srv',
    );
    const config = validateConfig(raw);
    expect(config.upstreams.default).toMatchObject({
      socketDir: '/srv/sockets',
      tcp: ['tcp://w:9000'],
      secret: 'env-secret',
    });
    expect(config.routes[0].upstream).toBe('default');
  });

  it('passes a malformed env value on for the validator to name', () => {
    const raw = applyOverrides(
      { upstreams: { a: { socketDir: '/x' } } },
      { GATEWIRE_PORT: 'eighty' },
      parseCommandLine([]),
      '/',
    );
    expect(() => validateConfig(raw)).toThrow(
      /listen\.port must be an integer in 0…65535, got "eighty \(from GATEWIRE_PORT\)"/,
    );
  });
});
