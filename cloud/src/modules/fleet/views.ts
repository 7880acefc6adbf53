// Rows → API shapes. No secret, key or hash ever leaves through these.
import type { Gateway, GatewayDevice } from '../../generated/prisma/client.js';

type Kind = 'door' | 'camera' | 'ble' | 'reader' | 'charger' | 'leak' | 'climate' | 'energy';
type Status = 'pending' | 'active' | 'retired';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function deviceView(d: GatewayDevice) {
  return {
    deviceId: d.deviceId,
    kind: d.kind as Kind,
    doorId: d.doorId,
    parkingSpace: d.parkingSpace,
    online: d.online,
    lastSeenAt: iso(d.lastSeenAt),
    pairedAt: d.pairedAt.toISOString(),
  };
}

export function gatewaySummary(g: Gateway, deviceCount: number) {
  return {
    id: g.id,
    estateId: g.estateId,
    name: g.name,
    status: g.status as Status,
    online: g.online,
    lastSeenAt: iso(g.lastSeenAt),
    appliedVersion: g.appliedVersion,
    // a used code keeps its hash (so a reuse is told apart from a typo) but has no expiry: it is not live
    claimExpiresAt: iso(g.claimExpiresAt),
    claimedAt: iso(g.claimedAt),
    createdAt: g.createdAt.toISOString(),
    deviceCount,
  };
}

export function gatewayDetail(g: Gateway & { devices: GatewayDevice[] }) {
  return { ...gatewaySummary(g, g.devices.length), devices: g.devices.map(deviceView) };
}

/** What the audit log keeps of a gateway: never the claim hash, key or secret hash. */
export function gatewayAudit(g: Gateway) {
  return {
    id: g.id,
    name: g.name,
    status: g.status,
    claimExpiresAt: iso(g.claimExpiresAt),
    claimedAt: iso(g.claimedAt),
    hasKey: g.publicKey !== null,
  };
}
