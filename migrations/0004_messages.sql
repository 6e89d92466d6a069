-- Messages. seq is the message's position in its room (1, 2, 3, ... without gaps), taken
-- from rooms.last_seq in the sending transaction. client_msg_id makes a send idempotent per sender.

CREATE TABLE messages (
  id            uuid        PRIMARY KEY,
  room_id       uuid        NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  seq           bigint      NOT NULL,
  sender_id     uuid        NOT NULL REFERENCES users (id),
  client_msg_id text        NULL,
  msg_type      text        NOT NULL DEFAULT 'text',
  content       text        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Also the index for history keyset pages: WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC.
  CONSTRAINT messages_room_id_seq_key UNIQUE (room_id, seq),
  CONSTRAINT messages_seq_positive CHECK (seq > 0),
  CONSTRAINT messages_client_msg_id_length CHECK (
    client_msg_id IS NULL OR char_length(client_msg_id) <= 64
  ),
  CONSTRAINT messages_msg_type_valid CHECK (msg_type IN ('text', 'image', 'file', 'system')),
  CONSTRAINT messages_content_length CHECK (char_length(content) BETWEEN 1 AND 10000)
);

CREATE UNIQUE INDEX messages_sender_client_msg_id_key
  ON messages (sender_id, client_msg_id)
  WHERE client_msg_id IS NOT NULL;
