-- Access management (issue 6): doors and gates mapped to a gateway's door controller, access groups with
-- schedules and their doors and members, face templates (never photos), BLE phone keys, visitor passes, PINs
-- (keyed hashes), the per-estate access settings, and the queue of desired-state deltas for the gateways.
-- Mirrors the "access" block of prisma/schema.prisma. Wire ids (doors, groups, templates, keys, passes) follow the
-- protocols ID_PATTERN because the gateways receive them.

CREATE TABLE access_settings (
  estate_id uuid PRIMARY KEY REFERENCES estates(id),
  -- visitors pre-registered by residents are approved without staff when true
  visitor_auto_approve boolean NOT NULL DEFAULT false,
  -- 32 random bytes for keyed PIN hashes (protocols GatewayConfig.pinKey), sealed with the data key ring; kept
  -- here until the sync config carries one key per estate (a PIN hash must be the same on every gateway)
  pin_key_sealed text,
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE access_doors (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  estate_id uuid NOT NULL REFERENCES estates(id),
  -- null: a common gate of the estate (every household's default group opens it)
  building_id uuid REFERENCES buildings(id),
  name text NOT NULL,
  gateway_id text NOT NULL REFERENCES gateways(id),
  device_id text NOT NULL,
  mode text NOT NULL DEFAULT 'fail_secure' CHECK (mode IN ('fail_secure', 'fail_safe')),
  pulse_ms integer NOT NULL DEFAULT 3000 CHECK (pulse_ms BETWEEN 500 AND 60000),
  held_open_s integer NOT NULL DEFAULT 30 CHECK (held_open_s BETWEEN 5 AND 3600),
  fire_release boolean NOT NULL DEFAULT true,
  anti_passback text NOT NULL DEFAULT 'off' CHECK (anti_passback IN ('off', 'soft', 'hard')),
  direction text NOT NULL DEFAULT 'both' CHECK (direction IN ('in', 'out', 'both')),
  readers jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (gateway_id, device_id)
);
CREATE INDEX access_doors_estate ON access_doors (estate_id, building_id);

CREATE TABLE access_groups (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  estate_id uuid NOT NULL REFERENCES estates(id),
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('household', 'staff', 'custom')),
  -- the household whose default group this is (own building's doors + common gates)
  household_id uuid UNIQUE REFERENCES households(id),
  -- protocols Schedule: { windows, holidays, holidayWindows }, estate local time
  schedule jsonb NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  CHECK ((kind = 'household') = (household_id IS NOT NULL))
);
CREATE INDEX access_groups_estate ON access_groups (estate_id);

CREATE TABLE access_group_doors (
  group_id text NOT NULL REFERENCES access_groups(id) ON DELETE CASCADE,
  door_id text NOT NULL REFERENCES access_doors(id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, door_id)
);
CREATE INDEX access_group_doors_door ON access_group_doors (door_id);

CREATE TABLE access_members (
  group_id text NOT NULL REFERENCES access_groups(id) ON DELETE CASCADE,
  person_id uuid NOT NULL REFERENCES persons(id),
  PRIMARY KEY (group_id, person_id)
);
CREATE INDEX access_members_person ON access_members (person_id);

-- One live template per person: the pooled embedding of 1–3 photos, sealed; the photos are never stored.
CREATE TABLE face_templates (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  estate_id uuid NOT NULL REFERENCES estates(id),
  person_id uuid NOT NULL UNIQUE REFERENCES persons(id),
  model text NOT NULL,
  dim integer NOT NULL CHECK (dim BETWEEN 16 AND 4096),
  embedding_sealed text NOT NULL,
  photos_used integer NOT NULL,
  -- lowest cosine between two of the photos, x1000 (1000 with one photo)
  agreement_milli integer NOT NULL,
  created_by uuid REFERENCES accounts(id),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE ble_keys (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  estate_id uuid NOT NULL REFERENCES estates(id),
  person_id uuid NOT NULL REFERENCES persons(id),
  -- the phone: a name its owner recognises and its public key (the phone keeps the private half)
  phone_name text NOT NULL,
  phone_alg text NOT NULL CHECK (phone_alg IN ('Ed25519', 'ES256')),
  phone_key text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'revoked')),
  -- the cloud key that signed the current credential (changes when re-issued after a rotation)
  signed_by text NOT NULL,
  not_before timestamptz(3) NOT NULL,
  not_after timestamptz(3) NOT NULL,
  issued_by uuid REFERENCES accounts(id),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  changed_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX ble_keys_person ON ble_keys (person_id);
-- one key per phone and person while it is not revoked
CREATE UNIQUE INDEX ble_keys_live_phone ON ble_keys (person_id, phone_key) WHERE status <> 'revoked';

CREATE TABLE visitor_passes (
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  estate_id uuid NOT NULL REFERENCES estates(id),
  household_id uuid NOT NULL REFERENCES households(id),
  host_person_id uuid NOT NULL REFERENCES persons(id),
  visitor_name text NOT NULL,
  phone_enc text NOT NULL,
  phone_last4 text NOT NULL,
  purpose text NOT NULL,
  valid_from timestamptz(3) NOT NULL,
  valid_to timestamptz(3) NOT NULL,
  doors jsonb NOT NULL,
  max_uses integer NOT NULL CHECK (max_uses BETWEEN 1 AND 1000),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
  decided_by uuid REFERENCES accounts(id),
  decided_at timestamptz(3),
  decision_note text,
  -- the signed pass (protocols pass token), sealed; made on approval
  token_enc text,
  -- the share link: only the sha256 of its random token is kept
  share_hash text UNIQUE,
  share_expires_at timestamptz(3),
  created_by uuid REFERENCES accounts(id),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  CHECK (valid_to > valid_from)
);
CREATE INDEX visitor_passes_estate_window ON visitor_passes (estate_id, valid_from);
CREATE INDEX visitor_passes_household ON visitor_passes (household_id, created_at);

-- The non-face way in: HMAC-SHA256(pinKey, PIN), base64url, unique per estate (a PIN alone finds its person).
CREATE TABLE access_pins (
  person_id uuid PRIMARY KEY REFERENCES persons(id),
  estate_id uuid NOT NULL REFERENCES estates(id),
  hash text NOT NULL,
  set_by uuid REFERENCES accounts(id),
  set_at timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (estate_id, hash)
);

-- Desired-state deltas for the gateways, written in the transaction of the change (so a committed change is never
-- lost on its way to the gateways) and pushed in id order to the sync engine; gateway_id null = every gateway of
-- the estate.
CREATE TABLE access_desired_queue (
  id bigserial PRIMARY KEY,
  estate_id uuid NOT NULL REFERENCES estates(id),
  gateway_id text REFERENCES gateways(id),
  section text NOT NULL CHECK (section IN ('access', 'gallery', 'credentials', 'passes', 'revocations')),
  upserts jsonb NOT NULL,
  deletes jsonb NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  pushed_at timestamptz(3)
);
CREATE INDEX access_desired_pending ON access_desired_queue (id) WHERE pushed_at IS NULL;
