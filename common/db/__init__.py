"""PostgreSQL: what must last (call records, QA, campaigns). One pool factory and the versioned
SQL migrations live here; queries live next to the feature that needs them."""
