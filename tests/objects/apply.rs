//! Server-side apply: `kubectl apply --server-side`, managedFields and conflicts.
