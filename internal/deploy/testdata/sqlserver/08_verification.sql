-- hartd deploy --dry-run: sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 verification
-- in database Hartonomous
-- when HartdSchemaHistory exists
SELECT Version, Name, Checksum, AppliedAt FROM HartdSchemaHistory ORDER BY Version
GO
-- parameters: @p1 = 'Tenants'
SELECT CASE WHEN OBJECT_ID(N'dbo.' + @p1, N'U') IS NULL THEN 0 ELSE 1 END
GO
-- parameters: @p1 = 'Models'
SELECT CASE WHEN OBJECT_ID(N'dbo.' + @p1, N'U') IS NULL THEN 0 ELSE 1 END
GO
-- parameters: @p1 = 'Atoms'
SELECT CASE WHEN OBJECT_ID(N'dbo.' + @p1, N'U') IS NULL THEN 0 ELSE 1 END
GO
-- parameters: @p1 = 'AtomEmbeddings'
SELECT CASE WHEN OBJECT_ID(N'dbo.' + @p1, N'U') IS NULL THEN 0 ELSE 1 END
GO
-- parameters: @p1 = 'SpatialAnchors'
SELECT CASE WHEN OBJECT_ID(N'dbo.' + @p1, N'U') IS NULL THEN 0 ELSE 1 END
GO
SELECT t.bounding_box_xmin, t.bounding_box_ymin, t.bounding_box_xmax, t.bounding_box_ymax
FROM sys.spatial_index_tessellations AS t
JOIN sys.indexes AS i ON i.object_id = t.object_id AND i.index_id = t.index_id
WHERE t.object_id = OBJECT_ID(N'dbo.AtomEmbeddings') AND i.name = N'IX_AtomEmbeddings_SpatialGeometry'
GO
SELECT MIN(e.SpatialX), MIN(e.SpatialY), MAX(e.SpatialX), MAX(e.SpatialY), COUNT_BIG(e.SpatialX)
FROM dbo.AtomEmbeddings AS e
JOIN dbo.Models AS m ON m.ModelId = e.ModelId
WHERE m.Metric = 'l2' AND e.SpatialX IS NOT NULL
GO
SELECT Name, Checksum FROM dbo.HartdProcedureHistory
GO
-- parameters: @p1 = '<each procedure and function>'
SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END
GO
SELECT compatibility_level, is_read_committed_snapshot_on, snapshot_isolation_state_desc, is_query_store_on
FROM sys.databases WHERE database_id = DB_ID()
GO
SELECT COUNT(*) FROM dbo.Tenants WHERE TenantId = 1
GO
