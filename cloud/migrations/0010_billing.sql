-- Billing and payments (issue 7). Money is integer fen (分) in bigint columns; unit prices are in centi-fen
-- (0.0001 yuan) because tariffs such as ¥0.4883/kWh have four decimals. Mirrors the `— billing —` block of
-- prisma/schema.prisma. Foreign keys to core tables live here only (Prisma needs no relation to them).

CREATE TABLE billing_settings (
  estate_id uuid PRIMARY KEY REFERENCES estates(id),
  due_days integer NOT NULL DEFAULT 15 CHECK (due_days BETWEEN 0 AND 120),
  remind_days_before integer NOT NULL DEFAULT 3 CHECK (remind_days_before BETWEEN 0 AND 60),
  -- 万分之五 per day is the usual contract rate; the cap keeps the late fee below the debt itself.
  late_fee_bps_per_day integer NOT NULL DEFAULT 5 CHECK (late_fee_bps_per_day BETWEEN 0 AND 100),
  late_fee_grace_days integer NOT NULL DEFAULT 0 CHECK (late_fee_grace_days BETWEEN 0 AND 365),
  late_fee_cap_bps integer NOT NULL DEFAULT 10000 CHECK (late_fee_cap_bps BETWEEN 0 AND 10000),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);

-- The unit type a property fee rate depends on (住宅, 商铺 …); a unit without a row is residential.
CREATE TABLE billing_unit_types (
  unit_id uuid PRIMARY KEY REFERENCES units(id),
  estate_id uuid NOT NULL REFERENCES estates(id),
  unit_type text NOT NULL CHECK (unit_type ~ '^[a-z_]{1,30}$')
);

CREATE TABLE fee_items (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  code text NOT NULL,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('property', 'parking', 'water', 'electricity', 'gas', 'one_off', 'ev_charging')),
  cycle text NOT NULL CHECK (cycle IN ('monthly', 'quarterly', 'yearly', 'once')),
  unit_type text,
  rate_centi_fen bigint NOT NULL CHECK (rate_centi_fen >= 0),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (estate_id, code),
  CHECK ((kind IN ('one_off', 'ev_charging')) = (cycle = 'once'))
);

CREATE TABLE billing_discounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  name text NOT NULL,
  fee_item_id uuid REFERENCES fee_items(id),
  min_months integer NOT NULL DEFAULT 1 CHECK (min_months BETWEEN 1 AND 12),
  percent_bps integer NOT NULL CHECK (percent_bps BETWEEN 1 AND 10000),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE billing_periods (
  estate_id uuid NOT NULL REFERENCES estates(id),
  period text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  closed_at timestamptz(3),
  closed_by text,
  PRIMARY KEY (estate_id, period)
);

CREATE TABLE bill_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  period text NOT NULL,
  started_at timestamptz(3) NOT NULL DEFAULT now(),
  finished_at timestamptz(3),
  bills_created integer NOT NULL DEFAULT 0,
  total_fen bigint NOT NULL DEFAULT 0,
  actor_id text
);
CREATE INDEX bill_runs_estate ON bill_runs (estate_id, period);

CREATE TABLE meter_readings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  meter text NOT NULL CHECK (meter IN ('water', 'electricity', 'gas')),
  period text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
  -- 0.001 m³ / kWh steps.
  reading_milli bigint NOT NULL CHECK (reading_milli >= 0),
  source text NOT NULL CHECK (source IN ('entered', 'import', 'telemetry')),
  recorded_at timestamptz(3) NOT NULL DEFAULT now(),
  recorded_by text,
  UNIQUE (household_id, meter, period)
);

-- One-off fees and EV charging sessions waiting for the next bill run.
CREATE TABLE billing_charges (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  fee_item_id uuid NOT NULL REFERENCES fee_items(id),
  description text NOT NULL,
  amount_fen bigint NOT NULL CHECK (amount_fen > 0),
  source_ref text,
  bill_id uuid,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX billing_charges_pending ON billing_charges (household_id) WHERE bill_id IS NULL;
-- A charging session (or any external source) is charged once.
CREATE UNIQUE INDEX billing_charges_source ON billing_charges (fee_item_id, source_ref) WHERE source_ref IS NOT NULL;

CREATE SEQUENCE bill_number_seq;
CREATE TABLE bills (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  number text NOT NULL UNIQUE DEFAULT ('B' || lpad(nextval('bill_number_seq')::text, 10, '0')),
  estate_id uuid NOT NULL REFERENCES estates(id),
  building_id uuid NOT NULL REFERENCES buildings(id),
  household_id uuid NOT NULL REFERENCES households(id),
  period text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
  kind text NOT NULL CHECK (kind IN ('bill', 'credit_note', 'debit_note')),
  corrects_bill_id uuid REFERENCES bills(id),
  reason text,
  total_fen bigint NOT NULL,
  paid_fen bigint NOT NULL DEFAULT 0,
  currency text NOT NULL DEFAULT 'CNY' CHECK (currency = 'CNY'),
  issued_at timestamptz(3) NOT NULL DEFAULT now(),
  due_on date NOT NULL,
  run_id uuid REFERENCES bill_runs(id),
  CHECK ((kind = 'credit_note' AND total_fen < 0) OR (kind <> 'credit_note' AND total_fen > 0)),
  CHECK (paid_fen >= 0 AND paid_fen <= greatest(total_fen, 0)),
  CHECK ((kind = 'bill') = (corrects_bill_id IS NULL))
);
-- The idempotency of bill runs: one bill per household and period, whatever runs.
CREATE UNIQUE INDEX bills_once ON bills (household_id, period) WHERE kind = 'bill';
CREATE INDEX bills_household_due ON bills (household_id, due_on);
CREATE INDEX bills_estate_period ON bills (estate_id, period);
CREATE INDEX bills_corrects ON bills (corrects_bill_id) WHERE corrects_bill_id IS NOT NULL;

CREATE TABLE bill_items (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  bill_id uuid NOT NULL REFERENCES bills(id),
  position integer NOT NULL,
  fee_item_id uuid REFERENCES fee_items(id),
  kind text NOT NULL,
  description text NOT NULL,
  basis jsonb NOT NULL,
  basis_text text NOT NULL,
  amount_fen bigint NOT NULL,
  UNIQUE (bill_id, position)
);

-- An issued bill is immutable: only the paid amount moves (through allocations); corrections are notes.
CREATE FUNCTION bills_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'issued bills cannot be deleted'; END IF;
  IF (NEW.id, NEW.number, NEW.estate_id, NEW.building_id, NEW.household_id, NEW.period, NEW.kind,
      NEW.corrects_bill_id, NEW.reason, NEW.total_fen, NEW.currency, NEW.issued_at, NEW.due_on, NEW.run_id)
     IS DISTINCT FROM
     (OLD.id, OLD.number, OLD.estate_id, OLD.building_id, OLD.household_id, OLD.period, OLD.kind,
      OLD.corrects_bill_id, OLD.reason, OLD.total_fen, OLD.currency, OLD.issued_at, OLD.due_on, OLD.run_id) THEN
    RAISE EXCEPTION 'issued bills are immutable; issue a credit or debit note';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER bills_no_change BEFORE UPDATE OR DELETE ON bills FOR EACH ROW EXECUTE FUNCTION bills_immutable();
CREATE FUNCTION bill_items_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'bill items are immutable';
END $$;
CREATE TRIGGER bill_items_no_change BEFORE UPDATE OR DELETE ON bill_items
  FOR EACH ROW EXECUTE FUNCTION bill_items_immutable();

-- A household's money not yet allocated to a bill (overpayment, credit notes beyond the bill). The row is also
-- the lock that serialises everything that moves a household's money.
CREATE TABLE billing_accounts (
  household_id uuid PRIMARY KEY REFERENCES households(id),
  estate_id uuid NOT NULL REFERENCES estates(id),
  credit_fen bigint NOT NULL DEFAULT 0 CHECK (credit_fen >= 0),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE payment_orders (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  channel text NOT NULL CHECK (channel IN ('wechat', 'alipay', 'unionpay', 'sandbox')),
  out_trade_no text NOT NULL UNIQUE,
  amount_fen bigint NOT NULL CHECK (amount_fen > 0),
  currency text NOT NULL DEFAULT 'CNY',
  bill_ids jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'closed')),
  created_by text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz(3) NOT NULL,
  paid_at timestamptz(3)
);
CREATE INDEX payment_orders_household ON payment_orders (household_id, created_at);

CREATE TABLE payments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  order_id uuid UNIQUE REFERENCES payment_orders(id),
  channel text NOT NULL,
  channel_txn_id text NOT NULL,
  amount_fen bigint NOT NULL CHECK (amount_fen > 0),
  refunded_fen bigint NOT NULL DEFAULT 0,
  currency text NOT NULL DEFAULT 'CNY',
  paid_at timestamptz(3) NOT NULL,
  received_at timestamptz(3) NOT NULL DEFAULT now(),
  CHECK (refunded_fen >= 0 AND refunded_fen <= amount_fen),
  -- A provider's transaction credits once, however often it is notified.
  UNIQUE (channel, channel_txn_id)
);
CREATE INDEX payments_household ON payments (household_id, paid_at);
CREATE INDEX payments_estate_paid ON payments (estate_id, paid_at);

CREATE TABLE refunds (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  payment_id uuid NOT NULL REFERENCES payments(id),
  out_refund_no text NOT NULL UNIQUE,
  amount_fen bigint NOT NULL CHECK (amount_fen > 0),
  reason text NOT NULL,
  status text NOT NULL CHECK (status IN ('requested', 'succeeded')),
  created_by text,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment ON refunds (payment_id);

-- Every move of money onto or off a bill; bills.paid_fen is their sum.
CREATE TABLE bill_allocations (
  id bigserial PRIMARY KEY,
  household_id uuid NOT NULL REFERENCES households(id),
  bill_id uuid NOT NULL REFERENCES bills(id),
  amount_fen bigint NOT NULL CHECK (amount_fen <> 0),
  source text NOT NULL CHECK (source IN ('payment', 'credit', 'credit_note', 'refund')),
  ref_id text,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX bill_allocations_bill ON bill_allocations (bill_id);

-- Every asynchronous notification as received, verified or not, with what became of it.
CREATE TABLE payment_notifications (
  id bigserial PRIMARY KEY,
  channel text NOT NULL,
  received_at timestamptz(3) NOT NULL DEFAULT now(),
  outcome text NOT NULL CHECK (outcome IN ('credited', 'duplicate', 'ignored', 'rejected')),
  reason text,
  out_trade_no text,
  channel_txn_id text,
  amount_fen bigint,
  body text NOT NULL,
  headers jsonb
);
CREATE INDEX payment_notifications_trade ON payment_notifications (out_trade_no);

CREATE TABLE billing_reminders (
  bill_id uuid NOT NULL REFERENCES bills(id),
  stage text NOT NULL CHECK (stage IN ('due_soon', 'overdue', 'final')),
  sent_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (bill_id, stage)
);

CREATE TABLE billing_follow_ups (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  assigned_to uuid REFERENCES accounts(id),
  reason text NOT NULL,
  periods jsonb NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  closed_at timestamptz(3)
);
CREATE UNIQUE INDEX billing_follow_ups_open ON billing_follow_ups (household_id) WHERE status = 'open';
CREATE INDEX billing_follow_ups_estate ON billing_follow_ups (estate_id, status, created_at);

CREATE TABLE billing_contacts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  follow_up_id uuid NOT NULL REFERENCES billing_follow_ups(id),
  estate_id uuid NOT NULL REFERENCES estates(id),
  staff_id uuid NOT NULL REFERENCES accounts(id),
  method text NOT NULL CHECK (method IN ('phone', 'visit', 'sms', 'letter', 'wechat')),
  outcome text NOT NULL CHECK (outcome IN ('reached', 'no_answer', 'promised', 'refused', 'paid', 'wrong_number')),
  note text,
  promised_on date,
  contacted_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX billing_contacts_follow_up ON billing_contacts (follow_up_id, contacted_at);
