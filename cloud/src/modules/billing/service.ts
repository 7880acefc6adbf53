// The billing domain: fee schedules, bill runs, notes, payment orders and their signed notifications, refunds
// and reconciliation. Every change commits with its audit row; money is fen (integers) throughout.
import type { CloudDeps } from '../../core/deps.js';
import type { Channels } from './channels/config.js';
import { billOps } from './ops-bills.js';
import { paymentOps } from './ops-payments.js';
import { reconcileOps } from './ops-reconcile.js';
import { setupOps } from './ops-setup.js';
import { billingScope } from './scope.js';

export type { Acting, BillView } from './scope.js';
export { type FeeItemInput, paymentView, type SettingsInput } from './views.js';

export function billingService(deps: CloudDeps, channels: Channels) {
  const scope = billingScope(deps, channels);
  return { channels, ...setupOps(scope), ...billOps(scope), ...paymentOps(scope), ...reconcileOps(scope) };
}
