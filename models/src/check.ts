import { ModelError } from './errors.js';
import type { Provenance, TensorSpec } from './manifest.js';

// A hand-rolled check rather than a schema library: @estate/models depends on nothing of ours, and a
// wrong manifest must fail at once with the offending field named, not later as an undefined deep in inference.
export type Obj = Record<string, unknown>;
export const SHA256 = /^[0-9a-f]{64}$/;
// A plain file name: the manifest must not be able to write outside models/files or models/photos.
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export class Check {
  constructor(private readonly source: string) {}

  fail(where: string, message: string): never {
    throw new ModelError('MANIFEST_INVALID', `${this.source}: ${where}: ${message}`);
  }
  obj(value: unknown, where: string): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(where, 'expected an object');
    return value as Obj;
  }
  arr(value: unknown, where: string): unknown[] {
    if (!Array.isArray(value)) this.fail(where, 'expected an array');
    return value;
  }
  str(o: Obj, key: string, where: string, pattern?: RegExp): string {
    const value = o[key];
    if (typeof value !== 'string' || value === '') this.fail(`${where}.${key}`, 'expected a non-empty string');
    if (pattern && !pattern.test(value))
      this.fail(`${where}.${key}`, `${JSON.stringify(value)} does not match ${pattern}`);
    return value;
  }
  optStr(o: Obj, key: string, where: string): string | undefined {
    return o[key] === undefined ? undefined : this.str(o, key, where);
  }
  int(o: Obj, key: string, where: string): number {
    const value = o[key];
    if (!Number.isInteger(value) || (value as number) < 0) this.fail(`${where}.${key}`, 'expected an integer >= 0');
    return value as number;
  }
  /** A finite number within [min, max]. */
  num(o: Obj, key: string, where: string, min: number, max: number): number {
    const value = o[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      this.fail(`${where}.${key}`, `expected a number from ${min} to ${max}`);
    }
    return value;
  }
  oneOf<T extends string>(o: Obj, key: string, where: string, allowed: readonly T[]): T {
    const value = this.str(o, key, where);
    if (!(allowed as readonly string[]).includes(value)) this.fail(`${where}.${key}`, `expected one of ${allowed}`);
    return value as T;
  }
  numbers(value: unknown, where: string): number[] {
    return this.arr(value, where).map((n, i) =>
      typeof n === 'number' && Number.isFinite(n) ? n : this.fail(`${where}[${i}]`, 'expected a number'),
    );
  }
  unique(values: string[], what: string): void {
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v)) this.fail(what, `${JSON.stringify(v)} appears twice`);
      seen.add(v);
    }
  }

  provenance(value: unknown, where: string): Provenance {
    const o = this.obj(value, where);
    const note = this.optStr(o, 'note', where);
    return {
      package: this.str(o, 'package', where, /^(@[a-z0-9._-]+\/)?[a-z0-9._-]+@\d+\.\d+\.\d+$/),
      path: this.str(o, 'path', where, /^package(\/[^/\0]+)+$/),
      ...(note === undefined ? {} : { note }),
    };
  }

  tensor(value: unknown, where: string): TensorSpec {
    const o = this.obj(value, where);
    const shape = this.numbers(o.shape, `${where}.shape`);
    const spec: TensorSpec = {
      name: this.str(o, 'name', where),
      dtype: this.oneOf(o, 'dtype', where, ['float32'] as const),
      shape,
      meaning: this.str(o, 'meaning', where),
    };
    if (o.layout !== undefined) spec.layout = this.oneOf(o, 'layout', where, ['NCHW'] as const);
    if (o.pixels !== undefined) {
      const p = this.obj(o.pixels, `${where}.pixels`);
      const colour = this.oneOf(p, 'colour', `${where}.pixels`, ['RGB', 'grey'] as const);
      const channels = colour === 'RGB' ? 3 : 1;
      const mean = this.numbers(p.mean, `${where}.pixels.mean`);
      const std = this.numbers(p.std, `${where}.pixels.std`);
      if (mean.length !== channels || std.length !== channels) {
        this.fail(`${where}.pixels`, `${colour} needs ${channels} mean and std values`);
      }
      if (std.some((s) => s === 0)) this.fail(`${where}.pixels.std`, 'must not be 0');
      spec.pixels = { colour, mean, std };
    }
    return spec;
  }
}
