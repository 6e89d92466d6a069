-- Rooms and their members.
-- A `direct` room carries direct_key = '<smaller user id>:<larger user id>' (lower-case
-- canonical UUID text), so the database itself forbids a second room for the same pair.

CREATE TABLE rooms (
  id              uuid        PRIMARY KEY,
  name            text        NOT NULL,
  type            text        NOT NULL,
  created_by      uuid        NOT NULL REFERENCES users (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_seq        bigint      NOT NULL DEFAULT 0,
  last_message_at timestamptz NULL,
  direct_key      text        NULL,
  CONSTRAINT rooms_name_length CHECK (char_length(name) BETWEEN 1 AND 255),
  CONSTRAINT rooms_type_valid CHECK (type IN ('direct', 'group', 'channel')),
  CONSTRAINT rooms_last_seq_nonnegative CHECK (last_seq >= 0),
  CONSTRAINT rooms_direct_key_key UNIQUE (direct_key),
  CONSTRAINT rooms_direct_key_iff_direct CHECK ((type = 'direct') = (direct_key IS NOT NULL)),
  CONSTRAINT rooms_direct_key_format CHECK (
    direct_key IS NULL OR (
      direct_key ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
      AND split_part(direct_key, ':', 1) COLLATE "C" < split_part(direct_key, ':', 2) COLLATE "C"
    )
  )
);

-- "The caller's rooms, newest activity first": ORDER BY coalesce(last_message_at, created_at) DESC, id DESC
CREATE INDEX rooms_activity_idx ON rooms ((coalesce(last_message_at, created_at)) DESC, id DESC);

CREATE TABLE room_members (
  room_id       uuid        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role          text        NOT NULL DEFAULT 'member',
  joined_at     timestamptz NOT NULL DEFAULT now(),
  last_read_seq bigint      NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id),
  CONSTRAINT room_members_role_valid CHECK (role IN ('owner', 'admin', 'member')),
  CONSTRAINT room_members_last_read_seq_nonnegative CHECK (last_read_seq >= 0)
);

-- A user's rooms (and membership lookups by user).
CREATE INDEX room_members_user_id_idx ON room_members (user_id, room_id);
