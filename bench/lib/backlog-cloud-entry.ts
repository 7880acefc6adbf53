// The child process of `childCloud` (backlog-cloud.ts): starts the inline cloud on request and answers its calls.
import { type BacklogCloud, type CloudReply, type CloudRequest, inlineCloud } from './backlog-cloud.js';

const reply = (m: CloudReply) => process.send?.(m);
const message = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e));

if (!process.send) {
  process.stderr.write('backlog-cloud-entry: started by the backlog_drain bench only\n');
  process.exit(2);
}
let cloud: BacklogCloud | undefined;
process.on('message', async (m: CloudRequest) => {
  if ('start' in m) {
    try {
      cloud = await inlineCloud(m.start.given, m.start.gateway);
      reply({ ready: { url: cloud.url, secret: cloud.secret } });
    } catch (e) {
      reply({ error: message(e) });
      process.exit(1);
    }
    return;
  }
  try {
    if (!cloud) throw new Error('not started');
    if (m.op === 'close') {
      await cloud.close();
      process.send?.({ id: m.id, value: null } satisfies CloudReply, () => process.exit(0));
      return;
    }
    reply({ id: m.id, value: m.op === 'stored' ? await cloud.stored() : await cloud.counters() });
  } catch (e) {
    reply({ id: m.id, error: message(e) });
  }
});
