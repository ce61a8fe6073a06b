"""Real OpenSearch test nodes: see osnode.py."""
