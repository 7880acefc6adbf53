// File names that arrive from clients are kept only as metadata (storage keys are our own uuids), but they are
// still shown and offered as download names, so anything that could walk a path or break a header is refused.
import { AppError } from './errors.js';

const SAFE = /^[\p{L}\p{N}][\p{L}\p{N} ._()-]{0,99}$/u;

export function safeFileName(name: string): string {
  const n = name.normalize('NFC');
  if (!SAFE.test(n) || n.includes('..') || n.endsWith('.') || n.endsWith(' ')) {
    throw new AppError(
      'UNSAFE_FILE_NAME',
      'file name may hold letters, digits, space and ._()- only',
      '/body/fileName',
    );
  }
  return n;
}
