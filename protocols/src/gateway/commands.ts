import { type Static, Type } from '@sinclair/typebox';
import { CommandHeader, Enum, Id, Obj, Signature } from '../common.js';

export const GatewayCommand = Obj(
  {
    ...CommandHeader,
    issuer: Obj({ userId: Id('staff account'), role: Type.String({ pattern: '^[a-z]{1,32}$' }) }),
    action: Enum(['unlock', 'hold_open', 'lockdown', 'release', 'resync', 'self_test']),
    doorId: Type.Optional(Id('door id; absent = every door of the gateway')),
    durationS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    signature: Signature,
  },
  'signed, expiring remote command from the cloud (audited there)',
);
export type GatewayCommand = Static<typeof GatewayCommand>;
