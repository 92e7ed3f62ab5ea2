/**
 * Lays out the files of the images the Dockerfiles describe, in a temporary directory, so that the
 * topology test runs the proxy and the workers from what the images would hold rather than from
 * the repository: the COPY lines of the image's stages are carried out (from the build context,
 * honouring .dockerignore; from the `build` stage, whose /src is the context after `tsc -b`, i.e.
 * this checkout's dist/; from `prod-deps`, the production dependency tree `npm ls --omit=dev`
 * names). The Python image's `pip install` of the pinned wheels is stood in for by a site directory
 * holding exactly the pinned distributions, copied from this machine's Python, versions checked.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import {
  imageConfig,
  installedDirs,
  parseDockerIgnore,
  type DockerIgnore,
  type ImageConfig,
} from '../../../unit/deploy/support/dockerfile.js';
import { loadDockerfile, NODE_DOCKERFILE, PYTHON_DOCKERFILE } from '../../../unit/deploy/support/images.js';
import { REPO, requireCommand } from '../../../unit/deploy/support/tools.js';

export interface StagedImage {
  readonly config: ImageConfig;
  /** Host directory holding the image's WORKDIR (/opt/gatewire). */
  readonly root: string;
  /** Extra environment the stand-ins need (PATH to a `python`, PYTHONPATH to the site directory). */
  readonly env: Readonly<Record<string, string>>;
  /** Directories the image creates (install -d), for a fresh named volume's first content. */
  readonly dirs: ReturnType<typeof installedDirs>;
}

function dockerIgnore(): DockerIgnore {
  return parseDockerIgnore(readFileSync(join(REPO, '.dockerignore'), 'utf8'));
}

/** The host path of an image path under the image's WORKDIR. */
function hostPath(image: ImageConfig, root: string, imagePath: string): string {
  const rel = relative(image.workdir, imagePath.replace(/\/$/, ''));
  if (rel.startsWith('..')) throw new Error(`COPY to ${imagePath}, outside ${image.workdir}: not staged`);
  return join(root, rel);
}

/** COPY semantics: a directory's contents into dest; a file into dest/ or as dest. */
function copyInto(source: string, dest: string, destIsDir: boolean, filter: (path: string) => boolean): void {
  if (!existsSync(source)) throw new Error(`COPY source ${source} does not exist (run npm run build?)`);
  const target = lstatSync(source).isDirectory() || !destIsDir ? dest : join(dest, source.split('/').pop()!);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true, verbatimSymlinks: true, filter });
}

function stageProductionModules(dest: string): void {
  const npm = requireCommand('npm');
  // `npm ls` exits 1 on problems it prints (an extraneous package, say); the list is still right.
  const result = spawnSync(npm, ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  const paths = result.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && line !== REPO);
  if (paths.length === 0) throw new Error(`npm ls --omit=dev listed nothing: ${result.stderr}`);
  for (const path of paths) {
    const rel = relative(join(REPO, 'node_modules'), path);
    if (rel.startsWith('..')) throw new Error(`production dependency outside node_modules: ${path}`);
    const target = join(dest, rel);
    mkdirSync(dirname(target), { recursive: true });
    if (lstatSync(path).isSymbolicLink()) {
      cpSync(path, target, { verbatimSymlinks: true });
      continue;
    }
    // Each package without its nested node_modules: those are listed (and copied) on their own.
    cpSync(path, target, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (source) => source === path || !relative(path, source).split('/').includes('node_modules'),
    });
  }
  // The Dockerfile's `rm -f node_modules/@gatewire/conformance` (a workspace not in the image).
  rmSync(join(dest, '@gatewire/conformance'), { force: true });
}

function stageCopies(
  image: ImageConfig,
  root: string,
  fromStage: (from: string, source: string, dest: string) => void,
): void {
  const ignore = dockerIgnore();
  for (const copy of image.copies) {
    for (const source of copy.sources) {
      const dest = hostPath(image, root, copy.dest);
      if (copy.from === null) {
        copyInto(join(REPO, source), dest, copy.dest.endsWith('/') || copy.sources.length > 1, (path) => {
          const rel = relative(REPO, path);
          return rel === '' || !ignore.excludes(rel);
        });
      } else fromStage(copy.from, source, dest);
    }
  }
}

/** The Node image (Dockerfile, target `worker`, which holds everything the `proxy` target holds). */
export function stageNodeImage(into: string, extraFiles: Record<string, string> = {}): StagedImage {
  const file = loadDockerfile(NODE_DOCKERFILE);
  const config = imageConfig(file, 'worker');
  const root = join(into, 'node-image');
  mkdirSync(root, { recursive: true });
  stageCopies(config, root, (from, source, dest) => {
    if (from === 'build' && source.startsWith('/src/')) {
      copyInto(join(REPO, source.slice('/src/'.length)), dest, true, () => true);
    } else if (from === 'prod-deps' && source === '/src/node_modules') {
      stageProductionModules(dest);
    } else throw new Error(`COPY --from=${from} ${source}: the stager does not know this stage`);
  });
  // A user's own image: FROM gatewire/worker, COPY app.ts … (the README's recipe).
  for (const [imagePath, source] of Object.entries(extraFiles)) {
    copyInto(source, hostPath(config, root, imagePath), false, () => true);
  }
  const proxy = imageConfig(file, 'proxy');
  for (const copy of proxy.copies) {
    if (!config.copies.some((other) => other.dest === copy.dest))
      throw new Error(`the proxy image copies ${copy.dest}, the worker image does not: stage it too`);
  }
  return { config, root, env: {}, dirs: installedDirs(config) };
}

const LOCATE = `
import importlib.metadata as md, json, sys
out = {}
for name in sys.argv[1:]:
    dist = md.distribution(name)
    files = [str(f) for f in (dist.files or []) if not str(f).startswith("..")]
    out[name] = {"version": dist.version, "base": str(dist.locate_file("")), "files": files}
json.dump(out, sys.stdout)
`;

/** The Python image (Dockerfile.python, target `django`). */
export function stagePythonImage(into: string): StagedImage {
  const file = loadDockerfile(PYTHON_DOCKERFILE);
  const config = imageConfig(file, 'django');
  const root = join(into, 'python-image');
  mkdirSync(root, { recursive: true });
  stageCopies(config, root, (from, source) => {
    // Only the wheels stage, and it is mounted for pip, not copied.
    throw new Error(`COPY --from=${from} ${source}: the stager does not know this stage`);
  });
  // pip install --no-deps of the pinned wheels: the same distributions, same versions.
  const pins = readFileSync(join(REPO, 'deploy/django/requirements.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split('=='));
  const site = join(root, '.staged-site-packages');
  mkdirSync(site);
  const hostPython = requireCommand('python3');
  let located: Record<string, { version: string; base: string; files: string[] }>;
  try {
    located = JSON.parse(
      execFileSync(hostPython, ['-c', LOCATE, ...pins.map(([name]) => name)], { encoding: 'utf8' }),
    ) as typeof located;
  } catch (error) {
    throw new Error(
      `the pinned Python packages are not installed: pip install -r deploy/django/requirements.txt (${(error as Error).message})`,
    );
  }
  for (const [name, version] of pins) {
    if (located[name].version !== version)
      throw new Error(
        `${name} ${located[name].version} is installed, the image pins ${version}: pip install ${name}==${version}`,
      );
    for (const path of located[name].files) {
      const target = join(site, path);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(join(located[name].base, path), target);
    }
  }
  cpSync(join(REPO, 'worker-runtime/python/gatewire_wsgi'), join(site, 'gatewire_wsgi'), {
    recursive: true,
    filter: (path) => !path.includes('__pycache__'),
  });
  // The image's `python` (python:3.11-slim): Debian's python3.11, which any user may run.
  const bin = join(root, '.staged-bin');
  mkdirSync(bin);
  symlinkSync(requireCommand('/usr/bin/python3', 'python3'), join(bin, 'python'));
  for (const entry of readdirSync(site)) if (entry.endsWith('.pth')) rmSync(join(site, entry));
  return {
    config,
    root,
    // In-container paths: the staged root is mounted on the image's WORKDIR.
    env: {
      PATH: `${config.workdir}/.staged-bin:/usr/local/bin:/usr/bin:/bin`,
      PYTHONPATH: `${config.workdir}/.staged-site-packages`,
    },
    dirs: installedDirs(config),
  };
}
