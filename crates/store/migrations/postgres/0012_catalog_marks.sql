-- Titles and descriptions again, in a small vector of their own ("lead") with its own
-- index: a search ranks the results with every word in their title or description
-- first, and finds them there without ranking every match of a common word.
-- Descriptions were not kept apart before (they are in the body's part of tsv): each
-- item's comes in when it is next indexed (`beffroi reindex` does them all); until
-- then, the titles.
--
-- The lead also carries its item's access mark, as a lexeme no text can produce (it
-- has a colon): "pub:<site>" when everyone may see the item (the anonymous role may
-- view it, it has no expiry date and no effective date still to come), "hid:<site>"
-- otherwise. A search's total then counts the matches everyone may see in the two
-- indexes, without looking each one up, and checks only the others one by one. The
-- same rule is applied when items are written (store::catalog, mark_sql).
--
-- And the full vectors now go to TOAST (undoing 0010's `storage main`): a count then
-- visits narrow rows rather than a 4 kB row per match (0.8 GB read for a common word
-- at 100,000 pages); ranking full vectors is for the matches outside the leads, fewer.
-- The table is made anew (an update would leave the old wide rows' space behind).
create table item_text_new (
    item_uuid uuid primary key references items(uuid) on delete cascade,
    tsv tsvector not null,
    lead tsvector not null default ''
);
insert into item_text_new (item_uuid, tsv, lead)
select t.item_uuid, t.tsv, ts_filter(t.tsv, '{a}') || array_to_tsvector(array[
    case when w.expires is null
              and (w.effective is null or w.effective <= now())
              and exists (select 1 from item_viewers v where v.item_uuid = w.uuid and v.token = 'role:Anonymous')
         then 'pub:' else 'hid:' end || w.site_id])
from item_text t
join items w on w.uuid = t.item_uuid;
drop table item_text;
alter table item_text_new rename to item_text;
alter index item_text_new_pkey rename to item_text_pkey;
alter table item_text rename constraint item_text_new_item_uuid_fkey to item_text_item_uuid_fkey;
create index item_text_tsv on item_text using gin (tsv);
create index item_text_lead on item_text using gin (lead);
analyze item_text;
