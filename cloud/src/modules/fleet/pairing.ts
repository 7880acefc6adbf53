// Pairing: a device joins a gateway by the code on its label, assigned to a door (door controller, camera, reader,
// BLE reader) or a parking space (charger); sensors need neither. Done by an installer / staff / admin of the estate,
// or by the gateway itself (`estate-gateway pair`, a signed request). Who may act is decided before this is called.
import { type DeviceKind, parsePairingCode } from '@estate/protocols';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { change } from '../../core/tx.js';
import type { Gateway } from '../../generated/prisma/client.js';
import { deviceView } from './views.js';

export interface PairInput {
  pairingCode: string;
  doorId?: string | undefined;
  parkingSpace?: string | undefined;
}

const AT_A_DOOR = new Set<DeviceKind>(['door', 'camera', 'reader', 'ble']);

/** Which assignment a kind takes; a wrong one is refused naming the field. */
function checkAssignment(kind: DeviceKind, input: PairInput): void {
  if (input.doorId && input.parkingSpace) {
    throw new AppError('VALIDATION', 'give doorId or parkingSpace, not both', '/body/parkingSpace');
  }
  if (input.doorId && !AT_A_DOOR.has(kind)) {
    throw new AppError('VALIDATION', `a ${kind} device is not assigned to a door`, '/body/doorId');
  }
  if (input.parkingSpace && kind !== 'charger') {
    throw new AppError('VALIDATION', `a ${kind} device is not assigned to a parking space`, '/body/parkingSpace');
  }
  if (kind === 'charger' && !input.parkingSpace) {
    throw new AppError('VALIDATION', 'a charger needs its parkingSpace', '/body/parkingSpace');
  }
  if (kind === 'door' && !input.doorId)
    throw new AppError('VALIDATION', 'a door controller needs its doorId', '/body/doorId');
}

export function pairingService(deps: CloudDeps) {
  const { prisma } = deps;
  return {
    async pair(actor: Actor, g: Gateway, input: PairInput) {
      if (g.status === 'retired') throw new AppError('GATEWAY_RETIRED');
      const parsed = parsePairingCode(input.pairingCode);
      if (!parsed.ok) throw new AppError('PAIRING_CODE_INVALID', `pairingCode: ${parsed.message}`, '/body/pairingCode');
      checkAssignment(parsed.kind, input);
      const row = await change(prisma, actor, async (tx, audit) => {
        // device ids are the label's serial: one device is paired to one live gateway in the whole fleet
        const existing = await tx.gatewayDevice.findFirst({
          where: { deviceId: parsed.deviceId, gateway: { status: { not: 'retired' } } },
          select: { gatewayId: true },
        });
        if (existing) {
          throw new AppError(
            'CONFLICT',
            existing.gatewayId === g.id
              ? `device ${parsed.deviceId} is already paired to this gateway`
              : `device ${parsed.deviceId} is paired to another gateway; unpair it there first`,
            '/body/pairingCode',
          );
        }
        const created = await tx.gatewayDevice.create({
          data: {
            gatewayId: g.id,
            deviceId: parsed.deviceId,
            kind: parsed.kind,
            doorId: input.doorId ?? null,
            parkingSpace: input.parkingSpace ?? null,
            pairedBy: actor.principal?.accountId ?? null,
          },
        });
        await audit({
          action: 'gateway.device.pair',
          entity: 'gateway_device',
          entityId: `${g.id}/${created.deviceId}`,
          estateId: g.estateId,
          after: deviceView(created),
        });
        return created;
      });
      return deviceView(row);
    },

    async unpair(actor: Actor, g: Gateway, deviceId: string) {
      await change(prisma, actor, async (tx, audit) => {
        const d = await tx.gatewayDevice.findUnique({ where: { gatewayId_deviceId: { gatewayId: g.id, deviceId } } });
        if (!d) throw notFound('Device');
        await tx.gatewayDevice.delete({ where: { gatewayId_deviceId: { gatewayId: g.id, deviceId } } });
        await audit({
          action: 'gateway.device.unpair',
          entity: 'gateway_device',
          entityId: `${g.id}/${deviceId}`,
          estateId: g.estateId,
          before: deviceView(d),
        });
      });
    },
  };
}
