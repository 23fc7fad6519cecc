//! Static bearer tokens from a CSV file (`auth.token_file`), as upstream's `--token-auth-file`
//! (`k8s.io/apiserver/pkg/authentication/token/tokenfile`).
//!
//! Each record is `token,user,uid[,"group1,group2"]`, read with the rules of Go's `encoding/csv`
//! (quoted fields may hold commas, `""` is a quote inside a quoted field, blank lines are
//! skipped, records may have any number of fields). Values are taken as written: nothing is
//! trimmed, and groups are split on `,`. As upstream:
//!
//! * a record with fewer than 3 fields, or broken quoting, is an error (start-up fails);
//! * a record with an empty token is skipped with a warning;
//! * a token listed twice is a warning, and the later record wins.
//!
//! The file is read once, at start-up. Token-file users are audience-agnostic: they are valid for
//! the API audiences only (upstream's `WrapAudienceAgnosticToken`).

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;

use super::{intersect, TokenAuthenticator, TokenResponse};
use crate::request::user::UserInfo;

/// Why a token file could not be read: the message names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TokenFileError {
    /// One line, e.g. `line 3: must have at least 3 columns (token, user name, user uid), found 2`.
    pub message: String,
}

/// The users of a token file, by token.
#[derive(Debug, Clone, Default)]
pub struct TokenFileAuthenticator {
    tokens: HashMap<String, UserInfo>,
    /// The API audiences (`AuthConfig::audiences`): the only audiences these tokens are for.
    implicit_audiences: Vec<String>,
}

impl TokenFileAuthenticator {
    /// Reads `path`; `implicit_audiences` are the API audiences.
    pub fn from_file(path: &Path, implicit_audiences: Vec<String>) -> Result<Self, TokenFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| TokenFileError {
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::parse(&text, implicit_audiences)
    }

    /// Parses the CSV text of a token file.
    pub fn parse(text: &str, implicit_audiences: Vec<String>) -> Result<Self, TokenFileError> {
        let mut tokens = HashMap::new();
        let mut record_number = 0usize;
        for record in parse_csv(text)? {
            let Record { line, fields } = record;
            if fields.len() < 3 {
                return Err(TokenFileError {
                    message: format!(
                        "line {line}: must have at least 3 columns (token, user name, user uid), found {}",
                        fields.len()
                    ),
                });
            }
            record_number += 1;
            let mut fields = fields.into_iter();
            let token = fields.next().unwrap_or_default();
            let name = fields.next().unwrap_or_default();
            let uid = fields.next().unwrap_or_default();
            if token.is_empty() {
                tracing::warn!(
                    line,
                    record = record_number,
                    "empty token in the token file (auth.token_file): record skipped"
                );
                continue;
            }
            let groups = fields
                .next()
                .map(|groups| groups.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            let user = UserInfo {
                name,
                uid,
                groups,
                ..Default::default()
            };
            if tokens.insert(token, user).is_some() {
                tracing::warn!(
                    line,
                    record = record_number,
                    "duplicate token in the token file (auth.token_file): the later record wins"
                );
            }
        }
        Ok(Self {
            tokens,
            implicit_audiences,
        })
    }

    /// How many tokens are known.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no token is known.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

#[async_trait]
impl TokenAuthenticator for TokenFileAuthenticator {
    fn name(&self) -> &'static str {
        "token-file"
    }

    async fn authenticate_token(
        &self,
        token: &str,
        audiences: &[String],
    ) -> Result<Option<TokenResponse>, String> {
        // Audience-agnostic: valid only where the target audiences meet the API audiences.
        let mut granted = Vec::new();
        if !audiences.is_empty() && !self.implicit_audiences.is_empty() {
            granted = intersect(&self.implicit_audiences, audiences);
            if granted.is_empty() {
                return Ok(None);
            }
        }
        Ok(self.tokens.get(token).map(|user| TokenResponse {
            user: user.clone(),
            audiences: granted,
        }))
    }
}

/// One CSV record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Splits CSV text into records with the rules of Go's `encoding/csv` (no comment character,
/// no leading-space trimming): `\r\n` ends a line like `\n`, blank lines are skipped, a field
/// starting with `"` is quoted (it may span lines and contain `""`), and a `"` anywhere else is
/// an error.
fn parse_csv(text: &str) -> Result<Vec<Record>, TokenFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let error = |line: usize, column: usize, what: &str| TokenFileError {
        message: format!("line {line}, column {column}: {what}"),
    };
    let mut records = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        // Skip blank lines.
        if chars[i] == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if chars[i] == '\r' && chars.get(i + 1) == Some(&'\n') {
            line += 1;
            i += 2;
            continue;
        }
        let record_line = line;
        let mut fields = Vec::new();
        let mut column = 1;
        loop {
            let mut field = String::new();
            if chars.get(i) == Some(&'"') {
                // A quoted field.
                let (quote_line, quote_column) = (line, column);
                i += 1;
                column += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(error(
                                quote_line,
                                quote_column,
                                "extraneous or missing \" in quoted-field",
                            ))
                        }
                        Some('"') if chars.get(i + 1) == Some(&'"') => {
                            field.push('"');
                            i += 2;
                            column += 2;
                        }
                        Some('"') => {
                            i += 1;
                            column += 1;
                            break;
                        }
                        Some('\n') => {
                            field.push('\n');
                            line += 1;
                            column = 1;
                            i += 1;
                        }
                        Some('\r') if chars.get(i + 1) == Some(&'\n') => {
                            field.push('\n');
                            line += 1;
                            column = 1;
                            i += 2;
                        }
                        Some(c) => {
                            field.push(*c);
                            i += 1;
                            column += 1;
                        }
                    }
                }
                match chars.get(i) {
                    None | Some(',') | Some('\n') => {}
                    Some('\r') if matches!(chars.get(i + 1), Some('\n') | None) => {}
                    Some(_) => {
                        return Err(error(
                            line,
                            column,
                            "extraneous or missing \" in quoted-field",
                        ))
                    }
                }
            } else {
                while let Some(c) = chars.get(i) {
                    match c {
                        ',' | '\n' => break,
                        '\r' if matches!(chars.get(i + 1), Some('\n') | None) => break,
                        '"' => return Err(error(line, column, "bare \" in non-quoted-field")),
                        c => {
                            field.push(*c);
                            i += 1;
                            column += 1;
                        }
                    }
                }
            }
            fields.push(field);
            match chars.get(i) {
                Some(',') => {
                    i += 1;
                    column += 1;
                }
                Some('\r') => {
                    i += if chars.get(i + 1) == Some(&'\n') {
                        2
                    } else {
                        1
                    };
                    line += 1;
                    break;
                }
                Some('\n') => {
                    i += 1;
                    line += 1;
                    break;
                }
                _ => break,
            }
        }
        records.push(Record {
            line: record_line,
            fields,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audiences() -> Vec<String> {
        vec!["https://kubernetes.default.svc.cluster.local".to_string()]
    }

    #[test]
    fn csv_records_follow_go_encoding_csv() {
        let records = parse_csv("a,b,c\n\n\"x,y\",\"say \"\"hi\"\"\",z\r\nlast,one,\"two\nlines\"")
            .expect("parses");
        assert_eq!(
            records,
            vec![
                Record {
                    line: 1,
                    fields: vec!["a".into(), "b".into(), "c".into()]
                },
                Record {
                    line: 3,
                    fields: vec!["x,y".into(), "say \"hi\"".into(), "z".into()]
                },
                Record {
                    line: 4,
                    fields: vec!["last".into(), "one".into(), "two\nlines".into()]
                },
            ]
        );
        assert_eq!(
            parse_csv("ok,a,b\nbad\"quote,a,b\n")
                .expect_err("bare quote")
                .message,
            "line 2, column 4: bare \" in non-quoted-field"
        );
        assert_eq!(
            parse_csv("\"open,a,b\n").expect_err("unterminated").message,
            "line 1, column 1: extraneous or missing \" in quoted-field"
        );
        assert_eq!(
            parse_csv("\"a\"b,c,d")
                .expect_err("text after quote")
                .message,
            "line 1, column 4: extraneous or missing \" in quoted-field"
        );
    }

    #[tokio::test]
    async fn good_lines_and_groups() {
        let file = TokenFileAuthenticator::parse(
            "t1,alice,uid-1,\"devs,ops\"\nt2,bob,uid-2\n,empty,uid-3\nt1,carol,uid-4,admins\n",
            audiences(),
        )
        .expect("valid file");
        // The empty token is skipped; the duplicate t1 is replaced by the later record.
        assert_eq!(file.len(), 2);
        let carol = file
            .authenticate_token("t1", &[])
            .await
            .expect("no error")
            .expect("known token");
        assert_eq!(
            carol.user,
            UserInfo {
                name: "carol".into(),
                uid: "uid-4".into(),
                groups: vec!["admins".into()],
                ..Default::default()
            }
        );
        let bob = file
            .authenticate_token("t2", &audiences())
            .await
            .expect("no error")
            .expect("known token");
        assert_eq!(bob.user.name, "bob");
        assert!(bob.user.groups.is_empty());
        assert_eq!(bob.audiences, audiences());

        let file = TokenFileAuthenticator::parse("t1,alice,uid-1,\"devs,ops\"\n", audiences())
            .expect("ok");
        let alice = file
            .authenticate_token("t1", &[])
            .await
            .expect("no error")
            .expect("known");
        assert_eq!(alice.user.groups, vec!["devs", "ops"]);

        // Unknown tokens, and audiences the API does not serve, are not recognised (no error).
        assert_eq!(file.authenticate_token("nope", &[]).await, Ok(None));
        assert_eq!(
            file.authenticate_token("t1", &["vault".to_string()]).await,
            Ok(None)
        );
    }

    #[test]
    fn bad_lines_name_the_line() {
        let err = TokenFileAuthenticator::parse("t1,alice,uid-1\n\nt2,bob\n", audiences())
            .expect_err("too few columns");
        assert_eq!(
            err.message,
            "line 3: must have at least 3 columns (token, user name, user uid), found 2"
        );
        let err = TokenFileAuthenticator::from_file(Path::new("/nonexistent/tokens.csv"), vec![])
            .expect_err("missing file");
        assert!(
            err.message
                .starts_with("cannot read /nonexistent/tokens.csv"),
            "{}",
            err.message
        );
    }
}
