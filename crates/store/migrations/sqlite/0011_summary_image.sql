-- The image field's stored file (JSON), kept beside the item's fields so that
-- listings can give plone.restapi's image_scales without reading every item's fields.
alter table items add column image text;
update items set image = json_extract(fields, '$.image') where json_type(fields, '$.image') = 'object';
