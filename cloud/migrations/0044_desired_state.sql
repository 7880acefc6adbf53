-- Desired-state sync (issue 5): what each gateway should run, section by section, with the version that last
-- changed every item and tombstones for deleted ones, so a delta from any version N is "version > N"; the versions
-- and drift the gateway reported; and the signed remote commands sent to it. Mirrors the "sync" block of
-- prisma/schema.prisma. Versions come from one counter per gateway (gateway_desired.version, the manifest
-- version): a put bumps it, and the items and section it changed take the new value.

CREATE TABLE gateway_desired (
  gateway_id text PRIMARY KEY REFERENCES gateways(id),
  version integer NOT NULL DEFAULT 0,
  -- 32 random bytes for keyed PIN hashes, made once per gateway, sealed with the data key ring; the config
  -- section carries it to the gateway, the database never holds it in the clear
  pin_key_sealed text,
  -- what the gateway last reported (DesiredAck)
  applied_version integer NOT NULL DEFAULT 0,
  ack_status text,
  ack_reason text,
  drift jsonb,
  acked_at timestamptz(3),
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE desired_sections (
  gateway_id text NOT NULL REFERENCES gateways(id),
  section text NOT NULL
    CHECK (section IN ('config', 'access', 'gallery', 'credentials', 'passes', 'revocations', 'reservations')),
  version integer NOT NULL DEFAULT 0,
  -- sha256 over the live items (cloud/src/sync/hash.ts; the gateway computes the same in SectionStore.hash)
  sha256 text NOT NULL,
  items integer NOT NULL DEFAULT 0,
  -- tombstones at or below this version were pruned: a gateway older than it gets a full copy
  horizon integer NOT NULL DEFAULT 0,
  applied_version integer NOT NULL DEFAULT 0,
  PRIMARY KEY (gateway_id, section)
);

CREATE TABLE desired_items (
  gateway_id text NOT NULL REFERENCES gateways(id),
  section text NOT NULL,
  kind text NOT NULL,
  item_id text NOT NULL,
  version integer NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  -- the item as the gateway stores it; null for a tombstone. sha256 of its canonical JSON, so the section hash
  -- is computed from digests without reading bodies (a 10,000-face gallery is ~28 MB of embeddings)
  body jsonb,
  digest text,
  PRIMARY KEY (gateway_id, section, kind, item_id)
);
-- deltas: everything of one section changed after a version
CREATE INDEX desired_items_delta ON desired_items (gateway_id, section, version);

CREATE TABLE gateway_commands (
  cmd_id text PRIMARY KEY CHECK (cmd_id ~ '^[A-Za-z0-9_-]{8,64}$'),
  gateway_id text NOT NULL REFERENCES gateways(id),
  estate_id uuid NOT NULL REFERENCES estates(id),
  action text NOT NULL CHECK (action IN ('unlock', 'hold_open', 'lockdown', 'release', 'resync')),
  door_id text,
  duration_s integer,
  issued_by uuid NOT NULL REFERENCES accounts(id),
  issuer_role text NOT NULL,
  issued_at timestamptz(3) NOT NULL,
  expires_at timestamptz(3) NOT NULL,
  -- published | done | refused | failed | undelivered
  status text NOT NULL DEFAULT 'published',
  reason text,
  detail text,
  acked_at timestamptz(3)
);
CREATE INDEX gateway_commands_gateway ON gateway_commands (gateway_id, issued_at);
