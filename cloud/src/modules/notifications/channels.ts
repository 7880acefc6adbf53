// Delivery channels behind one interface. The log adapter is the default for every channel (nothing leaves the
// machine); SMS, e-mail and app-push adapters wrap a provider client behind the same `send`. Every send carries
// the delivery id as idempotency key, so a provider that deduplicates on it (most SMS and push gateways do)
// drops the rare repeat after a crash between "sent" and "recorded as sent".
import type { Channel } from '../../core/notify.js';

export interface OutgoingMessage {
  idempotencyKey: string;
  accountId: string;
  channel: Channel;
  kind: string;
  title: string;
  body: string;
}

export interface ChannelAdapter {
  send(message: OutgoingMessage): Promise<void>;
}
export type ChannelAdapters = Record<Channel, ChannelAdapter>;

export function logAdapter(log: { info(obj: object, msg: string): void }): ChannelAdapter {
  return {
    send: async (m) => log.info({ notification: { ...m, body: m.body.slice(0, 200) } }, `notify via ${m.channel}`),
  };
}

/** What a provider client must offer; wrap an SMS (e.g. Aliyun SMS), mail (SMTP) or push (APNs/FCM/JPush) SDK. */
export interface ProviderClient {
  deliver(
    to: { accountId: string },
    content: { title: string; body: string; template: string },
    idempotencyKey: string,
  ): Promise<void>;
}

export function providerAdapter(client: ProviderClient): ChannelAdapter {
  return {
    send: (m) =>
      client.deliver({ accountId: m.accountId }, { title: m.title, body: m.body, template: m.kind }, m.idempotencyKey),
  };
}

export function defaultAdapters(log: { info(obj: object, msg: string): void }): ChannelAdapters {
  const a = logAdapter(log);
  return { sms: a, email: a, push: a, log: a };
}
