-- Dispatch counts every technician's open orders for each decision (repairs/repository.ts candidatesSql). The
-- open orders of an estate are few (hundreds to a few thousand) while its closed history grows without end; this
-- partial index holds only the open ones, with the technician, so the count reads exactly those index entries.
-- The predicate is the OPEN list of repairs/categories.ts: the planner uses the index only for a query whose
-- status condition implies it.
CREATE INDEX repair_orders_open_technician ON repair_orders (estate_id, technician_id)
  WHERE status IN ('pending', 'assigned', 'accepted', 'in_progress', 'reopened');
