// startCloud: the whole cloud API on the configured database (embedded PGlite by default), migrated, with demo
// data on first start, listening on the preferred port or a free one when it is taken.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { type CloudConfig, loadConfig } from './config.js';
import type { CloudDeps } from './core/deps.js';
import { openDeps } from './deps.js';
import { SERVICE_USER } from './ingest/broker-auth.js';
import { startGatewayLink } from './ingest/link.js';
import { seedCommunityDemo } from './seed/community.js';
import type { GenOptions } from './seed/generator.js';
import { type DemoLogin, isEmpty, seedDemo } from './seed/seed.js';
import { type SyncPublisher, scheduleTombstonePruning, startSyncPublisher, syncHandlers } from './sync/index.js';
import { telemetryHandlers } from './telemetry/handlers.js';

export interface StartOptions {
  /** Environment to read the configuration from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Overrides of the environment, e.g. { ESTATE_CLOUD_PORT: '0' }. */
  overrides?: Record<string, string>;
  /** Seed demo data when the database is empty (default true outside production). */
  seed?: boolean | Partial<GenOptions>;
  logger?: boolean | Record<string, unknown>;
}

export interface RunningCloud {
  url: string;
  docsUrl: string;
  port: number;
  logins: DemoLogin[];
  config: CloudConfig;
  app: FastifyInstance;
  deps: CloudDeps;
  /** The gateway link: the broker ingest uses, and the URL gateways are given. */
  mqtt: { url: string; publicUrl: string };
  close(): Promise<void>;
}

export async function startCloud(options: StartOptions = {}): Promise<RunningCloud> {
  const config = loadConfig({ ...(options.env ?? process.env), ...options.overrides });
  const { deps, db } = await openDeps(config);
  let app: FastifyInstance | undefined;
  let link: Awaited<ReturnType<typeof startGatewayLink>> | undefined;
  let sync: SyncPublisher | undefined;
  try {
    const logins = await demoLogins(deps, options.seed ?? config.env !== 'production');
    app = await buildApp(deps, { logger: options.logger });
    // before listen: the job hooks into the app's ready and close
    scheduleTombstonePruning(app);
    const port = await listen(app, config);
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    const running = app;
    link = await startGatewayLink(deps, {
      logger: running.log,
      handlers: { ...telemetryHandlers(deps), ...syncHandlers(deps) },
    });
    const gatewayLink = link;
    // desired state and remote commands go out on a client of their own, so a busy ingest never delays a revocation
    sync = startSyncPublisher(deps, {
      url: link.url,
      username: SERVICE_USER,
      password: config.mqttServiceSecret,
      onError: (err) => running.log.warn({ err }, 'sync publisher'),
    });
    const publisher = sync;
    // the embedded broker is up already, so this is immediate; an external one that is down must not keep the API
    // from serving (desired state queues, commands answer 503 until the link is up)
    if (link.broker) await publisher.ready;
    else void publisher.ready.then(() => running.log.info({ url: config.mqttUrl }, 'sync publisher connected'));
    // the fleet module tells provisioned gateways this port (on the host they reached the API at), so it must be
    // the one the embedded broker really took, which differs from the configured one when that was taken or 0
    if (link.broker) config.mqttPort = link.broker.port;
    return {
      url,
      docsUrl: `${url}/docs`,
      port,
      logins,
      config,
      app: running,
      deps,
      mqtt: { url: gatewayLink.url, publicUrl: gatewayLink.publicUrl },
      close: async () => {
        await publisher.close();
        await gatewayLink.close();
        await running.close();
        await db.close();
      },
    };
  } catch (err) {
    await sync?.close();
    await link?.close();
    await app?.close();
    await db.close();
    throw err;
  }
}

async function listen(app: FastifyInstance, config: CloudConfig): Promise<number> {
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    app.log.warn({ port: config.port }, 'port taken; listening on a free one');
    await app.listen({ host: config.host, port: 0 });
  }
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : config.port;
}

async function demoLogins(deps: CloudDeps, seed: boolean | Partial<GenOptions>): Promise<DemoLogin[]> {
  const file = join(deps.config.dataDir, 'demo-logins.json');
  if (seed !== false && (await isEmpty(deps))) {
    const result = await seedDemo(deps, seed === true ? {} : seed);
    if (result.estates[0]) await seedCommunityDemo(deps, result.estates[0].id);
    writeFileSync(file, `${JSON.stringify(result.logins, null, 2)}\n`, { mode: 0o600 });
    return result.logins;
  }
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DemoLogin[]) : [];
}
