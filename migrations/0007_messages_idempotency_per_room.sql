-- A client_msg_id makes a send idempotent per sender *within one room*. The key was
-- (sender_id, client_msg_id), so reusing an id in another room returned (and fanned out) the
-- message of the first room there: a private message could leak into another room. The key is
-- now (room_id, sender_id, client_msg_id); a retry in the same room still finds its original.

DROP INDEX messages_sender_client_msg_id_key;

CREATE UNIQUE INDEX messages_room_sender_client_msg_id_key
  ON messages (room_id, sender_id, client_msg_id)
  WHERE client_msg_id IS NOT NULL;
