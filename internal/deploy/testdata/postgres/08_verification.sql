-- hartd deploy --dry-run: postgres://hartd:xxxxx@127.0.0.1:5432/hartd?sslmode=disable
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 verification
-- in database hartd
-- when HartdSchemaHistory exists
SELECT Version, Name, Checksum, AppliedAt FROM HartdSchemaHistory ORDER BY Version;
-- parameters: $1 = 'Tenants'
SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1;
-- parameters: $1 = 'Models'
SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1;
-- parameters: $1 = 'Atoms'
SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1;
-- parameters: $1 = 'AtomEmbeddings'
SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1;
-- parameters: $1 = 'SpatialAnchors'
SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1;
SELECT am.amname FROM pg_catalog.pg_index AS x
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_am AS am ON am.oid = i.relam
WHERE x.indrelid = to_regclass(current_schema() || '."AtomEmbeddings"')
  AND pg_catalog.pg_get_indexdef(x.indexrelid) LIKE '%("SpatialGeometry")%';
SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'postgis';
SELECT Name, Checksum FROM HartdProcedureHistory;
-- parameters: $1 = '<each function>'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
SELECT COUNT(*) FROM "Tenants" WHERE "TenantId" = 1;
