-- The applications a site has enabled, as a JSON list of names; null: the deployment's
-- defaults (the applications enabled by default).
alter table sites add column apps text;
