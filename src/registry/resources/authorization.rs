//! `authorization.k8s.io`: the access reviews (SubjectAccessReview, LocalSubjectAccessReview,
//! SelfSubjectAccessReview, SelfSubjectRulesReview), whose creates ask the authorizers and answer
//! without storing anything (`pkg/registry/authorization/<resource>`).

use super::Rules;
use crate::registry::strategy::CreateRest;

/// Every access review.
pub const ACCESS_REVIEWS: Rules = Rules {
    create_rest: access_review_creates,
    ..Rules::GENERIC
};

fn access_review_creates(subresource: Option<&str>) -> Option<CreateRest> {
    subresource.is_none().then_some(CreateRest::AccessReview)
}
