-- See the SQLite migration of the same name; an index-only scan here.
create index items_find on items(uuid) include (site_id, effective, expires);
-- Text vectors (~4 kB for a page of 300 words) stay in the table's own pages rather
-- than in TOAST: ranking reads each match's vector, and a TOAST fetch per match was
-- most of a query's time; the planner also took the small TOAST-less table for cheap
-- to scan whole and chose a sequential scan (200 ms at 100,000 pages) over the GIN
-- index (10 ms). Rows written before this keep their place until `beffroi reindex`.
alter table item_text alter column tsv set storage main;
