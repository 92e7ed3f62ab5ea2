import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApp } from '@gatewire/worker';
import { FIXTURE_APPS } from '../../integration/worker/support/worker-harness.js';

const app = (name: string) => join(FIXTURE_APPS, name);

describe('loadApp', () => {
  it('loads a TypeScript app with a default { fetch } without a build step', async () => {
    const loaded = await loadApp(app('bench-hello.ts'));
    const response = (await loaded.fetch.call(
      loaded.target,
      new Request('http://x/'),
      {} as never,
      {} as never,
    )) as Response;
    expect(await response.text()).toBe('Hello, World!');
  });

  it('accepts a bare default-exported function and a named fetch export', async () => {
    const bare = await loadApp(app('bare-function.ts'));
    expect(
      await ((await bare.fetch(new Request('http://x/'), {} as never, {} as never)) as Response).text(),
    ).toBe('bare GET');
    const named = await loadApp(app('named-fetch.mjs'));
    expect(
      await ((await named.fetch(new Request('http://x/'), {} as never, {} as never)) as Response).text(),
    ).toBe('named fetch');
  });

  it('accepts a Hono app exported as default', async () => {
    const loaded = await loadApp(join(FIXTURE_APPS, '../../../examples/hono/app.ts'));
    expect(typeof loaded.fetch).toBe('function');
  });

  it('says what was expected when there is no fetch handler', async () => {
    await expect(loadApp(app('no-fetch.ts'))).rejects.toMatchObject({
      code: 'APP_NO_FETCH',
      message: expect.stringMatching(
        /no fetch method \(its keys: hello, routes\).*export default \{ fetch\(request, env, ctx\)/,
      ),
    });
  });

  it('names the missing path and the load failure', async () => {
    await expect(loadApp(app('does-not-exist.ts'))).rejects.toMatchObject({
      code: 'APP_NOT_FOUND',
      message: expect.stringContaining('does-not-exist.ts does not exist'),
    });
    await expect(loadApp(app('throws-on-load.ts'))).rejects.toMatchObject({
      code: 'APP_LOAD_FAILED',
      message: expect.stringContaining('missing DATABASE_URL'),
    });
  });
});
