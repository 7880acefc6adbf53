-- Append-only, hash-chained audit log. Each row's hash covers its content and the previous row's hash
-- (src/core/audit.ts), so editing or deleting a row breaks the chain that `estate-cloud audit verify` walks.
-- The triggers stop UPDATE/DELETE through SQL too; a superuser can still drop them, which the chain exposes.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz(3) NOT NULL,
  actor_id text,
  actor_role text,
  action text NOT NULL,
  entity text NOT NULL,
  entity_id text,
  estate_id uuid,
  outcome text NOT NULL CHECK (outcome IN ('allowed', 'denied')),
  before jsonb,
  after jsonb,
  request_id text,
  ip text,
  prev_hash text NOT NULL,
  hash text NOT NULL UNIQUE
);
CREATE INDEX audit_entity ON audit_log (entity, entity_id);
CREATE INDEX audit_actor ON audit_log (actor_id, id);
CREATE INDEX audit_estate ON audit_log (estate_id, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
