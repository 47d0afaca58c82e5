-- The catalog: what items are found and sorted by, beside their own columns. The full
-- text is a tsvector built with PostgreSQL's own stemmers, after unaccent (the stock
-- configurations are accent-sensitive: "deliberation" would miss "délibération").
create extension if not exists unaccent;
create text search configuration beffroi_fr (copy = french);
alter text search configuration beffroi_fr alter mapping for hword, hword_part, word with unaccent, french_stem;
create text search configuration beffroi_nl (copy = dutch);
alter text search configuration beffroi_nl alter mapping for hword, hword_part, word with unaccent, dutch_stem;
create text search configuration beffroi_de (copy = german);
alter text search configuration beffroi_de alter mapping for hword, hword_part, word with unaccent, german_stem;
create text search configuration beffroi_en (copy = english);
alter text search configuration beffroi_en alter mapping for hword, hword_part, word with unaccent, english_stem;

alter table items add column sortable_title text collate "C" not null default '';
alter table items add column event_start timestamptz;
alter table items add column event_end timestamptz;
create index items_type on items(site_id, type_name);
create index items_state on items(site_id, review_state);
create index items_created on items(site_id, created);
create index items_modified on items(site_id, modified);
create index items_effective on items(site_id, effective);
create index items_start on items(site_id, event_start);
create index items_sortable_title on items(site_id, sortable_title);
create index items_creator on items(site_id, creator);

create table item_subjects (
    item_uuid uuid not null references items(uuid) on delete cascade,
    site_id text not null,
    subject text not null,
    primary key (item_uuid, subject)
);
create index item_subjects_subject on item_subjects(site_id, subject);

create table item_text (
    item_uuid uuid primary key references items(uuid) on delete cascade,
    tsv tsvector not null
);
create index item_text_tsv on item_text using gin (tsv);
