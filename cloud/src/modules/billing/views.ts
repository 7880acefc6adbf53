import type { Actor } from '../../core/context.js';
import type { PaymentChannel } from './channels/types.js';
import { dateOfDay, n } from './money.js';

export type Verified = ReturnType<PaymentChannel['verifyNotification']>;
export const systemLike = (channel: string): Actor => ({
  principal: null,
  system: `payments:${channel}`,
  requestId: null,
  ip: null,
});

export interface SettingsInput {
  dueDays: number;
  remindDaysBefore: number;
  lateFeeBpsPerDay: number;
  lateFeeGraceDays: number;
  lateFeeCapBps: number;
}
export function settingsView(estateId: string, s: Partial<SettingsInput> | null): SettingsInput & { estateId: string } {
  return {
    estateId,
    dueDays: s?.dueDays ?? 15,
    remindDaysBefore: s?.remindDaysBefore ?? 3,
    lateFeeBpsPerDay: s?.lateFeeBpsPerDay ?? 5,
    lateFeeGraceDays: s?.lateFeeGraceDays ?? 0,
    lateFeeCapBps: s?.lateFeeCapBps ?? 10_000,
  };
}

export interface FeeItemInput {
  code: string;
  name: string;
  kind: 'property' | 'parking' | 'water' | 'electricity' | 'gas' | 'one_off' | 'ev_charging';
  cycle: 'monthly' | 'quarterly' | 'yearly' | 'once';
  unitType?: string | undefined;
  rateCentiFen: number;
}
export const feeItemView = (f: {
  id: string;
  estateId: string;
  code: string;
  name: string;
  kind: string;
  cycle: string;
  unitType: string | null;
  rateCentiFen: bigint;
  active: boolean;
}) => ({
  id: f.id,
  estateId: f.estateId,
  code: f.code,
  name: f.name,
  kind: f.kind,
  cycle: f.cycle,
  unitType: f.unitType,
  rateCentiFen: n(f.rateCentiFen),
  active: f.active,
});
export const orderView = (o: {
  id: string;
  householdId: string;
  channel: string;
  outTradeNo: string;
  amountFen: bigint;
  currency: string;
  status: string;
  expiresAt: Date;
}) => ({
  id: o.id,
  householdId: o.householdId,
  channel: o.channel,
  outTradeNo: o.outTradeNo,
  amountFen: n(o.amountFen),
  currency: o.currency,
  status: o.status,
  expiresAt: o.expiresAt.toISOString(),
});
export const paymentView = (p: {
  id: string;
  householdId: string;
  channel: string;
  channelTxnId: string;
  amountFen: bigint;
  refundedFen: bigint;
  currency: string;
  paidAt: Date;
}) => ({
  id: p.id,
  householdId: p.householdId,
  channel: p.channel,
  channelTxnId: p.channelTxnId,
  amountFen: n(p.amountFen),
  refundedFen: n(p.refundedFen),
  currency: p.currency,
  paidAt: p.paidAt.toISOString(),
});
export { dateOfDay };
