-- The device fleet (issue 5): gateways with their claim codes and uplink credentials, the devices paired to them,
-- and the cloud's ingest of gateway events (idempotency key = gateway id + seq). Mirrors the "fleet" block of
-- prisma/schema.prisma. Time-series tables (telemetry, health) are not here: the telemetry schema module creates
-- them, as TimescaleDB hypertables or native partitions, depending on the server.

CREATE TABLE gateways (
  -- the wire id (protocols ID_PATTERN), also the MQTT client id and username on the cloud broker
  id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  estate_id uuid NOT NULL REFERENCES estates(id),
  name text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'retired')),
  -- sha256 (hex) of the one-time claim code; cleared once claimed
  claim_hash text UNIQUE,
  claim_expires_at timestamptz(3),
  claimed_at timestamptz(3),
  -- the gateway's own key pair is made on the box; the cloud keeps its public key (SPKI, base64url)
  public_key text,
  -- uplink password (32 random bytes) hashed with core/tokens hashToken, as refresh tokens are: high entropy needs
  -- no slow hash, and the broker checks it on every connect. The password itself is given once, to the box.
  secret_hash text,
  online boolean NOT NULL DEFAULT false,
  last_seen_at timestamptz(3),
  -- versions the gateway reported it runs (desired-state sync)
  applied_version integer NOT NULL DEFAULT 0,
  created_by uuid REFERENCES accounts(id),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX gateways_estate ON gateways (estate_id);

-- A device on a gateway's local broker, paired by its installer with the code printed on it, and assigned to a
-- door (door controller, camera, reader) or a parking space (charger).
CREATE TABLE gateway_devices (
  gateway_id text NOT NULL REFERENCES gateways(id),
  device_id text NOT NULL CHECK (device_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  kind text NOT NULL CHECK (kind IN ('door', 'camera', 'ble', 'reader', 'charger', 'leak', 'climate', 'energy')),
  door_id text,
  parking_space text,
  online boolean NOT NULL DEFAULT false,
  last_seen_at timestamptz(3),
  paired_by uuid REFERENCES accounts(id),
  paired_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, device_id)
);

-- Every event a gateway delivered, stored exactly once: the key is (gateway_id, seq). The columns beside the body
-- are what searches filter on (access events by door, person, method, result and time).
CREATE TABLE gateway_events (
  gateway_id text NOT NULL REFERENCES gateways(id),
  seq bigint NOT NULL,
  estate_id uuid NOT NULL REFERENCES estates(id),
  type text NOT NULL,
  ts timestamptz(3) NOT NULL,
  door_id text,
  device_id text,
  person_id text,
  method text,
  granted boolean,
  body jsonb NOT NULL,
  received_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, seq)
);
CREATE INDEX gateway_events_estate_ts ON gateway_events (estate_id, ts);
CREATE INDEX gateway_events_person ON gateway_events (person_id, ts) WHERE person_id IS NOT NULL;

-- Per gateway: everything up to acked_seq is stored (the watermark the cloud acknowledges).
CREATE TABLE gateway_ingest (
  gateway_id text PRIMARY KEY REFERENCES gateways(id),
  acked_seq bigint NOT NULL DEFAULT 0,
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);
