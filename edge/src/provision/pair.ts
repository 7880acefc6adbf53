// `estate-gateway pair`: a device joins this gateway by the code on its label. The cloud records it first (it
// checks the code, the assignment and duplicates across the fleet), then the local broker admits it with a fresh
// secret, shown once for the installer to enter into the device. If the local step fails, the cloud record is
// taken back, so the two never disagree for long.
import { join } from 'node:path';
import { type DeviceKind, parsePairingCode } from '@estate/protocols';
import { FileDeviceDirectory } from '../broker/device-directory.js';
import { CloudError, type Fetch, signedCall } from './cloud-client.js';
import { loadIdentity } from './identity.js';

export interface PairOptions {
  dataDir: string;
  code: string;
  doorId?: string | undefined;
  parkingSpace?: string | undefined;
  fetch?: Fetch;
}

export interface Paired {
  deviceId: string;
  kind: DeviceKind;
  /** MQTT password for the device: shown once, only its hash is kept on the gateway. */
  secret: string;
}

export class PairError extends Error {
  override readonly name = 'PairError';
}

export async function pairDevice(o: PairOptions): Promise<Paired> {
  const parsed = parsePairingCode(o.code);
  if (!parsed.ok) throw new PairError(`--code: ${parsed.message}`);
  const identity = loadIdentity(o.dataDir);
  const devices = new FileDeviceDirectory(join(o.dataDir, 'devices.json'));
  if (await devices.lookup(parsed.deviceId)) {
    throw new PairError(`device ${parsed.deviceId} is registered on this gateway already`);
  }
  const path = `/api/gateways/${identity.gatewayId}/self/devices`;
  try {
    await signedCall(
      identity,
      'POST',
      path,
      {
        pairingCode: parsed.code,
        ...(o.doorId ? { doorId: o.doorId } : {}),
        ...(o.parkingSpace ? { parkingSpace: o.parkingSpace } : {}),
      },
      o.fetch,
    );
  } catch (e) {
    if (e instanceof CloudError) throw new PairError(`the cloud refused the pairing: ${e.message}`);
    throw e;
  }
  try {
    const secret = await devices.addDevice(parsed.deviceId, parsed.kind);
    return { deviceId: parsed.deviceId, kind: parsed.kind, secret };
  } catch (e) {
    await signedCall(identity, 'DELETE', `${path}/${parsed.deviceId}`, undefined, o.fetch).catch(() => {});
    throw e;
  }
}
