/** Option specs of a bench and the parser behind `npm run bench -- NAME [--key value]`. */

export type OptionSpec =
  | { kind: 'int'; default: number; min: number; max: number; help: string }
  | { kind: 'choice'; default: string; choices: readonly string[]; help: string }
  /** Free text that must match `pattern`; the default '' means "not given". */
  | { kind: 'text'; default: string; pattern: RegExp; help: string }
  | { kind: 'flag'; help: string };

export type OptionSpecs = Record<string, OptionSpec>;

export type OptionValues<S extends OptionSpecs> = {
  [K in keyof S]: S[K] extends { kind: 'int' }
    ? number
    : S[K] extends { kind: 'choice'; choices: readonly (infer C)[] }
      ? C
      : S[K] extends { kind: 'text' }
        ? string
        : boolean;
};

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses `--key value`, `--key=value` and `--flag`; every unknown, missing or out-of-range value is a UsageError. */
export function parseOptions<S extends OptionSpecs>(bench: string, specs: S, argv: readonly string[]): OptionValues<S> {
  const values: Record<string, number | string | boolean> = {};
  for (const [key, spec] of Object.entries(specs)) values[key] = spec.kind === 'flag' ? false : spec.default;
  const known = Object.keys(specs)
    .map((k) => `--${k}`)
    .join(', ');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--'))
      throw new UsageError(`${bench}: unexpected argument '${arg}' (options: ${known || 'none'})`);
    const eq = arg.indexOf('=');
    const key = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs[key];
    if (!spec) throw new UsageError(`${bench}: unknown option --${key} (options: ${known || 'none'})`);
    if (spec.kind === 'flag') {
      if (eq !== -1) throw new UsageError(`${bench}: --${key} is a flag and takes no value`);
      values[key] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      if (raw === undefined || raw.startsWith('--'))
        throw new UsageError(`${bench}: --${key} needs a value (${spec.help})`);
      i++;
    }
    if (spec.kind === 'choice') {
      if (!spec.choices.includes(raw)) {
        throw new UsageError(`${bench}: --${key} must be one of ${spec.choices.join(', ')}, got '${raw}'`);
      }
      values[key] = raw;
      continue;
    }
    if (spec.kind === 'text') {
      if (!spec.pattern.test(raw)) throw new UsageError(`${bench}: --${key}: ${spec.help}; got '${raw}'`);
      values[key] = raw;
      continue;
    }
    if (!/^-?\d+$/.test(raw)) throw new UsageError(`${bench}: --${key} must be a whole number, got '${raw}'`);
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < spec.min || n > spec.max) {
      throw new UsageError(`${bench}: --${key} must be between ${spec.min} and ${spec.max}, got ${raw}`);
    }
    values[key] = n;
  }
  return values as OptionValues<S>;
}

export function describeOptions(specs: OptionSpecs): string[] {
  const line = (usage: string, help: string) => `      ${usage.padEnd(16)}  ${help}`;
  return Object.entries(specs).map(([key, s]) => {
    if (s.kind === 'int') return line(`--${key} N`, `${s.help} (default ${s.default}, ${s.min}..${s.max})`);
    if (s.kind === 'choice') return line(`--${key} ${s.choices.join('|')}`, `${s.help} (default ${s.default})`);
    if (s.kind === 'text') return line(`--${key} TEXT`, s.help);
    return line(`--${key}`, s.help);
  });
}
