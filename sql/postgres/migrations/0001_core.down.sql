-- Removes every object of 0001_core. The postgis extension stays: other
-- schemas or applications in the database may use it, and dropping it needs
-- a superuser. Drop it by hand (DROP EXTENSION postgis;) if nothing else does.
DROP TABLE IF EXISTS "SpatialAnchors";
DROP TABLE IF EXISTS "AtomEmbeddings";
DROP TABLE IF EXISTS "Atoms";
DROP TABLE IF EXISTS "Models";
DROP TABLE IF EXISTS "Tenants";
