DROP TABLE dbo.SpatialAnchors;
DROP TABLE dbo.AtomEmbeddings;
DROP TABLE dbo.Atoms;
DROP TABLE dbo.Models;
DROP TABLE dbo.Tenants;
DROP SEQUENCE dbo.EmbeddingIds;
DROP SEQUENCE dbo.AtomIds;
