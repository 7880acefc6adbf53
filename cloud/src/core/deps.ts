// What every module is handed: the database, secrets, and the pluggable adapters. Modules reach it as
// `app.deps`, never by importing each other.
import type { CloudConfig } from '../config.js';
import type { SqlDriver } from '../db/driver.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Principal } from './authz.js';
import type { BlobStore } from './blob-store.js';
import type { KeyRing } from './crypto.js';
import type { OcrProvider } from './ocr.js';
import type { PasswordHasher } from './passwords.js';
import type { SigningKeys } from './signing.js';

export interface CloudDeps {
  config: CloudConfig;
  prisma: PrismaClient;
  driver: SqlDriver;
  keyRing: KeyRing;
  blindIndexKey: Buffer;
  passwords: PasswordHasher;
  blobs: BlobStore;
  ocr: OcrProvider;
  /** The cloud's signing keys (desired state, gateway commands, BLE keys, passes). */
  signing: SigningKeys;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: CloudDeps;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Reachable without an access token (login, refresh, health, docs). */
    public?: boolean;
  }
}
