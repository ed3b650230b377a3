-- hartd deploy --dry-run: sqlite:///var/lib/hartd/hartd.db
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 reference-data
-- in database /var/lib/hartd/hartd.db
-- parameters: ?1 = 'DeduplicationPolicies'
SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?;
-- when DeduplicationPolicies exists
-- parameters: ?1 = 'Default'
SELECT COUNT(*) FROM DeduplicationPolicies WHERE PolicyName = ?;
-- when it exists and has no Default policy
-- parameters: ?1 = 'Default', ?2 = 0.95, ?3 = 1
INSERT INTO DeduplicationPolicies (PolicyName, SemanticThreshold, IsActive) VALUES (?, ?, ?);
-- the seed's default model is looked up, never registered
-- parameters: ?1 = 'default-embedding'
SELECT ModelId, Dimension, Metric FROM Models WHERE TenantId = 1 AND ModelName = ?;
