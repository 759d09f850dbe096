"""The embedded store (the default): SQLite is the source of truth, a faiss index beside it answers kNN."""
