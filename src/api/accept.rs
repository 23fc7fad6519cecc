//! `Accept` headers (RFC 9110, section 12.5.1) as kube-apiserver reads them: the clauses a client
//! accepts, with their parameters, best first.

/// One clause of an `Accept` header: `application/json;as=Table;v=v1;g=meta.k8s.io;q=0.9`.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptClause<'a> {
    /// `application/json`, `application/*`, `*/*` (as sent).
    pub media_type: &'a str,
    /// The parameters but `q`, in order, values unquoted.
    pub params: Vec<(&'a str, &'a str)>,
    pub quality: f32,
}

impl AcceptClause<'_> {
    /// The type and subtype (`*` alone is `*/*`); `None` for a range without a `/`.
    pub fn type_and_subtype(&self) -> Option<(&str, &str)> {
        match self.media_type.split_once('/') {
            Some((kind, subtype)) => Some((kind.trim(), subtype.trim())),
            None if self.media_type == "*" => Some(("*", "*")),
            None => None,
        }
    }
}

/// The clauses of `header` a client accepts (quality above 0): best quality first, then the more
/// specific (fewer wildcards), then in the order sent.
pub fn parse_accept(header: &str) -> Vec<AcceptClause<'_>> {
    let mut clauses: Vec<AcceptClause<'_>> = header
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';').map(str::trim);
            let media_type = parts.next().filter(|m| !m.is_empty())?;
            let mut params = Vec::new();
            let mut quality = 1.0;
            for part in parts {
                let Some((key, value)) = part.split_once('=') else {
                    continue;
                };
                let (key, value) = (key.trim(), value.trim().trim_matches('"'));
                if key == "q" {
                    quality = value.parse().unwrap_or(0.0);
                } else {
                    params.push((key, value));
                }
            }
            Some(AcceptClause {
                media_type,
                params,
                quality,
            })
        })
        .filter(|clause| clause.quality > 0.0)
        .collect();
    let wildcards = |clause: &AcceptClause<'_>| match clause.type_and_subtype() {
        Some((kind, subtype)) => usize::from(kind == "*") + usize::from(subtype == "*"),
        None => clause.media_type.matches('*').count(),
    };
    clauses.sort_by(|a, b| {
        b.quality
            .partial_cmp(&a.quality)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| wildcards(a).cmp(&wildcards(b)))
    });
    clauses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_sort_by_quality_then_specificity() {
        let clauses = parse_accept(
            "*/*;q=0.5, application/yaml;q=0, application/*, application/json;as=Table;g=\"meta.k8s.io\"",
        );
        let types: Vec<&str> = clauses.iter().map(|c| c.media_type).collect();
        assert_eq!(types, ["application/json", "application/*", "*/*"]);
        assert_eq!(
            clauses[0].params,
            vec![("as", "Table"), ("g", "meta.k8s.io")]
        );
        assert_eq!(clauses[2].quality, 0.5);
        assert_eq!(
            parse_accept("*;q=0.1")[0].type_and_subtype(),
            Some(("*", "*"))
        );
        assert_eq!(parse_accept("text")[0].type_and_subtype(), None);
    }
}
