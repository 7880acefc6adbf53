// Who may do what (OWASP API1 object level, API5 function level). One table of actions → roles, and one scope
// rule: an admin spans estates, a resident reaches only their own household, everyone else only their estate.
// An object outside the caller's scope answers 404, so ids of other estates cannot be probed for existence.
import { AppError } from './errors.js';

export const ROLES = ['admin', 'staff', 'technician', 'installer', 'resident'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  accountId: string;
  sessionId: string;
  role: Role;
  /** null only for admin. */
  estateId: string | null;
  personId: string | null;
  householdId: string | null;
}

const ALL: Role[] = [...ROLES];
export const POLICY = {
  'estate:read': ALL,
  'estate:write': ['admin'],
  'unit:write': ['admin', 'staff'],
  'household:search': ['admin', 'staff', 'technician'],
  'household:read': ['admin', 'staff', 'technician', 'resident'],
  'household:write': ['admin', 'staff'],
  'person:write': ['admin', 'staff', 'resident'],
  'person:sensitive': ['admin', 'staff', 'resident'],
  'vehicle:write': ['admin', 'staff', 'resident'],
  'renovation:list': ['admin', 'staff'],
  'renovation:file': ['admin', 'staff', 'resident'],
  'renovation:decide': ['admin', 'staff'],
  'attachment:write': ['admin', 'staff', 'resident'],
  'attachment:read': ['admin', 'staff', 'resident'],
  'consent:read': ['admin', 'staff', 'resident'],
  'consent:write': ['admin', 'staff', 'resident'],
  'privacy:export': ['admin', 'staff', 'resident'],
  'privacy:retention': ['admin'],
  'account:list': ['admin', 'staff'],
  'account:create': ['admin', 'staff'],
  'account:update': ['admin'],
  'audit:read': ['admin'],
  // — repairs & community —
  'repair:submit': ['admin', 'staff', 'resident'],
  'repair:read': ['admin', 'staff', 'technician', 'resident'],
  'repair:dispatch': ['admin', 'staff'],
  'repair:work': ['admin', 'staff', 'technician'],
  'repair:cancel': ['admin', 'staff', 'resident'],
  'repair:reopen': ['admin', 'staff', 'resident'],
  'repair:rate': ['resident'],
  'repair:complain': ['admin', 'staff', 'resident'],
  'complaint:follow_up': ['admin', 'staff'],
  'repair:stats': ['admin', 'staff'],
  'technician:manage': ['admin', 'staff'],
  'technician:locate': ['technician'],
  'notice:publish': ['admin', 'staff'],
  'notice:read': ALL,
  'event:manage': ['admin', 'staff'],
  'event:read': ALL,
  'event:signup': ['resident'],
  'comment:write': ['admin', 'staff', 'resident'],
  'comment:moderate': ['admin', 'staff'],
  'faq:manage': ['admin', 'staff'],
  'faq:ask': ALL,
  // — access management (issue 6) —
  'access:read': ['admin', 'staff', 'installer', 'resident'],
  'access:manage': ['admin', 'staff'],
  'face:enrol': ['admin', 'staff', 'resident'],
  'ble_key:manage': ['admin', 'staff', 'resident'],
  'pin:set': ['admin', 'staff', 'resident'],
  'visitor:register': ['admin', 'staff', 'resident'],
  'visitor:decide': ['admin', 'staff'],
  'visitor:list': ['admin', 'staff'],
  'access_event:search': ['admin', 'staff'],
  'access_event:person': ['admin', 'staff', 'resident'],
  'signing:rotate': ['admin'],
  // — fleet —
  'gateway:read': ['admin', 'staff', 'installer'],
  'gateway:manage': ['admin', 'staff', 'installer'],
  // — telemetry (issue 5): readings, online state and offline alarms; technicians read them to go and fix —
  'telemetry:read': ['admin', 'staff', 'technician'],
} as const satisfies Record<string, readonly Role[]>;
export type Action = keyof typeof POLICY;

/** Roles staff may hand out: never admin or staff (no privilege escalation through a staff account). */
export const STAFF_GRANTABLE: readonly Role[] = ['technician', 'installer', 'resident'];

export interface Scope {
  estateId: string;
  householdId?: string | null;
}

export function can(p: Principal, action: Action): boolean {
  return (POLICY[action] as readonly Role[]).includes(p.role);
}

export function inScope(p: Principal, scope: Scope): boolean {
  if (p.role === 'admin') return true;
  if (p.estateId !== scope.estateId) return false;
  if (p.role === 'resident') return !!scope.householdId && scope.householdId === p.householdId;
  return true;
}

/** Throws FORBIDDEN when the role may never do `action`, NOT_FOUND when the object is outside its scope. */
export function authorize(p: Principal, action: Action, scope?: Scope, what = 'Resource'): void {
  if (!can(p, action)) throw new AppError('FORBIDDEN');
  if (scope && !inScope(p, scope)) throw new AppError('NOT_FOUND', `${what} not found`);
}

/** The estate a list query is confined to: staff always their own, admin whichever they ask for. */
export function estateFilter(p: Principal, requested?: string): string | undefined {
  if (p.role === 'admin') return requested;
  if (requested && requested !== p.estateId) throw new AppError('NOT_FOUND', 'Estate not found');
  return p.estateId ?? undefined;
}
