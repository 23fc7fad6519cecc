//! Deletion: finalizers, propagation policies, the garbage collector and `kubectl wait`.
