-- The catalog: what items are found and sorted by, beside their own columns. The full
-- text lives in an FTS5 index of Snowball stems computed by the application (FTS5
-- has no French, Dutch or German stemmer); item_text maps its rowids to items.
alter table items add column sortable_title text not null default '';
alter table items add column event_start text;
alter table items add column event_end text;
create index items_type on items(site_id, type_name);
create index items_state on items(site_id, review_state);
create index items_created on items(site_id, created);
create index items_modified on items(site_id, modified);
create index items_effective on items(site_id, effective);
create index items_start on items(site_id, event_start);
create index items_sortable_title on items(site_id, sortable_title);
create index items_creator on items(site_id, creator);

create table item_subjects (
    item_uuid blob not null references items(uuid) on delete cascade,
    site_id text not null,
    subject text not null,
    primary key (item_uuid, subject)
);
create index item_subjects_subject on item_subjects(site_id, subject);

-- Every (re)indexing takes a new, larger docid: FTS5 takes rows in increasing rowid
-- order cheaply, while putting back a smaller one forces it to flush (and then merge)
-- for each row.
create table item_text (
    docid integer primary key autoincrement,
    item_uuid blob not null unique references items(uuid) on delete cascade
);
-- The index keeps its own copy of the stems: deleting a row then removes exactly its
-- terms, where a contentless table would check tombstones in every merge (four times
-- slower to reindex).
create virtual table item_fts using fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2'
);
-- Ranking: a word of the title weighs ten words of the body.
insert into item_fts (item_fts, rank) values ('rank', 'bm25(10.0, 1.0)');
-- Deleting an item cascades to item_text, and from there to the index.
create trigger item_text_gone after delete on item_text begin
    delete from item_fts where rowid = old.docid;
end;
