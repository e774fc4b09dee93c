import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program; never throws, the caller asserts on the result. */
export function run(
  cmd: string,
  args: string[],
  options: { stdin?: string; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}

/** The built command line (`npm run build`): what `streamfed` runs. */
export const cliScript = path.join(packageRoot, 'dist/cli.js');

/** `streamfed <args>` from the build, in its own process, `env` over this one's; never throws (see run()). */
export function streamfed(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run(process.execPath, [cliScript, ...args], { env, timeoutMs: 60_000 });
}

/** helm from .cache/helm (scripts/install-helm.sh, run by npm run setup). */
export function helmBin(): string {
  const dir = path.join(packageRoot, '.cache/helm');
  const version = existsSync(dir)
    ? readdirSync(dir).find((d) => existsSync(path.join(dir, d, 'helm')))
    : undefined;
  if (!version) throw new Error(`no helm under ${dir}: run "npm run setup"`);
  return path.join(dir, version, 'helm');
}

export const chartDir = path.join(packageRoot, 'charts/streamfed');
