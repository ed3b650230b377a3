// Package spatial maps embedding vectors to 3-D points and filters them by
// region.
//
// # Projection
//
// Every model has three anchor vectors A1, A2, A3 (see ChooseAnchors). A
// Projection maps an embedding v to the point P(v) = (x, y, z) obtained by
// trilateration against the anchors: A1 sits at the origin, A2 at (d12, 0, 0)
// and A3 at (i, j, 0); (x, y) are the coordinates of v's orthogonal projection
// onto the anchors' affine plane and z ≥ 0 is v's distance from that plane.
// The Projection type documents the formula and how it is evaluated.
//
// # Lower bound
//
// P is 1-Lipschitz: |P(u) − P(v)| ≤ |u − v| for all u, v. The in-plane part is
// an orthogonal projection, which never lengthens a vector, and distances to
// a plane differ by at most the distance between the points (triangle
// inequality); the two parts are orthogonal, so their squares add up to at
// most |u − v|². Hence the projected distance is a lower bound on the true
// Euclidean distance, and a spatial index over projected points prunes with a
// guarantee: if a candidate's projected point is farther than r from P(q),
// the candidate itself is farther than r from q and can be skipped without
// computing its true distance. A query "everything within r of q" is
// therefore exact when it filters on Sphere{P(q), r} (or its bounding Box)
// first and on true distances second.
//
// # Concurrency
//
// A Projection is immutable once NewProjection returns and safe for
// concurrent use; Project does not allocate. Regions are plain values.
//
// # Storage convention
//
// A geometry column holds only the 2-D point (x y), as little-endian OGC WKB
// (EncodeWKB, DecodeWKB); z travels in its own numeric column. SQL Server
// spatial indexes are 2-D, and hartd keeps the same layout on every backend,
// filtering z with an ordinary comparison.
package spatial
