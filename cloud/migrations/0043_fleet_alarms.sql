-- Fleet alarms (issue 5, telemetry): a gateway that stops reporting raises one `gateway_offline` alarm, cleared when
-- it comes back. Raised by the cloud's own watch job (cloud/src/telemetry/offline.ts), not by the gateway — a gateway
-- that is offline cannot say so. Mirrors the "telemetry" block of prisma/schema.prisma. The time-series tables
-- (samples, health) are not here: cloud/src/telemetry/schema.ts creates them in the `telemetry` schema.
CREATE TABLE fleet_alarms (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  gateway_id text NOT NULL REFERENCES gateways(id),
  -- kept beside the gateway so listing an estate's alarms needs no join
  estate_id uuid NOT NULL REFERENCES estates(id),
  -- null for alarms about the gateway itself; room for per-device alarms later
  device_id text,
  kind text NOT NULL CHECK (kind IN ('gateway_offline')),
  raised_at timestamptz(3) NOT NULL,
  cleared_at timestamptz(3),
  -- what made the job raise it: 'presence' (the broker's last will) or 'silent' (no report for N seconds)
  reason text NOT NULL,
  CHECK (cleared_at IS NULL OR cleared_at >= raised_at)
);
-- At most one open alarm per gateway/device and kind: "raised once" holds even when two cloud instances run the job.
CREATE UNIQUE INDEX fleet_alarms_open ON fleet_alarms (gateway_id, (coalesce(device_id, '')), kind)
  WHERE cleared_at IS NULL;
CREATE INDEX fleet_alarms_estate ON fleet_alarms (estate_id, raised_at DESC);
