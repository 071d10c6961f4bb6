-- A contact who should no longer be told (a family member's old number, a community worker who
-- moved on) is deactivated, not deleted: past notifications name the contact.
-- depends: 20261123_01_registry

ALTER TABLE contacts ADD COLUMN active boolean NOT NULL DEFAULT true;
