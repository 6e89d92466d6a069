-- Rotating refresh tokens. Only the SHA-256 (lower-case hex) of a token is stored.
-- A family is one login session (the access token's `sid`); reuse of a rotated token
-- revokes the whole family.

CREATE TABLE refresh_tokens (
  id          uuid        PRIMARY KEY,
  user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  family_id   uuid        NOT NULL,
  token_hash  text        NOT NULL,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  rotated_at  timestamptz NULL,
  revoked_at  timestamptz NULL,
  -- Deferred so a rotation may mark the old row before inserting its successor.
  replaced_by uuid        NULL REFERENCES refresh_tokens (id) ON DELETE SET NULL
                          DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
  CONSTRAINT refresh_tokens_token_hash_format CHECK (token_hash ~ '^[0-9a-f]{64}$')
);

CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
