-- Users and the shared updated_at trigger.
-- Usernames and emails are unique case-insensitively; emails are stored lower-case.

CREATE FUNCTION pylon_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

CREATE TABLE users (
  id            uuid        PRIMARY KEY,
  username      text        NOT NULL,
  email         text        NOT NULL,
  password_hash text        NOT NULL,
  display_name  text        NULL,
  avatar_url    text        NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_username_format CHECK (
    char_length(username) BETWEEN 3 AND 32 AND username ~ '^[A-Za-z0-9_.-]+$'
  ),
  CONSTRAINT users_email_format CHECK (
    char_length(email) BETWEEN 3 AND 255 AND email = lower(email) AND position('@' IN email) > 1
  ),
  CONSTRAINT users_password_hash_length CHECK (char_length(password_hash) BETWEEN 1 AND 1024),
  CONSTRAINT users_display_name_length CHECK (
    display_name IS NULL OR char_length(display_name) BETWEEN 1 AND 255
  ),
  CONSTRAINT users_avatar_url_length CHECK (
    avatar_url IS NULL OR char_length(avatar_url) BETWEEN 1 AND 2048
  )
);

CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TRIGGER users_set_updated_at
  BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION pylon_set_updated_at();
