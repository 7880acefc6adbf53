-- Community: notices (公告) with read receipts, events with sign-ups and a waiting list, comments with
-- moderation, the FAQ, and notification deliveries. Mirrors the "repairs & community" block of schema.prisma.

CREATE TABLE notices (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  title text NOT NULL,
  body text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('general', 'water_outage', 'power_outage', 'maintenance', 'event')),
  target_kind text NOT NULL CHECK (target_kind IN ('estate', 'building', 'unit')),
  target_id uuid,
  publish_at timestamptz(3) NOT NULL,
  expires_at timestamptz(3),
  repair_order_id uuid REFERENCES repair_orders(id),
  created_by uuid NOT NULL,
  withdrawn_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  CHECK ((target_kind = 'estate') = (target_id IS NULL)),
  CHECK (expires_at IS NULL OR expires_at > publish_at)
);
CREATE INDEX notices_estate_publish ON notices (estate_id, publish_at);
CREATE UNIQUE INDEX notices_repair_order ON notices (repair_order_id) WHERE repair_order_id IS NOT NULL;

CREATE TABLE notice_reads (
  notice_id uuid NOT NULL REFERENCES notices(id),
  account_id uuid NOT NULL REFERENCES accounts(id),
  read_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (notice_id, account_id)
);

CREATE TABLE community_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  title text NOT NULL,
  description text NOT NULL,
  location text NOT NULL,
  starts_at timestamptz(3) NOT NULL,
  ends_at timestamptz(3) NOT NULL,
  capacity integer NOT NULL CHECK (capacity > 0),
  waitlist_capacity integer NOT NULL DEFAULT 0 CHECK (waitlist_capacity >= 0),
  signup_opens_at timestamptz(3) NOT NULL,
  signup_closes_at timestamptz(3) NOT NULL,
  created_by uuid NOT NULL,
  cancelled_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at),
  CHECK (signup_closes_at > signup_opens_at)
);
CREATE INDEX community_events_estate ON community_events (estate_id, starts_at);

CREATE TABLE event_signups (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id uuid NOT NULL REFERENCES community_events(id),
  person_id uuid NOT NULL REFERENCES persons(id),
  household_id uuid NOT NULL REFERENCES households(id),
  status text NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
  signed_up_at timestamptz(3) NOT NULL DEFAULT now(),
  promoted_at timestamptz(3),
  cancelled_at timestamptz(3),
  attended boolean
);
CREATE UNIQUE INDEX event_signups_live ON event_signups (event_id, person_id) WHERE status <> 'cancelled';
CREATE INDEX event_signups_queue ON event_signups (event_id, status, signed_up_at);

CREATE TABLE comments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  subject_kind text NOT NULL CHECK (subject_kind IN ('notice', 'event')),
  subject_id uuid NOT NULL,
  author_id uuid NOT NULL REFERENCES accounts(id),
  body text NOT NULL,
  hidden_at timestamptz(3),
  hidden_by uuid,
  hidden_reason text,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX comments_subject ON comments (subject_kind, subject_id, created_at);

CREATE TABLE faq_entries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid REFERENCES estates(id),
  question text NOT NULL,
  answer text NOT NULL,
  keywords text NOT NULL DEFAULT '',
  -- A repair category when the question is about a fault: the assistant then offers to open an order.
  repair_category text,
  created_by uuid,
  retired_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX faq_entries_estate ON faq_entries (estate_id) WHERE retired_at IS NULL;

-- One row per recipient and channel of a `notification.requested` outbox event; the unique key is what makes
-- taking an event from the outbox idempotent, and `status = 'sent'` is what keeps a delivery from going twice.
CREATE TABLE notification_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  outbox_id bigint NOT NULL REFERENCES outbox_events(id),
  account_id uuid NOT NULL REFERENCES accounts(id),
  estate_id uuid,
  channel text NOT NULL CHECK (channel IN ('sms', 'email', 'push', 'log')),
  kind text NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
  locked_until timestamptz(3),
  last_error text,
  sent_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (outbox_id, account_id, channel)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending';
