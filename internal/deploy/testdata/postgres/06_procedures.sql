-- hartd deploy --dry-run: postgres://hartd:xxxxx@127.0.0.1:5432/hartd?sslmode=disable
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 procedures
-- in database hartd
-- create the procedure history if it does not exist
CREATE TABLE IF NOT EXISTS HartdProcedureHistory (
    Name      text        PRIMARY KEY,
    Checksum  text        NOT NULL,
    AppliedAt timestamptz NOT NULL
);
SELECT Name, Checksum FROM HartdProcedureHistory;
-- parameters: $1 = 'hartd_float32_array'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- parameters: $1 = 'hartd_float32s'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- parameters: $1 = 'hartd_compare'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- parameters: $1 = 'hartd_check_vector'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- 0001_vectors.sql (sha256 ea4a50405f4b), when its checksum in HartdProcedureHistory differs or one of its objects is missing;
-- these statements and the history row after them run in one transaction
-- Vector functions for SQL-side clients, PostgreSQL dialect.
--
-- hartd stores a vector as its float32 values, little-endian, 4 bytes each,
-- in a bytea column ("AtomEmbeddings"."EmbeddingVector",
-- "SpatialAnchors"."AnchorVector"). PostgreSQL cannot cast bytes to real, so
-- hartd_float32_array decodes each value from its IEEE 754 fields: sign, an
-- 8-bit exponent e and a 23-bit fraction f, the value being
-- (-1)^sign * (2^23 + f) * 2^(e - 150), or f * 2^-149 when e = 0. The result
-- is exact in double precision. e = 255 (NaN, infinity) yields NULL: hartd
-- never stores such values. (|, & and << share one precedence level in
-- PostgreSQL, hence the parentheses.)
CREATE OR REPLACE FUNCTION hartd_float32_array(v bytea)
RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    n integer := length(v) / 4;
    out double precision[] := array_fill(NULL::double precision, ARRAY[n]);
    b bigint;
    e integer;
    f double precision;
BEGIN
    IF length(v) % 4 <> 0 THEN
        RAISE EXCEPTION 'hartd: a vector of % bytes is not float32 values', length(v) USING ERRCODE = '22023';
    END IF;
    FOR i IN 0 .. n - 1 LOOP
        b := get_byte(v, 4 * i)::bigint
             | (get_byte(v, 4 * i + 1)::bigint << 8)
             | (get_byte(v, 4 * i + 2)::bigint << 16)
             | (get_byte(v, 4 * i + 3)::bigint << 24);
        e := ((b >> 23) & 255)::integer;
        f := (b & 8388607)::double precision;
        IF e = 255 THEN
            CONTINUE; -- NULL
        ELSIF e = 0 THEN
            f := f * 2::double precision ^ (-149);
        ELSE
            f := (f + 8388608) * 2::double precision ^ (e - 150);
        END IF;
        IF b >= 2147483648 THEN
            f := -f;
        END IF;
        out[i + 1] := f;
    END LOOP;
    RETURN out;
END
$$;

-- Every value of a vector, with its 0-based ordinal.
CREATE OR REPLACE FUNCTION hartd_float32s(v bytea)
RETURNS TABLE (ordinal integer, value double precision)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT (u.k - 1)::integer, u.x FROM unnest(hartd_float32_array(v)) WITH ORDINALITY AS u (x, k)
$$;

-- The sums that every metric needs, over two vectors of equal length: the
-- dot product, the squared Euclidean distance and both squared norms. A
-- cosine model's similarity is dot / sqrt(norm_a2 * norm_b2); an l2 model's
-- distance is sqrt(squared_distance). Vectors of different lengths are an
-- error.
CREATE OR REPLACE FUNCTION hartd_compare(a bytea, b bytea)
RETURNS TABLE (dimension integer, dot double precision, squared_distance double precision,
               norm_a2 double precision, norm_b2 double precision)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    x double precision[] := hartd_float32_array(a);
    y double precision[] := hartd_float32_array(b);
BEGIN
    IF length(a) <> length(b) THEN
        RAISE EXCEPTION 'hartd: vectors of % and % bytes cannot be compared', length(a), length(b)
            USING ERRCODE = '22023';
    END IF;
    dimension := length(a) / 4;
    dot := 0; squared_distance := 0; norm_a2 := 0; norm_b2 := 0;
    FOR i IN 1 .. dimension LOOP
        dot := dot + x[i] * y[i];
        squared_distance := squared_distance + (x[i] - y[i]) * (x[i] - y[i]);
        norm_a2 := norm_a2 + x[i] * x[i];
        norm_b2 := norm_b2 + y[i] * y[i];
    END LOOP;
    RETURN NEXT;
END
$$;

-- Raises an error unless v fits the active model model_id: 4 bytes per
-- value, "Dimension" values, all finite, and not all zero for a cosine
-- model (which has no direction). Returns the model's metric.
CREATE OR REPLACE FUNCTION hartd_check_vector(model_id bigint, v bytea)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    dim integer;
    metric text;
BEGIN
    SELECT m."Dimension", m."Metric" INTO dim, metric
    FROM "Models" AS m WHERE m."ModelId" = model_id AND m."IsActive";
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hartd: no active model with id %', model_id USING ERRCODE = 'P0002';
    END IF;
    IF v IS NULL OR length(v) <> 4 * dim THEN
        RAISE EXCEPTION 'hartd: the vector has % bytes; model % takes % float32 values, % bytes',
            coalesce(length(v), 0), model_id, dim, 4 * dim USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM hartd_float32s(v) AS f WHERE f.value IS NULL) THEN
        RAISE EXCEPTION 'hartd: the vector holds a NaN or an infinity' USING ERRCODE = '22023';
    END IF;
    IF metric = 'cosine' AND NOT EXISTS (SELECT 1 FROM hartd_float32s(v) AS f WHERE f.value <> 0) THEN
        RAISE EXCEPTION 'hartd: a cosine model cannot take the zero vector' USING ERRCODE = '22023';
    END IF;
    RETURN metric;
END
$$;
-- parameters: $1 = '0001_vectors.sql', $2 = 'ea4a50405f4b476228cdbed96f0e3e354e80288c62aa1906987b66fb2fab7389', $3 = '<UTC time, RFC 3339>'
INSERT INTO HartdProcedureHistory (Name, Checksum, AppliedAt) VALUES ($1, $2, $3)
ON CONFLICT (Name) DO UPDATE SET Checksum = EXCLUDED.Checksum, AppliedAt = EXCLUDED.AppliedAt;
-- parameters: $1 = 'hartd_trilaterate'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- parameters: $1 = 'hartd_project'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- parameters: $1 = 'hartd_project_vector'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- 0002_projection.sql (sha256 563301903519), when its checksum in HartdProcedureHistory differs or one of its objects is missing;
-- these statements and the history row after them run in one transaction
-- The trilateration projection of DESIGN.md, for SQL-side clients. hartd
-- itself projects in Go (internal/spatial); these functions give the same
-- point up to float64 rounding.
--
-- From the squared distances r1, r2, r3 of a vector to the anchors and the
-- anchors' squared pairwise distances d12, d13, d23: A1 sits at (0, 0, 0),
-- A2 at (d12, 0, 0), A3 at (i, j, 0) with i = (d13² + d12² − d23²)/(2·d12)
-- and j = √(d13² − i²), and
--   x = (r1² − r2² + d12²) / (2·d12)
--   y = (r1² − r3² + i² + j²) / (2·j) − (i/j)·x
--   z = √max(0, r1² − x² − y²)
CREATE OR REPLACE FUNCTION hartd_trilaterate(r1 double precision, r2 double precision, r3 double precision,
                                             d12 double precision, d13 double precision, d23 double precision,
                                             OUT x double precision, OUT y double precision, OUT z double precision)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    d double precision := sqrt(d12);
    i double precision := (d13 + d12 - d23) / (2 * d);
    j double precision := sqrt(greatest(d13 - i * i, 0));
BEGIN
    x := (r1 - r2 + d12) / (2 * d);
    y := (r1 - r3 + i * i + j * j) / (2 * j) - (i / j) * x;
    z := sqrt(greatest(r1 - x * x - y * y, 0));
END
$$;

-- The point of v in model model_id's projection; no row while the model has
-- no anchors. A cosine model's vector is taken normalized, as hartd stores
-- it: |v/|v| − A|² = 1 − 2·v·A/|v| + |A|².
CREATE OR REPLACE FUNCTION hartd_project(model_id bigint, v bytea)
RETURNS TABLE (x double precision, y double precision, z double precision)
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    cosine boolean;
    a bytea[];
    r double precision[] := ARRAY[NULL, NULL, NULL]::double precision[];
    c record;
    k integer;
BEGIN
    SELECT m."Metric" = 'cosine' INTO cosine FROM "Models" AS m WHERE m."ModelId" = model_id;
    SELECT array_agg(s."AnchorVector" ORDER BY s."AnchorIndex") INTO a
    FROM "SpatialAnchors" AS s WHERE s."ModelId" = model_id;
    IF cosine IS NULL OR a IS NULL OR cardinality(a) <> 3 THEN
        RETURN;
    END IF;
    FOR k IN 1 .. 3 LOOP
        SELECT * INTO c FROM hartd_compare(v, a[k]);
        r[k] := CASE WHEN cosine THEN 1 - 2 * c.dot / sqrt(c.norm_a2) + c.norm_b2 ELSE c.squared_distance END;
    END LOOP;
    RETURN QUERY
    SELECT t.x, t.y, t.z
    FROM hartd_trilaterate(r[1], r[2], r[3],
                           (SELECT q.squared_distance FROM hartd_compare(a[1], a[2]) AS q),
                           (SELECT q.squared_distance FROM hartd_compare(a[1], a[3]) AS q),
                           (SELECT q.squared_distance FROM hartd_compare(a[2], a[3]) AS q)) AS t;
END
$$;

-- Projects one vector, after checking it against the model.
CREATE OR REPLACE FUNCTION hartd_project_vector(model_id bigint, v bytea)
RETURNS TABLE (x double precision, y double precision, z double precision)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM hartd_check_vector(model_id, v);
    RETURN QUERY SELECT p.x, p.y, p.z FROM hartd_project(model_id, v) AS p;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hartd: model % has no anchors yet (hartd chooses them once the model holds three distinct vectors; or SELECT * FROM hartd_initialize_spatial_anchors(%))',
            model_id, model_id USING ERRCODE = '55000';
    END IF;
END
$$;
-- parameters: $1 = '0002_projection.sql', $2 = '5633019035192188ddbdc50d4036b38ffab09d2ed647a8f8314ea21444f28366', $3 = '<UTC time, RFC 3339>'
INSERT INTO HartdProcedureHistory (Name, Checksum, AppliedAt) VALUES ($1, $2, $3)
ON CONFLICT (Name) DO UPDATE SET Checksum = EXCLUDED.Checksum, AppliedAt = EXCLUDED.AppliedAt;
-- parameters: $1 = 'hartd_exact_search'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- parameters: $1 = 'hartd_hybrid_search'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- 0003_search.sql (sha256 3587c932a8f1), when its checksum in HartdProcedureHistory differs or one of its objects is missing;
-- these statements and the history row after them run in one transaction
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
-- parameters: $1 = '0003_search.sql', $2 = '3587c932a8f1c0a9d797031f7bffd0f69306347972c94e073729992623bf8fc2', $3 = '<UTC time, RFC 3339>'
INSERT INTO HartdProcedureHistory (Name, Checksum, AppliedAt) VALUES ($1, $2, $3)
ON CONFLICT (Name) DO UPDATE SET Checksum = EXCLUDED.Checksum, AppliedAt = EXCLUDED.AppliedAt;
-- parameters: $1 = 'hartd_initialize_spatial_anchors'
SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace;
-- 0004_anchors.sql (sha256 d536e46c7d80), when its checksum in HartdProcedureHistory differs or one of its objects is missing;
-- these statements and the history row after them run in one transaction
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
-- parameters: $1 = '0004_anchors.sql', $2 = 'd536e46c7d800a39f33d292427e7babb1de4b83c5c1de13df26de256a84e48dc', $3 = '<UTC time, RFC 3339>'
INSERT INTO HartdProcedureHistory (Name, Checksum, AppliedAt) VALUES ($1, $2, $3)
ON CONFLICT (Name) DO UPDATE SET Checksum = EXCLUDED.Checksum, AppliedAt = EXCLUDED.AppliedAt;
