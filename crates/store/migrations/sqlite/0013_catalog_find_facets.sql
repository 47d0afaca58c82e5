-- The search page counts results by type and by date of change: with those columns in
-- the index a full-text match is joined through, the counts read the index and not
-- each matching item's row (147 -> 61 ms for 66,000 matches at 100,000 pages).
drop index items_find;
create index items_find on items(uuid, site_id, effective, expires, type_name, modified);
