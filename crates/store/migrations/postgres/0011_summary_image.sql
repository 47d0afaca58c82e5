-- See the SQLite migration of the same name.
alter table items add column image text;
update items set image = (fields->'image')::text where jsonb_typeof(fields->'image') = 'object';
