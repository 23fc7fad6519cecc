//! The bootstrap controller: the `kubernetes` Service, ClusterIP and NodePort allocation, repair.
