-- See the SQLite migration of the same name: the search page's counts by type and by
-- date of change read the index a full-text match is joined through, not each row.
drop index items_find;
create index items_find on items(uuid) include (site_id, effective, expires, type_name, modified);
