-- Items of a type in order of change (a body's open meetings, someone's items): read
-- from this index alone, where the site-wide order of change made SQLite walk every
-- item of the site.
create index items_type_modified on items(site_id, type_name, modified);
