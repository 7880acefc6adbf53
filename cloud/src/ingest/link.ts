// The cloud end of the gateway link as startCloud runs it: the embedded broker (unless ESTATE_CLOUD_MQTT_URL names
// an external one) and the ingest subscriber on it, logged in as the cloud's service user.
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { CloudDeps } from '../core/deps.js';
import { type CloudBroker, startCloudBroker } from './broker.js';
import { SERVICE_USER } from './broker-auth.js';
import { type BrokerAccounts, startBrokerAccounts } from './dynsec.js';
import { type Ingest, type IngestHandlers, startIngest } from './ingest.js';

export interface GatewayLink {
  /** The broker ingest is connected to. */
  url: string;
  /** What gateways are told to connect to (ESTATE_CLOUD_MQTT_PUBLIC_URL, else url). */
  publicUrl: string;
  /** Undefined with an external broker. */
  broker: CloudBroker | undefined;
  ingest: Ingest;
  close(): Promise<void>;
}

export async function startGatewayLink(
  deps: CloudDeps,
  opts: { logger?: Logger | FastifyBaseLogger | undefined; handlers?: IngestHandlers } = {},
): Promise<GatewayLink> {
  const { config } = deps;
  // Fastify's logger is a pino instance; its type only leaves out pino's newer fields
  const logger = opts.logger as Logger | undefined;
  let broker: CloudBroker | undefined;
  if (!config.mqttUrl) {
    const start = (port: number) => startCloudBroker(deps, { host: config.host, port, ...(logger ? { logger } : {}) });
    // like the HTTP port: a machine may already run a broker on the preferred one (npm start must still come up)
    broker = await start(config.mqttPort).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' || config.mqttPort === 0) throw err;
      logger?.warn({ port: config.mqttPort }, 'MQTT port taken; the embedded broker listens on a free one');
      return start(0);
    });
  }
  const url = config.mqttUrl ?? (broker as CloudBroker).url;
  // an external Mosquitto with dynamic security: the cloud keeps the gateways' accounts there (and its own)
  let accounts: BrokerAccounts | undefined;
  if (config.mqttUrl && config.mqttDynsec) {
    accounts = startBrokerAccounts(deps, {
      url: config.mqttUrl,
      ...config.mqttDynsec,
      onError: (err) => logger?.warn({ err: err.message }, 'broker accounts (dynamic security)'),
    });
  }
  try {
    const ingest = await startIngest(deps, {
      url,
      username: SERVICE_USER,
      password: config.mqttServiceSecret,
      // Aedes has no shared subscriptions; Mosquitto and EMQX do, and several cloud instances then split the stream
      shared: Boolean(config.mqttUrl),
      ...(opts.handlers ? { handlers: opts.handlers } : {}),
      ...(logger ? { logger } : {}),
    });
    return {
      url,
      publicUrl: config.mqttPublicUrl ?? url,
      broker,
      ingest,
      close: async () => {
        await ingest.close();
        await accounts?.close();
        await broker?.close();
      },
    };
  } catch (err) {
    await accounts?.close();
    await broker?.close();
    throw err;
  }
}
