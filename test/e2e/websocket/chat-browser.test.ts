/**
 * examples/chat in a real browser (headless Chromium through playwright-core, as the CI installs
 * it): two pages talk through the proxy and the worker; when the worker process is killed, the page
 * sees close 1011 from the proxy and reconnects to the replacement process.
 */
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../integration/worker/support/worker-harness.js';
import { Stack } from './stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('examples/chat in Chromium', () => {
  let stack: Stack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await Stack.start({ app: join(ROOT, 'examples/chat/app.ts') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function open(name: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${stack.port}/?name=${name}`);
    await page.waitForFunction(
      (who) => document.getElementById('status')!.textContent!.startsWith(`you are ${who}`),
      name,
    );
    return page;
  }

  const log = (page: Page): Promise<string> => page.locator('#log').innerText();

  it('two pages chat; a killed worker makes the page reconnect to the new process', async () => {
    const ada = await open('Ada');
    const bob = await open('Bob');
    await bob.fill('#text', 'hello from Bob');
    await bob.press('#text', 'Enter');
    await ada.waitForFunction(() => document.getElementById('log')!.textContent!.includes('hello from Bob'));
    expect(await log(ada)).toContain('Bob joined');
    expect(await log(bob)).toContain('hello from Bob');

    const status = await ada.locator('#status').innerText();
    const pid = Number(/worker process (\d+)/.exec(status)?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL'); // a worker process this test's supervisor started
    await ada.waitForFunction(() =>
      document.getElementById('status')!.textContent!.includes('disconnected (1011'),
    );
    for (const page of [ada, bob]) {
      await page.waitForFunction(
        (old) => {
          const match = /worker process (\d+)/.exec(document.getElementById('status')!.textContent!);
          return match !== null && Number(match[1]) !== old;
        },
        pid,
        { timeout: 20_000 },
      );
    }
    await ada.fill('#text', 'back again');
    await ada.press('#text', 'Enter');
    await bob.waitForFunction(() => document.getElementById('log')!.textContent!.includes('back again'));
  });
});
