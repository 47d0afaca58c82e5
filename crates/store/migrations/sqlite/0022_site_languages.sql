-- The languages a site publishes in, comma-separated codes, its own language first;
-- '' for its own language only.
alter table sites add column languages text not null default '';
