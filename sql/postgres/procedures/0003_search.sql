-- Search functions for SQL-side clients. hartd's own search (gRPC) is the
-- fast path; these decode vectors in PL/pgSQL and are meant for ad-hoc use
-- and small models. Each row carries score in hartd's sense (cosine
-- similarity for cosine models, higher is nearer; Euclidean distance for l2
-- models) and distance (1 − similarity, or the Euclidean distance: lower is
-- nearer). Ties go to the lower embedding id.

-- Every embedding of the model, compared exactly: recall 1.
CREATE OR REPLACE FUNCTION hartd_exact_search(model_id bigint, query bytea, top_k integer DEFAULT 10)
RETURNS TABLE (embedding_id bigint, atom_id bigint, content text, source_uri text, source_type text,
               metadata jsonb, score double precision, distance double precision)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    cosine boolean := hartd_check_vector(model_id, query) = 'cosine';
BEGIN
    IF top_k IS NULL OR top_k < 1 OR top_k > 1000 THEN
        RAISE EXCEPTION 'hartd: top_k must be between 1 and 1000' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT e."EmbeddingId", e."AtomId", a."Content", a."SourceUri", a."SourceType", a."Metadata", s.score, s.distance
    FROM "AtomEmbeddings" AS e
    JOIN "Atoms" AS a ON a."AtomId" = e."AtomId"
    CROSS JOIN LATERAL hartd_compare(query, e."EmbeddingVector") AS c
    CROSS JOIN LATERAL (SELECT CASE WHEN cosine THEN c.dot / sqrt(c.norm_a2) ELSE sqrt(c.squared_distance) END AS score,
                               CASE WHEN cosine THEN 1 - c.dot / sqrt(c.norm_a2) ELSE sqrt(c.squared_distance) END AS distance) AS s
    WHERE e."ModelId" = model_id
    ORDER BY s.distance, e."EmbeddingId"
    LIMIT top_k;
END
$$;

-- The seed's two steps: the spatial_candidates embeddings nearest to the
-- query's projected point in (x, y), a nearest-neighbour scan of the GiST
-- index (<->), then the final_top_k of those by exact distance.
-- query_point, when given, replaces the query's projection. Its recall
-- depends on how much of the neighbourhood survives the 2-D projection:
-- measure it against hartd_exact_search before relying on it.
CREATE OR REPLACE FUNCTION hartd_hybrid_search(model_id bigint, query bytea,
                                               spatial_candidates integer DEFAULT 100,
                                               final_top_k integer DEFAULT 10,
                                               query_point geometry DEFAULT NULL)
RETURNS TABLE (embedding_id bigint, atom_id bigint, content text, source_uri text, source_type text,
               metadata jsonb, score double precision, distance double precision, spatial_distance double precision)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    cosine boolean := hartd_check_vector(model_id, query) = 'cosine';
    pt geometry := query_point;
BEGIN
    IF final_top_k IS NULL OR final_top_k < 1 OR final_top_k > 1000 THEN
        RAISE EXCEPTION 'hartd: final_top_k must be between 1 and 1000' USING ERRCODE = '22023';
    END IF;
    IF spatial_candidates IS NULL OR spatial_candidates < final_top_k OR spatial_candidates > 1048576 THEN
        RAISE EXCEPTION 'hartd: spatial_candidates must be between final_top_k and 1048576' USING ERRCODE = '22023';
    END IF;
    IF pt IS NULL THEN
        SELECT ST_MakePoint(p.x, p.y) INTO pt FROM hartd_project(model_id, query) AS p;
    END IF;
    IF pt IS NULL THEN
        RAISE EXCEPTION 'hartd: model % has no anchors yet, so no point to search around (or pass query_point)', model_id
            USING ERRCODE = '55000';
    END IF;
    RETURN QUERY
    WITH candidates AS (
        SELECT e."EmbeddingId" AS id, e."SpatialGeometry" <-> pt AS spatial
        FROM "AtomEmbeddings" AS e
        WHERE e."ModelId" = model_id AND e."SpatialGeometry" IS NOT NULL
        ORDER BY e."SpatialGeometry" <-> pt
        LIMIT spatial_candidates
    )
    SELECT e."EmbeddingId", e."AtomId", a."Content", a."SourceUri", a."SourceType", a."Metadata", s.score, s.distance, k.spatial
    FROM candidates AS k
    JOIN "AtomEmbeddings" AS e ON e."EmbeddingId" = k.id
    JOIN "Atoms" AS a ON a."AtomId" = e."AtomId"
    CROSS JOIN LATERAL hartd_compare(query, e."EmbeddingVector") AS c
    CROSS JOIN LATERAL (SELECT CASE WHEN cosine THEN c.dot / sqrt(c.norm_a2) ELSE sqrt(c.squared_distance) END AS score,
                               CASE WHEN cosine THEN 1 - c.dot / sqrt(c.norm_a2) ELSE sqrt(c.squared_distance) END AS distance) AS s
    ORDER BY s.distance, e."EmbeddingId"
    LIMIT final_top_k;
END
$$;
