-- hartd deploy --dry-run: sqlite:///var/lib/hartd/hartd.db
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 verification
-- in database /var/lib/hartd/hartd.db
-- when HartdSchemaHistory exists
SELECT Version, Name, Checksum, AppliedAt FROM HartdSchemaHistory ORDER BY Version;
-- parameters: ?1 = 'Tenants'
SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?;
-- parameters: ?1 = 'Models'
SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?;
-- parameters: ?1 = 'Atoms'
SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?;
-- parameters: ?1 = 'AtomEmbeddings'
SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?;
-- parameters: ?1 = 'SpatialAnchors'
SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?;
SELECT sql FROM sqlite_master WHERE name = 'AtomEmbeddingsSpatialIndex';
PRAGMA journal_mode;
SELECT COUNT(*) FROM Tenants WHERE TenantId = 1;
