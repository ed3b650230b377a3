-- hartd deploy --dry-run: sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 reference-data
-- in database Hartonomous
-- parameters: @p1 = 'DeduplicationPolicies'
SELECT CASE WHEN OBJECT_ID(N'dbo.' + @p1, N'U') IS NULL THEN 0 ELSE 1 END
GO
-- when DeduplicationPolicies exists
-- parameters: @p1 = 'Default'
SELECT COUNT(*) FROM dbo.DeduplicationPolicies WHERE PolicyName = @p1
GO
-- when it exists and has no Default policy
-- parameters: @p1 = 'Default', @p2 = 0.95, @p3 = 1
INSERT INTO dbo.DeduplicationPolicies (PolicyName, SemanticThreshold, IsActive) VALUES (@p1, @p2, @p3)
GO
-- the seed's default model is looked up, never registered
-- parameters: @p1 = 'default-embedding'
SELECT ModelId, Dimension, Metric FROM dbo.Models WHERE TenantId = 1 AND ModelName = @p1
GO
