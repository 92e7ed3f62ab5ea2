import { join } from 'node:path';
import { imageConfig, parseDockerfile, type Dockerfile, type ImageConfig } from './dockerfile.js';
import { REPO, type ComposeService } from './tools.js';

export const NODE_DOCKERFILE = 'Dockerfile';
export const PYTHON_DOCKERFILE = 'Dockerfile.python';

export function loadDockerfile(name: string): Dockerfile {
  return parseDockerfile(join(REPO, name));
}

/** The image a compose service builds: its Dockerfile (default `Dockerfile`) and target (default: the last stage). */
export function serviceImage(service: ComposeService): ImageConfig {
  if (service.build === undefined) throw new Error('service has no build section');
  const file = loadDockerfile(service.build.dockerfile ?? NODE_DOCKERFILE);
  const target = service.build.target ?? file.stages[file.stages.length - 1].name;
  if (target === null) throw new Error(`${file.path}: the last stage has no name`);
  return imageConfig(file, target);
}

/** ENTRYPOINT + command of a service, as Docker would run them (compose overrides win). */
export function serviceArgv(service: ComposeService, image: ImageConfig): string[] {
  return [
    ...(service.entrypoint ?? image.entrypoint),
    ...(service.command ?? (service.entrypoint ? [] : image.cmd)),
  ];
}

/** The environment a service's container starts with: the image's ENV, then compose's. */
export function serviceEnv(service: ComposeService, image: ImageConfig): Record<string, string> {
  return { ...image.env, ...(service.environment ?? {}) };
}

export interface Mount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

/** A service's volumes, short ("name:/path:ro") or long syntax. */
export function serviceMounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string')
      return { source: volume.source, target: volume.target, readOnly: volume.read_only === true };
    const [source, target, mode = 'rw'] = volume.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}
