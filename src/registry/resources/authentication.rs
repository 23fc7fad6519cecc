//! `authentication.k8s.io`: the review resources, whose creates answer without storing anything
//! (`pkg/registry/authentication/<resource>`).

use super::Rules;
use crate::registry::strategy::CreateRest;

/// TokenReviews: a create authenticates the token.
pub const TOKEN_REVIEWS: Rules = Rules {
    create_rest: token_review_creates,
    ..Rules::GENERIC
};

/// SelfSubjectReviews: a create answers who the requester is.
pub const SELF_SUBJECT_REVIEWS: Rules = Rules {
    create_rest: self_subject_review_creates,
    ..Rules::GENERIC
};

fn token_review_creates(subresource: Option<&str>) -> Option<CreateRest> {
    subresource.is_none().then_some(CreateRest::TokenReview)
}

fn self_subject_review_creates(subresource: Option<&str>) -> Option<CreateRest> {
    subresource
        .is_none()
        .then_some(CreateRest::SelfSubjectReview)
}
