"""Elasticsearch, for collections that outgrow one machine: the client, the VectorStore on a `dense_vector`
index (store.py), and text queries embedded by a model deployed in the cluster (inference.py)."""
