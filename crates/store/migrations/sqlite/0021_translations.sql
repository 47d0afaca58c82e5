-- Translations (plone.app.multilingual's translation groups): the items of one site
-- that say the same in other languages share a group; an item is in one group at
-- most. Their languages are the items' own.
create table item_translations (
    item_uuid blob primary key references items(uuid) on delete cascade,
    site_id text not null,
    tgroup blob not null
);
create index item_translations_group on item_translations(tgroup);
