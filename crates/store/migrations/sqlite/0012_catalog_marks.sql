-- Every full-text entry carries its item's access mark, in a column of its own:
-- "pub" and the site id in hex when everyone may see the item (the anonymous role may
-- view it, it has no expiry date and no effective date still to come), "hid" and the
-- site id otherwise. A search's total then counts the matches everyone may see inside
-- the index, without looking each one up, and checks only the others one by one. The
-- same rule is applied when items are written (store::catalog, mark_sql).
--
-- Takes about 20 seconds for 100,000 pages (the index is written again).
drop trigger item_text_gone;
alter table item_fts rename to item_fts_old;
create virtual table item_fts using fts5(
    title, body, access, tokenize = 'unicode61 remove_diacritics 2'
);
-- Ranking: a word of the title weighs ten words of the body; the mark weighs nothing.
insert into item_fts (item_fts, rank) values ('rank', 'bm25(10.0, 1.0, 0.0)');
insert into item_fts (rowid, title, body, access)
select f.rowid, f.title, f.body,
       case when w.expires is null
                 and (w.effective is null or w.effective <= strftime('%Y-%m-%dT%H:%M:%S', 'now'))
                 and exists (select 1 from item_viewers v where v.item_uuid = w.uuid and v.token = 'role:Anonymous')
            then 'pub' else 'hid' end || lower(hex(w.site_id))
from item_fts_old f
join item_text t on t.docid = f.rowid
join items w on w.uuid = t.item_uuid
order by f.rowid;
drop table item_fts_old;

-- Titles and descriptions again, in an index of their own: a search ranks the results
-- with every word in their title or description first, and finds them here without
-- reading the long lists the main index keeps of a common word (one entry per page
-- that has it). Descriptions were not kept apart before: each item's comes in when it
-- is next indexed (`beffroi reindex` does them all).
create virtual table item_leads using fts5(title, description, tokenize = 'unicode61 remove_diacritics 2');
insert into item_leads (item_leads, rank) values ('rank', 'bm25(10.0, 2.0)');
insert into item_leads (rowid, title, description) select rowid, title, '' from item_fts order by rowid;

-- Deleting an item cascades to item_text, and from there to both indexes.
create trigger item_text_gone after delete on item_text begin
    delete from item_fts where rowid = old.docid;
    delete from item_leads where rowid = old.docid;
end;
