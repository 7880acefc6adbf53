// `npm start`'s estate set up through the cloud's access API, as staff and a resident would: the installer pairs
// the simulated devices by their label codes, staff map the doors, the demo resident consents to face access and
// enrols with two photos (the cloud keeps the template only), sets a PIN, registers a visitor whom staff approve;
// the visitor's QR pass is scanned at a kiosk reader, and a phone key works at the BLE reader until it is revoked.
// Everything reaches the gateway as desired state; every decision comes back as an access event.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ApiBody, passTokenOf, type RunningCloud, sessionAs } from '@estate/cloud';
import type { FileDeviceDirectory } from '@estate/edge';
import { BleReader, Reader } from '@estate/firmware-stubs';
import { photosByPerson } from '@estate/models';
import { exportRawPublicKey, formatPairingCode } from '@estate/protocols';
import { DEMO_RESIDENT } from './demo-estate.js';

type Json = ApiBody;

const DEVICES: { id: string; kind: 'door' | 'camera' | 'reader' | 'ble'; door: string }[] = [
  { id: 'door-b1-main', kind: 'door', door: 'b1-main' },
  { id: 'door-b1-fire-exit', kind: 'door', door: 'b1-fire-exit' },
  { id: 'cam-b1-main', kind: 'camera', door: 'b1-main' },
  { id: 'ble-b1-main', kind: 'ble', door: 'b1-main' },
  { id: 'reader-b1-main', kind: 'reader', door: 'b1-main' },
  // the visitor kiosk and a second BLE reader, driven by this script rather than the fleet's scenario
  { id: 'reader-b1-kiosk', kind: 'reader', door: 'b1-main' },
  { id: 'ble-b1-kiosk', kind: 'ble', door: 'b1-main' },
];

export interface AccessDemo {
  notes: string[];
  /** The person the cloud enrolled, so face decisions can be named. */
  residentPersonId: string;
  /** Runs the visitor and phone-key scenes against the running gateway; resolves with what happened. */
  scenes(gatewayBrokerUrl: string): Promise<string[]>;
}

export async function demoThroughAccessApi(
  cloud: RunningCloud,
  gatewayId: string,
  directory: FileDeviceDirectory,
): Promise<AccessDemo> {
  const staff = await sessionAs(cloud, 'staff');
  const resident = await sessionAs(cloud, 'resident');
  const residentLogin = cloud.logins.find((l) => l.role === 'resident')?.login ?? '';
  const account = await cloud.deps.prisma.account.findUniqueOrThrow({ where: { login: residentLogin } });
  const personId = account.personId ?? '';
  const estateId = account.estateId ?? '';
  const notes: string[] = [];

  // installer: pair every device by its label code (a second start finds them paired already)
  for (const d of DEVICES) {
    const r = await staff.call('POST', `/api/gateways/${gatewayId}/devices`, {
      pairingCode: formatPairingCode(d.kind, d.id),
      doorId: d.door,
    });
    if (r.status !== 201 && r.status !== 409) throw new Error(`pair ${d.id}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  // staff: the doors, unless an earlier start made them
  const existing = (await expect(staff.call('GET', `/api/estates/${estateId}/doors`), 200)) as unknown as Json[];
  const doorOf = async (deviceId: string, body: Json) =>
    String(
      existing.find((d) => d.deviceId === deviceId)?.id ??
        (await expect(staff.call('POST', `/api/estates/${estateId}/doors`, { ...body, gatewayId, deviceId }), 201)).id,
    );
  const main = await doorOf('door-b1-main', {
    name: 'Building 1 main door',
    readers: ['cam-b1-main', 'ble-b1-main', 'reader-b1-main', 'reader-b1-kiosk', 'ble-b1-kiosk'],
  });
  await doorOf('door-b1-fire-exit', { name: 'Building 1 fire exit', mode: 'fail_safe' });
  notes.push(`paired ${DEVICES.length} devices by label code; doors mapped through the access API`);

  // the resident: face access with consent, a PIN for the non-face way in
  const consents = (await expect(resident.call('GET', `/api/persons/${personId}/consents`), 200)) as unknown as Json[];
  if (!consents.some((c) => c.purpose === 'face_access' && !c.withdrawnAt))
    await expect(resident.call('POST', `/api/persons/${personId}/consents`, { purpose: 'face_access' }), 201);
  const face = await expect(resident.call('GET', `/api/persons/${personId}/face`), 200);
  if (!face.enrolled) {
    const photos = (photosByPerson().get(DEMO_RESIDENT.label) ?? [])
      .slice(0, 2)
      .map((p) => readFileSync(p.path).toString('base64'));
    await expect(resident.call('POST', `/api/persons/${personId}/face`, { photos }), 201);
  }
  // a PIN already in use is refused, the resident's own included (the answer must not tell whose it is)
  if (!(await expect(resident.call('GET', `/api/persons/${personId}/pin`), 200)).set)
    await expect(resident.call('PUT', `/api/persons/${personId}/pin`, { pin: DEMO_RESIDENT.pin }), 200);
  notes.push(
    `resident ${residentLogin}: face_access consent, enrolled in the cloud from 2 photos (template only), PIN ${DEMO_RESIDENT.pin}`,
  );

  // devices the script drives itself get broker credentials like any device
  const secrets = new Map<string, string>();
  for (const id of ['reader-b1-kiosk', 'ble-b1-kiosk']) {
    directory.remove(id);
    secrets.set(id, await directory.addDevice(id, id.startsWith('ble') ? 'ble' : 'reader'));
  }

  return {
    notes,
    residentPersonId: personId,
    async scenes(url) {
      const lines: string[] = [];
      const broker = (id: string) => ({ url, username: id, password: secrets.get(id) ?? '' });
      const kiosk = new Reader({ id: 'reader-b1-kiosk', broker: broker('reader-b1-kiosk') });
      const ble = new BleReader({ id: 'ble-b1-kiosk', broker: broker('ble-b1-kiosk') });
      await Promise.all([kiosk.start(), ble.start()]);
      try {
        const hour = 3_600_000;
        const visit = await expect(
          resident.call('POST', `/api/persons/${personId}/visitors`, {
            name: '王女士 (demo visitor)',
            phone: '13812345678',
            purpose: '拜访',
            validFrom: new Date(Date.now() - 60_000).toISOString(),
            validTo: new Date(Date.now() + 4 * hour).toISOString(),
            doors: [main],
            maxUses: 1,
          }),
          201,
        );
        const approved = await expect(staff.call('POST', `/api/visitors/${String(visit.id)}/approve`, {}), 200);
        lines.push(`visitor registered by the resident, approved by staff; share link ${String(approved.shareUrl)}`);
        const token = await passTokenOf(cloud.deps, String(visit.id));
        const first = await retry(
          () => kiosk.scanQr(token),
          (r) => r.granted,
        );
        lines.push(`visitor's QR at the kiosk → ${first.granted ? 'door opens' : `refused (${first.reason})`}`);
        const again = await kiosk.scanQr(token);
        lines.push(`the same single-use QR again → ${again.granted ? 'door opens' : `refused (${again.reason})`}`);

        const phoneKey = generateKeyPairSync('ed25519');
        const key = await expect(
          resident.call('POST', `/api/persons/${personId}/ble-keys`, {
            phoneName: 'demo phone',
            alg: 'Ed25519',
            publicKey: exportRawPublicKey(phoneKey.publicKey).toString('base64url'),
          }),
          201,
        );
        const phone = { credential: String(key.credential), privateKey: phoneKey.privateKey };
        const ok = await retry(
          () => ble.present(phone),
          (r) => r.granted,
        );
        lines.push(`resident's phone key at the BLE reader → ${ok.granted ? 'door opens' : `refused (${ok.reason})`}`);
        await expect(staff.call('POST', `/api/ble-keys/${String(key.id)}/revoke`), 200);
        const revoked = await retry(
          () => ble.present(phone),
          (r) => !r.granted,
        );
        lines.push(
          `the same key after staff revoked it → ${revoked.granted ? 'door opens' : `refused (${revoked.reason})`}`,
        );
      } finally {
        await Promise.all([kiosk.stop(), ble.stop()]);
      }
      return lines;
    },
  };
}

/** Desired state takes a moment to reach the gateway: try for up to 10 s until the outcome is the expected one. */
async function retry<T>(attempt: () => Promise<T>, done: (r: T) => boolean): Promise<T> {
  const end = Date.now() + 10_000;
  for (;;) {
    const r = await attempt();
    if (done(r) || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 500));
  }
}

async function expect(p: Promise<{ status: number; body: Json }>, status: number): Promise<Json> {
  const r = await p;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}
