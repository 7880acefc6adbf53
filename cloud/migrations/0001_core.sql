-- Estates and owners (业主档案), accounts and sessions, consent, outbox. Mirrors prisma/schema.prisma;
-- test/db/schema-agreement.test.ts fails when the two drift apart.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE estates (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code text NOT NULL UNIQUE,
  name text NOT NULL,
  city text NOT NULL,
  timezone text NOT NULL DEFAULT 'Asia/Shanghai',
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE buildings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  name text NOT NULL,
  floors integer NOT NULL CHECK (floors BETWEEN 1 AND 200),
  UNIQUE (estate_id, name)
);

CREATE TABLE units (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  building_id uuid NOT NULL REFERENCES buildings(id),
  number text NOT NULL,
  floor integer NOT NULL,
  area_centi_sqm integer NOT NULL CHECK (area_centi_sqm > 0),
  UNIQUE (estate_id, number)
);
-- Unit search is by prefix ("3-1-05"): text_pattern_ops lets LIKE 'x%' use the index under any collation.
CREATE INDEX units_number_prefix ON units (estate_id, number text_pattern_ops);

CREATE TABLE households (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  unit_id uuid NOT NULL REFERENCES units(id),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'moved_out')),
  moved_in_at timestamptz(3) NOT NULL,
  moved_out_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX households_unit ON households (unit_id);
CREATE INDEX households_moved_out ON households (moved_out_at) WHERE status = 'moved_out';

CREATE TABLE persons (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  relation text NOT NULL CHECK (relation IN ('owner', 'spouse', 'child', 'parent', 'tenant', 'other')),
  name text NOT NULL,
  gender text CHECK (gender IN ('female', 'male')),
  phone_enc text,
  phone_bidx text,
  phone_last4 text,
  id_number_enc text,
  erased_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX persons_household ON persons (household_id);
CREATE INDEX persons_phone ON persons (estate_id, phone_bidx);
-- Keyset pagination walks (estate, name, id); the trigram index serves "name contains" on Chinese names too.
CREATE INDEX persons_estate_name ON persons (estate_id, name, id);
CREATE INDEX persons_name_trgm ON persons USING gin (name gin_trgm_ops);

CREATE TABLE accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  login text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'staff', 'technician', 'installer', 'resident')),
  estate_id uuid REFERENCES estates(id),
  person_id uuid UNIQUE REFERENCES persons(id),
  disabled_at timestamptz(3),
  password_changed_at timestamptz(3) NOT NULL DEFAULT now(),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  -- Only an admin spans estates; a resident is always a person of a household.
  CHECK (role = 'admin' OR estate_id IS NOT NULL),
  CHECK (role <> 'resident' OR person_id IS NOT NULL)
);

CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES accounts(id),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  revoked_at timestamptz(3),
  revoked_reason text
);
CREATE INDEX sessions_account ON sessions (account_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES sessions(id),
  token_hash text NOT NULL UNIQUE,
  expires_at timestamptz(3) NOT NULL,
  used_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE vehicles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  plate text NOT NULL,
  parking_space text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (estate_id, plate)
);
CREATE INDEX vehicles_household ON vehicles (household_id);

CREATE TABLE renovations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  description text NOT NULL,
  starts_on date NOT NULL,
  ends_on date NOT NULL,
  status text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'approved', 'rejected', 'completed')),
  decided_by uuid,
  decided_at timestamptz(3),
  decision_note text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  CHECK (ends_on >= starts_on)
);
CREATE INDEX renovations_estate_status ON renovations (estate_id, status, created_at);

CREATE TABLE attachments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  person_id uuid NOT NULL REFERENCES persons(id),
  kind text NOT NULL CHECK (kind IN ('id_card', 'property_certificate', 'other')),
  file_name text NOT NULL,
  content_type text NOT NULL,
  size_bytes integer NOT NULL,
  storage_key text NOT NULL UNIQUE,
  sha256 text NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX attachments_person ON attachments (person_id);

CREATE TABLE consents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  estate_id uuid NOT NULL REFERENCES estates(id),
  person_id uuid NOT NULL REFERENCES persons(id),
  purpose text NOT NULL CHECK (purpose IN ('face_access', 'notifications', 'analytics')),
  granted_at timestamptz(3) NOT NULL DEFAULT now(),
  granted_by uuid,
  withdrawn_at timestamptz(3),
  withdrawn_by uuid
);
-- At most one live consent per person and purpose; history stays as withdrawn rows.
CREATE UNIQUE INDEX consents_live ON consents (person_id, purpose) WHERE withdrawn_at IS NULL;

-- Transactional outbox: written in the same transaction as the change it announces, drained by a worker
-- with SELECT ... FOR UPDATE SKIP LOCKED (a later issue), so an event is never lost nor sent for a rollback.
CREATE TABLE outbox_events (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  aggregate_id text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  processed_at timestamptz(3)
);
CREATE INDEX outbox_pending ON outbox_events (id) WHERE processed_at IS NULL;
