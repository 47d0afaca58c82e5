-- Each user's tokens carry the generation they were issued in: a password change, a
-- disable or a role removal moves it on, and older tokens stop working. kept_jti names
-- the one token left valid when users change their own password with it.
alter table users add column token_gen integer not null default 0;
alter table users add column kept_jti text;
