-- The cloud's signing keys (issue 5 and 6): desired-state documents and remote commands for gateways, BLE phone keys
-- and visitor passes. Kept in the database, not on one instance's disk, so every cloud instance signs with the same
-- key; the private half is sealed with the data key ring. Rotation: a new key becomes active, the old one keeps
-- verifying until not_after (the overlap), and gateways receive both in their trusted keys meanwhile.
CREATE TABLE signing_keys (
  key_id text PRIMARY KEY CHECK (key_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  -- what the key signs: desired | command | ble_key | pass
  purpose text NOT NULL CHECK (purpose IN ('desired', 'command', 'ble_key', 'pass')),
  alg text NOT NULL CHECK (alg IN ('Ed25519', 'ES256')),
  -- raw public key (32 bytes Ed25519, 65 bytes uncompressed P-256), base64url: what the gateway's config carries
  public_key text NOT NULL,
  -- PKCS#8 PEM sealed with the data key ring (core/crypto)
  private_key_sealed text NOT NULL,
  active boolean NOT NULL DEFAULT true,
  not_after timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
-- one active key per purpose at a time
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (purpose) WHERE active;
