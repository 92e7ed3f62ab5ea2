/**
 * Dockerfile and Dockerfile.python read statically (no engine here to build them): the stages,
 * production dependencies only in the runtime image, a non-root user shared by every image, a
 * HEALTHCHECK whose script the image contains, exec-form entrypoints, and every file a COPY needs
 * present in the build context and not dropped by .dockerignore.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  contextPathOf,
  createdUser,
  imageConfig,
  installedDirs,
  parseDockerIgnore,
  stage,
  type Dockerfile,
  type ImageConfig,
} from './support/dockerfile.js';
import { loadDockerfile, NODE_DOCKERFILE, PYTHON_DOCKERFILE } from './support/images.js';
import { resolveProxyConfig } from './support/proxy-config.js';
import { REPO } from './support/tools.js';

const ignore = parseDockerIgnore(readFileSync(join(REPO, '.dockerignore'), 'utf8'));

function runsOf(file: Dockerfile, name: string): string {
  return stage(file, name)
    .instructions.filter((instruction) => instruction.keyword === 'RUN')
    .map((instruction) => instruction.text)
    .join('\n');
}

/** Every COPY from the build context, in every stage: its sources exist and survive .dockerignore. */
function checkContextCopies(file: Dockerfile): string[] {
  const copied: string[] = [];
  for (const current of file.stages) {
    for (const instruction of current.instructions) {
      if (instruction.keyword !== 'COPY' || instruction.flags.from !== undefined) continue;
      for (const source of instruction.args.slice(0, -1)) {
        const where = `${file.path}:${instruction.line} COPY ${source}`;
        expect(existsSync(join(REPO, source)), `${where}: missing from the context`).toBe(true);
        expect(ignore.excludes(posix.normalize(source)), `${where}: excluded by .dockerignore`).toBe(false);
        copied.push(source);
      }
    }
  }
  return copied;
}

function checkUserAndHealth(image: ImageConfig, label: string): void {
  expect(image.user, `${label}: USER`).toBe('gatewire:gatewire');
  expect(createdUser(image, 'gatewire'), `${label}: uid/gid`).toEqual({ uid: 10001, gid: 10001 });
  expect(image.healthcheck, `${label}: HEALTHCHECK`).not.toBeNull();
  expect(image.healthcheck!.json).toBe(true);
  const script = image.healthcheck!.args.find((word) => word.startsWith('/'));
  const source = contextPathOf(image, script!);
  expect(source, `${label}: the health check script is copied in`).not.toBeNull();
  expect(existsSync(join(REPO, source!))).toBe(true);
  for (const flag of ['interval', 'timeout', 'start-period', 'retries'])
    expect(image.healthcheck!.flags[flag], `${label}: HEALTHCHECK --${flag}`).toBeDefined();
  // Exec form, through the secret-file entrypoint, which execs the program (the init signals it).
  expect(image.entrypoint[0]).toBe('/opt/gatewire/deploy/docker-entrypoint.sh');
  const entrypointSource = contextPathOf(image, image.entrypoint[0]);
  expect(entrypointSource).toBe('deploy/docker-entrypoint.sh');
  accessSync(join(REPO, entrypointSource!), constants.X_OK);
  // The socket volume's mount point: owned by the user, never world-writable (SPEC §16).
  const socketDirs = installedDirs(image).filter((dir) => dir.path.startsWith('/run/gatewire'));
  expect(socketDirs.map((dir) => dir.path)).toEqual([
    '/run/gatewire',
    '/run/gatewire/hello',
    '/run/gatewire/django',
  ]);
  for (const dir of socketDirs) expect(dir).toMatchObject({ mode: 0o770, owner: 'gatewire' });
}

describe('Dockerfile (proxy and worker targets)', () => {
  const file = loadDockerfile(NODE_DOCKERFILE);

  it('builds in stages: all dependencies and tsc for the build, production dependencies for the runtime', () => {
    expect(file.stages.map((s) => s.name)).toEqual([
      'deps',
      'build',
      'prod-deps',
      'runtime',
      'proxy',
      'worker',
    ]);
    expect(file.globalArgs.NODE_IMAGE).toBe('node:20-bookworm-slim');
    expect(stage(file, 'deps').from).toBe('node:20-bookworm-slim');
    expect(runsOf(file, 'deps')).toMatch(/\bnpm ci\b(?!.*--omit)/);
    expect(stage(file, 'build').from).toBe('deps');
    expect(runsOf(file, 'build')).toMatch(/\btsc -b protocol worker-runtime proxy\b/);
    expect(runsOf(file, 'prod-deps')).toMatch(/\bnpm ci --omit=dev\b/);
    for (const target of ['proxy', 'worker']) {
      const image = imageConfig(file, target);
      expect(image.base).toBe('node:20-bookworm-slim');
      const modules = image.copies.find((copy) => copy.dest === '/opt/gatewire/node_modules');
      expect(modules?.from, 'node_modules come from the production-only stage').toBe('prod-deps');
      // No compiler, no dev dependencies: only dist/ and package.json of each package.
      for (const copy of image.copies.filter((c) => c.from === 'build'))
        expect(copy.sources[0]).toMatch(/^\/src\/(protocol|worker-runtime|proxy)\/(dist|package\.json)$/);
    }
  });

  it('copies only what exists in the context, and what each stage needs from the build stage', () => {
    const copied = checkContextCopies(file);
    // npm ci needs the lock file and every workspace's package.json (package.json "workspaces").
    const workspaces = (
      JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { workspaces: string[] }
    ).workspaces;
    for (const workspace of workspaces) expect(copied).toContain(`${workspace}/package.json`);
    expect(copied).toContain('package-lock.json');
    // tsc -b protocol worker-runtime proxy: their tsconfig.json, src/ and the base config.
    for (const pkg of ['protocol', 'worker-runtime', 'proxy']) {
      expect(copied).toContain(`${pkg}/tsconfig.json`);
      expect(copied).toContain(`${pkg}/src`);
      const tsconfig = JSON.parse(readFileSync(join(REPO, pkg, 'tsconfig.json'), 'utf8')) as {
        extends: string;
        compilerOptions: { outDir: string };
      };
      expect(tsconfig.compilerOptions.outDir).toBe('dist'); // what the runtime stage copies
      expect(copied).toContain(posix.join(pkg, tsconfig.extends));
    }
  });

  it('keeps tsx (the .ts app loader) among the worker runtime production dependencies', () => {
    const worker = JSON.parse(readFileSync(join(REPO, 'worker-runtime/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(worker.dependencies)).toContain('tsx');
    expect(readFileSync(join(REPO, 'worker-runtime/src/app-loader.ts'), 'utf8')).toMatch(
      /import\('tsx\/esm\/api'\)/,
    );
  });

  it('runs both images as the non-root gatewire user with a health check and exec-form entrypoints', () => {
    const proxy = imageConfig(file, 'proxy');
    const worker = imageConfig(file, 'worker');
    checkUserAndHealth(proxy, 'proxy');
    checkUserAndHealth(worker, 'worker');
    expect(proxy.entrypoint.slice(1)).toEqual(['node', '/opt/gatewire/proxy/dist/main.js']);
    expect(proxy.healthcheck!.args).toEqual(['node', '/opt/gatewire/deploy/healthcheck.mjs', 'http']);
    expect(proxy.expose).toEqual(['8080']);
    expect(worker.entrypoint.slice(1)).toEqual(['node', '/opt/gatewire/worker-runtime/dist/main.js']);
    expect(worker.healthcheck!.args).toEqual(['node', '/opt/gatewire/deploy/healthcheck.mjs', 'worker']);
    // The default app is in the image, and the worker finds it and its socket directory by itself.
    expect(contextPathOf(worker, worker.env.GATEWIRE_APP)).toBe('examples/hello/app.ts');
    expect(worker.env.GATEWIRE_SOCKET_DIR).toBe('/run/gatewire/hello');
    // The proxy image on its own (no config file) watches the directory the worker image uses.
    const alone = resolveProxyConfig([...proxy.entrypoint, ...proxy.cmd], proxy.env, proxy);
    expect(alone.file).toBeNull();
    expect(alone.config.upstreams).toMatchObject({ default: { socketDir: worker.env.GATEWIRE_SOCKET_DIR } });
    expect(Object.keys(alone.config.upstreams)).toEqual(['default']);
    // The .ts app is an ES module because the root package.json ("type": "module") is in the image.
    expect(contextPathOf(worker, '/opt/gatewire/package.json')).toBe('package.json');
  });
});

describe('Dockerfile.python (the Django example under gatewire-wsgi)', () => {
  const file = loadDockerfile(PYTHON_DOCKERFILE);
  const image = imageConfig(file, 'django');
  const pins = readFileSync(join(REPO, 'deploy/django/requirements.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));

  it('builds wheels from the pinned requirements and installs exactly those, without a compiler', () => {
    expect(file.stages.map((s) => s.name)).toEqual(['wheels', 'django']);
    expect(image.base).toBe('python:3.11-slim');
    expect(runsOf(file, 'wheels')).toMatch(
      /pip wheel .*--no-deps .*-r deploy\/django\/requirements\.txt \.\/worker-runtime\/python/,
    );
    expect(runsOf(file, 'django')).toMatch(/pip install .*--no-index --no-deps \/wheels\/\*\.whl/);
    for (const pin of pins) expect(pin).toMatch(/^[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*$/);
    // Django and msgpack as the Python worker's tests pin them.
    const tested = readFileSync(join(REPO, 'worker-runtime/python/requirements.txt'), 'utf8');
    for (const name of ['Django', 'msgpack']) {
      const pin = pins.find((line) => line.startsWith(`${name}==`));
      expect(pin, `${name} is pinned`).toBeDefined();
      expect(tested).toContain(pin);
    }
  });

  it('copies only what exists in the context, the package sources setuptools needs included', () => {
    const copied = checkContextCopies(file);
    const pyproject = readFileSync(join(REPO, 'worker-runtime/python/pyproject.toml'), 'utf8');
    const readme = /readme\s*=\s*"([^"]+)"/.exec(pyproject)?.[1];
    expect(copied.join(' ')).toContain(`worker-runtime/python/${readme}`);
    expect(copied).toContain('worker-runtime/python/gatewire_wsgi');
    expect(copied).toContain('examples/django');
    // Local state of a developer's checkout never reaches the image.
    for (const path of [
      'examples/django/staticfiles',
      'examples/django/run',
      'node_modules',
      'protocol/dist',
    ])
      expect(ignore.excludes(path), path).toBe(true);
  });

  it('runs serve.py (collectstatic, then the worker) as the same user as the Node images', () => {
    checkUserAndHealth(image, 'django');
    expect(image.entrypoint.slice(1)).toEqual(['python', '/opt/gatewire/django/serve.py']);
    expect(contextPathOf(image, '/opt/gatewire/django/serve.py')).toBe('examples/django/serve.py');
    expect(image.healthcheck!.args).toEqual(['python', '/opt/gatewire/deploy/healthcheck.py', 'worker']);
    expect(image.env.DJANGO_STATIC_ROOT).toBe('/srv/static');
    expect(installedDirs(image).find((dir) => dir.path === '/srv/static')).toMatchObject({
      owner: 'gatewire',
    });
    expect(image.cmd.slice(0, 2)).toEqual(['--socket-dir', image.env.GATEWIRE_SOCKET_DIR]);
    const serve = readFileSync(join(REPO, 'examples/django/serve.py'), 'utf8');
    expect(serve).toMatch(/os\.execve\(/); // the worker keeps the pid the init signals
  });
});

describe('.dockerignore', () => {
  it('keeps build output and dependencies out, and the one test workspace manifest in', () => {
    for (const path of ['node_modules', 'proxy/dist', 'proxy/node_modules/x', '.git', 'test/unit/deploy'])
      expect(ignore.excludes(path), path).toBe(true);
    for (const path of ['test/conformance/package.json', 'proxy/src/main.ts', 'deploy/healthcheck.mjs'])
      expect(ignore.excludes(path), path).toBe(false);
    expect(statSync(join(REPO, 'test/conformance/package.json')).isFile()).toBe(true);
  });
});
