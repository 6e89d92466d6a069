-- Notifications, written by the notification consumer. room_id and message_id are plain
-- references (no foreign keys): the consumer owns this table and learns of rooms and
-- messages only through events. (user_id, message_id) makes consuming a message idempotent.

CREATE TABLE notifications (
  id         uuid        PRIMARY KEY,
  user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  type       text        NOT NULL,
  title      text        NOT NULL,
  body       text        NOT NULL,
  room_id    uuid        NULL,
  message_id uuid        NULL,
  event_id   uuid        NULL,
  read_at    timestamptz NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT notifications_type_valid CHECK (type IN ('message', 'mention', 'invite')),
  CONSTRAINT notifications_title_length CHECK (char_length(title) <= 1024),
  CONSTRAINT notifications_body_length CHECK (char_length(body) <= 10000),
  CONSTRAINT notifications_user_id_message_id_key UNIQUE (user_id, message_id)
);

-- Newest first with a keyset cursor on (created_at, id).
CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC, id DESC);
-- Unread lists and unread_count.
CREATE INDEX notifications_user_unread_idx
  ON notifications (user_id, created_at DESC, id DESC)
  WHERE read_at IS NULL;
