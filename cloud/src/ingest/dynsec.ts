// Gateway accounts on an external Mosquitto, through its dynamic-security plugin (Mosquitto ≥ 2.0; Debian's package
// ships it). Each gateway gets a broker client — username and client id its gateway id, password its uplink secret —
// and a role holding exactly the topics the embedded broker would allow it (gateway-acl.ts, from the topic map); the
// cloud's own service user gets a role over every gateway topic. So a production broker checks what the embedded one
// checks, without a hand-kept ACL file. Commands go to $CONTROL/dynamic-security/v1 as the plugin's admin; each
// answer comes back on …/response with the command's correlationData.
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import type { CloudDeps } from '../core/deps.js';
import { AppError } from '../core/errors.js';
import { SERVICE_USER } from './broker-auth.js';
import { gatewayAcl } from './gateway-acl.js';

const CONTROL = '$CONTROL/dynamic-security/v1';
// below the 5 s a Prisma interactive transaction may last: these calls run inside the claim and rotation
// transactions, which must fail as NOT_READY (503), not as a transaction timeout
const TIMEOUT_MS = 3_000;
const SERVICE_ROLE = 'estate-cloud';
const roleOf = (gatewayId: string) => `estate-gw-${gatewayId}`;
/** Answers that mean the thing is already as wanted (the plugin's own wording, Mosquitto 2.0). */
const EXISTS = /already/i;
const GONE = /not found/i;

type Command = { command: string } & Record<string, unknown>;
interface Answer {
  command: string;
  error?: string;
  correlationData?: string;
}

export interface BrokerAccounts {
  /** Creates the gateway's client and role, or resets its password; NOT_READY (503) when the broker is away. */
  enrol(gatewayId: string, secret: string): Promise<void>;
  /** Deletes the gateway's client (the plugin disconnects it) and role; absent ones are fine. */
  remove(gatewayId: string): Promise<void>;
  /** Resolves once the service user and its role exist (retried on every connect until they do). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

const accounts = new WeakMap<CloudDeps, BrokerAccounts>();
export const brokerAccountsOf = (deps: CloudDeps): BrokerAccounts | undefined => accounts.get(deps);

export function startBrokerAccounts(
  deps: CloudDeps,
  o: { url: string; username: string; password: string; onError?: (err: Error) => void },
): BrokerAccounts {
  const client = mqtt.connect(o.url, {
    protocolVersion: 4,
    clientId: `estate-cloud-dynsec-${randomBytes(4).toString('hex')}`,
    username: o.username,
    password: o.password,
    reconnectPeriod: 1_000,
    // a refused CONNECT (credentials not made yet, the broker's auth backend restarting) is retried, not final
    reconnectOnConnackError: true,
  });
  const waiting = new Map<string, { resolve: (a: Answer) => void; timer: NodeJS.Timeout }>();
  // every admin client reads every answer: ids carry this instance's own prefix (several cloud instances)
  const instance = randomBytes(6).toString('hex');
  let next = 0;
  client.on('error', (err) => o.onError?.(err));
  client.on('message', (_topic, payload) => {
    let answers: Answer[] = [];
    try {
      answers = (JSON.parse(payload.toString()) as { responses?: Answer[] }).responses ?? [];
    } catch {
      return; // not an answer of the plugin's
    }
    for (const a of answers) {
      const w = a.correlationData === undefined ? undefined : waiting.get(a.correlationData);
      if (!w || a.correlationData === undefined) continue;
      clearTimeout(w.timer);
      waiting.delete(a.correlationData);
      w.resolve(a);
    }
  });

  /** Runs the commands in order; an error not matching `tolerate` fails the call, naming the command. */
  async function run(commands: Command[], tolerate: RegExp): Promise<void> {
    if (!client.connected)
      throw new AppError('NOT_READY', 'the MQTT broker cannot be reached to manage gateway accounts');
    const answers = commands.map((c) => {
      const id = `${instance}-${next++}`;
      const answer = new Promise<Answer>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve({ command: c.command, error: 'no answer from the dynamic-security plugin' });
        }, TIMEOUT_MS);
        waiting.set(id, { resolve, timer });
      });
      return { command: { ...c, correlationData: id }, answer };
    });
    await client.publishAsync(CONTROL, JSON.stringify({ commands: answers.map((a) => a.command) }), { qos: 1 });
    for (const a of await Promise.all(answers.map((x) => x.answer))) {
      if (a.error && !tolerate.test(a.error)) {
        throw new AppError('NOT_READY', `the MQTT broker refused ${a.command}: ${a.error}`);
      }
    }
  }

  const role = (rolename: string, acls: { acltype: string; topic: string }[]): Command[] => [
    { command: 'createRole', rolename },
    // on an existing role the ACLs are (re)added: the topic map may have grown since it was made
    ...acls.map((acl) => ({ command: 'addRoleACL', rolename, ...acl, allow: true })),
  ];
  const account = (username: string, password: string, rolename: string, clientid?: string): Command[] => [
    { command: 'createClient', username, password, ...(clientid ? { clientid } : {}), roles: [{ rolename }] },
    // an existing client (made here before, with its role) takes the current secret. Not addClientRole: the
    // plugin answers a role the client already has with "Internal error" (Mosquitto 2.0.11)
    { command: 'setClientPassword', username, password },
  ];

  const service = async () => {
    const all = 'estate/v1/gw/#';
    await run(
      [
        ...role(SERVICE_ROLE, [
          { acltype: 'publishClientSend', topic: all },
          { acltype: 'subscribePattern', topic: all },
          // Mosquitto 2.0 checks a shared subscription with its $share/<group>/ prefix
          { acltype: 'subscribePattern', topic: `$share/+/${all}` },
        ]),
        ...account(SERVICE_USER, deps.config.mqttServiceSecret, SERVICE_ROLE),
      ],
      EXISTS,
    );
  };
  const ready = new Promise<void>((resolve) => {
    client.on('connect', () => {
      client
        .subscribeAsync(`${CONTROL}/response`, { qos: 1 })
        .then(service)
        .then(resolve, (err: Error) => o.onError?.(err)); // tried again on the next connect
    });
  });

  const self: BrokerAccounts = {
    ready,
    async enrol(gatewayId, secret) {
      const acl = gatewayAcl(gatewayId);
      await run(
        [
          ...role(roleOf(gatewayId), [
            ...[...acl.publish.keys()].map((topic) => ({ acltype: 'publishClientSend', topic })),
            ...[...acl.subscribe].map((topic) => ({ acltype: 'subscribeLiteral', topic })),
          ]),
          ...account(gatewayId, secret, roleOf(gatewayId), gatewayId),
        ],
        EXISTS,
      );
    },
    async remove(gatewayId) {
      await run(
        [
          { command: 'deleteClient', username: gatewayId },
          { command: 'deleteRole', rolename: roleOf(gatewayId) },
        ],
        GONE,
      );
    },
    async close() {
      accounts.delete(deps);
      for (const w of waiting.values()) clearTimeout(w.timer);
      await client.endAsync(true);
    },
  };
  accounts.set(deps, self);
  return self;
}
