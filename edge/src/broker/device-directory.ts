import {
  closeSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEVICE_KINDS, type DeviceKind, ID_PATTERN } from '@estate/protocols';
import { generateSecret, hashSecret, isSecretHash } from './secret.js';

/** What the broker needs to know about a device to let it in. */
export interface DeviceRecord {
  readonly id: string;
  readonly kind: DeviceKind;
  /** scrypt PHC string (secret.ts); the secret itself is never stored. */
  readonly secretHash: string;
  readonly disabled?: boolean;
}

/** Where the broker looks devices up; async so a database-backed directory fits too. */
export interface DeviceDirectory {
  lookup(id: string): Promise<DeviceRecord | undefined>;
}

export class DeviceDirectoryError extends Error {
  override readonly name = 'DeviceDirectoryError';
}

interface FileShape {
  version: 1;
  devices: Record<string, { kind: DeviceKind; secretHash: string; disabled?: boolean }>;
}

const ID = new RegExp(ID_PATTERN);
const KINDS = new Set<string>(DEVICE_KINDS);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseFile(file: string, text: string): Map<string, DeviceRecord> {
  const bad = (what: string) => new DeviceDirectoryError(`${file}: ${what}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  if (!isObject(raw) || raw.version !== 1 || !isObject(raw.devices)) throw bad('expected {"version":1,"devices":{…}}');
  const out = new Map<string, DeviceRecord>();
  for (const [id, entry] of Object.entries(raw.devices)) {
    if (!ID.test(id)) throw bad(`'${id.slice(0, 80)}' is not a valid device id`);
    if (!isObject(entry)) throw bad(`devices.${id} is not an object`);
    const { kind, secretHash, disabled, ...rest } = entry;
    if (Object.keys(rest).length > 0) throw bad(`devices.${id} has unknown field(s) ${Object.keys(rest).join(', ')}`);
    if (typeof kind !== 'string' || !KINDS.has(kind)) throw bad(`devices.${id}.kind must be one of ${DEVICE_KINDS}`);
    if (typeof secretHash !== 'string' || !isSecretHash(secretHash)) throw bad(`devices.${id}.secretHash is malformed`);
    if (disabled !== undefined && typeof disabled !== 'boolean') throw bad(`devices.${id}.disabled must be boolean`);
    out.set(id, { id, kind: kind as DeviceKind, secretHash, ...(disabled ? { disabled } : {}) });
  }
  return out;
}

/**
 * Devices in a JSON file in the gateway data folder (mode 0600: it holds secret
 * hashes). The provisioning CLI and the running gateway share the file, so
 * lookups re-read it when it changed on disk and mutations re-read it before
 * writing; writes replace the file atomically, so a reader never sees half of one.
 */
export class FileDeviceDirectory implements DeviceDirectory {
  #devices = new Map<string, DeviceRecord>();
  #stamp = '';

  constructor(readonly file: string) {
    this.#refresh();
  }

  async lookup(id: string): Promise<DeviceRecord | undefined> {
    // A file corrupted by hand throws here: the broker then refuses everyone
    // (fail closed) and logs the error naming the file, rather than keep
    // admitting a device someone tried to disable.
    this.#refresh();
    return this.#devices.get(id);
  }

  list(): DeviceRecord[] {
    this.#refresh();
    return [...this.#devices.values()];
  }

  /** Registers a device and returns its secret: shown once, only its hash is kept. */
  async addDevice(id: string, kind: DeviceKind): Promise<string> {
    if (!ID.test(id)) throw new DeviceDirectoryError(`'${id.slice(0, 80)}' is not a valid device id (${ID_PATTERN})`);
    if (!KINDS.has(kind)) throw new DeviceDirectoryError(`unknown device kind '${kind}'`);
    const secret = generateSecret();
    const secretHash = await hashSecret(secret);
    this.#refresh();
    if (this.#devices.has(id)) throw new DeviceDirectoryError(`device '${id}' already exists`);
    this.#write(new Map(this.#devices).set(id, { id, kind, secretHash }));
    return secret;
  }

  /** Refuses (or re-admits) a device from its next CONNECT on. */
  setDisabled(id: string, disabled: boolean): void {
    this.#refresh();
    const rec = this.#devices.get(id);
    if (!rec) throw new DeviceDirectoryError(`no device '${id}'`);
    const { disabled: _, ...rest } = rec;
    this.#write(new Map(this.#devices).set(id, disabled ? { ...rest, disabled } : rest));
  }

  remove(id: string): boolean {
    this.#refresh();
    const next = new Map(this.#devices);
    if (!next.delete(id)) return false;
    this.#write(next);
    return true;
  }

  #refresh(): void {
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      stamp = 'missing';
    }
    if (stamp === this.#stamp) return;
    this.#devices = stamp === 'missing' ? new Map() : parseFile(this.file, readFileSync(this.file, 'utf8'));
    this.#stamp = stamp;
  }

  #write(devices: Map<string, DeviceRecord>): void {
    const body: FileShape = { version: 1, devices: {} };
    for (const { id, ...rest } of [...devices.values()].sort((a, b) => a.id.localeCompare(b.id))) {
      body.devices[id] = rest;
    }
    const dir = dirname(this.file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${basename(this.file)}.${process.pid}.tmp`);
    const fd = openSync(tmp, 'w', 0o600);
    try {
      fchmodSync(fd, 0o600); // a stale temp file from a crash keeps its old mode otherwise
      writeFileSync(fd, `${JSON.stringify(body, null, 2)}\n`);
      fsyncSync(fd); // the data must be on disk before the rename makes it the file
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd); // and the rename itself must survive a power cut
    } finally {
      closeSync(dirFd);
    }
    this.#devices = devices;
    const st = statSync(this.file);
    this.#stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  }
}
