-- Chooses a model's three anchors by the farthest-point rule and projects
-- every embedding of the model, in the caller's transaction, for SQL-side
-- clients that load embeddings without hartd:
--   A1: the embedding at position "AnchorSeed" mod n in "EmbeddingId" order
--       (hartd itself draws A1 from a PCG generator seeded with "AnchorSeed",
--       so the two may pick different, equally valid anchors);
--   A2: the embedding farthest from A1 (Euclidean);
--   A3: the embedding maximizing d(v, A1) + d(v, A2) among those not
--       near-collinear with A1 and A2 (j/d12 ≥ 10⁻³, hartd's
--       spatial.MinCollinearity).
-- Ties go to the lower "EmbeddingId". A model that has anchors keeps them:
-- changing them would move every point under hartd's feet. hartd reads the
-- anchors when it loads the model (at start).
CREATE OR REPLACE FUNCTION hartd_initialize_spatial_anchors(model_id bigint)
RETURNS TABLE (anchor_index smallint, embedding_id bigint)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    seed bigint;
    n bigint;
    a1_id bigint; a1 bytea;
    a2_id bigint; a2 bytea; d12 double precision;
    a3_id bigint; a3 bytea;
BEGIN
    SELECT m."AnchorSeed" INTO seed FROM "Models" AS m WHERE m."ModelId" = model_id AND m."IsActive";
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hartd: no active model with id %', model_id USING ERRCODE = 'P0002';
    END IF;
    -- Serializes concurrent calls for the model.
    PERFORM 1 FROM "Models" AS m WHERE m."ModelId" = model_id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM "SpatialAnchors" AS s WHERE s."ModelId" = model_id) THEN
        RAISE EXCEPTION 'hartd: model % already has anchors; they are kept (every stored point depends on them)', model_id
            USING ERRCODE = '55000';
    END IF;
    SELECT count(*) INTO n FROM "AtomEmbeddings" AS e WHERE e."ModelId" = model_id;
    IF n < 3 THEN
        RAISE EXCEPTION 'hartd: model % needs at least three embeddings for anchors, it has %', model_id, n
            USING ERRCODE = '55000';
    END IF;

    SELECT e."EmbeddingId", e."EmbeddingVector" INTO a1_id, a1
    FROM "AtomEmbeddings" AS e WHERE e."ModelId" = model_id
    ORDER BY e."EmbeddingId" OFFSET ((seed % n) + n) % n LIMIT 1;

    SELECT e."EmbeddingId", e."EmbeddingVector", c.squared_distance INTO a2_id, a2, d12
    FROM "AtomEmbeddings" AS e
    CROSS JOIN LATERAL hartd_compare(e."EmbeddingVector", a1) AS c
    WHERE e."ModelId" = model_id
    ORDER BY c.squared_distance DESC, e."EmbeddingId" LIMIT 1;
    IF d12 IS NULL OR d12 = 0 THEN
        RAISE EXCEPTION 'hartd: every embedding of model % equals the first anchor', model_id USING ERRCODE = '55000';
    END IF;

    -- i: the position of v along A1→A2; j² = d(v, A1)² − i²: its squared
    -- distance from the line through A1 and A2.
    SELECT e."EmbeddingId", e."EmbeddingVector" INTO a3_id, a3
    FROM "AtomEmbeddings" AS e
    CROSS JOIN LATERAL hartd_compare(e."EmbeddingVector", a1) AS c1
    CROSS JOIN LATERAL hartd_compare(e."EmbeddingVector", a2) AS c2
    CROSS JOIN LATERAL (SELECT (c1.squared_distance + d12 - c2.squared_distance) / (2 * sqrt(d12)) AS i) AS f
    WHERE e."ModelId" = model_id
      AND c1.squared_distance > 0 AND c2.squared_distance > 0
      AND c1.squared_distance - f.i * f.i >= 1e-6 * d12
    ORDER BY sqrt(c1.squared_distance) + sqrt(c2.squared_distance) DESC, e."EmbeddingId" LIMIT 1;
    IF a3_id IS NULL THEN
        RAISE EXCEPTION 'hartd: every embedding of model % is near-collinear with the first two anchors', model_id
            USING ERRCODE = '55000';
    END IF;

    INSERT INTO "SpatialAnchors" ("ModelId", "AnchorIndex", "EmbeddingId", "AnchorVector")
    VALUES (model_id, 1, a1_id, a1), (model_id, 2, a2_id, a2), (model_id, 3, a3_id, a3);
    UPDATE "AtomEmbeddings" AS e
    SET "SpatialGeometry" = ST_MakePoint(p.x, p.y, p.z), "SpatialX" = p.x, "SpatialY" = p.y, "SpatialZ" = p.z
    FROM "AtomEmbeddings" AS src
    CROSS JOIN LATERAL hartd_project(model_id, src."EmbeddingVector") AS p
    WHERE src."EmbeddingId" = e."EmbeddingId" AND e."ModelId" = model_id;
    RETURN QUERY
    SELECT s."AnchorIndex", s."EmbeddingId" FROM "SpatialAnchors" AS s
    WHERE s."ModelId" = model_id ORDER BY s."AnchorIndex";
END
$$;
