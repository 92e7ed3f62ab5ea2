/**
 * The config a proxy container ends up with, computed by the proxy's own code from what the
 * container is given: its arguments after `main.js`, its environment (the image's ENV and the
 * service's), and the config file they name (read from the build context, where the image's COPY
 * takes it from). Precedence as in main.ts: defaults < file < environment < flags.
 */
import { join } from 'node:path';
import {
  applyOverrides,
  parseCommandLine,
  readConfigFile,
  validateConfig,
  type ProxyConfig,
} from '../../../../proxy/src/config/index.js';
import { contextPathOf, type ImageConfig } from './dockerfile.js';
import { REPO } from './tools.js';

export interface ResolvedProxyConfig {
  /** Context path of the config file, or null when none is named. */
  readonly file: string | null;
  /** The upstream groups the file itself declares. */
  readonly fileGroups: readonly string[];
  readonly config: ProxyConfig;
}

export function resolveProxyConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  image: ImageConfig,
): ResolvedProxyConfig {
  const main = argv.findIndex((word) => word.endsWith('/proxy/dist/main.js'));
  if (main < 0) throw new Error(`not a proxy command: ${argv.join(' ')}`);
  const commandLine = parseCommandLine(argv.slice(main + 1));
  const imagePath = commandLine.configPath ?? env.GATEWIRE_CONFIG ?? null;
  let file: string | null = null;
  let raw: Record<string, unknown> = {};
  if (imagePath !== null) {
    file = contextPathOf(image, imagePath);
    if (file === null) throw new Error(`${imagePath} is not copied into the image`);
    raw = readConfigFile(join(REPO, file));
  }
  const fileGroups = Object.keys((raw.upstreams as Record<string, unknown> | undefined) ?? {});
  const config = validateConfig(applyOverrides(raw, env, commandLine, image.workdir), file ?? 'command line');
  return { file, fileGroups, config };
}
