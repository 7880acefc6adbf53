import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { fail, ok, ProtocolError, type Result } from './errors.js';

/*
 * One AJV instance for the whole contract. No coercion, no defaults, nothing
 * removed: what arrives is either exactly a valid message or an error.
 */
const ajv = new Ajv({
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
  discriminator: true,
  strict: true,
  strictTypes: false, // TypeBox unions of literals are anyOf without a sibling `type`
});

const cache = new WeakMap<TSchema, ValidateFunction>();

function compiled(schema: TSchema): ValidateFunction {
  let fn = cache.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    cache.set(schema, fn);
  }
  return fn;
}

/** The first error as a field pointer and a sentence a person can act on. */
export function describeError(e: ErrorObject): ProtocolError {
  const at = e.instancePath;
  switch (e.keyword) {
    case 'required':
      return new ProtocolError('SCHEMA', 'is required', `${at}/${e.params.missingProperty}`);
    case 'additionalProperties':
      return new ProtocolError('SCHEMA', 'is not a known field', `${at}/${e.params.additionalProperty}`);
    case 'discriminator':
      return new ProtocolError(
        'SCHEMA',
        e.params.error === 'mapping' ? `unknown ${e.params.tag}` : `must have a string ${e.params.tag}`,
        `${at}/${e.params.tag}`,
      );
    case 'enum':
      return new ProtocolError('SCHEMA', `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`, at);
    case 'const':
      return new ProtocolError('SCHEMA', `must be ${JSON.stringify(e.params.allowedValue)}`, at);
    default:
      return new ProtocolError('SCHEMA', e.message ?? 'is invalid', at);
  }
}

export function validate<S extends TSchema>(schema: S, value: unknown): Result<Static<S>> {
  const fn = compiled(schema);
  if (fn(value)) return ok(value as Static<S>);
  const first = fn.errors?.[0];
  return fail(first ? describeError(first) : new ProtocolError('SCHEMA', 'is invalid'));
}
