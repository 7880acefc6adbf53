// Internal users of the gateway broker: tools on the box itself (the installer's self-test) that must watch every
// device and send test commands, which no device credential allows. They are not devices: their names start with
// '_' (never a valid device id), their secrets are short-lived and written by a tool that can write the data
// folder (as `device add` can), and what they may publish is narrow — a relay test pulse and a camera snapshot,
// never an unlock.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOPIC_ROOT } from '@estate/protocols';
import type { AclDenial } from './acl.js';
import { generateSecret, hashSecret } from './secret.js';

export const INTERNAL_USERS_FILE = 'internal-users.json';
export const SELF_TEST_USER = '_selftest';

export const isInternalUser = (username: string) => username.startsWith('_');

export interface InternalUsers {
  /** The hash of a user's secret while it is valid; undefined for an unknown or expired user. */
  lookup(username: string, now?: number): Promise<{ secretHash: string } | undefined>;
}

interface FileShape {
  version: 1;
  users: Record<string, { secretHash: string; expiresAt: number }>;
}

function read(file: string): FileShape {
  if (!existsSync(file)) return { version: 1, users: {} };
  const raw = JSON.parse(readFileSync(file, 'utf8')) as FileShape;
  if (raw.version !== 1 || typeof raw.users !== 'object' || raw.users === null) {
    throw new Error(`${file}: expected {"version":1,"users":{…}}`);
  }
  return raw;
}

function write(file: string, body: FileShape): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export class FileInternalUsers implements InternalUsers {
  readonly file: string;
  constructor(dataDir: string) {
    this.file = join(dataDir, INTERNAL_USERS_FILE);
  }

  async lookup(username: string, now = Date.now()) {
    const u = read(this.file).users[username];
    return u && u.expiresAt > now && typeof u.secretHash === 'string' ? { secretHash: u.secretHash } : undefined;
  }

  /** A fresh secret for `username`, valid for `ttlMs`; replaces the previous one. */
  async issue(username: string, ttlMs: number, now = Date.now()): Promise<string> {
    if (!isInternalUser(username)) throw new Error(`internal user names start with '_' (got '${username}')`);
    const secret = generateSecret();
    const body = read(this.file);
    // expired entries go when the file is next written
    for (const [name, u] of Object.entries(body.users)) if (u.expiresAt <= now) delete body.users[name];
    body.users[username] = { secretHash: await hashSecret(secret), expiresAt: now + ttlMs };
    mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
    write(this.file, body);
    return secret;
  }

  revoke(username: string): void {
    const body = read(this.file);
    if (!(username in body.users)) return;
    delete body.users[username];
    if (Object.keys(body.users).length === 0) rmSync(this.file, { force: true });
    else write(this.file, body);
  }
}

const DEVICE_ROOT = `${TOPIC_ROOT}/dev/`;
const TEST_COMMAND = /^estate\/v1\/dev\/(door|camera)\/[a-z0-9][a-z0-9_-]{0,62}\/cmd$/;
const ALLOWED_ACTION: Record<string, string> = { door: 'test_pulse', camera: 'snapshot' };

/** undefined = allowed: only a door's test_pulse or a camera's snapshot, nothing retained. */
export function checkInternalPublish(topic: string, payload: Buffer | string, retain: boolean): AclDenial | undefined {
  const m = TEST_COMMAND.exec(topic);
  if (!m?.[1] || retain) return 'publishNotAllowed';
  try {
    const action = (JSON.parse(payload.toString()) as { action?: unknown }).action;
    return action === ALLOWED_ACTION[m[1]] ? undefined : 'publishNotAllowed';
  } catch {
    return 'publishNotAllowed';
  }
}

/** undefined = allowed: anything under the device tree, wildcards included (watching is what it is for). */
export function checkInternalSubscribe(filter: string): AclDenial | undefined {
  return filter.startsWith(DEVICE_ROOT) ? undefined : 'subscribeNotAllowed';
}
