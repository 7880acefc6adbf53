// Wire shapes of the fleet API: gateways, their claim codes, provisioning and paired devices (OpenAPI comes from these).
import { GatewayConfig, ID_PATTERN } from '@estate/protocols';
import { Type } from '@sinclair/typebox';
import { DateTime, Text, Uuid } from '../../core/schemas.js';

const WireId = (description: string) => Type.String({ pattern: ID_PATTERN, description });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const EstateParams = Type.Object({ estateId: Uuid }, { additionalProperties: false });
export const GatewayParams = Type.Object({ id: WireId('gateway id') }, { additionalProperties: false });
export const DeviceParams = Type.Object(
  { id: WireId('gateway id'), deviceId: WireId('device id') },
  { additionalProperties: false },
);

export const CreateGatewayBody = Type.Object(
  {
    name: Text(100),
    claimTtlHours: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 168, default: 24, description: 'how long the claim code stays valid' }),
    ),
  },
  { additionalProperties: false },
);
export const ClaimCodeBody = Type.Object(
  { claimTtlHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 168, default: 24 })) },
  { additionalProperties: false },
);

export const DeviceKindSchema = Type.Union(
  ['door', 'camera', 'ble', 'reader', 'charger', 'leak', 'climate', 'energy'].map((k) => Type.Literal(k)),
);

export const PairedDevice = Type.Object({
  deviceId: Type.String(),
  kind: DeviceKindSchema,
  doorId: Type.Union([Type.String(), Type.Null()]),
  parkingSpace: Type.Union([Type.String(), Type.Null()]),
  online: Type.Boolean(),
  lastSeenAt: Nullable(DateTime),
  pairedAt: DateTime,
});

export const GatewayStatus = Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('retired')]);

export const GatewaySummary = Type.Object({
  id: Type.String(),
  estateId: Uuid,
  name: Type.String(),
  status: GatewayStatus,
  online: Type.Boolean(),
  lastSeenAt: Nullable(DateTime),
  appliedVersion: Type.Integer(),
  claimExpiresAt: Nullable(DateTime),
  claimedAt: Nullable(DateTime),
  createdAt: DateTime,
  deviceCount: Type.Integer(),
});
export const GatewayDetail = Type.Composite([GatewaySummary, Type.Object({ devices: Type.Array(PairedDevice) })]);

export const ClaimCode = Type.Object({
  code: Type.String({ description: 'shown once: 4 groups of 4 characters; only its hash is stored' }),
  expiresAt: DateTime,
  qr: Type.Object({
    payload: Type.String({ description: 'what the QR code carries: estate-claim:<code>@<cloud url>' }),
    svg: Type.String({ description: 'the QR code as an SVG document' }),
    pngDataUrl: Type.String({ description: 'the QR code as a PNG data URL' }),
  }),
});
export const CreatedGateway = Type.Composite([GatewayDetail, Type.Object({ claim: ClaimCode })]);

export const ProvisionBody = Type.Object(
  {
    claimCode: Type.String({ minLength: 1, maxLength: 40 }),
    publicKey: Type.String({
      minLength: 43,
      maxLength: 200,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'the new Ed25519 public key of the box: raw 32 bytes or SPKI DER, base64url',
    }),
    nonce: Type.String({ minLength: 16, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
    proof: Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'Ed25519 signature, base64url, of "estate-provision/v1\\n<claim code, no dashes>\\n<nonce>"',
    }),
    software: Text(64),
  },
  { additionalProperties: false },
);

export const Provisioned = Type.Object({
  gatewayId: Type.String(),
  estateId: Uuid,
  mqtt: Type.Object({
    url: Type.String(),
    username: Type.String(),
    password: Type.String({ description: 'the uplink secret: given once, only its hash is kept' }),
  }),
  trustedKeys: GatewayConfig.properties.trustedKeys,
});

export const Credentials = Type.Object({ mqtt: Provisioned.properties.mqtt });

export const PairBody = Type.Object(
  {
    pairingCode: Type.String({ minLength: 8, maxLength: 100, description: 'EST1-<KIND>-<device id>-<CHECK>' }),
    doorId: Type.Optional(WireId('the door the device serves (door controller, camera, reader, BLE)')),
    parkingSpace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9-]{1,20}$', description: 'for a charger' })),
  },
  { additionalProperties: false },
);

/** What a provisioned gateway learns about itself (signed request). */
export const GatewaySelf = Type.Object({
  gatewayId: Type.String(),
  estateId: Uuid,
  status: GatewayStatus,
  online: Type.Boolean(),
  lastSeenAt: Nullable(DateTime),
  devices: Type.Array(PairedDevice),
});
