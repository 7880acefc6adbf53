// The installer's commands as the CLI runs them: thin printers over provision(), pairDevice() and selfTest().
import { CloudError } from './cloud-client.js';
import { CredentialsError, rotateCredentials } from './credentials.js';
import { IdentityError, identityPath } from './identity.js';
import { PairError, pairDevice } from './pair.js';
import { ProvisionError, provision } from './provision.js';
import { type CheckResult, type FaceCounter, selfTest } from './self-test.js';

export interface ProvisionArgs {
  claim: string;
  cloud: string | undefined;
  data: string;
  force: boolean;
}

/** Errors an installer can act on are printed as one line; anything else is a bug and propagates. */
const KNOWN = [ProvisionError, PairError, IdentityError, CloudError, CredentialsError];
function explain(e: unknown): number {
  if (KNOWN.some((k) => e instanceof k)) {
    console.error(`estate-gateway: ${(e as Error).message}`);
    return 1;
  }
  throw e;
}

export async function provisionCommand(a: ProvisionArgs): Promise<number> {
  try {
    const { identity } = await provision({
      claim: a.claim,
      cloudUrl: a.cloud,
      dataDir: a.data,
      force: a.force,
      software: 'estate-gateway/0.1.0',
      progress: (line) => console.log(line),
    });
    console.log(`next: pair the devices (estate-gateway pair --code …), then run estate-gateway self-test`);
    return identity.gatewayId ? 0 : 1;
  } catch (e) {
    return explain(e);
  }
}

export async function pairCommand(a: { code: string; door?: string; parking?: string; data: string }): Promise<number> {
  try {
    const p = await pairDevice({ dataDir: a.data, code: a.code, doorId: a.door, parkingSpace: a.parking });
    const where = a.door ? ` at door ${a.door}` : a.parking ? ` at parking space ${a.parking}` : '';
    console.log(`${p.kind} ${p.deviceId} paired${where}, recorded in the cloud`);
    console.log(`enter into the device — MQTT username: ${p.deviceId}  password (shown once): ${p.secret}`);
    return 0;
  } catch (e) {
    return explain(e);
  }
}

export async function credentialsCommand(a: { data: string }): Promise<number> {
  try {
    const identity = await rotateCredentials({ dataDir: a.data });
    console.log(
      `new MQTT secret for ${identity.gatewayId} saved in ${identityPath(a.data)}; the old one no longer works`,
    );
    console.log('a running agent uses it from its next connection (it rereads the file when the broker refuses it)');
    return 0;
  } catch (e) {
    return explain(e);
  }
}

function table(rows: CheckResult[]): string {
  const head = ['check', 'result', 'detail', 'what to fix'];
  const cells = rows.map((r) => [r.check, r.ok ? 'PASS' : 'FAIL', r.detail, r.ok ? '' : (r.fix ?? '')]);
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length))));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export async function selfTestCommand(a: { data: string; broker?: string | undefined }): Promise<number> {
  const faces = async (): Promise<FaceCounter & { close(): Promise<void> }> =>
    (await import('@estate/models')).FacePipeline.create();
  const report = await selfTest({
    dataDir: a.data,
    ...(a.broker ? { brokerUrl: a.broker } : {}),
    faces,
    onProgress: (p) => {
      if (p.state === 'running') console.log(`… ${p.check}`);
      else console.log(`${p.result.ok ? '✓' : '✗'} ${p.result.check}: ${p.result.detail} (${p.result.ms} ms)`);
    },
  });
  console.log(`\n${table(report.results)}\n`);
  const failed = report.results.filter((r) => !r.ok).length;
  console.log(failed === 0 ? 'all checks passed' : `${failed} of ${report.results.length} checks failed`);
  return failed === 0 ? 0 : 1;
}
