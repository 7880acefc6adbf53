import { iso } from './scope.js';

export const complaintView = (c: {
  id: string;
  orderId: string;
  estateId: string;
  body: string;
  status: string;
  followUp: string | null;
  followedUpAt: Date | null;
  createdAt: Date;
}) => ({
  id: c.id,
  orderId: c.orderId,
  estateId: c.estateId,
  body: c.body,
  status: c.status,
  followUp: c.followUp,
  followedUpAt: iso(c.followedUpAt),
  createdAt: c.createdAt.toISOString(),
});
