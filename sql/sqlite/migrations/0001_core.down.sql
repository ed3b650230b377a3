DROP TABLE SpatialAnchors;
DROP TABLE AtomEmbeddingsSpatialIndex;
DROP TABLE AtomEmbeddings;
DROP TABLE Atoms;
DROP TABLE Models;
DROP TABLE Tenants;
