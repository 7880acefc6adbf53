// Repair categories: the skill a technician needs and the service levels (minutes) the property company
// promises residents. The reassign window is how long an assigned technician has to accept before dispatch
// offers the order to the next one.
export const CATEGORIES = {
  plumbing: { label: '水管/漏水', skill: 'plumbing', acceptMin: 30, completeMin: 24 * 60, reassignMin: 10 },
  electrical: { label: '电路', skill: 'electrical', acceptMin: 30, completeMin: 24 * 60, reassignMin: 10 },
  door_access: { label: '门禁', skill: 'door_access', acceptMin: 15, completeMin: 4 * 60, reassignMin: 5 },
  lift: { label: '电梯', skill: 'lift', acceptMin: 15, completeMin: 4 * 60, reassignMin: 5 },
  charger: { label: '充电桩', skill: 'charger', acceptMin: 60, completeMin: 48 * 60, reassignMin: 15 },
  structure: { label: '土建/门窗', skill: 'structure', acceptMin: 120, completeMin: 72 * 60, reassignMin: 30 },
  other: { label: '其他', skill: 'general', acceptMin: 120, completeMin: 72 * 60, reassignMin: 30 },
} as const;
export type Category = keyof typeof CATEGORIES;
export const CATEGORY_NAMES = Object.keys(CATEGORIES) as Category[];

export const STATUSES = [
  'pending',
  'assigned',
  'accepted',
  'in_progress',
  'completed',
  'rated',
  'cancelled',
  'reopened',
] as const;
export type Status = (typeof STATUSES)[number];

/** The status machine: every transition an order may make. */
export const NEXT: Record<Status, readonly Status[]> = {
  pending: ['assigned', 'cancelled'],
  assigned: ['accepted', 'assigned', 'pending', 'cancelled'],
  accepted: ['in_progress', 'assigned', 'cancelled'],
  in_progress: ['completed', 'assigned'],
  completed: ['rated', 'reopened'],
  rated: [],
  cancelled: [],
  reopened: ['assigned', 'cancelled'],
};
export const OPEN: readonly Status[] = ['pending', 'assigned', 'accepted', 'in_progress', 'reopened'];
