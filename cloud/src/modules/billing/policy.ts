// Who may do what in billing: the same shape and scope rule as core/authz.ts (admin spans estates, staff their
// estate, a resident only their own household; out of scope answers 404), kept beside the domain it guards.
import { inScope, type Principal, type Role, type Scope } from '../../core/authz.js';
import { AppError } from '../../core/errors.js';

const STAFF: Role[] = ['admin', 'staff'];
export const BILLING_POLICY = {
  'billing:configure': STAFF,
  'billing:readings': STAFF,
  'billing:charge': STAFF,
  'billing:run': STAFF,
  'billing:read': ['admin', 'staff', 'resident'],
  'billing:pay': ['admin', 'staff', 'resident'],
  'billing:note': STAFF,
  'billing:refund': STAFF,
  'billing:reconcile': STAFF,
  'billing:overdue': STAFF,
  'billing:follow_up': STAFF,
  'billing:figures': STAFF,
} as const satisfies Record<string, readonly Role[]>;
export type BillingAction = keyof typeof BILLING_POLICY;

export const canBilling = (p: Principal, action: BillingAction) =>
  (BILLING_POLICY[action] as readonly Role[]).includes(p.role);

export function authorizeBilling(p: Principal, action: BillingAction, scope?: Scope, what = 'Resource'): void {
  if (!canBilling(p, action)) throw new AppError('FORBIDDEN');
  if (scope && !inScope(p, scope)) throw new AppError('NOT_FOUND', `${what} not found`);
}
