-- Ingest of gateway events (issue 5): events a gateway delivered that the cloud refused, with the reason. They are
-- part of the acknowledged stream — the gateway is told (EventAck.rejected) and forgets them — so the watermark in
-- gateway_ingest must be able to pass their seq; keeping them here also leaves a record of what was refused and why.
-- Mirrors the "ingest" block of prisma/schema.prisma.
CREATE TABLE gateway_event_rejects (
  gateway_id text NOT NULL REFERENCES gateways(id),
  seq bigint NOT NULL,
  -- machine-readable (protocols Reason), sent back to the gateway
  reason text NOT NULL,
  -- for people: which field was wrong and how
  detail text NOT NULL,
  -- the refused event as it arrived
  body jsonb NOT NULL,
  received_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (gateway_id, seq)
);
