// Configuration of the cloud, parsed once at start from the environment. Every key is declared here with its
// default; an unknown ESTATE_CLOUD_* key is refused (a typo must not silently fall back to a default), and no
// secret has a default: production must supply them, development generates them once into the data folder.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { KeyRing, randomKey } from './core/crypto.js';
import { type ConnectRate, DEFAULT_CONNECT_RATE, parseConnectRate } from './ingest/rate-limit.js';

const PREFIX = 'ESTATE_CLOUD_';

const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('production'), Type.Literal('development'), Type.Literal('test')], {
    default: 'development',
  }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  ESTATE_CLOUD_HOST: Type.String({ default: '127.0.0.1' }),
  ESTATE_CLOUD_PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 8080 }),
  ESTATE_CLOUD_DATA_DIR: Type.String({ minLength: 1, default: '.estate/cloud' }),
  ESTATE_CLOUD_LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  ESTATE_CLOUD_CORS_ORIGINS: Type.String({ default: '', description: 'comma-separated origins; empty = no CORS' }),
  ESTATE_CLOUD_RATE_LIMIT: Type.Integer({ minimum: 1, default: 600, description: 'requests per minute per IP' }),
  ESTATE_CLOUD_LOGIN_RATE_LIMIT: Type.Integer({ minimum: 1, default: 10, description: 'logins per minute per IP' }),
  ESTATE_CLOUD_BODY_LIMIT: Type.Integer({ minimum: 1024, default: 2 * 1024 * 1024 }),
  ESTATE_CLOUD_TRUST_PROXY: Type.Boolean({ default: false }),
  ESTATE_CLOUD_ACCESS_TTL_S: Type.Integer({ minimum: 10, default: 900 }),
  ESTATE_CLOUD_REFRESH_TTL_S: Type.Integer({ minimum: 60, default: 30 * 24 * 3600 }),
  ESTATE_CLOUD_RETENTION_DAYS: Type.Integer({ minimum: 1, default: 3 * 365 }),
  // Secrets: no defaults on purpose.
  ESTATE_CLOUD_JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  ESTATE_CLOUD_DATA_KEYS: Type.Optional(Type.String({ minLength: 10, description: 'id:base64key[,id:base64key]' })),
  ESTATE_CLOUD_BLIND_INDEX_KEY: Type.Optional(Type.String({ minLength: 32 })),
  // Lower argon2 cost only for tests and benchmarks that create thousands of accounts.
  ESTATE_CLOUD_ARGON2_MEMORY_KIB: Type.Integer({ minimum: 1024, default: 19_456 }),
  // Telemetry (issue 5): how long samples and gateway health are kept; silence after which a gateway is offline.
  ESTATE_CLOUD_TELEMETRY_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
  ESTATE_CLOUD_GATEWAY_OFFLINE_S: Type.Integer({ minimum: 10, maximum: 86_400, default: 90 }),
  // Gateway link (issue 5): the embedded MQTT broker's port, or an external broker that replaces it.
  ESTATE_CLOUD_MQTT_PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 1884, description: '0 = any free' }),
  ESTATE_CLOUD_MQTT_URL: Type.Optional(
    Type.String({ pattern: '^mqtts?://', description: 'external broker (Mosquitto, EMQX); none = embedded' }),
  ),
  ESTATE_CLOUD_MQTT_PUBLIC_URL: Type.Optional(
    Type.String({ pattern: '^mqtts?://', description: 'what gateways are told to connect to' }),
  ),
  ESTATE_CLOUD_MQTT_SERVICE_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  // parsed, and refused unless burst/per-second, by connectRate() below
  ESTATE_CLOUD_MQTT_CONNECT_RATE: Type.String({
    default: `${DEFAULT_CONNECT_RATE.burst}/${DEFAULT_CONNECT_RATE.perSecond}`,
    description: 'embedded broker: CONNECTs per source address, burst/per-second',
  }),
  // An external Mosquitto's dynamic-security admin: with it the cloud keeps one broker client + role per gateway.
  ESTATE_CLOUD_MQTT_DYNSEC_USER: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  ESTATE_CLOUD_MQTT_DYNSEC_PASSWORD: Type.Optional(Type.String({ minLength: 8 })),
  // Desired state: a gateway that has not acknowledged for this long (or is retired) loses its tombstones.
  ESTATE_CLOUD_SYNC_STALE_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
});
type Env = Static<typeof EnvSchema>;
const SECRET_KEYS = [
  'ESTATE_CLOUD_JWT_SECRET',
  'ESTATE_CLOUD_DATA_KEYS',
  'ESTATE_CLOUD_BLIND_INDEX_KEY',
  'ESTATE_CLOUD_MQTT_SERVICE_SECRET',
] as const;

export interface CloudConfig {
  env: Env['NODE_ENV'];
  databaseUrl: string | undefined;
  host: string;
  port: number;
  dataDir: string;
  logLevel: string;
  corsOrigins: string[];
  rateLimitPerMinute: number;
  loginRateLimitPerMinute: number;
  bodyLimit: number;
  trustProxy: boolean;
  accessTtlS: number;
  refreshTtlS: number;
  retentionDays: number;
  argon2MemoryKib: number;
  /** Telemetry samples and gateway health older than this are dropped, and refused at ingest. */
  telemetryRetentionDays: number;
  /** A gateway silent for this long is marked offline and raises an alarm. */
  gatewayOfflineS: number;
  jwtSecret: Buffer;
  keyRing: KeyRing;
  blindIndexKey: Buffer;
  /** Embedded MQTT broker port (0 = any free); unused when mqttUrl names an external broker. */
  mqttPort: number;
  /** External broker; undefined = the embedded one. */
  mqttUrl: string | undefined;
  /** The broker URL gateways are given at provisioning; undefined = the broker's own URL. */
  mqttPublicUrl: string | undefined;
  /** Password of the cloud's own MQTT user `estate-cloud` (ingest, sync). */
  mqttServiceSecret: string;
  /** Embedded broker: CONNECTs allowed per source address (IPv6: per /64) before it closes them unchecked. */
  mqttConnectRate: ConnectRate;
  /**
   * Admin login of an external Mosquitto's dynamic-security plugin: the cloud then creates each gateway's broker
   * client and role at provisioning and deletes them at retirement. Undefined: embedded broker, or none managed.
   */
  mqttDynsec: { username: string; password: string } | undefined;
  /** A gateway without a desired-state ack for this many days gets all its tombstones pruned (a full copy later). */
  syncStaleDays: number;
}

export class ConfigError extends Error {}

export function loadConfig(source: Record<string, string | undefined> = process.env): CloudConfig {
  const unknown = Object.keys(source).filter((k) => k.startsWith(PREFIX) && !(k in EnvSchema.properties));
  if (unknown.length) throw new ConfigError(`unknown configuration key(s): ${unknown.join(', ')}`);
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const withDefaults = Value.Default(EnvSchema, picked);
  const env = Value.Convert(EnvSchema, withDefaults);
  const problem = Value.Errors(EnvSchema, env).First();
  if (problem) throw new ConfigError(`configuration ${problem.path.slice(1)}: ${problem.message}`);
  const e = env as Env;
  const dataDir = resolve(e.ESTATE_CLOUD_DATA_DIR);
  const secrets = resolveSecrets(e, dataDir);
  return {
    env: e.NODE_ENV,
    databaseUrl: e.DATABASE_URL,
    host: e.ESTATE_CLOUD_HOST,
    port: e.ESTATE_CLOUD_PORT,
    dataDir,
    logLevel: e.ESTATE_CLOUD_LOG_LEVEL,
    corsOrigins: e.ESTATE_CLOUD_CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    rateLimitPerMinute: e.ESTATE_CLOUD_RATE_LIMIT,
    loginRateLimitPerMinute: e.ESTATE_CLOUD_LOGIN_RATE_LIMIT,
    bodyLimit: e.ESTATE_CLOUD_BODY_LIMIT,
    trustProxy: e.ESTATE_CLOUD_TRUST_PROXY,
    accessTtlS: e.ESTATE_CLOUD_ACCESS_TTL_S,
    refreshTtlS: e.ESTATE_CLOUD_REFRESH_TTL_S,
    retentionDays: e.ESTATE_CLOUD_RETENTION_DAYS,
    argon2MemoryKib: e.ESTATE_CLOUD_ARGON2_MEMORY_KIB,
    telemetryRetentionDays: e.ESTATE_CLOUD_TELEMETRY_RETENTION_DAYS,
    gatewayOfflineS: e.ESTATE_CLOUD_GATEWAY_OFFLINE_S,
    jwtSecret: Buffer.from(secrets.ESTATE_CLOUD_JWT_SECRET, 'utf8'),
    keyRing: parseKeyRing(secrets.ESTATE_CLOUD_DATA_KEYS),
    blindIndexKey: Buffer.from(secrets.ESTATE_CLOUD_BLIND_INDEX_KEY, 'utf8'),
    mqttPort: e.ESTATE_CLOUD_MQTT_PORT,
    mqttUrl: e.ESTATE_CLOUD_MQTT_URL,
    mqttPublicUrl: e.ESTATE_CLOUD_MQTT_PUBLIC_URL,
    mqttServiceSecret: secrets.ESTATE_CLOUD_MQTT_SERVICE_SECRET,
    mqttConnectRate: connectRate(e.ESTATE_CLOUD_MQTT_CONNECT_RATE),
    mqttDynsec: dynsecLogin(e),
    syncStaleDays: e.ESTATE_CLOUD_SYNC_STALE_DAYS,
  };
}

function dynsecLogin(e: Env): CloudConfig['mqttDynsec'] {
  const { ESTATE_CLOUD_MQTT_DYNSEC_USER: username, ESTATE_CLOUD_MQTT_DYNSEC_PASSWORD: password } = e;
  if (!username && !password) return undefined;
  if (!username || !password) {
    throw new ConfigError('configuration ESTATE_CLOUD_MQTT_DYNSEC_USER and _PASSWORD go together');
  }
  if (!e.ESTATE_CLOUD_MQTT_URL) {
    throw new ConfigError(
      'configuration ESTATE_CLOUD_MQTT_DYNSEC_USER: needs ESTATE_CLOUD_MQTT_URL (an external broker)',
    );
  }
  return { username, password };
}

function connectRate(text: string): ConnectRate {
  const rate = parseConnectRate(text);
  if (!rate) throw new ConfigError(`configuration ESTATE_CLOUD_MQTT_CONNECT_RATE: '${text}' is not burst/per-second`);
  return rate;
}

function parseKeyRing(spec: string): KeyRing {
  try {
    return KeyRing.parse(spec);
  } catch (err) {
    throw new ConfigError(`configuration ESTATE_CLOUD_DATA_KEYS: ${(err as Error).message}`);
  }
}

type Secrets = Record<(typeof SECRET_KEYS)[number], string>;

/** Production must be given every secret; elsewhere missing ones are generated once into the data folder. */
function resolveSecrets(env: Env, dataDir: string): Secrets {
  const missing = SECRET_KEYS.filter((k) => !env[k]);
  if (missing.length === 0) return env as Secrets;
  if (env.NODE_ENV === 'production') {
    throw new ConfigError(`configuration ${missing.join(', ')}: required in production (no default for secrets)`);
  }
  const file = join(dataDir, 'dev-secrets.json');
  let stored: Partial<Secrets> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<Secrets>;
  const generated: Secrets = {
    ESTATE_CLOUD_JWT_SECRET: stored.ESTATE_CLOUD_JWT_SECRET ?? randomBytes(48).toString('base64url'),
    ESTATE_CLOUD_DATA_KEYS: stored.ESTATE_CLOUD_DATA_KEYS ?? `dev1:${randomKey()}`,
    ESTATE_CLOUD_BLIND_INDEX_KEY: stored.ESTATE_CLOUD_BLIND_INDEX_KEY ?? randomBytes(48).toString('base64url'),
    ESTATE_CLOUD_MQTT_SERVICE_SECRET: stored.ESTATE_CLOUD_MQTT_SERVICE_SECRET ?? randomBytes(32).toString('base64url'),
  };
  // also rewritten when a key was added since the file was made, so the new secret stays the same across starts
  if (!existsSync(file) || SECRET_KEYS.some((k) => stored[k] === undefined)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(generated, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return {
    ESTATE_CLOUD_JWT_SECRET: env.ESTATE_CLOUD_JWT_SECRET ?? generated.ESTATE_CLOUD_JWT_SECRET,
    ESTATE_CLOUD_DATA_KEYS: env.ESTATE_CLOUD_DATA_KEYS ?? generated.ESTATE_CLOUD_DATA_KEYS,
    ESTATE_CLOUD_BLIND_INDEX_KEY: env.ESTATE_CLOUD_BLIND_INDEX_KEY ?? generated.ESTATE_CLOUD_BLIND_INDEX_KEY,
    ESTATE_CLOUD_MQTT_SERVICE_SECRET:
      env.ESTATE_CLOUD_MQTT_SERVICE_SECRET ?? generated.ESTATE_CLOUD_MQTT_SERVICE_SECRET,
  };
}
