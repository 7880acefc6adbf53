-- Repairs (报修工单): technicians, orders with their status history, assignments (each with its reason), photos,
-- alarm deduplication and complaints. Mirrors the "repairs & community" block of prisma/schema.prisma.

-- Where a building stands, for dispatch by distance. Micro-degrees keep coordinates exact integers.
CREATE TABLE building_positions (
  building_id uuid PRIMARY KEY REFERENCES buildings(id),
  estate_id uuid NOT NULL REFERENCES estates(id),
  lat_e6 integer NOT NULL CHECK (lat_e6 BETWEEN -90000000 AND 90000000),
  lng_e6 integer NOT NULL CHECK (lng_e6 BETWEEN -180000000 AND 180000000)
);

CREATE TABLE technicians (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  account_id uuid NOT NULL UNIQUE REFERENCES accounts(id),
  name text NOT NULL,
  skills jsonb NOT NULL DEFAULT '[]',
  base_building_id uuid REFERENCES buildings(id),
  -- Shift in estate-local minutes of the day; an end before the start is an overnight shift.
  shift_start_min integer NOT NULL DEFAULT 480 CHECK (shift_start_min BETWEEN 0 AND 1440),
  shift_end_min integer NOT NULL DEFAULT 1080 CHECK (shift_end_min BETWEEN 0 AND 1440),
  on_duty boolean NOT NULL DEFAULT true,
  lat_e6 integer CHECK (lat_e6 BETWEEN -90000000 AND 90000000),
  lng_e6 integer CHECK (lng_e6 BETWEEN -180000000 AND 180000000),
  located_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX technicians_estate ON technicians (estate_id);

CREATE TABLE repair_orders (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid REFERENCES households(id),
  unit_id uuid REFERENCES units(id),
  building_id uuid REFERENCES buildings(id),
  common_area text,
  category text NOT NULL CHECK (category IN ('plumbing', 'electrical', 'door_access', 'lift', 'charger', 'structure', 'other')),
  description text NOT NULL,
  source text NOT NULL CHECK (source IN ('resident', 'staff', 'alarm', 'planned')),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN
    ('pending', 'assigned', 'accepted', 'in_progress', 'completed', 'rated', 'cancelled', 'reopened')),
  technician_id uuid REFERENCES technicians(id),
  created_by text NOT NULL,
  accept_due_at timestamptz(3) NOT NULL,
  complete_due_at timestamptz(3) NOT NULL,
  assigned_at timestamptz(3),
  accepted_at timestamptz(3),
  started_at timestamptz(3),
  completed_at timestamptz(3),
  rated_at timestamptz(3),
  cancelled_at timestamptz(3),
  reopened_at timestamptz(3),
  accept_escalated_at timestamptz(3),
  complete_escalated_at timestamptz(3),
  rating integer CHECK (rating BETWEEN 1 AND 5),
  rating_comment text,
  device_id text,
  door_id text,
  alarm_kind text,
  alarm_count integer NOT NULL DEFAULT 0,
  last_alarm_at timestamptz(3),
  planned_starts_at timestamptz(3),
  planned_ends_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  -- A place is always known: the unit, or a named common area.
  CHECK (unit_id IS NOT NULL OR common_area IS NOT NULL)
);
CREATE INDEX repair_orders_estate_status ON repair_orders (estate_id, status, created_at);
CREATE INDEX repair_orders_technician ON repair_orders (technician_id, status);
CREATE INDEX repair_orders_household ON repair_orders (household_id, created_at);
-- At most one open order per alarming device: a repeated alarm updates it (alarms.ts).
CREATE UNIQUE INDEX repair_orders_open_device ON repair_orders (estate_id, device_id, category)
  WHERE device_id IS NOT NULL AND status NOT IN ('completed', 'rated', 'cancelled');

CREATE TABLE repair_transitions (
  id bigserial PRIMARY KEY,
  order_id uuid NOT NULL REFERENCES repair_orders(id),
  from_status text,
  to_status text NOT NULL,
  at timestamptz(3) NOT NULL DEFAULT now(),
  actor_id text,
  note text
);
CREATE INDEX repair_transitions_order ON repair_transitions (order_id, id);

CREATE TABLE repair_assignments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id uuid NOT NULL REFERENCES repair_orders(id),
  technician_id uuid NOT NULL REFERENCES technicians(id),
  mode text NOT NULL CHECK (mode IN ('auto', 'override')),
  reason text NOT NULL,
  distance_m integer,
  open_orders integer NOT NULL,
  assigned_by text NOT NULL,
  assigned_at timestamptz(3) NOT NULL DEFAULT now(),
  ended_at timestamptz(3),
  ended_reason text
);
CREATE INDEX repair_assignments_order ON repair_assignments (order_id, assigned_at);

CREATE TABLE repair_photos (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id uuid NOT NULL REFERENCES repair_orders(id),
  estate_id uuid NOT NULL REFERENCES estates(id),
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
  size_bytes integer NOT NULL,
  storage_key text NOT NULL UNIQUE,
  sha256 text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX repair_photos_order ON repair_photos (order_id);

-- Alarms arrive at least once; their idempotency key (gateway + sequence) is remembered so a replay is a no-op.
CREATE TABLE repair_alarm_events (
  idempotency_key text PRIMARY KEY,
  order_id uuid NOT NULL REFERENCES repair_orders(id),
  received_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE repair_complaints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id uuid NOT NULL REFERENCES repair_orders(id),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid REFERENCES households(id),
  body text NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  follow_up text,
  followed_up_by uuid,
  followed_up_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX repair_complaints_estate ON repair_complaints (estate_id, status, created_at);
CREATE INDEX repair_complaints_order ON repair_complaints (order_id);
