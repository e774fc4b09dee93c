import { parseArgs } from 'node:util';

export type OptionType = 'string' | 'integer' | 'boolean' | 'list';

export interface OptionSpec {
  type: OptionType;
  env: string;
  description: string;
  default?: string | number | boolean | string[] | undefined;
}

export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<T extends OptionType> = T extends 'integer'
  ? number
  : T extends 'boolean'
    ? boolean
    : T extends 'list'
      ? string[]
      : string;

export type OptionValues<S extends OptionSpecs> = {
  [K in keyof S]: S[K] extends { default: string | number | boolean | string[] }
    ? ValueOf<S[K]['type']>
    : ValueOf<S[K]['type']> | undefined;
};

/** The one log-level option every command takes. */
export const logLevelOption = {
  type: 'string',
  env: 'STREAMFED_LOG_LEVEL',
  description: 'trace, debug, info, warn, error or silent',
  default: 'info',
} as const satisfies OptionSpec;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Reads `--flag value` options, each with an environment variable equivalent (flag wins over env, env over
 * the default). One table drives parsing, validation and --help.
 */
export function readOptions<S extends OptionSpecs>(
  specs: S,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): OptionValues<S> {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      Object.entries(specs).map(([name, spec]) => [
        name,
        // a list may be given as one comma-separated value or by repeating the flag
        { type: spec.type === 'boolean' ? 'boolean' : 'string', multiple: spec.type === 'list' },
      ]),
    ),
    strict: true,
    allowPositionals: false,
  });
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = values[name];
    const raw = Array.isArray(given) ? given.join(',') : (given ?? env[spec.env]);
    out[name] = raw === undefined ? spec.default : convert(name, spec, raw);
  }
  return out as OptionValues<S>;
}

function convert(name: string, spec: OptionSpec, raw: string | boolean): unknown {
  if (typeof raw === 'boolean') return raw;
  switch (spec.type) {
    case 'integer': {
      if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number, got "${raw}"`);
      return Number(raw);
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false')
        throw new UsageError(`${spec.env} must be true or false, got "${raw}"`);
      return raw === 'true';
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

export function helpText(command: string, summary: string, specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const def =
      spec.default === undefined
        ? ''
        : ` (default: ${Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default)})`;
    return `  --${name.padEnd(22)} ${spec.description}${def}\n  ${' '.repeat(25)}env ${spec.env}`;
  });
  return `Usage: streamfed ${command} [options]\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n  --help                  show this help\n`;
}
